"""What operators read: orders (search and detail), figures per China day, reconciliation reports, anomalies and
the audit log. Reads only; parameters arrive already checked (shared.services.admin.params)."""

from __future__ import annotations

from typing import Any

from shared import errors
from shared.domain.licences import licence_id_for
from shared.domain.orders import OrderStatus
from shared.domain.refunds import refund_view
from shared.services.admin.days import DAY, day_of
from shared.services.admin.params import AuditPage, DayRange, OrderSearch
from shared.services.admin.views import audit_view, licence_view, order_view, report_summary
from shared.storage.port import Storage
from shared.storage.search import DayTotals

RECONCILIATION = "reconciliation"
FIGURES = ("orders_created", "orders_paid", "payments", "revenue_fen", "refunded_fen")


class AdminQueries:
    def __init__(self, storage: Storage):
        self._storage = storage

    def search(self, search: OrderSearch) -> dict[str, Any]:
        try:
            page = self._storage.search_orders(search.query, search.cursor, search.limit)
        except ValueError:
            raise errors.ValidationFailed(
                "cursor is not one this API handed out", code="INVALID_CURSOR", details={"parameter": "cursor"}
            ) from None
        return {"orders": [order_view(o) for o in page.orders], "next_cursor": page.next_cursor}

    def order(self, order_id: str) -> dict[str, Any]:
        order = self._storage.get_order(order_id)
        if order is None:
            raise errors.NotFound("no such order", code="ORDER_NOT_FOUND")
        return {
            "order": order_view(order),
            "events": self._storage.order_events(order_id),
            "refunds": [refund_view(r, order.status.value) for r in self._storage.refunds_for_order(order_id)],
            "licence": self.licence_of(licence_id_for(order_id)),
        }

    def licence_of(self, licence_id: str) -> dict[str, Any] | None:
        licence = self._storage.get_licence(licence_id)
        return None if licence is None else licence_view(licence, self._storage.activations(licence_id))

    def stats(self, days: DayRange) -> dict[str, Any]:
        # The port's offset is where a day starts, in seconds after UTC midnight: China's midnight is 16:00 UTC.
        rows = self._storage.day_totals(days.start, days.end, days.start % DAY)
        totals: dict[str, Any] = {name: sum(getattr(row, name) for row in rows) for name in FIGURES}
        created = totals["orders_created"]
        totals["conversion"] = round(totals["orders_paid"] / created, 4) if created else None
        return {
            "from": days.first.isoformat(),
            "to": days.last.isoformat(),
            "days": [_day(row) for row in rows],
            "totals": totals,
            "pending": self._storage.count_orders(OrderStatus.PENDING),
        }

    def reports(self, limit: int) -> dict[str, Any]:
        stored = self._storage.reports(RECONCILIATION, limit)
        return {"reports": [{"date": r["key"], "at": r["at"], "summary": report_summary(r["report"])} for r in stored]}

    def report(self, date: str) -> dict[str, Any]:
        report = self._storage.get_report(RECONCILIATION, date)
        if report is None:
            raise errors.NotFound(f"no reconciliation report for {date}", code="REPORT_NOT_FOUND")
        return report

    def anomalies(self, limit: int) -> dict[str, Any]:
        return {"anomalies": self._storage.anomalies(limit)}

    def audit(self, page: AuditPage) -> dict[str, Any]:
        entries = self._storage.audit_entries(page.before, page.limit, page.target)
        next_before = entries[-1].audit_id if len(entries) == page.limit else None
        return {"entries": [audit_view(e) for e in entries], "next_before": next_before}


def _day(row: DayTotals) -> dict[str, Any]:
    return {"date": day_of(row.day).isoformat(), **{name: getattr(row, name) for name in FIGURES}}
