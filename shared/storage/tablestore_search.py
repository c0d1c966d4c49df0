"""The admin order search, day figures and status counts on Tablestore, for shared.storage.tablestore (which mixes
this in). Every read goes through the orders' and refunds' index tables (shared.storage.tablestore_index) and is
checked against the rows it points to.

* An order id is a key lookup.
* A transaction id reads orders_by_transaction, written with the order's other index rows when the id is set
  (insert or update), in each of its shards: a lookup, not a scan.
* Otherwise the search reads orders_by_status (a status given) or orders_by_created backwards, newest first,
  merged across the shards, from the cursor (or created_to) down to created_from. A product filter, and any
  filter the index does not hold, is checked on the order rows. A page examines at most SEARCH_BUDGET index
  rows: a search that matches little ends its page early, with a cursor where it stopped, rather than reading
  the whole table in one request.
* Day figures read three index ranges ([start, end) of created_at, paid_at and the refunds' success_at) and add
  up the rows in the adapter (Tablestore has no GROUP BY outside a search index): the cost grows with the orders
  in the range, so the admin API caps a request at 366 days (docs/capacity.md §6).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator

from shared.domain.orders import PAID_STATES, Order, OrderStatus
from shared.domain.refunds import RefundStatus
from shared.storage import admin_rows
from shared.storage.search import DayTotals, OrderPage, OrderQuery
from shared.storage.tablestore_index import Index, IndexedTable, scan
from shared.storage.tablestore_jobs import Refunds, order_of, refund_of
from shared.storage.tablestore_ops import Key, TablestoreOps, Values

SEARCH_BUDGET = 2000  # index rows one search page may examine
_ALL = sys.maxsize
_READ_PAGE = 500


class OrderSearch:
    _ops: TablestoreOps
    _orders: IndexedTable
    _refunds: Refunds

    def search_orders(self, query: OrderQuery, cursor: str | None, limit: int) -> OrderPage:
        after = None if cursor is None else admin_rows.decode_cursor(cursor)
        if limit <= 0:
            return OrderPage([], None)
        if query.order_id is not None:
            found = self._orders.get(query.order_id)
            candidates = [] if found is None else [order_of(found)]
            return _page(_newest_first(candidates), query, after, limit)
        if query.transaction_id is not None:
            index = self._orders.indexes[5]
            low, high = self._ops.sdk.INF_MIN, self._ops.sdk.INF_MAX
            start = [("transaction_id", query.transaction_id), ("order_id", low)]
            end = [("transaction_id", query.transaction_id), ("order_id", high)]
            rows = self._orders.follow(scan(self._ops, index, start, end, 100), index, _ALL)
            return _page(_newest_first(map(order_of, rows)), query, after, limit)
        index, prefix = self._orders.indexes[4], []
        if query.status is not None:
            index, prefix = self._orders.indexes[1], [("status", OrderStatus(query.status).value)]
        high, low = self._newest_key(query, after), self._oldest_key(query)
        entries = scan(self._ops, index, [*prefix, *high], [*prefix, *low], min(limit + 1, 100), backward=True)
        budget = _Budget(entries, SEARCH_BUDGET)
        matched = []
        for row in self._orders.follow(budget, index, _ALL):
            order = order_of(row)
            if admin_rows.matches(order, query) and admin_rows.after_cursor(order, after):
                matched.append(order)
                if len(matched) > limit:
                    last = matched[limit - 1]
                    return OrderPage(matched[:limit], admin_rows.encode_cursor(last.created_at, last.order_id))
        if budget.exhausted and budget.last is not None:
            return OrderPage(matched, admin_rows.encode_cursor(budget.last["created_at"], budget.last["order_id"]))
        return OrderPage(matched, None)

    def count_orders(self, status: OrderStatus) -> int:
        index, low, high = self._orders.indexes[1], self._ops.sdk.INF_MIN, self._ops.sdk.INF_MAX
        value = OrderStatus(status).value
        start = [("status", value), ("created_at", low), ("order_id", low)]
        end = [("status", value), ("created_at", high), ("order_id", high)]
        return sum(1 for _ in self._orders.follow(scan(self._ops, index, start, end, _READ_PAGE), index, _ALL))

    def day_totals(self, start: int, end: int, offset: int) -> list[DayTotals]:
        days = admin_rows.day_starts(start, end, offset)
        created: dict[int, tuple[int, int]] = {}
        for row in self._between(self._orders, self._orders.indexes[4], "created_at", "order_id", start, end):
            day = admin_rows.day_of(row["created_at"], start)
            n, paid = created.get(day, (0, 0))
            created[day] = (n + 1, paid + (OrderStatus(row["status"]) in PAID_STATES))
        payments: dict[int, tuple[int, int]] = {}
        for row in self._between(self._orders, self._orders.indexes[3], "paid_at", "order_id", start, end):
            day = admin_rows.day_of(row["paid_at"], start)
            n, fen = payments.get(day, (0, 0))
            payments[day] = (n + 1, fen + order_of(row).amount_fen)
        refunded: dict[int, int] = {}
        table, by_success = self._refunds.table, self._refunds.by_success
        for row in self._between(table, by_success, "success_at", "out_refund_no", start, end):
            refund = refund_of(row)
            if refund.status is RefundStatus.SUCCESS and refund.success_at is not None:
                day = admin_rows.day_of(refund.success_at, start)
                refunded[day] = refunded.get(day, 0) + refund.amount_fen
        return admin_rows.assemble(days, created, payments, refunded)

    # -- plumbing ----------------------------------------------------------------------------------------
    def _between(
        self, table: IndexedTable, index: Index, time: str, key: str, start: int, end: int
    ) -> Iterator[Values]:
        low = self._ops.sdk.INF_MIN
        entries = scan(self._ops, index, [(time, start), (key, low)], [(time, end), (key, low)], _READ_PAGE)
        return table.follow(entries, index, _ALL)

    def _newest_key(self, query: OrderQuery, after: tuple[int, str] | None) -> Key:
        """Where a backward read starts (inclusive): the cursor's row (skipped by the filter), or the created_to
        bound (no order_id is below INF_MIN, so no row at created_to is read), or the very end."""
        if after is not None and (query.created_to is None or after[0] < query.created_to):
            return [("created_at", after[0]), ("order_id", after[1])]
        if query.created_to is not None:
            return [("created_at", query.created_to), ("order_id", self._ops.sdk.INF_MIN)]
        return [("created_at", self._ops.sdk.INF_MAX), ("order_id", self._ops.sdk.INF_MAX)]

    def _oldest_key(self, query: OrderQuery) -> Key:
        """Where it ends (exclusive): just below created_from, or the very beginning."""
        low = self._ops.sdk.INF_MIN
        return [("created_at", low if query.created_from is None else query.created_from), ("order_id", low)]


class _Budget:
    """Index rows up to a budget; `exhausted` when a row beyond it was there, `last` the last row handed out."""

    def __init__(self, entries: Iterator[Values], budget: int) -> None:
        self._entries, self._budget = entries, budget
        self.exhausted = False
        self.last: Values | None = None

    def __iter__(self) -> Iterator[Values]:
        for n, entry in enumerate(self._entries):
            if n == self._budget:
                self.exhausted = True
                return
            self.last = entry
            yield entry


def _page(candidates: list[Order], query: OrderQuery, after: tuple[int, str] | None, limit: int) -> OrderPage:
    matched = [o for o in candidates if admin_rows.matches(o, query) and admin_rows.after_cursor(o, after)]
    if len(matched) <= limit:
        return OrderPage(matched, None)
    last = matched[limit - 1]
    return OrderPage(matched[:limit], admin_rows.encode_cursor(last.created_at, last.order_id))


def _newest_first(orders: Iterable[Order]) -> list[Order]:
    return sorted(orders, key=lambda order: (order.created_at, order.order_id), reverse=True)
