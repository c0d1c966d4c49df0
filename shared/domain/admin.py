"""Operators: admin API keys, their roles, and the audit trail of what they changed. Pure: nothing is stored here.

A key reads `wxak_<key_id>_<secret>`: `key_id` (12 lower-case hex) finds the stored record and names the key in the
audit log; the secret (32 random bytes, base64url) is never stored. Only the SHA-256 of the whole key is kept: the
key is high-entropy (256 bits), so a slow password hash would add cost and no safety. Keys are compared in constant
time (hmac.compare_digest).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

KEY_PREFIX = "wxak_"
KEY_FORMAT = re.compile(r"wxak_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


class Role(str, enum.Enum):
    VIEWER = "viewer"  # reads orders, stats, reports, the audit log
    OPERATOR = "operator"  # and refunds, confirms payments, revokes / reinstates licences, resets devices


@dataclass(frozen=True)
class AdminKey:
    """One admin API key as stored: never the key itself."""

    key_id: str
    key_hash: str  # hex SHA-256 of the whole key
    role: Role
    name: str  # who holds it: shown in the audit log
    created_at: int
    revoked_at: int | None = None


@dataclass(frozen=True)
class AuditEntry:
    """One operator action, written once and never changed: who, what, when, before and after."""

    audit_id: str  # time-ordered and unique: f"{at:010d}-{random hex}"; newest first sorts by it descending
    at: int
    actor: str  # key_id of the admin key ("cli:<user>" for the key-management CLI)
    actor_name: str
    role: str
    action: str  # e.g. "order.refund", "licence.revoke", "admin_key.create"
    target: str  # e.g. "order:<order_id>", "licence:<licence_id>"
    outcome: str  # "ok" or the error code the call ended with
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    request_id: str | None = None
    source_ip: str | None = None


def new_key() -> tuple[str, str]:
    """A fresh key: (key_id, key). Show the key once; store only `key_hash(key)`."""
    key_id = secrets.token_hex(6)
    return key_id, f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_key(presented: str) -> str | None:
    """The key_id of a well-formed key, else None (the caller answers 401 without saying why)."""
    match = KEY_FORMAT.fullmatch(presented)
    return match.group(1) if match else None


def matches(stored: AdminKey, presented: str) -> bool:
    """Constant-time comparison of the presented key's hash with the stored one."""
    return hmac.compare_digest(stored.key_hash, key_hash(presented))


def audit_id(at: int) -> str:
    return f"{at:010d}-{secrets.token_hex(6)}"
