"""The purchase part of the port for SQLite, PostgreSQL and MySQL, written once over shared.storage.relational's
hooks: orders, licences and their activations, processed notifications, anomalies and the order's timeline.

Insert-if-absent rests on primary and unique keys (the adapter's `_insert` decides how a clash reads as False);
transitions are `UPDATE ... WHERE status IN (...)` and the row count says who won. `activate` counts and inserts
in one transaction, after the adapter's `_lock_licence` has taken what keeps activations of one licence apart
(SQLite: the file's write lock, taken by BEGIN IMMEDIATE; a server: the licence row), so the device limit holds
under any concurrency. Rows map to domain objects through `rows`, whose whitelist is what makes the column
names in the f-strings below safe.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from shared.domain.licences import Activation, ActivationOutcome, Licence, LicenceStatus
from shared.domain.orders import Order, OrderStatus
from shared.storage import rows
from shared.storage.port import ActivationResult
from shared.storage.relational import Query, RelationalJobs

_ORDER_SELECT = f"SELECT {', '.join(rows.ORDER_COLUMNS)} FROM orders"  # noqa: S608 - column names are constants
_LICENCE_SELECT = f"SELECT {', '.join(rows.LICENCE_COLUMNS)} FROM licences"  # noqa: S608
_ACTIVATION_COLUMNS = ("licence_id", "install_hash", "activated_at")
_NOTIFICATION_COLUMNS = ("notification_id", "event_type", "order_id", "processed_at")
_ANOMALY_COLUMNS = ("kind", "reference", "order_id", "details", "at")


class RelationalOrders(RelationalJobs):
    locking_read: ClassVar[str]  # appended to the activations' reads inside `activate`
    anomaly_seq: ClassVar[str]  # the column that orders anomalies recorded in the same second

    # -- hooks -------------------------------------------------------------------------------------------
    @abstractmethod
    def _lock_licence(self, query: Query, licence_id: str) -> None:
        """First in `activate`'s transaction: take what keeps activations of this licence from interleaving."""

    @abstractmethod
    def _execute_once(self, sql: str, params: Sequence[Any]) -> None:
        """Run a write that is not idempotent: never run again after a lost connection."""

    # -- orders ------------------------------------------------------------------------------------------
    def insert_order(self, order: Order) -> bool:
        return self._insert("orders", rows.ORDER_COLUMNS, rows.order_to_row(order))

    def get_order(self, order_id: str) -> Order | None:
        found = self._all(f"{_ORDER_SELECT} WHERE order_id = {self.mark}", (order_id,))
        return rows.order_from_row(found[0]) if found else None

    def update_order(
        self, order_id: str, changes: Mapping[str, Any], *, expect_status: Sequence[OrderStatus] | None = None
    ) -> bool:
        expected = None if expect_status is None else rows.status_values(expect_status, OrderStatus)
        return self._update("orders", "order_id", order_id, rows.order_changes(changes), expected)

    def orders_for_install(self, install_hash: str, limit: int) -> list[Order]:
        where = f"install_hash = {self.mark} ORDER BY created_at DESC, order_id DESC"
        return self._orders(where, (install_hash,), limit)

    # -- licences ----------------------------------------------------------------------------------------
    def insert_licence(self, licence: Licence) -> bool:
        # A clash on licence_id, order_id or key_hash all mean "a licence exists".
        return self._insert("licences", rows.LICENCE_COLUMNS, rows.licence_to_row(licence))

    def get_licence(self, licence_id: str) -> Licence | None:
        return self._licence_where("licence_id", licence_id)

    def get_licence_by_key_hash(self, key_hash: str) -> Licence | None:
        return self._licence_where("key_hash", key_hash)

    def update_licence(
        self, licence_id: str, changes: Mapping[str, Any], *, expect_status: Sequence[LicenceStatus] | None = None
    ) -> bool:
        expected = None if expect_status is None else rows.status_values(expect_status, LicenceStatus)
        return self._update("licences", "licence_id", licence_id, rows.licence_changes(changes), expected)

    # -- activations -------------------------------------------------------------------------------------
    def activate(self, licence_id: str, install_hash: str, max_devices: int, now: int) -> ActivationResult:
        m = self.mark
        insert = f"INSERT INTO activations ({', '.join(_ACTIVATION_COLUMNS)}) VALUES ({m}, {m}, {m})"  # noqa: S608

        def work(query: Query) -> ActivationResult:
            self._lock_licence(query, licence_id)
            current = self._activations(query, licence_id, locking=True)
            if any(a.install_hash == install_hash for a in current):
                return ActivationResult(ActivationOutcome.ALREADY_ACTIVE, tuple(current))
            if len(current) >= max_devices:
                return ActivationResult(ActivationOutcome.LIMIT_REACHED, tuple(current))
            query(insert, (licence_id, install_hash, now))
            return ActivationResult(
                ActivationOutcome.ACTIVATED, tuple(self._activations(query, licence_id, locking=True))
            )

        return self._atomically(work)

    def deactivate(self, licence_id: str, install_hash: str) -> bool:
        sql = f"DELETE FROM activations WHERE licence_id = {self.mark} AND install_hash = {self.mark}"  # noqa: S608
        return self._rowcount(sql, (licence_id, install_hash)) == 1

    def activations(self, licence_id: str) -> list[Activation]:
        return self._activations(self._all, licence_id)

    # -- notifications, anomalies ------------------------------------------------------------------------
    def record_notification(self, notification_id: str, event_type: str, order_id: str | None, at: int) -> bool:
        return self._insert("notifications", _NOTIFICATION_COLUMNS, (notification_id, event_type, order_id, at))

    def notification_processed(self, notification_id: str) -> bool:
        sql = f"SELECT 1 FROM notifications WHERE notification_id = {self.mark}"  # noqa: S608
        return bool(self._all(sql, (notification_id,)))

    def record_anomaly(
        self, kind: str, order_id: str | None, reference: str, details: Mapping[str, Any], at: int
    ) -> bool:
        values = (kind, reference, order_id, rows.encode_json(dict(details)), at)
        return self._insert("anomalies", _ANOMALY_COLUMNS, values)

    def anomalies(self, limit: int = 100) -> list[dict[str, Any]]:
        if limit <= 0:  # SQLite reads LIMIT -1 as "no limit"
            return []
        order = f"at DESC, {self.anomaly_seq} DESC"
        sql = f"SELECT kind, order_id, reference, details, at FROM anomalies ORDER BY {order} LIMIT {self.mark}"  # noqa: S608
        return [
            {"kind": kind, "order_id": order_id, "reference": reference, "details": json.loads(details), "at": at}
            for kind, order_id, reference, details, at in self._all(sql, (limit,))
        ]

    # -- the order's timeline ----------------------------------------------------------------------------
    def append_order_event(self, order_id: str, kind: str, at: int, details: Mapping[str, Any]) -> None:
        m = self.mark
        sql = f"INSERT INTO order_events (order_id, kind, at, details) VALUES ({m}, {m}, {m}, {m})"  # noqa: S608
        # Not idempotent: one PAID event must still mean one transition.
        self._execute_once(sql, (order_id, kind, at, rows.encode_json(dict(details))))

    def order_events(self, order_id: str) -> list[dict[str, Any]]:
        sql = f"SELECT kind, at, details FROM order_events WHERE order_id = {self.mark} ORDER BY seq"  # noqa: S608
        return [
            {"kind": kind, "at": at, "details": json.loads(details)}
            for kind, at, details in self._all(sql, (order_id,))
        ]

    # -- plumbing ----------------------------------------------------------------------------------------
    def _licence_where(self, column: str, value: str) -> Licence | None:
        found = self._all(f"{_LICENCE_SELECT} WHERE {column} = {self.mark}", (value,))
        return rows.licence_from_row(found[0]) if found else None

    def _activations(self, query: Query, licence_id: str, *, locking: bool = False) -> list[Activation]:
        sql = (
            f"SELECT {', '.join(_ACTIVATION_COLUMNS)} FROM activations WHERE licence_id = {self.mark}"  # noqa: S608
            " ORDER BY activated_at, install_hash"
        )
        return [Activation(*row) for row in query(sql + (self.locking_read if locking else ""), (licence_id,))]
