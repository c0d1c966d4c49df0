"""Licence tokens (design §4): `base64url(payload JSON) "." base64url(Ed25519 signature)`, unpadded.

The signature covers the ASCII bytes of the first part exactly as sent, so nobody (the server, the extension's
WebCrypto verifier) ever has to re-serialise JSON to check it. The payload is compact JSON with sorted keys, so one
licence, install, key and instant always give the same token.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from cryptography.exceptions import InvalidSignature

from shared.domain.licences import Licence, token_expiry
from shared.licensing import _b64

if TYPE_CHECKING:  # not at run time: the notify function imports this module but never signs (no Ed25519 import)
    from shared.licensing.keys import PublicKeys, SigningKeys

TOKEN_VERSION = 1
MAX_TOKEN_LENGTH = 4096  # far above any token we sign; bounds the work an attacker's string can cause
SIGNATURE_BYTES = 64

Payload = dict[str, Any]
Reason = Literal["MALFORMED", "UNKNOWN_KEY", "BAD_SIGNATURE", "EXPIRED", "UNSUPPORTED_VERSION"]


class TokenInvalid(Exception):
    """A token that must not unlock anything; `reason` is a stable code for clients."""

    def __init__(self, reason: Reason):
        super().__init__(reason)
        self.reason: Reason = reason


def licence_payload(licence: Licence, install_hash: str, kid: str, now: int) -> Payload:
    """What a token says: which licence unlocks what, for which install, until when."""
    return {
        "v": TOKEN_VERSION,
        "kid": kid,
        "lic": licence.licence_id,
        "sub": licence.product_id,
        "ent": list(licence.entitlements),
        "ins": install_hash,
        "iat": now,
        "exp": token_expiry(licence, now),
        "lexp": licence.expires_at,
        "ord": licence.order_id,
        "max": licence.max_devices,
    }


def sign_token(payload: Payload, keys: SigningKeys) -> str:
    if payload.get("kid") != keys.active_kid:
        raise ValueError("the payload's kid must be the active signing key's")
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=True, allow_nan=False)
    first = _b64.encode(body.encode("ascii"))
    token = f"{first}.{_b64.encode(keys.sign(first.encode('ascii')))}"
    if len(token) > MAX_TOKEN_LENGTH:
        raise ValueError("the token would exceed MAX_TOKEN_LENGTH and be refused by every verifier")
    return token


def verify_token(token: str, public: PublicKeys, now: int, *, leeway: int = 60) -> Payload:
    """The payload of a genuine, unexpired token; TokenInvalid(reason) otherwise.

    The key is looked up by the payload's own `kid` before the signature is checked. That is safe: `kid` lies inside
    the signed bytes and only chooses among keys we published, so altering it to pick another key yields a signature
    that key never made (BAD_SIGNATURE). There is no algorithm field to confuse: every key is Ed25519. Likewise an
    unsigned `v` that is not ours can only lead to a refusal.
    """
    first, signature = _split(token)
    payload = _decode_payload(first)
    if payload.get("v") != TOKEN_VERSION:
        raise TokenInvalid("UNSUPPORTED_VERSION")
    kid = payload.get("kid")
    key = public.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise TokenInvalid("UNKNOWN_KEY" if isinstance(kid, str) else "MALFORMED")
    try:
        key.verify(signature, first.encode("ascii"))
    except InvalidSignature as exc:
        raise TokenInvalid("BAD_SIGNATURE") from exc
    expiry = payload.get("exp")
    if not isinstance(expiry, int) or isinstance(expiry, bool):
        raise TokenInvalid("MALFORMED")
    if now >= expiry + leeway:  # leeway: the client's clock and ours disagree by a little
        raise TokenInvalid("EXPIRED")
    return payload


def _split(token: str) -> tuple[str, bytes]:
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        raise TokenInvalid("MALFORMED")
    first, second = token.split(".")
    try:
        signature = _b64.decode(second)
    except ValueError as exc:
        raise TokenInvalid("MALFORMED") from exc
    if not first or len(signature) != SIGNATURE_BYTES:
        raise TokenInvalid("MALFORMED")
    return first, signature


def _decode_payload(first: str) -> Payload:
    try:
        payload = json.loads(_b64.decode(first), parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # bad base64url, UTF-8 or JSON; nesting deeper than the parser goes
        raise TokenInvalid("MALFORMED") from exc
    if not isinstance(payload, dict):
        raise TokenInvalid("MALFORMED")
    return payload


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
