"""The admin part of the port for SQLite, PostgreSQL and MySQL, written once over shared.storage.relational's
hooks: the order search, the day figures, admin keys, the audit log and the rate-limit counters.

* The search is one indexed query: every given filter ANDed, newest first, and keyset pagination after the
  cursor's (created_at, order_id) in the form `a <= ? AND (a < ? OR b < ?)` that every engine here reads as an
  index range (see relational.py). It reads one row more than the page to know whether another page follows.
* The day figures are three GROUP BY queries over an indexed time range (orders by created_at, orders by paid_at,
  successful refunds by success_at); a row's day is `t - (t - start) % 86400`, integer arithmetic on every engine.
  The day bounds are validated integers, written into the SQL text so that no engine has to type a parameter
  inside the grouped expression.
* A key is inserted if absent and revoked by `UPDATE ... WHERE revoked_at IS NULL`.
* The audit log is insert-only here, and the schema's triggers refuse UPDATE and DELETE on it.
* A counter is an upsert that adds one, then a read of the row, in one transaction: the upsert holds the row's
  lock until the commit, so the value read is this hit's and two hits never read the same value. A transaction
  run again after a lost connection (shared.storage.sql.session) may count one hit twice: a rate limit then errs
  on the strict side by one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from shared.domain.admin import AdminKey, AuditEntry
from shared.domain.orders import OrderStatus
from shared.domain.refunds import RefundStatus
from shared.storage import admin_rows
from shared.storage.relational import Query, RelationalJobs
from shared.storage.search import DayTotals, OrderPage, OrderQuery

_AUDIT_SELECT = f"SELECT {', '.join(admin_rows.AUDIT_SQL_COLUMNS)} FROM audit_log"  # noqa: S608 - constant names
_KEY_SELECT = f"SELECT {', '.join(admin_rows.ADMIN_KEY_COLUMNS)} FROM admin_keys"  # noqa: S608
_FILTERS = (("status", "status"), ("order_id", "order_id"), ("transaction_id", "transaction_id"))


class RelationalAdmin(RelationalJobs):
    # -- the order search ------------------------------------------------------------------------------------
    def search_orders(self, query: OrderQuery, cursor: str | None, limit: int) -> OrderPage:
        after = None if cursor is None else admin_rows.decode_cursor(cursor)
        if limit <= 0:
            return OrderPage([], None)
        m, where, params = self.mark, [], []
        for field, column in (*_FILTERS, ("product_id", "product_id")):
            value = getattr(query, field)
            if value is not None:
                where.append(f"{column} = {m}")
                params.append(OrderStatus(value).value if field == "status" else value)
        if query.created_from is not None:
            where.append(f"created_at >= {m}")
            params.append(query.created_from)
        if query.created_to is not None:
            where.append(f"created_at < {m}")
            params.append(query.created_to)
        if after is not None:
            where.append(f"created_at <= {m} AND (created_at < {m} OR order_id < {m})")
            params += [after[0], after[0], after[1]]
        clause = " AND ".join(where) or "1 = 1"
        found = self._orders(f"{clause} ORDER BY created_at DESC, order_id DESC", tuple(params), limit + 1)
        if len(found) <= limit:
            return OrderPage(found, None)
        last = found[limit - 1]
        return OrderPage(found[:limit], admin_rows.encode_cursor(last.created_at, last.order_id))

    def count_orders(self, status: OrderStatus) -> int:
        found = self._all(f"SELECT COUNT(*) FROM orders WHERE status = {self.mark}", (OrderStatus(status).value,))  # noqa: S608
        return int(found[0][0])

    # -- day figures -----------------------------------------------------------------------------------------
    def day_totals(self, start: int, end: int, offset: int) -> list[DayTotals]:
        days = admin_rows.day_starts(int(start), int(end), int(offset))
        if not days:
            return []
        m, first = self.mark, int(start)
        mod = "%%" if m == "%s" else "%"  # the modulo operator, escaped where % marks parameters
        paid = ", ".join(f"'{value}'" for value in admin_rows.PAID_VALUES)  # enum values: constants
        created = self._all(
            f"SELECT created_at - (created_at - {first}) {mod} 86400, COUNT(*),"  # noqa: S608
            f" SUM(CASE WHEN status IN ({paid}) THEN 1 ELSE 0 END)"
            f" FROM orders WHERE created_at >= {m} AND created_at < {m} GROUP BY 1",
            (start, end),
        )
        payments = self._all(
            f"SELECT paid_at - (paid_at - {first}) {mod} 86400, COUNT(*), SUM(amount_fen)"  # noqa: S608
            f" FROM orders WHERE paid_at >= {m} AND paid_at < {m} GROUP BY 1",
            (start, end),
        )
        refunded = self._all(
            f"SELECT success_at - (success_at - {first}) {mod} 86400, SUM(amount_fen)"  # noqa: S608
            f" FROM refunds WHERE success_at >= {m} AND success_at < {m} AND status = {m} GROUP BY 1",
            (start, end, RefundStatus.SUCCESS.value),
        )
        return admin_rows.assemble(
            days,
            {int(day): (int(n), int(p)) for day, n, p in created},
            {int(day): (int(n), int(fen)) for day, n, fen in payments},
            {int(day): int(fen) for day, fen in refunded},
        )

    def reports(self, kind: str, limit: int) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        m = self.mark
        sql = f"SELECT report_key, at, report FROM job_reports WHERE kind = {m} ORDER BY report_key DESC LIMIT {m}"  # noqa: S608
        return [
            {"key": key, "at": at, "report": json.loads(report)} for key, at, report in self._all(sql, (kind, limit))
        ]

    # -- admin keys ------------------------------------------------------------------------------------------
    def insert_admin_key(self, key: AdminKey) -> bool:
        return self._insert("admin_keys", admin_rows.ADMIN_KEY_COLUMNS, admin_rows.admin_key_to_row(key))

    def get_admin_key(self, key_id: str) -> AdminKey | None:
        found = self._all(f"{_KEY_SELECT} WHERE key_id = {self.mark}", (key_id,))
        return admin_rows.admin_key_from_row(found[0]) if found else None

    def admin_keys(self) -> list[AdminKey]:
        return [
            admin_rows.admin_key_from_row(row) for row in self._all(f"{_KEY_SELECT} ORDER BY created_at, key_id", ())
        ]

    def revoke_admin_key(self, key_id: str, at: int) -> bool:
        m = self.mark
        sql = f"UPDATE admin_keys SET revoked_at = {m} WHERE key_id = {m} AND revoked_at IS NULL"  # noqa: S608
        return self._rowcount(sql, (at, key_id)) == 1

    # -- the audit log ---------------------------------------------------------------------------------------
    def append_audit(self, entry: AuditEntry) -> None:
        if not self._insert("audit_log", admin_rows.AUDIT_SQL_COLUMNS, admin_rows.audit_to_row(entry)):
            raise ValueError(f"storage constraint violated: audit entry {entry.audit_id} exists")

    def audit_entries(self, before: str | None, limit: int, target: str | None = None) -> list[AuditEntry]:
        if limit <= 0:
            return []
        m, where, params = self.mark, [], []
        if target is not None:
            where.append(f"target = {m}")
            params.append(target)
        if before is not None:
            where.append(f"audit_id < {m}")
            params.append(before)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        sql = f"{_AUDIT_SELECT}{clause} ORDER BY audit_id DESC LIMIT {m}"
        return [admin_rows.audit_from_row(row) for row in self._all(sql, (*params, limit))]

    def _import_audit(self, found: Iterator[dict[str, Any]]) -> int:
        """Rows as datasets.stored makes them (before and after as JSON text, or None)."""
        columns = admin_rows.AUDIT_COLUMNS
        return sum(
            1 for row in found if self._insert("audit_log", admin_rows.AUDIT_SQL_COLUMNS, [row[c] for c in columns])
        )

    # -- rate-limit counters ---------------------------------------------------------------------------------
    def hit_counter(self, name: str, window: int, expires_at: int) -> int:
        m = self.mark
        read = f"SELECT hits FROM counters WHERE name = {m} AND time_window = {m}"  # noqa: S608

        def work(query: Query) -> int:
            query(self._counter_upsert_sql(), (name, window, expires_at))
            return int(query(read, (name, window))[0][0])

        return self._atomically(work)

    def _counter_upsert_sql(self) -> str:
        m = self.mark
        return (
            f"INSERT INTO counters (name, time_window, hits, expires_at) VALUES ({m}, {m}, 1, {m})"  # noqa: S608
            " ON CONFLICT (name, time_window) DO UPDATE SET hits = counters.hits + 1"
        )
