"""The daily check of our books against WeChat's trade bill (reference §8): the bill of one day (default
yesterday, China time) downloaded and its SHA1 checked, read by column name, compared with our payments and
refunds of that day; the report is stored, and any difference is logged as an error for the alerting."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from shared import log
from shared.domain.reconciliation import BilledPayment, BilledRefund, compare, day_bounds, previous_day
from shared.storage.port import Storage
from shared.wechatpay.bills import BillFile, parse_bill_csv
from shared.wechatpay.errors import GatewayError
from shared.wechatpay.gateway import PayGateway

NO_STATEMENT = "NO_STATEMENT_EXIST"  # a day without trades has no bill (reference §8)
NOT_READY = "STATEMENT_CREATING"  # generated from 09:00 the next day
MAX_ROWS = 100_000  # per side and day; far beyond a day's trade, but a bound all the same
REPORT_KIND = "reconciliation"


class ReconcileBill:
    def __init__(self, storage: Storage, gateway: Callable[[], PayGateway], clock: Callable[[], int]):
        self._storage, self._gateway, self._clock = storage, gateway, clock

    def __call__(self, options: Mapping[str, Any]) -> dict[str, Any]:
        day = _day(options.get("date"), self._clock())
        bill = self._bill(day)
        if bill is None:
            log.info("bill_not_ready", date=day.isoformat())
            return {"date": day.isoformat(), "bill": "NOT_READY"}
        report = self._compare(day, bill)
        self._storage.save_report(REPORT_KIND, day.isoformat(), report, self._clock())
        counts = {k: len(report[k]) for k in ("missing_here", "missing_there", "amount_mismatch", "state_mismatch")}
        if report["status"] != "OK":
            log.error("reconcile_discrepancies", date=day.isoformat(), **counts, totals=report["totals"])
        # Every compared day, 0 included: a day without this line means the bill was not compared at all. Named apart
        # from the error line above, so that a search for that alert finds the alert only.
        log.metric("reconcile_discrepancies", sum(counts.values()), date=day.isoformat(), **counts)
        return {"date": day.isoformat(), "status": report["status"], "bill_rows": len(bill.rows), **counts}

    def _bill(self, day: dt.date) -> BillFile | None:
        """The day's bill; an empty one for a day without trades; None while WeChat is still making it."""
        gateway = self._gateway()
        try:
            announced = gateway.trade_bill(day, "ALL")
        except GatewayError as exc:
            if exc.code == NO_STATEMENT:
                return BillFile(rows=(), count=0, settlement_total_fen=0, refund_total_fen=0, order_total_fen=0)
            if exc.code == NOT_READY:
                return None
            raise
        return parse_bill_csv(gateway.download_bill(announced))

    def _compare(self, day: dt.date, bill: BillFile) -> dict[str, Any]:
        start, end = day_bounds(day)
        our_payments = self._storage.orders_paid_between(start, end, MAX_ROWS)
        our_refunds = self._storage.refunds_succeeded_between(start, end, MAX_ROWS)
        payments = [
            BilledPayment(r.out_trade_no, r.transaction_id, r.total_fen)
            for r in bill.rows
            if r.trade_state == "SUCCESS"
        ]
        refunds = [
            BilledRefund(r.out_refund_no, r.out_trade_no, r.refund_fen)
            for r in bill.rows
            if r.trade_state == "REFUND" and r.out_refund_no and r.refund_status in (None, "SUCCESS")
        ]
        known_orders = {o.order_id for o in our_payments}
        known_refunds = {r.out_refund_no for r in our_refunds}
        stored_orders = {
            p.out_trade_no: order
            for p in payments
            if p.out_trade_no not in known_orders and (order := self._storage.get_order(p.out_trade_no)) is not None
        }
        stored_refunds = {
            r.out_refund_no: refund
            for r in refunds
            if r.out_refund_no not in known_refunds
            and (refund := self._storage.get_refund(r.out_refund_no)) is not None
        }
        report = compare(day, our_payments, our_refunds, payments, refunds, stored_orders, stored_refunds)
        report["bill"] = {
            "rows": len(bill.rows),
            "summary_count": bill.count,
            "summary_settlement_fen": bill.settlement_total_fen,
            "summary_refund_fen": bill.refund_total_fen,
            # The summary row must add up to the detail rows, or the file was misread.
            "summary_consistent": bill.count == len(bill.rows)
            and bill.refund_total_fen == sum(r.refund_fen for r in bill.rows if r.trade_state == "REFUND"),
        }
        report["truncated"] = len(our_payments) >= MAX_ROWS or len(our_refunds) >= MAX_ROWS
        report["generated_at"] = self._clock()
        return report


def _day(value: Any, now: int) -> dt.date:
    if value is None:
        return previous_day(now)
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError(f"date must be YYYY-MM-DD, not {value!r}") from exc
