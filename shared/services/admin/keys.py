"""Admin keys are made and revoked from the command line only (python -m scripts.admin keys ...), never through the
API, so that a stolen key cannot mint another. Both are audited, with actor `cli:<user>`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shared import errors
from shared.domain.admin import AdminKey, Role, key_hash, new_key
from shared.services.admin.audit import Auditor, Caller
from shared.services.admin.views import key_view
from shared.storage.port import Storage

NAME = re.compile(r"[^\x00-\x1f\x7f]{1,64}")


class KeyManagement:
    def __init__(self, storage: Storage, auditor: Auditor, clock: Callable[[], int]):
        self._storage, self._auditor, self._clock = storage, auditor, clock

    def create(self, user: str, name: str, role: str) -> dict[str, Any]:
        """A new key: its view and, under `key`, the key itself — shown this once and stored only as a hash."""
        key_id, key = new_key()

        def act() -> dict[str, Any]:
            chosen = _role(role)
            if not NAME.fullmatch(name) or not name.strip():
                raise errors.ValidationFailed("a name of 1-64 printable characters is required", code="INVALID_NAME")
            record = AdminKey(key_id, key_hash(key), chosen, name.strip(), self._clock())
            if not self._storage.insert_admin_key(record):  # 48 random bits clashing: run the command again
                raise errors.Conflict("that key id is taken: create the key again", code="KEY_ID_TAKEN")
            return {**key_view(record), "key": key}

        return self._auditor.run(Caller.cli(user), "admin_key.create", f"admin_key:{key_id}", self._view(key_id), act)

    def revoke(self, user: str, key_id: str) -> dict[str, Any]:
        def act() -> dict[str, Any]:
            if self._storage.get_admin_key(key_id) is None:
                raise errors.NotFound("no such admin key", code="KEY_NOT_FOUND")
            if not self._storage.revoke_admin_key(key_id, self._clock()):
                raise errors.Conflict("this key is already revoked", code="KEY_REVOKED")
            stored = self._storage.get_admin_key(key_id)
            assert stored is not None
            return key_view(stored)

        return self._auditor.run(Caller.cli(user), "admin_key.revoke", f"admin_key:{key_id}", self._view(key_id), act)

    def _view(self, key_id: str) -> Callable[[], dict[str, Any] | None]:
        def snapshot() -> dict[str, Any] | None:
            stored = self._storage.get_admin_key(key_id)
            return key_view(stored) if stored else None

        return snapshot

    def list(self) -> list[dict[str, Any]]:
        return [key_view(k) for k in self._storage.admin_keys()]


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise errors.ValidationFailed(
            f"role must be one of {', '.join(r.value for r in Role)}", code="INVALID_ROLE"
        ) from None
