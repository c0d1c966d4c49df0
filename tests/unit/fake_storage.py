"""An in-memory Storage for unit tests of the services: the same conditional-write semantics as the adapters
(insert-if-absent, compare-and-set on status), no persistence. The adapters themselves are tested against real
databases by the conformance suite (tests/integration)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from shared.domain.admin import AdminKey, AuditEntry
from shared.domain.licences import Activation, ActivationOutcome, Licence, LicenceStatus
from shared.domain.orders import PAID_STATES, Order, OrderStatus
from shared.domain.refunds import Refund, RefundStatus
from shared.storage import admin_rows
from shared.storage.port import ActivationResult, IdempotencyRecord
from shared.storage.search import DayTotals, OrderPage, OrderQuery


class FakeStorage:
    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.licences: dict[str, Licence] = {}
        self.refunds: dict[str, Refund] = {}
        self.bound: dict[str, list[Activation]] = {}
        self.notifications: dict[str, int] = {}
        self.idempotency: dict[str, IdempotencyRecord] = {}
        self.anomaly_log: dict[tuple[str, str], dict[str, Any]] = {}
        self.events: list[tuple[str, str, int, dict[str, Any]]] = []
        self.leases: dict[str, tuple[str, int]] = {}
        self.saved_reports: dict[tuple[str, str], dict[str, Any]] = {}
        self.report_times: dict[tuple[str, str], int] = {}
        self.keys: dict[str, AdminKey] = {}
        self.audit: dict[str, AuditEntry] = {}
        self.counters: dict[tuple[str, int], tuple[int, int]] = {}  # (name, window) -> (hits, expires_at)

    # -- orders ------------------------------------------------------------------------------------------
    def insert_order(self, order: Order) -> bool:
        return self.orders.setdefault(order.order_id, order) is order

    def get_order(self, order_id: str) -> Order | None:
        return self.orders.get(order_id)

    def update_order(
        self, order_id: str, changes: Mapping[str, Any], *, expect_status: Sequence[OrderStatus] | None = None
    ) -> bool:
        return _cas(self.orders, order_id, changes, expect_status)

    def orders_for_install(self, install_hash: str, limit: int) -> list[Order]:
        found = [o for o in self.orders.values() if o.install_hash == install_hash]
        return sorted(found, key=lambda o: o.created_at, reverse=True)[:limit]

    # -- licences ----------------------------------------------------------------------------------------
    def insert_licence(self, licence: Licence) -> bool:
        if licence.licence_id in self.licences or any(x.order_id == licence.order_id for x in self.licences.values()):
            return False
        self.licences[licence.licence_id] = licence
        return True

    def get_licence(self, licence_id: str) -> Licence | None:
        return self.licences.get(licence_id)

    def get_licence_by_key_hash(self, key_hash: str) -> Licence | None:
        return next((x for x in self.licences.values() if x.key_hash == key_hash), None)

    def update_licence(
        self, licence_id: str, changes: Mapping[str, Any], *, expect_status: Sequence[LicenceStatus] | None = None
    ) -> bool:
        return _cas(self.licences, licence_id, changes, expect_status)

    def activate(self, licence_id: str, install_hash: str, max_devices: int, now: int) -> ActivationResult:
        current = self.bound.setdefault(licence_id, [])
        if any(a.install_hash == install_hash for a in current):
            outcome = ActivationOutcome.ALREADY_ACTIVE
        elif len(current) >= max_devices:
            outcome = ActivationOutcome.LIMIT_REACHED
        else:
            current.append(Activation(licence_id, install_hash, now))
            outcome = ActivationOutcome.ACTIVATED
        return ActivationResult(outcome, tuple(current))

    def deactivate(self, licence_id: str, install_hash: str) -> bool:
        before = self.bound.get(licence_id, [])
        self.bound[licence_id] = [a for a in before if a.install_hash != install_hash]
        return len(before) != len(self.bound[licence_id])

    def activations(self, licence_id: str) -> list[Activation]:
        return list(self.bound.get(licence_id, []))

    # -- notifications, idempotency, anomalies, events ---------------------------------------------------
    def record_notification(self, notification_id: str, event_type: str, order_id: str | None, at: int) -> bool:
        return self.notifications.setdefault(notification_id, at) == at and notification_id in self.notifications

    def notification_processed(self, notification_id: str) -> bool:
        return notification_id in self.notifications

    def claim_idempotency_key(self, record: IdempotencyRecord) -> IdempotencyRecord:
        return self.idempotency.setdefault(record.key, record)

    def record_anomaly(
        self, kind: str, order_id: str | None, reference: str, details: Mapping[str, Any], at: int
    ) -> bool:
        if (kind, reference) in self.anomaly_log:
            return False
        self.anomaly_log[(kind, reference)] = {"kind": kind, "order_id": order_id, "details": dict(details), "at": at}
        return True

    def anomalies(self, limit: int = 100) -> list[dict[str, Any]]:
        return list(self.anomaly_log.values())[:limit]

    def anomaly_kinds(self) -> list[str]:
        return [kind for kind, _ in self.anomaly_log]

    def append_order_event(self, order_id: str, kind: str, at: int, details: Mapping[str, Any]) -> None:
        self.events.append((order_id, kind, at, dict(details)))

    def order_events(self, order_id: str) -> list[dict[str, Any]]:
        return [{"kind": k, "at": at, "details": d} for o, k, at, d in self.events if o == order_id]

    def event_kinds(self, order_id: str) -> list[str]:
        return [e["kind"] for e in self.order_events(order_id)]

    # -- refunds -----------------------------------------------------------------------------------------
    def insert_refund(self, refund: Refund) -> bool:
        return self.refunds.setdefault(refund.out_refund_no, refund) is refund

    def get_refund(self, out_refund_no: str) -> Refund | None:
        return self.refunds.get(out_refund_no)

    def update_refund(
        self, out_refund_no: str, changes: Mapping[str, Any], *, expect_status: Sequence[RefundStatus] | None = None
    ) -> bool:
        return _cas(self.refunds, out_refund_no, changes, expect_status)

    def refunds_for_order(self, order_id: str) -> list[Refund]:
        return sorted((r for r in self.refunds.values() if r.order_id == order_id), key=lambda r: r.requested_at)

    # -- what the jobs read ------------------------------------------------------------------------------
    def orders_in_status(self, status: OrderStatus, created_before: int, limit: int) -> list[Order]:
        found = [o for o in self.orders.values() if o.status is status and o.created_at < created_before]
        return sorted(found, key=lambda o: o.created_at)[:limit]

    def orders_expired(self, now: int, limit: int) -> list[Order]:
        found = [o for o in self.orders.values() if o.status is OrderStatus.PENDING and o.expires_at < now]
        return sorted(found, key=lambda o: o.expires_at)[:limit]

    def refunds_in_status(self, status: RefundStatus, requested_before: int, limit: int) -> list[Refund]:
        found = [r for r in self.refunds.values() if r.status is status and r.requested_at < requested_before]
        return sorted(found, key=lambda r: r.requested_at)[:limit]

    def orders_paid_between(self, start: int, end: int, limit: int) -> list[Order]:
        found = [o for o in self.orders.values() if o.paid_at is not None and start <= o.paid_at < end]
        return sorted(found, key=lambda o: o.paid_at or 0)[:limit]

    def refunds_succeeded_between(self, start: int, end: int, limit: int) -> list[Refund]:
        found = [r for r in self.refunds.values() if r.success_at is not None and start <= r.success_at < end]
        return sorted(found, key=lambda r: r.success_at or 0)[:limit]

    # -- leases, reports, retention, backups -------------------------------------------------------------
    def acquire_lease(self, name: str, owner: str, now: int, ttl: int) -> bool:
        held = self.leases.get(name)
        if held is not None and held[0] != owner and held[1] > now:
            return False
        self.leases[name] = (owner, now + ttl)
        return True

    def release_lease(self, name: str, owner: str) -> None:
        if self.leases.get(name, ("", 0))[0] == owner:
            del self.leases[name]

    def save_report(self, kind: str, key: str, report: Mapping[str, Any], at: int) -> None:
        self.saved_reports[(kind, key)] = dict(report)
        self.report_times[(kind, key)] = at

    def get_report(self, kind: str, key: str) -> dict[str, Any] | None:
        return self.saved_reports.get((kind, key))

    def purge(self, dataset: str, before: int, limit: int) -> int:
        if dataset == "notifications":
            old = [k for k, at in self.notifications.items() if at < before][:limit]
            for k in old:
                del self.notifications[k]
            return len(old)
        if dataset == "idempotency_keys":
            stale = [k for k, r in self.idempotency.items() if r.created_at < before][:limit]
            for k in stale:
                del self.idempotency[k]
            return len(stale)
        if dataset == "rate_limits":
            expired = sorted((e, k) for k, (_, e) in self.counters.items() if e < before)[:limit]
            for _, k in expired:
                del self.counters[k]
            return len(expired)
        raise ValueError(f"not purgeable: {dataset}")

    def export_rows(self, dataset: str) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def import_rows(self, dataset: str, rows: Iterator[dict[str, Any]]) -> int:
        raise NotImplementedError

    def ping(self) -> None:
        pass

    # -- admin: search, figures, keys, audit, rate limits ----------------------------------------------------
    def search_orders(self, query: OrderQuery, cursor: str | None, limit: int) -> OrderPage:
        after = None if cursor is None else admin_rows.decode_cursor(cursor)
        found = sorted(
            (o for o in self.orders.values() if admin_rows.matches(o, query) and admin_rows.after_cursor(o, after)),
            key=lambda o: (o.created_at, o.order_id),
            reverse=True,
        )
        if limit <= 0 or len(found) <= limit:
            return OrderPage(found[: max(limit, 0)], None)
        last = found[limit - 1]
        return OrderPage(found[:limit], admin_rows.encode_cursor(last.created_at, last.order_id))

    def day_totals(self, start: int, end: int, offset: int) -> list[DayTotals]:
        days = admin_rows.day_starts(start, end, offset)
        created: dict[int, tuple[int, int]] = {}
        paid: dict[int, tuple[int, int]] = {}
        refunded: dict[int, int] = {}
        for o in self.orders.values():
            if start <= o.created_at < end:
                n, p = created.get(admin_rows.day_of(o.created_at, start), (0, 0))
                created[admin_rows.day_of(o.created_at, start)] = (n + 1, p + (o.status in PAID_STATES))
            if o.paid_at is not None and start <= o.paid_at < end:
                n, fen = paid.get(admin_rows.day_of(o.paid_at, start), (0, 0))
                paid[admin_rows.day_of(o.paid_at, start)] = (n + 1, fen + o.amount_fen)
        for r in self.refunds.values():
            if r.status is RefundStatus.SUCCESS and r.success_at is not None and start <= r.success_at < end:
                day = admin_rows.day_of(r.success_at, start)
                refunded[day] = refunded.get(day, 0) + r.amount_fen
        return admin_rows.assemble(days, created, paid, refunded)

    def count_orders(self, status: OrderStatus) -> int:
        return sum(1 for o in self.orders.values() if o.status is OrderStatus(status))

    def reports(self, kind: str, limit: int) -> list[dict[str, Any]]:
        keys = sorted((key for k, key in self.saved_reports if k == kind), reverse=True)[: max(limit, 0)]
        return [
            {"key": key, "at": self.report_times[(kind, key)], "report": self.saved_reports[(kind, key)]}
            for key in keys
        ]

    def insert_admin_key(self, key: AdminKey) -> bool:
        return self.keys.setdefault(key.key_id, key) is key

    def get_admin_key(self, key_id: str) -> AdminKey | None:
        return self.keys.get(key_id)

    def admin_keys(self) -> list[AdminKey]:
        return sorted(self.keys.values(), key=lambda k: (k.created_at, k.key_id))

    def revoke_admin_key(self, key_id: str, at: int) -> bool:
        key = self.keys.get(key_id)
        if key is None or key.revoked_at is not None:
            return False
        self.keys[key_id] = dataclasses.replace(key, revoked_at=at)
        return True

    def append_audit(self, entry: AuditEntry) -> None:
        if entry.audit_id in self.audit:
            raise ValueError(f"storage constraint violated: audit entry {entry.audit_id} exists")
        self.audit[entry.audit_id] = entry

    def audit_entries(self, before: str | None, limit: int, target: str | None = None) -> list[AuditEntry]:
        found = sorted(
            (e for e in self.audit.values() if (before is None or e.audit_id < before) and target in (None, e.target)),
            key=lambda e: e.audit_id,
            reverse=True,
        )
        return found[: max(limit, 0)]

    def hit_counter(self, name: str, window: int, expires_at: int) -> int:
        hits, stored_expiry = self.counters.get((name, window), (0, expires_at))
        self.counters[(name, window)] = (hits + 1, stored_expiry)
        return hits + 1


def _cas(table: dict[str, Any], key: str, changes: Mapping[str, Any], expect: Sequence[Any] | None) -> bool:
    current = table.get(key)
    if current is None or (expect is not None and current.status not in expect):
        return False
    table[key] = dataclasses.replace(current, **changes)
    return True
