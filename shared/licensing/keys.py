"""Ed25519 licence-signing keys, named by key id so that keys can rotate (design §4).

The setting is `"kid1:<seed>,kid2:<seed>"`, each seed the base64url of 32 random bytes. The first entry signs new
tokens; every entry is published, so a token signed by an older key keeps verifying until that key is removed.
Rotation: put the new key first, wait until every token of the old one has expired (TOKEN_LIFETIME), remove it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.errors import ConfigError
from shared.licensing import _b64

KID = re.compile(r"[A-Za-z0-9_-]{1,32}")
SEED_BYTES = 32
PUBLIC_KEY_BYTES = 32


def valid_kid(text: str) -> bool:
    return KID.fullmatch(text) is not None


class SigningKeys:
    """The server's private keys, newest (active) first. Seeds never leave this object, not even in repr()."""

    def __init__(self, keys: list[tuple[str, Ed25519PrivateKey]]):
        if not keys:
            raise ConfigError("signing keys: at least one 'kid:seed' entry is required")
        self._keys = dict(keys)
        if len(self._keys) != len(keys):
            raise ConfigError("signing keys: a kid appears twice")
        self._active_kid = keys[0][0]

    @classmethod
    def parse(cls, text: str) -> SigningKeys:
        """Read the setting; every message names the entry by position (and its kid once valid), never the seed."""
        if not text.strip():
            raise ConfigError("signing keys: the setting is empty; expected 'kid:seed[,kid:seed...]'")
        keys: list[tuple[str, Ed25519PrivateKey]] = []
        for position, entry in enumerate(text.split(","), start=1):
            kid, key = _parse_entry(entry.strip(), position)
            if any(kid == seen for seen, _ in keys):
                raise ConfigError(f"signing keys: entry {position} repeats kid {kid!r}")
            keys.append((kid, key))
        return cls(keys)

    @property
    def active_kid(self) -> str:
        return self._active_kid

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of `message` by the active key."""
        return self._keys[self._active_kid].sign(message)

    def public_keys(self) -> dict[str, str]:
        """kid -> unpadded base64url of the raw 32-byte public key: what GET /v1/licenses/keys publishes."""
        return {kid: _b64.encode(_raw_public(key.public_key())) for kid, key in self._keys.items()}

    def to_public(self) -> PublicKeys:
        """The verifying half of every key, for a server that checks the tokens it signed."""
        return PublicKeys({kid: key.public_key() for kid, key in self._keys.items()})

    def __repr__(self) -> str:
        return f"SigningKeys(kids={list(self._keys)!r}, active={self._active_kid!r})"


class PublicKeys:
    """Verifying keys by kid (what an extension embeds or fetches)."""

    def __init__(self, keys: Mapping[str, Ed25519PublicKey]):
        self._keys = dict(keys)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, str]) -> PublicKeys:
        """From kid -> unpadded base64url raw public key, as `SigningKeys.public_keys()` writes it."""
        if not mapping:
            raise ConfigError("public keys: at least one kid -> key is required")
        keys: dict[str, Ed25519PublicKey] = {}
        for kid, encoded in mapping.items():
            if not valid_kid(kid):
                raise ConfigError("public keys: a kid must be 1-32 characters of [A-Za-z0-9_-]")
            try:
                raw = _b64.decode(encoded)
            except ValueError:
                raw = b""
            if len(raw) != PUBLIC_KEY_BYTES:
                raise ConfigError(f"public keys: the key of kid {kid!r} is not base64url of 32 bytes")
            keys[kid] = Ed25519PublicKey.from_public_bytes(raw)
        return cls(keys)

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def get(self, kid: str) -> Ed25519PublicKey | None:
        return self._keys.get(kid)

    def __repr__(self) -> str:
        return f"PublicKeys(kids={list(self._keys)!r})"


def generate_entry(kid: str) -> str:
    """A fresh 'kid:seed' entry for the setting (dev keys, rotation). Print it once; never log it."""
    if not valid_kid(kid):
        raise ValueError("a kid must be 1-32 characters of [A-Za-z0-9_-]")
    return f"{kid}:{_b64.encode(secrets.token_bytes(SEED_BYTES))}"


def _parse_entry(entry: str, position: int) -> tuple[str, Ed25519PrivateKey]:
    # An invalid kid is never echoed: a mistyped entry (seed first, missing colon) may put the seed in its place.
    kid, colon, seed = entry.partition(":")
    if not entry:
        raise ConfigError(f"signing keys: entry {position} is empty")
    if not colon:
        raise ConfigError(f"signing keys: entry {position} is not 'kid:seed'")
    if not valid_kid(kid):
        raise ConfigError(f"signing keys: entry {position} has an invalid kid (1-32 characters of [A-Za-z0-9_-])")
    try:
        raw = _b64.decode(seed.rstrip("="))  # a padded seed is accepted: generators often pad
    except ValueError:
        raw = b""
    if len(raw) != SEED_BYTES:
        raise ConfigError(f"signing keys: the seed of kid {kid!r} (entry {position}) is not base64url of 32 bytes")
    return kid, Ed25519PrivateKey.from_private_bytes(raw)


def _raw_public(key: Ed25519PublicKey) -> bytes:
    # Not public_bytes(Encoding.Raw, PublicFormat.Raw): importing `serialization` for two enums costs a cold start
    # ~5 ms (its SSH module comes along); public_bytes_raw (cryptography >= 40) gives the same 32 bytes.
    return key.public_bytes_raw()
