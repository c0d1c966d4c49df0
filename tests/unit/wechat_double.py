"""WeChat's side of the protocol for tests.

Written on raw `cryptography` calls rather than on shared.wechatpay, so that a bug in our signing or
decryption code cannot cancel itself out in a round trip.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding

from tests.fixtures import keys

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z: inside the TEST ONLY certificates' validity
NONCE = "fIs2CpJ6Zm3RK5bu1ZLgSwKYm0ZUJwYJ"
RESOURCE_NONCE = "aR3mZt1qB9xK"

PAID_TRANSACTION: dict[str, Any] = {
    "appid": keys.APPID,
    "mchid": keys.MCHID,
    "out_trade_no": "ord_0001_TESTONLY",
    "transaction_id": "4200001863202305068344507881",
    "trade_type": "NATIVE",
    "trade_state": "SUCCESS",
    "trade_state_desc": "支付成功",
    "bank_type": "OTHERS",
    "attach": "course-42",
    "success_time": "2025-12-31T23:59:30+08:00",
    "payer": {"openid": "oTESTONLY_payer_openid_000001"},
    "amount": {"total": 990, "payer_total": 990, "currency": "CNY", "payer_currency": "CNY"},
}

REFUND_RESOURCE: dict[str, Any] = {
    "mchid": keys.MCHID,
    "transaction_id": "4200001863202305068344507881",
    "out_trade_no": "ord_0001_TESTONLY",
    "refund_id": "50000000382019052709732678859",
    "out_refund_no": "rfd_0001_TESTONLY",
    "refund_status": "SUCCESS",
    "success_time": "2026-01-01T08:00:00+08:00",
    "user_received_account": "支付用户零钱",
    "amount": {"total": 990, "refund": 990, "payer_total": 990, "payer_refund": 990},
}


def wechat_sign(private_key: rsa.RSAPrivateKey, timestamp: str, nonce: str, body: bytes) -> str:
    message = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"
    return base64.b64encode(private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def signed_headers(
    body: bytes,
    *,
    key: str = "wechatpay",
    serial: str = keys.PUBLIC_KEY_ID,
    timestamp: int = NOW,
    nonce: str = NONCE,
) -> dict[str, str]:
    """The five Wechatpay-* headers WeChat sends with `body`, signed with the TEST ONLY key `key`."""
    return {
        "Wechatpay-Timestamp": str(timestamp),
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": wechat_sign(keys.private_key(key), str(timestamp), nonce, body),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }


def seal(plaintext: bytes, *, nonce: str = RESOURCE_NONCE, associated_data: str = "transaction") -> str:
    sealed = AESGCM(keys.apiv3_key().encode()).encrypt(nonce.encode(), plaintext, associated_data.encode())
    return base64.b64encode(sealed).decode()


def envelope(
    resource: Any,
    *,
    event_type: str = "TRANSACTION.SUCCESS",
    original_type: str = "transaction",
    associated_data: str = "transaction",
    **overrides: Any,
) -> dict[str, Any]:
    """A notification envelope whose resource is `resource` (JSON-encoded unless already bytes), sealed."""
    plaintext = resource if isinstance(resource, bytes) else json.dumps(resource).encode()
    body: dict[str, Any] = {
        "id": "EV-2018022511223320873",
        "create_time": "2026-01-01T08:00:00+08:00",
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": "支付成功",
        "resource": {
            "original_type": original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": seal(plaintext, associated_data=associated_data),
            "associated_data": associated_data,
            "nonce": RESOURCE_NONCE,
        },
    }
    body.update(overrides)
    return body


def encode(body: dict[str, Any]) -> bytes:
    """Serialised the way WeChat sends it: compact UTF-8 JSON, non-ASCII kept as is."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def certificates_data(*entries: tuple[str, str]) -> dict[str, Any]:
    """A `/v3/certificates` answer listing TEST ONLY certificates (by fixture stem) under the given serials."""
    data = []
    for stem, serial in entries:
        pem = keys.certificate(stem).public_bytes(Encoding.PEM)
        sealed = {
            "algorithm": "AEAD_AES_256_GCM",
            "nonce": "c3rtN0nce123",
            "associated_data": "certificate",
            "ciphertext": seal(pem, nonce="c3rtN0nce123", associated_data="certificate"),
        }
        data.append({"serial_no": serial, "effective_time": "", "expire_time": "", "encrypt_certificate": sealed})
    return {"data": data}
