"""AEAD_AES_256_GCM resources: notification payloads and platform certificates (reference §2, §6)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.wechatpay.constants import AEAD_ALGORITHM, AEAD_TAG_LENGTH, APIV3_KEY_LENGTH
from shared.wechatpay.errors import DecryptError, MalformedPayload


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
    except binascii.Error as exc:
        raise DecryptError("ciphertext is not base64") from exc
    if len(data) < AEAD_TAG_LENGTH or not nonce:
        raise DecryptError("ciphertext or nonce too short")
    try:
        return cipher.decrypt(nonce.encode(), data, associated_data.encode())
    except InvalidTag as exc:
        raise DecryptError("AES-GCM tag mismatch: wrong APIv3 key or tampered resource") from exc


def encrypt_resource(apiv3_key: bytes, *, nonce: str, associated_data: str, plaintext: bytes) -> str:
    """The inverse of decrypt_resource, as WeChat does it; used by tests."""
    sealed = _cipher(apiv3_key).encrypt(nonce.encode(), plaintext, associated_data.encode())
    return base64.b64encode(sealed).decode("ascii")


def _field(obj: Any, key: str) -> str:
    value = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, str):
        raise MalformedPayload(f"certificate entry lacks string field {key!r}")
    return value


def _same_serial(listed: str, serial_number: int) -> bool:
    try:
        return int(listed, 16) == serial_number
    except ValueError:
        return False


def _decrypt_entry(apiv3_key: bytes, entry: Any) -> x509.Certificate:
    sealed = entry.get("encrypt_certificate") if isinstance(entry, dict) else None
    algorithm = _field(sealed, "algorithm")
    if algorithm != AEAD_ALGORITHM:
        raise MalformedPayload(f"unsupported certificate algorithm {algorithm!r}")
    pem = decrypt_resource(
        apiv3_key,
        nonce=_field(sealed, "nonce"),
        associated_data=_field(sealed, "associated_data"),
        ciphertext=_field(sealed, "ciphertext"),
    )
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise MalformedPayload("decrypted certificate is not PEM") from exc
    listed = _field(entry, "serial_no")
    if not _same_serial(listed, certificate.serial_number):
        raise MalformedPayload("listed serial_no differs from the decrypted certificate's serial")
    return certificate


def decrypt_certificates(apiv3_key: bytes, certificates_json: bytes) -> list[x509.Certificate]:
    """Decrypt every certificate of a `GET /v3/certificates` answer body."""
    try:
        data = json.loads(certificates_json).get("data")
    except (ValueError, AttributeError) as exc:
        raise MalformedPayload("certificates answer is not a JSON object") from exc
    if not isinstance(data, list):
        raise MalformedPayload("certificates answer lacks a data list")
    return [_decrypt_entry(apiv3_key, entry) for entry in data]
