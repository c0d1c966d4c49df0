"""Refunds, the timer jobs' reads, job leases, reports and retention on Tablestore, for
shared.storage.tablestore (which explains the approach; index tables: shared.storage.tablestore_index).

A refund is a row moved by compare-and-set on its status, with three index tables kept in step: by order, by
status and request time, by success time. The jobs' reads are range reads of those indexes (and of the orders'),
checked against the rows. A lease is one row per name: taken by EXPECT_NOT_EXIST, or by an update conditioned on
its expiry having passed or its owner being the caller; released by a delete conditioned on the owner. A report
is one row per (kind, key), overwritten (a row holds at most 2 MB: a report beyond that fails). Retention reads
the by-time index of idempotency keys, notifications or rate-limit counters, oldest first, and deletes each row whose time is still
the one indexed, then its index row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from shared.domain.orders import Order, OrderStatus
from shared.domain.refunds import MAX_REFUNDS_PER_ORDER, Refund, RefundStatus
from shared.storage import rows
from shared.storage.tablestore_index import Index, IndexedTable, index_key, scan
from shared.storage.tablestore_ops import Key, TablestoreOps, Values, not_null
from shared.storage.tablestore_schema import Tables

_REFUND_NULLABLE = frozenset(f for f in rows.REFUND_COLUMNS if "None" in str(Refund.__dataclass_fields__[f].type))


def order_indexes(tables: Tables) -> list[Index]:
    return [
        Index(tables.orders_by_install, ("install_hash", "created_at", "order_id")),
        Index(tables.orders_by_status, ("status", "created_at", "order_id"), sharded=True),
        Index(tables.orders_by_expiry, ("expires_at", "order_id"), sharded=True, applies=_pending),
        Index(tables.orders_by_paid, ("paid_at", "order_id"), sharded=True),
        Index(tables.orders_by_created, ("created_at", "order_id"), sharded=True),
        Index(tables.orders_by_transaction, ("transaction_id", "order_id"), sharded=True),
    ]


def time_index(table: str, time_column: str, key_column: str) -> Index:
    return Index(table, (time_column, key_column), sharded=True)


class Refunds:
    def __init__(self, ops: TablestoreOps, tables: Tables) -> None:
        self._ops = ops
        self.by_order = Index(tables.refunds_by_order, ("order_id", "requested_at", "out_refund_no"))
        self.by_status = Index(tables.refunds_by_status, ("status", "requested_at", "out_refund_no"), sharded=True)
        self.by_success = Index(tables.refunds_by_success, ("success_at", "out_refund_no"), sharded=True)
        self.table = IndexedTable(
            ops, tables.refunds, "out_refund_no", [self.by_order, self.by_status, self.by_success]
        )

    def insert(self, refund: Refund) -> bool:
        return self.table.insert(dict(zip(rows.REFUND_COLUMNS, rows.refund_to_row(refund), strict=True)))

    def get(self, out_refund_no: str) -> Refund | None:
        found = self.table.get(out_refund_no)
        return None if found is None else refund_of(found)

    def update(self, out_refund_no: str, changes: Mapping[str, Any], expect: Sequence[RefundStatus] | None) -> bool:
        values = not_null(rows.refund_changes(changes), _REFUND_NULLABLE, "refund")
        if expect is not None and not expect:
            return False
        when = None if expect is None else self._ops.one_of("status", rows.status_values(expect, RefundStatus))
        return self.table.update(out_refund_no, values, when)

    def for_order(self, order_id: str) -> list[Refund]:
        low, high = self._ops.sdk.INF_MIN, self._ops.sdk.INF_MAX
        start = [("order_id", order_id), ("requested_at", low), ("out_refund_no", low)]
        end = [("order_id", order_id), ("requested_at", high), ("out_refund_no", high)]
        # All of them (WeChat allows MAX_REFUNDS_PER_ORDER): a list cut short would understate what was refunded.
        return [refund_of(r) for r in self.table.read(self.by_order, start, end, 20 * MAX_REFUNDS_PER_ORDER)]

    def in_status(self, status: RefundStatus, requested_before: int, limit: int) -> list[Refund]:
        value, low = RefundStatus(status).value, self._ops.sdk.INF_MIN
        start = [("status", value), ("requested_at", low), ("out_refund_no", low)]
        end = [("status", value), ("requested_at", requested_before), ("out_refund_no", low)]
        return [refund_of(r) for r in self.table.read(self.by_status, start, end, limit)]

    def succeeded_between(self, start: int, end: int, limit: int) -> list[Refund]:
        low = self._ops.sdk.INF_MIN
        found = self.table.read(
            self.by_success,
            [("success_at", start), ("out_refund_no", low)],
            [("success_at", end), ("out_refund_no", low)],
            limit,
        )
        return [refund_of(r) for r in found]


class OrderQueries:
    """The timer jobs' reads of orders, through the index tables the orders' IndexedTable keeps."""

    def __init__(self, ops: TablestoreOps, orders: IndexedTable) -> None:
        self._ops, self._orders = ops, orders
        self._by_status, self._by_expiry, self._by_paid = orders.indexes[1:4]

    def in_status(self, status: OrderStatus, created_before: int, limit: int) -> list[Order]:
        value, low = OrderStatus(status).value, self._ops.sdk.INF_MIN
        start = [("status", value), ("created_at", low), ("order_id", low)]
        end = [("status", value), ("created_at", created_before), ("order_id", low)]
        return [order_of(r) for r in self._orders.read(self._by_status, start, end, limit)]

    def expired(self, now: int, limit: int) -> list[Order]:
        low, high = self._ops.sdk.INF_MIN, self._ops.sdk.INF_MAX
        start, end = [("expires_at", low), ("order_id", low)], [("expires_at", now), ("order_id", high)]  # <= now
        return [order_of(r) for r in self._orders.read(self._by_expiry, start, end, limit)]

    def paid_between(self, start: int, end: int, limit: int) -> list[Order]:
        low = self._ops.sdk.INF_MIN
        found = self._orders.read(
            self._by_paid, [("paid_at", start), ("order_id", low)], [("paid_at", end), ("order_id", low)], limit
        )
        return [order_of(r) for r in found]


class Leases:
    def __init__(self, ops: TablestoreOps, tables: Tables) -> None:
        self._ops, self._table = ops, tables.job_leases

    def acquire(self, name: str, owner: str, now: int, ttl: int) -> bool:
        if ttl <= 0:
            raise ValueError("a lease's ttl must be a positive number of seconds")
        key, values = [("name", name)], {"owner": owner, "expires_at": now + ttl}
        if self._ops.insert(self._table, key, values):
            return True
        free = self._ops.any_of([self._ops.at_most("expires_at", now), self._ops.equals("owner", owner)])
        return self._ops.update(self._table, key, values, free)

    def release(self, name: str, owner: str) -> None:
        self._ops.delete(self._table, [("name", name)], self._ops.equals("owner", owner))


class Reports:
    def __init__(self, ops: TablestoreOps, tables: Tables) -> None:
        self._ops, self._table = ops, tables.job_reports

    def save(self, kind: str, key: str, report: Mapping[str, Any], at: int) -> None:
        self._ops.put(self._table, _report_key(kind, key), {"report": rows.encode_json(dict(report)), "at": at})

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        found = self._ops.get(self._table, _report_key(kind, key))
        return None if found is None else dict(json.loads(found["report"]))


class Retention:
    def __init__(self, ops: TablestoreOps, tables: Tables) -> None:
        self._ops = ops
        self._purgeable = {
            "idempotency_keys": (
                tables.idempotency_keys,
                time_index(tables.idempotency_keys_by_time, "created_at", "idempotency_key"),
            ),
            "notifications": (
                tables.notifications,
                time_index(tables.notifications_by_time, "processed_at", "notification_id"),
            ),
            "rate_limits": (tables.counters, time_index(tables.counters_by_expiry, "expires_at", "counter")),
        }

    def index(self, dataset: str) -> Index:
        return self._purgeable[dataset][1]

    def purge(self, dataset: str, before: int, limit: int) -> int:
        if dataset not in self._purgeable:
            raise ValueError(f"cannot purge {dataset!r}: only idempotency_keys, notifications and rate_limits")
        if limit <= 0:
            return 0
        table, index = self._purgeable[dataset]
        time_column, key_column = index.columns
        low = self._ops.sdk.INF_MIN
        deleted = 0
        for entry in scan(
            self._ops, index, [(time_column, low), (key_column, low)], [(time_column, before), (key_column, low)], limit
        ):
            row_key = [(key_column, entry[key_column])]
            if self._ops.delete(table, row_key, self._ops.equals(time_column, entry[time_column])):
                deleted += 1
            # Then the index row, whether its row was deleted, is gone, or has another time (a stale row):
            # older than `before`, it cannot belong to an insert still in flight.
            self._ops.delete(index.table, index_key(entry, index), None)
            if deleted == limit:
                break
        return deleted


def order_of(values: Values) -> Order:
    return rows.order_from_row(tuple(values.get(name) for name in rows.ORDER_COLUMNS))


def refund_of(values: Values) -> Refund:
    return rows.refund_from_row(tuple(values.get(name) for name in rows.REFUND_COLUMNS))


def _pending(row: Values) -> bool:
    return bool(row.get("status") == OrderStatus.PENDING.value)


def _report_key(kind: str, key: str) -> Key:
    return [("kind", kind), ("report_key", key)]
