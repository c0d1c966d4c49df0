"""The environment as settings see it: references resolved on first read, once per instance."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import SplitResult, urlsplit

from shared.errors import ConfigError
from shared.secrets.reference import Reference, parse

_cache: dict[tuple[str, str, str], str] = {}
_lock = threading.Lock()
_context_credentials: tuple[str, str, str | None] | None = None


class SecretEnv(Mapping[str, str]):
    """A read-only view of `env` where a `kms://` or `ssm://` value reads as the secret it names."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def __getitem__(self, name: str) -> str:
        raw = self._env[name]
        reference = parse(raw, setting=name)
        if reference is None:
            return raw
        return reference.select(_fetch(reference, self._env, name), name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._env)

    def __len__(self) -> int:
        return len(self._env)

    def __repr__(self) -> str:
        return f"SecretEnv({len(self._env)} names)"


def resolved_env(env: Mapping[str, str]) -> SecretEnv:
    return env if isinstance(env, SecretEnv) else SecretEnv(env)


def _fetch(reference: Reference, env: Mapping[str, str], setting: str) -> str:
    key = reference.cache_key
    cached = _cache.get(key)
    if cached is not None:
        return cached
    with _lock:  # two threads of one instance (the local gateway) fetch a secret once
        if key not in _cache:
            _cache[key] = _provider_fetch(reference, env, setting)
        return _cache[key]


def _provider_fetch(reference: Reference, env: Mapping[str, str], setting: str) -> str:
    if reference.provider == "kms":
        from shared.secrets.kms import KmsConfig, fetch_kms  # standard library only

        return fetch_kms(reference, KmsConfig.from_env(env, setting, _context_credentials), setting)
    # The Tencent SDK (~95 ms to import) is imported inside, only when an ssm:// reference is configured.
    from shared.secrets.ssm import SsmConfig, fetch_ssm

    return fetch_ssm(reference, SsmConfig.from_env(env, setting), setting)


def remember_context(context: Any) -> None:
    """Keep FC's `context.credentials` (Python <= 3.10 runtimes) for KMS calls when the role's keys are not in the
    environment. Harmless on SCF and on runtimes without it."""
    global _context_credentials
    credentials = getattr(context, "credentials", None)
    key_id = getattr(credentials, "access_key_id", None) or getattr(credentials, "accessKeyId", None)
    secret = getattr(credentials, "access_key_secret", None) or getattr(credentials, "accessKeySecret", None)
    token = getattr(credentials, "security_token", None) or getattr(credentials, "securityToken", None)
    if isinstance(key_id, str) and isinstance(secret, str) and key_id and secret:
        _context_credentials = (key_id, secret, token if isinstance(token, str) and token else None)


def clear_cache() -> None:
    """Forget fetched secrets and remembered credentials (tests; a rotation needs a new instance in production)."""
    global _context_credentials
    with _lock:
        _cache.clear()
    _context_credentials = None


def require(env: Mapping[str, str], name: str, setting: str, why: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"setting {setting} is a {why} reference, which needs {name}")
    return value


def endpoint(env: Mapping[str, str], name: str, value: str) -> SplitResult:
    """A secret service's endpoint (`host` alone means https://host): https only, as secrets would otherwise travel in
    the clear; http:// only to the local stack's stub (LOCAL_STACK=1)."""
    parts = urlsplit(value if "://" in value else f"https://{value}")
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ConfigError(f"setting {name} must be an https:// URL")
    if parts.scheme == "http":
        from shared.config import local_stack

        if not local_stack(env):
            raise ConfigError(f"setting {name} must be an https:// URL (http:// only in the local stack)")
    return parts
