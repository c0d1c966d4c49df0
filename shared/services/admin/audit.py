"""The audit trail of operators' actions: exactly one entry per mutating call, whatever its outcome.

`Auditor.run` wraps an action: it takes the target's view before, runs the action, takes the view after, and
appends one AuditEntry with the outcome ("ok", or the code of the error the call ended with) — then returns the
action's result or lets its error go on to the client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from shared import errors, log
from shared.domain.admin import AdminKey, AuditEntry, Role, audit_id
from shared.storage.port import Storage

T = TypeVar("T")
Snapshot = Callable[[], Mapping[str, Any] | None]


@dataclass(frozen=True)
class Caller:
    """Who asks, as the audit log names them: an admin key (actor = its key_id) or the CLI (actor = cli:<user>)."""

    actor: str
    name: str
    role: str
    request_id: str | None = None
    source_ip: str | None = None

    @classmethod
    def of_key(cls, key: AdminKey, request_id: str | None, source_ip: str | None) -> Caller:
        return cls(key.key_id, key.name, key.role.value, request_id, source_ip)

    @classmethod
    def cli(cls, user: str) -> Caller:
        return cls(f"cli:{user}", user, "cli")

    @property
    def operator(self) -> bool:
        return self.role in (Role.OPERATOR.value, "cli")


class Auditor:
    def __init__(self, storage: Storage, clock: Callable[[], int]):
        self._storage, self._clock = storage, clock

    def run(self, caller: Caller, action: str, target: str, snapshot: Snapshot, act: Callable[[], T]) -> T:
        before: Mapping[str, Any] | None = None
        outcome = "INTERNAL"
        try:
            if not caller.operator:
                raise errors.Forbidden("this key may only read: an operator key is needed", code="FORBIDDEN")
            before = snapshot()
            result = act()
            outcome = "ok"
            return result
        except errors.AppError as exc:
            outcome = exc.code
            raise
        finally:
            self._append(caller, action, target, outcome, before, snapshot)

    def _append(
        self,
        caller: Caller,
        action: str,
        target: str,
        outcome: str,
        before: Mapping[str, Any] | None,
        snapshot: Snapshot,
    ) -> None:
        after = before
        if outcome != "FORBIDDEN":
            try:
                after = snapshot()
            except Exception as exc:  # storage failing: the entry is still written, with what is known
                log.warning("audit_snapshot_failed", action=action, error_type=type(exc).__name__)
        now = self._clock()
        entry = AuditEntry(
            audit_id=audit_id(now),
            at=now,
            actor=caller.actor,
            actor_name=caller.name,
            role=caller.role,
            action=action,
            target=target,
            outcome=outcome,
            before=before,
            after=after,
            request_id=caller.request_id,
            source_ip=caller.source_ip,
        )
        self._storage.append_audit(entry)
        log.info("admin_action", action=action, target=target, outcome=outcome, actor=caller.actor)
