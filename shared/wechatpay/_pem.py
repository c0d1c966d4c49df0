"""PEM text normalisation shared by the key loaders."""

from __future__ import annotations


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
