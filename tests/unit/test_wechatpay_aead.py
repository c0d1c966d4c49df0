"""AEAD_AES_256_GCM resources (reference §2, §6): a known-answer vector, the SDK, and tampering."""

from __future__ import annotations

import base64
import json

import pytest

from shared.wechatpay.aead import (
    apiv3_key_bytes,
    decrypt_certificates,
    decrypt_resource,
    encrypt_resource,
)
from shared.wechatpay.errors import DecryptError, MalformedPayload
from tests.fixtures import keys
from tests.unit.wechat_double import certificates_data, seal

NONCE = "aR3mZt1qB9xK"
AAD = "transaction"
PLAINTEXT = '{"trade_state":"SUCCESS","desc":"支付成功"}'.encode()
KNOWN_CIPHERTEXT = "7kdlLru7jiLlNA5m2nI/QG+rXVw4mtR8366EVgL86XoOqskSac7WUjogacXI4yvPttU6NlDPvOFZGjpsMpyV"
OTHER_KEY = b"0123456789abcdef0123456789abcdef"


def _flip_first_byte(ciphertext: str) -> str:
    raw = bytearray(base64.b64decode(ciphertext))
    raw[0] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_encryption_matches_the_known_answer(apiv3_key: bytes) -> None:
    assert encrypt_resource(apiv3_key, nonce=NONCE, associated_data=AAD, plaintext=PLAINTEXT) == KNOWN_CIPHERTEXT


def test_known_answer_decrypts_to_the_plaintext(apiv3_key: bytes) -> None:
    opened = decrypt_resource(apiv3_key, nonce=NONCE, associated_data=AAD, ciphertext=KNOWN_CIPHERTEXT)
    assert opened == PLAINTEXT


def test_a_resource_sealed_by_wechat_with_empty_associated_data_opens(apiv3_key: bytes) -> None:
    ciphertext = seal(PLAINTEXT, associated_data="")
    assert decrypt_resource(apiv3_key, nonce="aR3mZt1qB9xK", associated_data="", ciphertext=ciphertext) == PLAINTEXT


@pytest.mark.parametrize(
    ("key", "nonce", "aad", "ciphertext"),
    [
        pytest.param(OTHER_KEY, NONCE, AAD, KNOWN_CIPHERTEXT, id="wrong key"),
        pytest.param(None, NONCE, AAD, _flip_first_byte(KNOWN_CIPHERTEXT), id="tampered ciphertext"),
        pytest.param(None, NONCE, "refund", KNOWN_CIPHERTEXT, id="other associated data"),
        pytest.param(None, NONCE, "", KNOWN_CIPHERTEXT, id="missing associated data"),
        pytest.param(None, "aR3mZt1qB9xL", AAD, KNOWN_CIPHERTEXT, id="other nonce"),
        pytest.param(None, NONCE, AAD, KNOWN_CIPHERTEXT[:-8] + "AAAAAAA=", id="tampered tag"),
        pytest.param(None, NONCE, AAD, "not*base64", id="not base64"),
        pytest.param(None, NONCE, AAD, base64.b64encode(b"short").decode(), id="shorter than a tag"),
        pytest.param(None, "", AAD, KNOWN_CIPHERTEXT, id="empty nonce"),
    ],
)
def test_anything_but_the_sealed_resource_under_the_right_key_is_rejected(
    apiv3_key: bytes, key: bytes | None, nonce: str, aad: str, ciphertext: str
) -> None:
    with pytest.raises(DecryptError):
        decrypt_resource(key or apiv3_key, nonce=nonce, associated_data=aad, ciphertext=ciphertext)


def test_the_apiv3_key_is_its_32_ascii_characters_as_bytes() -> None:
    assert apiv3_key_bytes(keys.apiv3_key()) == keys.apiv3_key().encode("ascii")


@pytest.mark.parametrize("text", ["tooshort", "x" * 33, "é" * 32])
def test_an_apiv3_key_that_is_not_32_ascii_characters_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        apiv3_key_bytes(text)


@pytest.mark.sdk
def test_decryption_equals_the_sdk_aes_decrypt(apiv3_key: bytes) -> None:
    from wechatpayv3.utils import aes_decrypt

    theirs = aes_decrypt(NONCE, KNOWN_CIPHERTEXT, AAD, keys.apiv3_key())
    ours = decrypt_resource(apiv3_key, nonce=NONCE, associated_data=AAD, ciphertext=KNOWN_CIPHERTEXT)
    assert ours.decode() == theirs


def _certificates_answer(*entries: tuple[str, str]) -> bytes:
    return json.dumps(certificates_data(*entries)).encode()


def test_every_listed_platform_certificate_is_decrypted(apiv3_key: bytes) -> None:
    answer = _certificates_answer(("platform", keys.PLATFORM_SERIAL), ("platform2", keys.PLATFORM2_SERIAL))
    certificates = decrypt_certificates(apiv3_key, answer)
    assert certificates == [keys.certificate("platform"), keys.certificate("platform2")]


def test_a_certificate_listed_under_another_serial_is_refused(apiv3_key: bytes) -> None:
    with pytest.raises(MalformedPayload, match="serial"):
        decrypt_certificates(apiv3_key, _certificates_answer(("platform", keys.PLATFORM2_SERIAL)))


def test_certificates_sealed_under_another_apiv3_key_are_refused() -> None:
    with pytest.raises(DecryptError):
        decrypt_certificates(OTHER_KEY, _certificates_answer(("platform", keys.PLATFORM_SERIAL)))


@pytest.mark.parametrize(
    "answer",
    [b"not json", b"[]", b'{"data": {}}', b'{"data": [{"serial_no": "A1"}]}', b'{"data": [42]}'],
)
def test_a_malformed_certificates_answer_is_refused(apiv3_key: bytes, answer: bytes) -> None:
    with pytest.raises(MalformedPayload):
        decrypt_certificates(apiv3_key, answer)


def test_a_certificate_with_another_algorithm_is_refused(apiv3_key: bytes) -> None:
    answer = _certificates_answer(("platform", keys.PLATFORM_SERIAL)).replace(b"AEAD_AES_256_GCM", b"SM4_GCM")
    with pytest.raises(MalformedPayload, match="algorithm"):
        decrypt_certificates(apiv3_key, answer)
