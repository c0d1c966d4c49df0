"""Install ids (design §3): the extension's secret random id; the server keeps and compares only its hash."""

from __future__ import annotations

import hashlib
import re

from shared.licensing import _b64

# >= 128 random bits as base64url (22 chars) or hex (32); the cap bounds what a request can make us hash.
INSTALL_ID = re.compile(r"[A-Za-z0-9_-]{22,64}")


def valid_install_id(text: str) -> bool:
    return INSTALL_ID.fullmatch(text) is not None


def install_hash(install_id: str) -> str:
    """Unpadded base64url of SHA-256(install_id), 43 chars: a token's `ins`.

    A plain hash, not an HMAC, so that the extension can check offline (WebCrypto) that a token is its own; the
    ≥128 random bits of the id make the hash as hard to invert as the id is to guess.
    """
    if not valid_install_id(install_id):
        raise ValueError("an install id is 22-64 characters of [A-Za-z0-9_-]")
    return _b64.encode(hashlib.sha256(install_id.encode("utf-8")).digest())
