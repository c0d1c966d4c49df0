"""The Tablestore adapter of the storage port (Alibaba Cloud's serverless wide-column store). Tables are in
shared.storage.tablestore_schema, SDK calls in shared.storage.tablestore_ops, licences and devices in
shared.storage.tablestore_licences, index tables in shared.storage.tablestore_index, refunds and the jobs' part
in shared.storage.tablestore_jobs, backups in shared.storage.tablestore_backup; opening one from STORAGE_URL is
shared.storage.tablestore_connect.

Tablestore writes one row atomically, under a condition (row existence, column values); there is no multi-row
transaction. So every guarantee of the port rests on one conditional single-row write: insert-if-absent is
put_row with EXPECT_NOT_EXIST, compare-and-set is update_row with EXPECT_EXIST and a column condition on `status`
(pass_if_missing=False), and OTSConditionCheckFail answers False. Where an operation writes several rows, they
are written in the order that leaves nothing wrong to a reader if the function dies in between, and lets a retry
finish the job. An order's index rows (its install's history, by status, by expiry while PENDING, by payment
time) are written before the order; an index row counts only when its order exists and agrees with it, so an
interrupted or refused insert leaves an invisible row, and every stored order is in its indexes (the writes that
keep them in step as orders move: shared.storage.tablestore_index). Anomalies, notifications and idempotency keys
and their by-time rows work the same way.

Every read is a key lookup or a bounded range read; Tablestore reads are strongly consistent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import fields
from typing import Any

from shared.domain.licences import Activation, Licence, LicenceStatus
from shared.domain.orders import Order, OrderStatus
from shared.domain.refunds import Refund, RefundStatus
from shared.errors import ConfigError, StorageError
from shared.storage import rows
from shared.storage.port import ActivationResult, IdempotencyRecord
from shared.storage.tablestore_admin import AdminRecords
from shared.storage.tablestore_backup import Backups
from shared.storage.tablestore_index import IndexedTable
from shared.storage.tablestore_jobs import Leases, OrderQueries, Refunds, Reports, Retention, order_indexes, order_of
from shared.storage.tablestore_licences import Devices, Licences
from shared.storage.tablestore_ops import Key, TablestoreOps, Values, not_null
from shared.storage.tablestore_schema import SCHEMA_VERSION, Tables, create_missing
from shared.storage.tablestore_search import OrderSearch

_PREFIX = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_]{0,63})?")  # table names are [A-Za-z_][A-Za-z0-9_]*
_ORDER_NULLABLE = frozenset(f.name for f in fields(Order) if "None" in str(f.type))


class TablestoreStorage(OrderSearch, AdminRecords):
    """The admin part (search, day figures, keys, audit, counters): shared.storage.tablestore_search and _admin."""

    def __init__(self, client: Any, *, table_prefix: str = "wxpay_") -> None:
        """`client` is a tablestore.OTSClient (see shared.storage.tablestore_connect) or a stand-in for tests."""
        if not _PREFIX.fullmatch(table_prefix):
            raise ConfigError("the Tablestore table_prefix must be letters, digits and _, not starting with a digit")
        self.tables = Tables.with_prefix(table_prefix)
        self._ops = TablestoreOps(client)
        self._client = client
        self._orders = IndexedTable(self._ops, self.tables.orders, "order_id", order_indexes(self.tables))
        self._order_queries = OrderQueries(self._ops, self._orders)
        self._licences = Licences(self._ops, self.tables)
        self._devices = Devices(self._ops, self.tables)
        self._refunds = Refunds(self._ops, self.tables)
        self._leases = Leases(self._ops, self.tables)
        self._reports = Reports(self._ops, self.tables)
        self._retention = Retention(self._ops, self.tables)
        self._backups = Backups(self, self._ops, self.tables, self._devices, self.import_audit)

    def migrate(self) -> list[str]:
        """Create missing tables (idempotent); the names created. They serve about a minute later."""
        with self._ops.translated("CreateTable", self.tables.orders):
            return create_missing(self._client, self.tables, self._ops.sdk)

    def reindex(self) -> int:
        """Once, after `migrate` brought an instance to a version with new order indexes (1 to 2: the jobs'; 2 to
        3: the admin search's) and the new tables serve: write the index rows of the orders stored before (without
        them the jobs and the search would not see those orders). Idempotent; the number of index rows written."""
        return self._orders.reindex(self._backups.stored("orders"))

    def schema_version(self) -> int:
        """SCHEMA_VERSION when every table exists, else 0 (for `python -m scripts.storage version`)."""
        with self._ops.translated("ListTable", self.tables.orders):
            existing = set(self._client.list_table())
        return SCHEMA_VERSION if set(self.tables.schemas()) <= existing else 0

    # -- orders ------------------------------------------------------------------------------------------
    def insert_order(self, order: Order) -> bool:
        return self._orders.insert(dict(zip(rows.ORDER_COLUMNS, rows.order_to_row(order), strict=True)))

    def get_order(self, order_id: str) -> Order | None:
        found = self._orders.get(order_id)
        return None if found is None else order_of(found)

    def update_order(
        self, order_id: str, changes: Mapping[str, Any], *, expect_status: Sequence[OrderStatus] | None = None
    ) -> bool:
        values = not_null(rows.order_changes(changes), _ORDER_NULLABLE, "order")
        if expect_status is not None and not expect_status:
            return False
        expected = None if expect_status is None else rows.status_values(expect_status, OrderStatus)
        return self._orders.update(order_id, values, None if expected is None else self._ops.one_of("status", expected))

    def orders_for_install(self, install_hash: str, limit: int) -> list[Order]:
        high, low = self._ops.sdk.INF_MAX, self._ops.sdk.INF_MIN
        history = self._orders.indexes[0]
        newest, oldest = _history_key(install_hash, high, high), _history_key(install_hash, low, low)
        return [order_of(values) for values in self._orders.read(history, newest, oldest, limit, backward=True)]

    # -- licences and devices (shared.storage.tablestore_licences) --------------------------------------
    def insert_licence(self, licence: Licence) -> bool:
        return self._licences.insert(licence)

    def get_licence(self, licence_id: str) -> Licence | None:
        return self._licences.get(licence_id)

    def get_licence_by_key_hash(self, key_hash: str) -> Licence | None:
        return self._licences.by_key_hash(key_hash)

    def update_licence(
        self, licence_id: str, changes: Mapping[str, Any], *, expect_status: Sequence[LicenceStatus] | None = None
    ) -> bool:
        return self._licences.update(licence_id, changes, expect_status)

    def activate(self, licence_id: str, install_hash: str, max_devices: int, now: int) -> ActivationResult:
        return self._devices.activate(licence_id, install_hash, max_devices, now)

    def deactivate(self, licence_id: str, install_hash: str) -> bool:
        return self._devices.deactivate(licence_id, install_hash)

    def activations(self, licence_id: str) -> list[Activation]:
        return self._devices.listed(licence_id)

    # -- notifications, idempotency, anomalies -----------------------------------------------------------
    def record_notification(self, notification_id: str, event_type: str, order_id: str | None, at: int) -> bool:
        key = [("notification_id", notification_id)]
        values = {"event_type": event_type, "order_id": order_id, "processed_at": at}
        return self._insert_timed("notifications", self.tables.notifications, key, values)

    def notification_processed(self, notification_id: str) -> bool:
        return self._ops.get(self.tables.notifications, [("notification_id", notification_id)]) is not None

    def claim_idempotency_key(self, record: IdempotencyRecord) -> IdempotencyRecord:
        key = [("idempotency_key", record.key)]
        values = {"fingerprint": record.fingerprint, "order_id": record.order_id, "created_at": record.created_at}
        if self._insert_timed("idempotency_keys", self.tables.idempotency_keys, key, values):
            return record
        stored = self._ops.get(self.tables.idempotency_keys, key)
        if stored is None:
            raise StorageError("an idempotency key vanished after a refused insert")
        return IdempotencyRecord(record.key, stored["fingerprint"], stored["order_id"], stored["created_at"])

    def record_anomaly(
        self, kind: str, order_id: str | None, reference: str, details: Mapping[str, Any], at: int
    ) -> bool:
        self._ops.put(self.tables.anomalies_by_time, [("at", at), ("kind", kind), ("reference", reference)], {})
        values = {"order_id": order_id, "details": rows.encode_json(dict(details)), "at": at}
        return self._ops.insert(self.tables.anomalies, [("kind", kind), ("reference", reference)], values)

    def anomalies(self, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first; anomalies of the same second come in descending (kind, reference) order."""
        if limit <= 0:
            return []
        high, low = self._ops.sdk.INF_MAX, self._ops.sdk.INF_MIN
        pages = self._ops.scan(
            self.tables.anomalies_by_time,
            [("at", high), ("kind", high), ("reference", high)],
            [("at", low), ("kind", low), ("reference", low)],
            backward=True,
            page=limit,
        )
        found = self._follow(
            pages,
            self.tables.anomalies,
            lambda entry: [("kind", entry["kind"]), ("reference", entry["reference"])],
            lambda entry, anomaly: anomaly["at"] == entry["at"],
            limit,
        )
        return [
            {
                "kind": a["kind"],
                "order_id": a.get("order_id"),
                "reference": a["reference"],
                "details": json.loads(a["details"]),
                "at": a["at"],
            }
            for a in found
        ]

    # -- the order's timeline ----------------------------------------------------------------------------
    def append_order_event(self, order_id: str, kind: str, at: int, details: Mapping[str, Any]) -> None:
        key = [("order_id", order_id), ("seq", self._ops.sdk.PK_AUTO_INCR)]
        self._ops.put(
            self.tables.order_events, key, {"kind": kind, "at": at, "details": rows.encode_json(dict(details))}
        )

    def order_events(self, order_id: str) -> list[dict[str, Any]]:
        low, high = self._ops.sdk.INF_MIN, self._ops.sdk.INF_MAX
        pages = self._ops.scan(
            self.tables.order_events, [("order_id", order_id), ("seq", low)], [("order_id", order_id), ("seq", high)]
        )
        return [{"kind": e["kind"], "at": e["at"], "details": json.loads(e["details"])} for page in pages for e in page]

    # -- refunds, the jobs' reads, leases, reports, retention (shared.storage.tablestore_jobs) ----------
    def insert_refund(self, refund: Refund) -> bool:
        return self._refunds.insert(refund)

    def get_refund(self, out_refund_no: str) -> Refund | None:
        return self._refunds.get(out_refund_no)

    def update_refund(
        self, out_refund_no: str, changes: Mapping[str, Any], *, expect_status: Sequence[RefundStatus] | None = None
    ) -> bool:
        return self._refunds.update(out_refund_no, changes, expect_status)

    def refunds_for_order(self, order_id: str) -> list[Refund]:
        return self._refunds.for_order(order_id)

    def orders_in_status(self, status: OrderStatus, created_before: int, limit: int) -> list[Order]:
        return self._order_queries.in_status(status, created_before, limit)

    def orders_expired(self, now: int, limit: int) -> list[Order]:
        return self._order_queries.expired(now, limit)

    def refunds_in_status(self, status: RefundStatus, requested_before: int, limit: int) -> list[Refund]:
        return self._refunds.in_status(status, requested_before, limit)

    def orders_paid_between(self, start: int, end: int, limit: int) -> list[Order]:
        return self._order_queries.paid_between(start, end, limit)

    def refunds_succeeded_between(self, start: int, end: int, limit: int) -> list[Refund]:
        return self._refunds.succeeded_between(start, end, limit)

    def acquire_lease(self, name: str, owner: str, now: int, ttl: int) -> bool:
        return self._leases.acquire(name, owner, now, ttl)

    def release_lease(self, name: str, owner: str) -> None:
        self._leases.release(name, owner)

    def save_report(self, kind: str, key: str, report: Mapping[str, Any], at: int) -> None:
        self._reports.save(kind, key, report, at)

    def get_report(self, kind: str, key: str) -> dict[str, Any] | None:
        return self._reports.get(kind, key)

    def purge(self, dataset: str, before: int, limit: int) -> int:
        return self._retention.purge(dataset, before, limit)

    # -- backups (shared.storage.tablestore_backup) -------------------------------------------------------
    def export_rows(self, dataset: str) -> Iterator[dict[str, Any]]:
        return self._backups.export(dataset)

    def import_rows(self, dataset: str, rows: Iterator[dict[str, Any]]) -> int:
        return self._backups.import_rows(dataset, rows)

    def ping(self) -> None:
        self._ops.get(self.tables.orders, [("order_id", "~ping")])  # a missing row: one read unit

    # -- plumbing ----------------------------------------------------------------------------------------
    def _insert_timed(self, dataset: str, table: str, key: Key, values: Mapping[str, Any]) -> bool:
        """Insert-if-absent of a row retention deletes by time: its by-time row first. When the row exists with
        another time (a retry), the by-time row this call wrote is nobody's: deleted, so retention never reads it."""
        index = self._retention.index(dataset)
        time_column, key_column = index.columns
        timed = {time_column: values[time_column], key_column: key[0][1]}
        index_key = index.key(timed)
        assert index_key is not None  # both columns are set
        self._ops.put(index.table, index_key, {})
        if self._ops.insert(table, key, values):
            return True
        stored = self._ops.get(table, key)
        if stored is not None and stored[time_column] != values[time_column]:
            with suppress(StorageError):  # left behind, retention skips it: the insert's answer stands
                self._ops.delete(index.table, index_key, None)
        return False

    def _follow(
        self,
        pages: Iterable[list[Values]],
        table: str,
        key_of: Callable[[Values], Key],
        agrees: Callable[[Values, Values], bool],
        limit: int,
    ) -> list[Values]:
        """The rows of `table` that index rows point to, in index order, keeping only rows that agree with their
        index row: an index row is written first, so it can outlive an interrupted or refused insert."""
        found: list[Values] = []
        for page in pages:
            targets = self._ops.batch_get(table, [key_of(entry) for entry in page])
            for entry, target in zip(page, targets, strict=True):
                if target is not None and agrees(entry, target):
                    found.append(target)
                    if len(found) == limit:
                        return found
        return found


def _history_key(install_hash: str, created_at: Any, order_id: Any) -> Key:
    return [("install_hash", install_hash), ("created_at", created_at), ("order_id", order_id)]
