"""Security events — rejected notifications, failed admin authentication, rate-limit hits, activations beyond the
device limit — counted and audited, for the alert rules of docs/operations.md.

Every event is counted: a `security_events` metric line with its `kind` (and `reason`). Each is also written to the
append-only audit log (action `security.<kind>`, actor `anonymous`), at most once per kind, reason and minute, so
that a flood of forged requests cannot turn into a flood of writes: the count is in the metrics, the audit log shows
that it happened, when, and from where first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from shared import log

if TYPE_CHECKING:
    from shared.storage.port import Storage

SAMPLE_SECONDS = 60


class SecurityEvents:
    def __init__(self, storage: Callable[[], Storage], clock: Callable[[], int]):
        self._storage, self._clock = storage, clock  # storage is reached only when an event is audited

    def record(
        self,
        kind: str,
        *,
        reason: str | None = None,
        reference: str = "",
        details: Mapping[str, Any] | None = None,
        source_ip: str | None = None,
    ) -> None:
        """Count the event; audit it unless one of the same kind and reason was audited this minute. Never raises:
        a storage failure here must not change the answer to the request that caused the event."""
        log.metric("security_events", 1, kind=kind, reason=reason)
        try:
            now = self._clock()
            window = now // SAMPLE_SECONDS
            name = f"sec:{kind}:{reason or ''}"
            storage = self._storage()
            if storage.hit_counter(name, window, (window + 2) * SAMPLE_SECONDS) != 1:
                return
            from shared.domain.admin import AuditEntry, audit_id  # on the rare audited event only, not at cold start

            bound = log.bound()
            storage.append_audit(
                AuditEntry(
                    audit_id=audit_id(now),
                    at=now,
                    actor="anonymous",
                    actor_name="",
                    role="",
                    action=f"security.{kind}",
                    target=reference,
                    outcome=reason or "refused",
                    before=None,
                    after={**(details or {}), "first_of_minute": True},
                    request_id=bound.get("request_id"),
                    source_ip=source_ip,
                )
            )
        except Exception as exc:
            log.warning("security_event_not_audited", kind=kind, error_type=type(exc).__name__)
