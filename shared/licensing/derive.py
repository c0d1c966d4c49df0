"""One server secret, several purposes (design §4): each purpose gets its own key, derived with HKDF-SHA256.

A derived key that leaks tells nothing about the server secret or the other keys, and a purpose cannot be
mistyped into a silently different key: only the names of `Purpose` are accepted (by mypy, and again at run time).
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache
from typing import Literal, get_args

from shared.licensing import _b64

Purpose = Literal["licence-key", "poll-token"]
PURPOSES: frozenset[str] = frozenset(get_args(Purpose))
MIN_SECRET_BYTES = 32  # a short secret could be brute-forced from one licence key and its order id
DERIVED_BYTES = 32


@cache  # once per instance and purpose: every poll token is derived from the same key
def derive(secret: bytes, purpose: Purpose) -> bytes:
    """The 32-byte key of `purpose` (one of PURPOSES), derived from the server secret."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}; expected one of {sorted(PURPOSES)}")
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the server secret must be at least {MIN_SECRET_BYTES} bytes")
    info = b"wxpay-licensing/v1/" + purpose.encode("ascii")
    return _hkdf_sha256(secret, info)


def _hkdf_sha256(secret: bytes, info: bytes) -> bytes:
    """RFC 5869 HKDF-SHA256 without salt (HashLen zero bytes) for one 32-byte block: two HMACs from the standard
    library, the same bytes as cryptography's HKDF(salt=None) without importing its KDF modules on a cold start."""
    prk = hmac.new(b"\0" * hashlib.sha256().digest_size, secret, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()[:DERIVED_BYTES]


def poll_token_for(secret: bytes, order_id: str) -> str:
    """The bearer token that lets the buyer poll one order (43 base64url chars, 256 bits).

    Derived, not random: the token is shown once and only its hash is stored, yet a POST /v1/orders replayed with
    the same Idempotency-Key must answer with the same token, which the server can then only recompute.
    """
    key = derive(secret, "poll-token")
    return _b64.encode(hmac.new(key, order_id.encode("utf-8"), hashlib.sha256).digest())


def token_hash(token: str) -> str:
    """Hex SHA-256 of a bearer token: what storage keeps, so a leaked table grants nothing."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    """Constant-time comparison, so response timing reveals nothing about how much of a guess was right."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
