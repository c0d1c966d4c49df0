"""The admin services wired as the composition root wires them, over the lifecycle world (in-memory storage,
scripted gateway, a clock the test moves)."""

from __future__ import annotations

from shared.config import AdminSettings
from shared.domain.admin import AdminKey, AuditEntry, Role, key_hash, new_key
from shared.services.admin import AdminAuth, AdminOperations, AdminQueries, Auditor, Caller, KeyManagement
from tests.unit.lifecycle_world import World

MAX_FAILURES, WINDOW = 3, 300


class AdminWorld(World):
    def __init__(self) -> None:
        super().__init__()
        self.auditor = Auditor(self.storage, self.clock)
        self.auth = AdminAuth(self.storage, AdminSettings(MAX_FAILURES, WINDOW, frozenset()), self.clock)
        self.queries = AdminQueries(self.storage)
        self.operations = AdminOperations(
            self.storage, self.auditor, lambda: self.refunds, lambda: self.payments, lambda: self.gateway, self.clock
        )
        self.keys = KeyManagement(self.storage, self.auditor, self.clock)

    def key(self, role: Role = Role.OPERATOR, name: str = "alice") -> tuple[AdminKey, str]:
        key_id, key = new_key()
        record = AdminKey(key_id, key_hash(key), role, name, self.now)
        assert self.storage.insert_admin_key(record)
        return record, key

    def caller(self, role: Role = Role.OPERATOR) -> Caller:
        record, _ = self.key(role, name=f"{role.value}-user")
        return Caller.of_key(record, "req-1", "203.0.113.7")

    def audit(self) -> list[AuditEntry]:
        """The audit log, newest first."""
        return self.storage.audit_entries(None, 100)
