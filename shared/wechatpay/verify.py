"""Verification of WeChat's signed responses and notifications (reference §2), like wechatpay-go's chain.

Pure code: the caller passes the current time; the raw body bytes are verified, never a re-serialisation.

Cold start (design §9): the notify function imports this module, so `cryptography.x509` (~30 ms) is imported only
when a platform certificate is actually loaded; merchants in public-key mode never pay for it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from shared.wechatpay._pem import load_pem_public_key, with_pem_armor
from shared.wechatpay.constants import (
    HEADER_NONCE,
    HEADER_SERIAL,
    HEADER_SIGNATURE,
    HEADER_SIGNATURE_TYPE,
    HEADER_TIMESTAMP,
    MAX_CLOCK_SKEW_SECONDS,
    PUBLIC_KEY_ID_PREFIX,
    SIGNATURE_TYPE,
    SIGNTEST_PREFIX,
)
from shared.wechatpay.errors import SignatureError, SignTestProbe, StaleTimestamp, UnknownSerial

if TYPE_CHECKING:
    from cryptography import x509


def load_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    """Load the WeChat Pay public key (`pub_key.pem`), with or without the armour lines."""
    key = load_pem_public_key(with_pem_armor(pem, "PUBLIC KEY"))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the WeChat Pay public key must be an RSA key")
    return key


def load_certificate(pem: str | bytes) -> x509.Certificate:
    """Load a WeChat Pay platform certificate from PEM."""
    from cryptography import x509

    return x509.load_pem_x509_certificate(pem.encode("ascii") if isinstance(pem, str) else pem)


def certificate_serial(certificate: x509.Certificate) -> str:
    """The certificate serial as WeChat writes it in `Wechatpay-Serial`: uppercase hex."""
    return format(certificate.serial_number, "X")


def response_message(timestamp: str | int, nonce: str, body: bytes) -> bytes:
    """The verification string: timestamp, nonce, body, each ending in \\n (empty body: `TS\\nNONCE\\n\\n`)"""
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


def is_valid_at(certificate: x509.Certificate, now: int) -> bool:
    """Whether `now` (Unix seconds) lies within the certificate's validity period."""
    moment = datetime.fromtimestamp(now, tz=timezone.utc)
    return certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc


@dataclass(frozen=True)
class KeyRing:
    """The WeChat Pay keys we trust: the public key under its PUB_KEY_ID_… and/or platform certificates.

    Both may be present during the public-key migration, and several certificates during a rotation
    (reference §2); `Wechatpay-Serial` picks one per message.
    """

    public_key: rsa.RSAPublicKey | None = None
    public_key_id: str | None = None
    certificates: tuple[x509.Certificate, ...] = field(default=())

    def __post_init__(self) -> None:
        if (self.public_key is None) != (self.public_key_id is None):
            raise ValueError("public_key and public_key_id must be given together")
        if self.public_key_id is not None and not self.public_key_id.startswith(PUBLIC_KEY_ID_PREFIX):
            raise ValueError(f"public_key_id must start with {PUBLIC_KEY_ID_PREFIX}")
        for certificate in self.certificates:
            if not isinstance(certificate.public_key(), rsa.RSAPublicKey):
                raise ValueError("platform certificates must carry RSA keys")

    @classmethod
    def from_pem(
        cls,
        *,
        public_key_pem: str | bytes | None = None,
        public_key_id: str | None = None,
        certificate_pems: Iterable[str | bytes] = (),
    ) -> KeyRing:
        """Build a key ring from PEM text as found in configuration."""
        public_key = load_public_key(public_key_pem) if public_key_pem is not None else None
        certificates = tuple(load_certificate(pem) for pem in certificate_pems)
        return cls(public_key=public_key, public_key_id=public_key_id, certificates=certificates)

    def with_certificates(self, certificates: Iterable[x509.Certificate]) -> KeyRing:
        """A new key ring with the same public key and `certificates` replacing the current ones."""
        return KeyRing(self.public_key, self.public_key_id, tuple(certificates))

    def key_for(self, serial: str, now: int) -> rsa.RSAPublicKey:
        """The key named by a `Wechatpay-Serial` value, among those valid at `now` (Unix seconds)."""
        if serial.startswith(PUBLIC_KEY_ID_PREFIX):
            if self.public_key is not None and serial == self.public_key_id:
                return self.public_key
            raise UnknownSerial(f"no WeChat Pay public key configured with id {serial!r}")
        wanted = _parse_hex_serial(serial)
        for certificate in self.certificates:
            if certificate.serial_number == wanted and is_valid_at(certificate, now):
                key = certificate.public_key()
                assert isinstance(key, rsa.RSAPublicKey)  # checked in __post_init__
                return key
        raise UnknownSerial(f"no platform certificate with serial {serial!r} valid now")


def _parse_hex_serial(serial: str) -> int:
    try:
        return int(serial, 16)
    except ValueError:
        raise UnknownSerial(f"Wechatpay-Serial {serial!r} is neither a public key id nor a hex serial") from None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _required_header(headers: Mapping[str, str], name: str) -> str:
    value = _header(headers, name)
    if not value:
        raise SignatureError(f"missing header {name}")
    return value


def _check_fresh(timestamp: str, now: int) -> None:
    try:
        sent = int(timestamp)
    except ValueError:
        raise SignatureError(f"Wechatpay-Timestamp {timestamp!r} is not Unix seconds") from None
    if abs(now - sent) >= MAX_CLOCK_SKEW_SECONDS:
        raise StaleTimestamp(f"Wechatpay-Timestamp {sent} is {now - sent} s away from now")


def verify_signed_message(headers: Mapping[str, str], body: bytes, keyring: KeyRing, now: int) -> None:
    """Authenticate a WeChat response or notification; return quietly or raise a SignatureError subclass."""
    signature = _required_header(headers, HEADER_SIGNATURE)
    timestamp = _required_header(headers, HEADER_TIMESTAMP)
    nonce = _required_header(headers, HEADER_NONCE)
    serial = _required_header(headers, HEADER_SERIAL)
    # Probes carry a deliberately wrong signature; name them before any crypto (reference §2).
    if signature.startswith(SIGNTEST_PREFIX):
        raise SignTestProbe("WECHATPAY/SIGNTEST/ signature probe")
    _check_fresh(timestamp, now)
    signature_type = _header(headers, HEADER_SIGNATURE_TYPE)
    if signature_type is not None and signature_type != SIGNATURE_TYPE:
        raise SignatureError(f"unsupported Wechatpay-Signature-Type {signature_type!r}")
    key = keyring.key_for(serial, now)
    try:
        raw_signature = base64.b64decode(signature, validate=True)
        message = response_message(timestamp, nonce, body)
        key.verify(raw_signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (ValueError, InvalidSignature) as exc:  # ValueError: binascii.Error, or a non-ASCII header value
        raise SignatureError("Wechatpay-Signature does not match the message") from exc
