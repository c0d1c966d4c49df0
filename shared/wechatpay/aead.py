"""AEAD_AES_256_GCM resources: notification payloads and platform certificates (reference §2, §6)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.wechatpay._fields import as_object, opt_str, parse_json, req_str
from shared.wechatpay.constants import AEAD_ALGORITHM, AEAD_TAG_LENGTH, APIV3_KEY_LENGTH
from shared.wechatpay.errors import DecryptError, MalformedPayload

if TYPE_CHECKING:
    from cryptography import x509


def apiv3_key_bytes(apiv3_key: str) -> bytes:
    """The APIv3 key as the AES key: its 32 ASCII characters taken as bytes, not hex- or base64-decoded."""
    key = apiv3_key.encode("ascii")
    if len(key) != APIV3_KEY_LENGTH:
        raise ValueError(f"the APIv3 key must be {APIV3_KEY_LENGTH} ASCII characters")
    return key


def _cipher(apiv3_key: bytes) -> AESGCM:
    if len(apiv3_key) != APIV3_KEY_LENGTH:
        raise ValueError(f"the APIv3 key must be {APIV3_KEY_LENGTH} bytes")
    return AESGCM(apiv3_key)


def decrypt_resource(apiv3_key: bytes, *, nonce: str, associated_data: str, ciphertext: str) -> bytes:
    """Open base64(ct ‖ tag) with IV = nonce and AAD = associated_data (both UTF-8; AAD may be empty)."""
    cipher = _cipher(apiv3_key)
    try:
        data = base64.b64decode(ciphertext, validate=True)
    except ValueError as exc:  # binascii.Error, or a non-ASCII string
        raise DecryptError("ciphertext is not base64") from exc
    if len(data) < AEAD_TAG_LENGTH or not nonce:
        raise DecryptError("ciphertext or nonce too short")
    try:
        return cipher.decrypt(nonce.encode(), data, associated_data.encode())
    except InvalidTag as exc:
        raise DecryptError("AES-GCM tag mismatch: wrong APIv3 key or tampered resource") from exc
    except ValueError as exc:  # a nonce outside AES-GCM's 8-128 bytes, or text that is not UTF-8 (a lone surrogate)
        raise DecryptError("nonce or associated data unusable") from exc


def encrypt_resource(apiv3_key: bytes, *, nonce: str, associated_data: str, plaintext: bytes) -> str:
    """The inverse of decrypt_resource, as WeChat does it; used by tests."""
    sealed = _cipher(apiv3_key).encrypt(nonce.encode(), plaintext, associated_data.encode())
    return base64.b64encode(sealed).decode("ascii")


def _same_serial(listed: str, serial_number: int) -> bool:
    try:
        return int(listed, 16) == serial_number
    except ValueError:
        return False


def _decrypt_entry(apiv3_key: bytes, entry: Any) -> x509.Certificate:
    from cryptography import x509  # certificate mode only: the notify function's cold start skips ~30 ms

    entry = as_object(entry, "certificate entry")
    sealed = as_object(entry.get("encrypt_certificate"), "field 'encrypt_certificate'")
    algorithm = req_str(sealed, "algorithm")
    if algorithm != AEAD_ALGORITHM:
        raise MalformedPayload(f"unsupported certificate algorithm {algorithm!r}")
    pem = decrypt_resource(
        apiv3_key,
        nonce=req_str(sealed, "nonce"),
        associated_data=opt_str(sealed, "associated_data") or "",
        ciphertext=req_str(sealed, "ciphertext"),
    )
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise MalformedPayload("decrypted certificate is not PEM") from exc
    if not _same_serial(req_str(entry, "serial_no"), certificate.serial_number):
        raise MalformedPayload("listed serial_no differs from the decrypted certificate's serial")
    return certificate


def decrypt_certificates(apiv3_key: bytes, certificates_json: bytes) -> list[x509.Certificate]:
    """Decrypt every certificate of a `GET /v3/certificates` answer body."""
    answer = as_object(parse_json(certificates_json, "certificates answer"), "certificates answer")
    data = answer.get("data")
    if not isinstance(data, list):
        raise MalformedPayload("certificates answer lacks a data list")
    return [_decrypt_entry(apiv3_key, entry) for entry in data]
