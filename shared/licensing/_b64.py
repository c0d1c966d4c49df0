"""Unpadded base64url (RFC 4648 §5), the encoding of tokens, public keys and seeds (design §4)."""

from __future__ import annotations

import base64
import re

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode(text: str) -> bytes:
    """Strict decoding: ValueError on any foreign character, bad length or non-canonical trailing bits.

    The standard decoder skips unknown characters and ignores stray trailing bits, so several strings decode to one
    value; insisting on the canonical form keeps exactly one spelling per token, key and seed.
    """
    if not _ALPHABET.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if encode(data) != text:
        raise ValueError("not canonical base64url")
    return data
