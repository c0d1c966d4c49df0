"""The storage port. Every state change is a conditional write: insert-if-absent or compare-and-set.

Adapters (SQLite now; PostgreSQL, MySQL and Tablestore next) implement this Protocol and pass one conformance
suite (tests/integration). Times are integer Unix seconds; money is integer fen.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from shared.domain.licences import Activation, ActivationOutcome, Licence, LicenceStatus
from shared.domain.orders import Order, OrderStatus
from shared.domain.refunds import Refund, RefundStatus

if TYPE_CHECKING:  # the admin's types: only annotations here, so that no function pays for building them
    from shared.domain.admin import AdminKey, AuditEntry
    from shared.storage.search import DayTotals, OrderPage, OrderQuery


@dataclass(frozen=True)
class IdempotencyRecord:
    """An Idempotency-Key as first seen: which request it named (fingerprint) and which order it produced."""

    key: str
    fingerprint: str
    order_id: str
    created_at: int


@dataclass(frozen=True)
class ActivationResult:
    outcome: ActivationOutcome
    activations: tuple[Activation, ...]


class Storage(Protocol):
    # -- orders ------------------------------------------------------------------------------------------
    def insert_order(self, order: Order) -> bool:
        """Insert if no order has this order_id; False if one exists (nothing changed)."""
        ...

    def get_order(self, order_id: str) -> Order | None: ...

    def update_order(
        self, order_id: str, changes: Mapping[str, Any], *, expect_status: Sequence[OrderStatus] | None = None
    ) -> bool:
        """Compare-and-set: apply `changes` (Order field names) only if the order exists and, when given, its
        status is one of `expect_status`. True when the row changed; False leaves everything as it was."""
        ...

    def orders_for_install(self, install_hash: str, limit: int) -> list[Order]:
        """The install's orders, newest first."""
        ...

    # -- licences ----------------------------------------------------------------------------------------
    def insert_licence(self, licence: Licence) -> bool:
        """Insert if absent (by licence_id, and by order_id: one licence per order); False if one exists."""
        ...

    def get_licence(self, licence_id: str) -> Licence | None: ...

    def get_licence_by_key_hash(self, key_hash: str) -> Licence | None: ...

    def update_licence(
        self, licence_id: str, changes: Mapping[str, Any], *, expect_status: Sequence[LicenceStatus] | None = None
    ) -> bool:
        """Compare-and-set on the licence's status, as update_order."""
        ...

    # -- activations -------------------------------------------------------------------------------------
    def activate(self, licence_id: str, install_hash: str, max_devices: int, now: int) -> ActivationResult:
        """Bind an install to a licence atomically: ALREADY_ACTIVE if bound, LIMIT_REACHED if `max_devices`
        installs are bound, else ACTIVATED. Concurrent calls never exceed the limit."""
        ...

    def deactivate(self, licence_id: str, install_hash: str) -> bool:
        """Free the install's slot; False if it held none."""
        ...

    def activations(self, licence_id: str) -> list[Activation]: ...

    # -- notifications, idempotency, anomalies -----------------------------------------------------------
    def record_notification(self, notification_id: str, event_type: str, order_id: str | None, at: int) -> bool:
        """Remember a fully processed notification; False if it was already recorded."""
        ...

    def notification_processed(self, notification_id: str) -> bool: ...

    def claim_idempotency_key(self, record: IdempotencyRecord) -> IdempotencyRecord:
        """Insert if absent; return the stored record (the new one, or the first one for that key)."""
        ...

    def record_anomaly(
        self, kind: str, order_id: str | None, reference: str, details: Mapping[str, Any], at: int
    ) -> bool:
        """Record something an operator must look at, once per (kind, reference); False if already recorded."""
        ...

    def anomalies(self, limit: int = 100) -> list[dict[str, Any]]: ...

    # -- the order's timeline ----------------------------------------------------------------------------
    def append_order_event(self, order_id: str, kind: str, at: int, details: Mapping[str, Any]) -> None:
        """Append to the order's timeline (CREATED, PAID, CLOSED...); written only by the writer that won the
        compare-and-set, so one PAID event means one transition."""
        ...

    def order_events(self, order_id: str) -> list[dict[str, Any]]:
        """The order's timeline, oldest first: `{kind, at, details}`."""
        ...

    # -- refunds -----------------------------------------------------------------------------------------
    def insert_refund(self, refund: Refund) -> bool:
        """Insert if no refund has this out_refund_no; False if one exists (nothing changed)."""
        ...

    def get_refund(self, out_refund_no: str) -> Refund | None: ...

    def update_refund(
        self, out_refund_no: str, changes: Mapping[str, Any], *, expect_status: Sequence[RefundStatus] | None = None
    ) -> bool:
        """Compare-and-set on the refund's status, as update_order."""
        ...

    def refunds_for_order(self, order_id: str) -> list[Refund]:
        """Oldest first."""
        ...

    # -- what the timer jobs read (each an indexed, bounded query) -----------------------------------------
    def orders_in_status(self, status: OrderStatus, created_before: int, limit: int) -> list[Order]:
        """Orders in `status` created before a time, oldest first."""
        ...

    def orders_expired(self, now: int, limit: int) -> list[Order]:
        """PENDING orders whose expires_at has passed, oldest expiry first."""
        ...

    def refunds_in_status(self, status: RefundStatus, requested_before: int, limit: int) -> list[Refund]:
        """Refunds in `status` requested before a time, oldest first."""
        ...

    def orders_paid_between(self, start: int, end: int, limit: int) -> list[Order]:
        """Orders whose paid_at is in [start, end), for reconciliation against a day's bill."""
        ...

    def refunds_succeeded_between(self, start: int, end: int, limit: int) -> list[Refund]:
        """Refunds whose success_at is in [start, end)."""
        ...

    # -- job leases and reports ----------------------------------------------------------------------------
    def acquire_lease(self, name: str, owner: str, now: int, ttl: int) -> bool:
        """Take the named lease for `ttl` seconds if it is free or expired (a conditional write): two runs of a
        job at once → one does the work. True if `owner` holds it now."""
        ...

    def release_lease(self, name: str, owner: str) -> None:
        """Free the lease if `owner` holds it."""
        ...

    def save_report(self, kind: str, key: str, report: Mapping[str, Any], at: int) -> None:
        """Store (or replace) a report, e.g. kind "reconciliation", key the bill date."""
        ...

    def get_report(self, kind: str, key: str) -> dict[str, Any] | None: ...

    def purge(self, dataset: str, before: int, limit: int) -> int:
        """Retention: delete up to `limit` rows of a purgeable dataset older than `before` — "idempotency_keys"
        (created_at), "notifications" (processed_at) and "rate_limits" (expires_at) only; never the audit log; returns how many were deleted."""
        ...

    # -- backups -------------------------------------------------------------------------------------------
    def export_rows(self, dataset: str) -> Iterator[dict[str, Any]]:
        """Every row of a dataset as JSON-able dicts (column name -> value), streamed in key order. Datasets:
        orders, licences, activations, refunds, order_events, anomalies, notifications, admin_keys, audit_log."""
        ...

    def import_rows(self, dataset: str, rows: Iterator[dict[str, Any]]) -> int:
        """Insert exported rows if absent (a restore may be re-run); returns how many were inserted."""
        ...

    # -- admin: search, figures, keys, audit, rate limits ---------------------------------------------------
    def search_orders(self, query: OrderQuery, cursor: str | None, limit: int) -> OrderPage:
        """Orders matching `query`, newest first, `limit` per page; `cursor` is a previous page's next_cursor (an
        unreadable cursor raises ValueError)."""
        ...

    def day_totals(self, start: int, end: int, offset: int) -> list[DayTotals]:
        """Per-day figures for the days in [start, end) (both day starts), oldest first, a row for every day."""
        ...

    def count_orders(self, status: OrderStatus) -> int:
        """How many orders are in `status` now (the dashboard's "pending")."""
        ...

    def reports(self, kind: str, limit: int) -> list[dict[str, Any]]:
        """The newest reports of a kind, newest key first: `{key, at, report}`."""
        ...

    def insert_admin_key(self, key: AdminKey) -> bool:
        """Insert if no key has this key_id; False if one exists."""
        ...

    def get_admin_key(self, key_id: str) -> AdminKey | None: ...

    def admin_keys(self) -> list[AdminKey]:
        """Every key, revoked ones too, oldest first."""
        ...

    def revoke_admin_key(self, key_id: str, at: int) -> bool:
        """Set revoked_at if the key exists and is not revoked yet; False otherwise."""
        ...

    def append_audit(self, entry: AuditEntry) -> None:
        """Append to the audit log. There is no update or delete: the SQL backends also refuse them by trigger."""
        ...

    def audit_entries(self, before: str | None, limit: int, target: str | None = None) -> list[AuditEntry]:
        """Newest first; `before` is an audit_id (the page continues with older entries); `target` filters."""
        ...

    def hit_counter(self, name: str, window: int, expires_at: int) -> int:
        """Add one to the counter (name, window) atomically and return its new value: rate limits across
        instances. `expires_at` lets purge("rate_limits", ...) drop old windows."""
        ...

    def ping(self) -> None:
        """Raise StorageError when the backend cannot be reached."""
        ...
