"""Human-friendly licence keys (design §4): 25 Crockford base32 characters in 5 groups, 125 bits.

A key is an HMAC of the order id, not a random draw: every retry, duplicate notification and racing poll for one
order computes the same key, so exactly one key exists per order without any coordination. The server stores only
`licence_key_hash`; the key itself can be recomputed from the order when the buyer needs it again.
"""

from __future__ import annotations

import hashlib
import hmac

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
KEY_CHARS = 25
KEY_BITS = KEY_CHARS * 5  # 125 >= the 100 bits design §4 asks for
GROUP = 5
MIN_SECRET_BYTES = 32
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0", " ": None, "-": None, "\t": None, "\n": None, "\r": None})
_VALID = frozenset(ALPHABET)


def licence_key_for(secret: bytes, order_id: str) -> str:
    """The order's key, e.g. `7Q2M4-...`. `secret` is the licence-key purpose key, `derive(server_secret,
    "licence-key")`, which bootstrap passes in; the message prefix separates this use even of a raw secret."""
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the licence-key secret must be at least {MIN_SECRET_BYTES} bytes")
    digest = hmac.new(secret, b"licence-key:" + order_id.encode("utf-8"), hashlib.sha256).digest()
    number = int.from_bytes(digest[:16], "big") >> (128 - KEY_BITS)
    chars = "".join(ALPHABET[(number >> shift) & 31] for shift in range(KEY_BITS - 5, -1, -5))
    return "-".join(chars[i : i + GROUP] for i in range(0, KEY_CHARS, GROUP))


def normalize_licence_key(text: str) -> str | None:
    """The 25-character canonical form of what a user typed or pasted, or None if it cannot be a key.

    Case, spaces, hyphens and the Crockford look-alikes (I, L -> 1; O -> 0) are forgiven. Anything non-ASCII is
    refused before upper-casing, which would otherwise turn e.g. "ß" into "SS".
    """
    if len(text) > 4 * KEY_CHARS or not text.isascii():
        return None
    normalized = text.upper().translate(_CONFUSABLE)
    if len(normalized) != KEY_CHARS or not _VALID.issuperset(normalized):
        return None
    return normalized


def licence_key_hash(normalized: str) -> str:
    """Hex SHA-256 of the canonical key: all the server stores, and how it finds the licence."""
    if len(normalized) != KEY_CHARS or not _VALID.issuperset(normalized):
        raise ValueError("hash the normalized key (normalize_licence_key), not what the user typed")
    return hashlib.sha256(normalized.encode("ascii")).hexdigest()
