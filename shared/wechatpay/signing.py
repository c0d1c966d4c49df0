"""Request signing, merchant -> WeChat (reference §1): pure functions over bytes."""

from __future__ import annotations

import base64
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from shared.wechatpay._pem import load_pem_private_key, with_pem_armor
from shared.wechatpay.constants import AUTH_SCHEME

NONCE_LENGTH = 32


def load_private_key(pem: str | bytes) -> rsa.RSAPrivateKey:
    """Load the merchant's RSA private key from PKCS#8 PEM, with or without the armour lines.

    Without OpenSSL's RSA consistency check (primality of p and q, d·e ≡ 1 and friends): it costs ~35 ms of every
    cold start that signs, and guards against keys crafted by an attacker, which this one cannot be — it is our own
    secret, from our own configuration, the key WeChat Pay's tool generated for the merchant. A corrupt key still
    fails to parse here, or makes signatures WeChat refuses with SIGN_ERROR on the first call; nothing leaks either
    way, since the only secret at stake is that key itself (cryptography ≥ 39, `unsafe_skip_rsa_key_validation`).
    """
    key = load_pem_private_key(with_pem_armor(pem, "PRIVATE KEY"), password=None, unsafe_skip_rsa_key_validation=True)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the merchant API key must be an RSA private key")
    return key


def new_nonce() -> str:
    """A fresh 32-character random nonce for the Authorization header."""
    return secrets.token_hex(NONCE_LENGTH // 2).upper()


def request_message(method: str, canonical_url: str, timestamp: int, nonce: str, body: bytes) -> bytes:
    """The signing string: METHOD, path+query as sent, timestamp, nonce, body; each line ends with \\n."""
    head = f"{method.upper()}\n{canonical_url}\n{timestamp}\n{nonce}\n".encode()
    return head + body + b"\n"


def sign_message(private_key: rsa.RSAPrivateKey, message: bytes) -> str:
    """Base64 of the RSASSA-PKCS1-v1_5 / SHA-256 signature of `message`."""
    signature = private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def authorization_header(
    *,
    mchid: str,
    serial_no: str,
    private_key: rsa.RSAPrivateKey,
    method: str,
    canonical_url: str,
    body: bytes,
    timestamp: int,
    nonce: str,
) -> str:
    """The full `Authorization` header value, parameters in the order wechatpayv3 writes them."""
    signature = sign_message(private_key, request_message(method, canonical_url, timestamp, nonce, body))
    params = (
        f'mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",timestamp="{timestamp}",serial_no="{serial_no}"'
    )
    return f"{AUTH_SCHEME} {params}"
