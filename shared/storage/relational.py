"""What SQLite, PostgreSQL and MySQL share beyond the purchase: refunds, the timer jobs' queries, job leases,
reports and backups, written once over a few hooks of the adapter (its placeholder and how it runs statements).

Every write is single-row and conditional, as elsewhere: a refund is inserted if absent and moved by
compare-and-set on its status; a lease is taken by insert-if-absent, or by an UPDATE whose WHERE says it expired
or is already ours (its row count, matched rows on MySQL too, says who holds it). Every read is an indexed range
with a LIMIT (the indexes are in the schemas, named after the query), except an order's refunds: at most
MAX_REFUNDS_PER_ORDER, and cutting that list short would understate what was refunded.

Export pages through each table by its key (`a >= ? AND (a > ? OR b > ?)` for two columns: the one form every
engine here reads as an index range; MariaDB scans for a row-value comparison, SQLite sorts for a plain OR).
"""

from __future__ import annotations

import functools
import itertools
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from shared.domain.orders import Order, OrderStatus
from shared.domain.refunds import Refund, RefundStatus
from shared.storage import admin_rows, datasets, rows

T = TypeVar("T")
Query = Callable[[str, Sequence[Any]], list[Sequence[Any]]]  # a statement in a transaction -> its rows, if any
_LEASE_COLUMNS = ("name", "owner", "expires_at")
_REPORT_COLUMNS = ("kind", "report_key", "report", "at")
_PURGE_CHUNK = 100  # keys per DELETE: SQLite builds before 3.32 take at most 999 parameters


@dataclass(frozen=True)
class _Source:
    """Where a dataset is read from: expressions for its columns, and the key that pages through the table."""

    table: str
    select: tuple[str, ...]
    key: tuple[str, ...]

    def page_sql(self, mark: str, after: bool) -> str:
        where = ""
        if after:
            first, *rest = self.key
            where = f" WHERE {first} > {mark}"
            if rest:
                where = f" WHERE {first} >= {mark} AND ({first} > {mark} OR {rest[0]} > {mark})"
        columns = ", ".join((*self.select, *self.key))
        return f"SELECT {columns} FROM {self.table}{where} ORDER BY {', '.join(self.key)} LIMIT {mark}"  # noqa: S608

    def after_params(self, last: Sequence[Any]) -> tuple[Any, ...]:
        return (last[0],) if len(self.key) == 1 else (last[0], last[0], last[1])


_SOURCES = {
    "orders": _Source("orders", rows.ORDER_COLUMNS, ("order_id",)),
    "licences": _Source("licences", rows.LICENCE_COLUMNS, ("licence_id",)),
    "activations": _Source(
        "activations", ("licence_id", "install_hash", "activated_at"), ("licence_id", "install_hash")
    ),
    "refunds": _Source("refunds", rows.REFUND_COLUMNS, ("out_refund_no",)),
    # An event exports the identity it was first stored under (module doc of shared.storage.datasets).
    "order_events": _Source(
        "order_events", ("order_id", "COALESCE(origin_seq, seq)", "kind", "at", "details"), ("order_id", "seq")
    ),
    "anomalies": _Source("anomalies", ("kind", "reference", "order_id", "details", "at"), ("kind", "reference")),
    "notifications": _Source(
        "notifications", ("notification_id", "event_type", "order_id", "processed_at"), ("notification_id",)
    ),
    "admin_keys": _Source("admin_keys", admin_rows.ADMIN_KEY_COLUMNS, ("key_id",)),
    "audit_log": _Source("audit_log", admin_rows.AUDIT_SQL_COLUMNS, ("audit_id",)),
}


class RelationalJobs(ABC):
    mark: str  # the driver's placeholder
    idempotency_key_column: str  # `key` in SQLite; a reserved word in MySQL

    # -- hooks -------------------------------------------------------------------------------------------
    @abstractmethod
    def _insert(self, table: str, columns: Sequence[str], values: Sequence[Any]) -> bool:
        """Insert unless a primary or unique key clashes; True when inserted."""

    @abstractmethod
    def _all(self, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]: ...

    @abstractmethod
    def _rowcount(self, sql: str, params: Sequence[Any]) -> int: ...

    @abstractmethod
    def _atomically(self, work: Callable[[Query], T]) -> T:
        """work(query) in one transaction, safe to run again whole if the connection is lost."""

    def _upsert_sql(self, table: str, key: Sequence[str], columns: Sequence[str]) -> str:
        m = self.mark
        changed = ", ".join(f"{name} = excluded.{name}" for name in columns if name not in key)
        return (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([m] * len(columns))})"  # noqa: S608
            f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {changed}"
        )

    # -- refunds -----------------------------------------------------------------------------------------
    def insert_refund(self, refund: Refund) -> bool:
        return self._insert("refunds", rows.REFUND_COLUMNS, rows.refund_to_row(refund))

    def get_refund(self, out_refund_no: str) -> Refund | None:
        found = self._refunds(f"out_refund_no = {self.mark}", (out_refund_no,))
        return found[0] if found else None

    def update_refund(
        self, out_refund_no: str, changes: Mapping[str, Any], *, expect_status: Sequence[RefundStatus] | None = None
    ) -> bool:
        expected = None if expect_status is None else rows.status_values(expect_status, RefundStatus)
        return self._update("refunds", "out_refund_no", out_refund_no, rows.refund_changes(changes), expected)

    def refunds_for_order(self, order_id: str) -> list[Refund]:
        return self._refunds(f"order_id = {self.mark} ORDER BY requested_at, out_refund_no", (order_id,))

    # -- what the timer jobs read ------------------------------------------------------------------------
    def orders_in_status(self, status: OrderStatus, created_before: int, limit: int) -> list[Order]:
        m = self.mark
        where = f"status = {m} AND created_at < {m} ORDER BY created_at, order_id"
        return self._orders(where, (OrderStatus(status).value, created_before), limit)

    def orders_expired(self, now: int, limit: int) -> list[Order]:
        where = f"status = {self.mark} AND expires_at <= {self.mark} ORDER BY expires_at, order_id"
        return self._orders(where, (OrderStatus.PENDING.value, now), limit)

    def refunds_in_status(self, status: RefundStatus, requested_before: int, limit: int) -> list[Refund]:
        m = self.mark
        where = f"status = {m} AND requested_at < {m} ORDER BY requested_at, out_refund_no LIMIT {m}"
        return [] if limit <= 0 else self._refunds(where, (RefundStatus(status).value, requested_before, limit))

    def orders_paid_between(self, start: int, end: int, limit: int) -> list[Order]:
        where = f"paid_at >= {self.mark} AND paid_at < {self.mark} ORDER BY paid_at, order_id"
        return self._orders(where, (start, end), limit)

    def refunds_succeeded_between(self, start: int, end: int, limit: int) -> list[Refund]:
        m = self.mark
        where = f"success_at >= {m} AND success_at < {m} ORDER BY success_at, out_refund_no LIMIT {m}"
        return [] if limit <= 0 else self._refunds(where, (start, end, limit))

    # -- job leases and reports --------------------------------------------------------------------------
    def acquire_lease(self, name: str, owner: str, now: int, ttl: int) -> bool:
        if ttl <= 0:
            raise ValueError("a lease's ttl must be a positive number of seconds")
        if self._insert("job_leases", _LEASE_COLUMNS, (name, owner, now + ttl)):
            return True
        m = self.mark
        taken = f"UPDATE job_leases SET owner = {m}, expires_at = {m} WHERE name = {m} AND (expires_at <= {m} OR owner = {m})"  # noqa: S608
        return self._rowcount(taken, (owner, now + ttl, name, now, owner)) == 1

    def release_lease(self, name: str, owner: str) -> None:
        sql = f"DELETE FROM job_leases WHERE name = {self.mark} AND owner = {self.mark}"  # noqa: S608
        self._rowcount(sql, (name, owner))

    def save_report(self, kind: str, key: str, report: Mapping[str, Any], at: int) -> None:
        sql = self._upsert_sql("job_reports", ("kind", "report_key"), _REPORT_COLUMNS)
        self._rowcount(sql, (kind, key, rows.encode_json(dict(report)), at))

    def get_report(self, kind: str, key: str) -> dict[str, Any] | None:
        sql = f"SELECT report FROM job_reports WHERE kind = {self.mark} AND report_key = {self.mark}"  # noqa: S608
        found = self._all(sql, (kind, key))
        return None if not found else dict(json.loads(found[0][0]))

    def purge(self, dataset: str, before: int, limit: int) -> int:
        key, time = self._purgeable(dataset)
        if limit <= 0:
            return 0
        m, columns = self.mark, ", ".join(key)
        # Select, then delete by key: DELETE ... LIMIT is MySQL's alone, and MySQL refuses LIMIT in a subquery.
        sql = f"SELECT {columns} FROM {dataset_table(dataset)} WHERE {time} < {m} ORDER BY {time}, {columns} LIMIT {m}"  # noqa: S608
        found = [tuple(row) for row in self._all(sql, (before, limit))]
        deleted = 0
        for start in range(0, len(found), _PURGE_CHUNK):
            chunk = found[start : start + _PURGE_CHUNK]
            match = " OR ".join(["(" + " AND ".join(f"{c} = {m}" for c in key) + ")"] * len(chunk))
            delete = f"DELETE FROM {dataset_table(dataset)} WHERE {time} < {m} AND ({match})"  # noqa: S608
            deleted += self._rowcount(delete, (before, *(value for row in chunk for value in row)))
        return deleted

    def _purgeable(self, dataset: str) -> tuple[tuple[str, ...], str]:
        """(key columns, time column); ValueError for a dataset retention does not apply to (the audit log)."""
        if dataset == "idempotency_keys":
            return (self.idempotency_key_column,), "created_at"
        if dataset == "notifications":
            return ("notification_id",), "processed_at"
        if dataset == "rate_limits":
            return ("name", "time_window"), "expires_at"
        raise ValueError(f"cannot purge {dataset!r}: only idempotency_keys, notifications and rate_limits")

    # -- backups -----------------------------------------------------------------------------------------
    def export_rows(self, dataset: str) -> Iterator[dict[str, Any]]:
        return self._export(datasets.dataset(dataset), _SOURCES[dataset])  # checked now, not on the first read

    def import_rows(self, dataset: str, rows: Iterator[dict[str, Any]]) -> int:
        return datasets.import_rows(
            self,  # type: ignore[arg-type]  # the adapter is the Storage; this mixin is only its half
            dataset,
            rows,
            activations=self._import_activations,
            order_events=self._import_order_events,
            audit_log=self._import_audit,
        )

    def _export(self, spec: datasets.Dataset, source: _Source) -> Iterator[dict[str, Any]]:
        width, last = len(spec.columns), None
        while True:
            after = () if last is None else source.after_params(last)
            page = self._all(source.page_sql(self.mark, last is not None), (*after, datasets.PAGE))
            for row in page:
                yield datasets.exported(spec, row[:width])
            if len(page) < datasets.PAGE:
                return
            last = page[-1][width:]

    def _import_activations(self, found: Iterator[dict[str, Any]]) -> int:
        columns = ("licence_id", "install_hash", "activated_at")
        return sum(1 for row in found if self._insert("activations", columns, tuple(row[c] for c in columns)))

    def _import_order_events(self, found: Iterator[dict[str, Any]]) -> int:
        """Per order (rows arrive grouped by order), a transaction that reads the identities the order's events
        already have and appends the missing ones in the order given."""
        inserted = 0
        for order_id, group in itertools.groupby(found, key=lambda row: row["order_id"]):
            for chunk in _chunks(group, datasets.PAGE):
                inserted += self._atomically(functools.partial(self._append_missing, order_id=order_id, events=chunk))
        return inserted

    def _append_missing(self, query: Query, *, order_id: str, events: list[dict[str, Any]]) -> int:
        m = self.mark
        sql = f"SELECT COALESCE(origin_seq, seq), kind, at, details FROM order_events WHERE order_id = {m}"  # noqa: S608
        present = {tuple(row) for row in query(sql, (order_id,))}
        insert = f"INSERT INTO order_events (order_id, kind, at, details, origin_seq) VALUES ({m}, {m}, {m}, {m}, {m})"  # noqa: S608
        appended = 0
        for event in events:
            identity = (event["seq"], event["kind"], event["at"], event["details"])
            if identity not in present:
                query(insert, (order_id, event["kind"], event["at"], event["details"], event["seq"]))
                present.add(identity)
                appended += 1
        return appended

    @abstractmethod
    def _import_audit(self, found: Iterator[dict[str, Any]]) -> int:
        """Insert-if-absent of audit entries (shared.storage.relational_admin): the port's append has no answer."""

    # -- plumbing ----------------------------------------------------------------------------------------
    def _update(
        self, table: str, key: str, key_value: str, changes: Mapping[str, Any], expect: list[str] | None
    ) -> bool:
        if expect is not None and not expect:
            return False
        sql, params = rows.conditional_update(table, key, key_value, changes, expect, self.mark)
        return self._rowcount(sql, params) == 1

    def _orders(self, where: str, params: tuple[Any, ...], limit: int) -> list[Order]:
        if limit <= 0:  # SQLite reads LIMIT -1 as "no limit"
            return []
        sql = f"SELECT {', '.join(rows.ORDER_COLUMNS)} FROM orders WHERE {where} LIMIT {self.mark}"  # noqa: S608
        return [rows.order_from_row(row) for row in self._all(sql, (*params, limit))]

    def _refunds(self, where: str, params: tuple[Any, ...]) -> list[Refund]:
        sql = f"SELECT {', '.join(rows.REFUND_COLUMNS)} FROM refunds WHERE {where}"  # noqa: S608
        return [rows.refund_from_row(row) for row in self._all(sql, params)]


def dataset_table(dataset: str) -> str:
    """The table a purgeable dataset lives in."""
    return "counters" if dataset == "rate_limits" else dataset


def _chunks(items: Iterator[T], size: int) -> Iterator[list[T]]:
    while chunk := list(itertools.islice(items, size)):
        yield chunk
