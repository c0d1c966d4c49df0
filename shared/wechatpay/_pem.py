"""PEM text normalisation shared by the key loaders, and the loaders themselves."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes


def with_pem_armor(pem: str | bytes, label: str) -> bytes:
    """Return `pem` as bytes, adding BEGIN/END lines when only the base64 body was given.

    Merchants often paste the key body from the portal without its armour; wechatpayv3 accepts that too
    (reference §11), so configuration written for the SDK keeps working here.
    """
    text = pem.decode("ascii") if isinstance(pem, bytes) else pem
    text = text.strip()
    if "-----BEGIN " in text:
        return text.encode("ascii")
    return f"-----BEGIN {label}-----\n{text}\n-----END {label}-----\n".encode("ascii")


def _pem_loaders() -> tuple[Callable[..., PublicKeyTypes], Callable[..., PrivateKeyTypes]]:
    """cryptography's own PEM loaders, reached without `cryptography.hazmat.primitives.serialization`.

    That package's __init__ also imports its SSH key module (and with it DSA, EC, ciphers): ~5 ms of a cold start
    for nothing. `serialization.base` merely re-exports these two functions from the Rust bindings; a unit test
    checks that they are the very same objects, so an upgrade that moves them fails there, not here.
    """
    try:
        from cryptography.hazmat.bindings._rust import openssl

        return openssl.keys.load_pem_public_key, openssl.keys.load_pem_private_key
    except (ImportError, AttributeError):  # pragma: no cover - a cryptography that moved them: the public API
        from cryptography.hazmat.primitives import serialization

        return serialization.load_pem_public_key, serialization.load_pem_private_key


load_pem_public_key, load_pem_private_key = _pem_loaders()
