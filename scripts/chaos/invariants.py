"""What must hold after a chaos run, checked in our storage and against the emulator's own records and bills.

Only this run's orders are looked at (created since it started), so `--storage` may name a database used before.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from emulator.app import Emulator
from emulator.bills import trade_bill
from shared.storage.port import Storage
from shared.wechatpay.bills import parse_bill_csv

PAID_HERE = ("PAID", "REFUNDING", "REFUNDED", "PARTIALLY_REFUNDED")
PAID_THERE = ("SUCCESS", "REFUND")
CST = dt.timezone(dt.timedelta(hours=8))


@dataclass
class Check:
    name: str
    checked: int = 0
    violations: list[str] = field(default_factory=list)

    def expect(self, ok: bool, problem: str) -> None:
        self.checked += 1
        if not ok:
            self.violations.append(problem)


@dataclass
class Books:
    """This run's rows, ours and WeChat's."""

    orders: dict[str, dict[str, Any]]
    licences: Counter[str]
    refunds: list[dict[str, Any]]
    events: list[dict[str, Any]]
    wechat_orders: dict[str, Any]
    wechat_refunds: list[Any]

    @classmethod
    def read(cls, storage: Storage, emulator: Emulator, since: int) -> Books:
        orders = {r["order_id"]: r for r in storage.export_rows("orders") if int(r["created_at"]) >= since}
        return cls(
            orders=orders,
            licences=Counter(r["order_id"] for r in storage.export_rows("licences") if r["order_id"] in orders),
            refunds=[r for r in storage.export_rows("refunds") if r["order_id"] in orders],
            events=[r for r in storage.export_rows("order_events") if r["order_id"] in orders],
            wechat_orders={r["out_trade_no"]: r for r in emulator.store.all("SELECT * FROM orders")},
            wechat_refunds=list(emulator.store.all("SELECT * FROM refunds")),
        )


def bill_days(books: Books) -> list[dt.date]:
    """The China-time days on which WeChat recorded a payment or a refund of this run."""
    moments = [r["success_time"] for r in books.wechat_orders.values() if r["success_time"] is not None]
    moments += [r["success_time"] for r in books.wechat_refunds if r["status"] == "SUCCESS"]
    return sorted({dt.datetime.fromtimestamp(m, CST).date() for m in moments})


def check_all(books: Books, storage: Storage, emulator: Emulator, days: list[dt.date], now: int) -> list[Check]:
    return [
        paid_there_is_paid_here(books),
        nothing_paid_without_payment(books),
        expired_unpaid_is_closed(books, now),
        no_refund_twice(books),
        totals_match_the_bill(books, storage, emulator, days),
        one_paid_event(books),
    ]


def paid_there_is_paid_here(books: Books) -> Check:
    check = Check("1. paid at WeChat -> paid here, one licence")
    for order_id, theirs in books.wechat_orders.items():
        if theirs["trade_state"] not in PAID_THERE or order_id not in books.orders:
            continue
        ours = books.orders[order_id]
        check.expect(ours["status"] in PAID_HERE, f"{order_id} paid at WeChat but {ours['status']} here")
        check.expect(
            ours["transaction_id"] == theirs["transaction_id"],
            f"{order_id} transaction {ours['transaction_id']} here, {theirs['transaction_id']} at WeChat",
        )
        check.expect(books.licences[order_id] == 1, f"{order_id} has {books.licences[order_id]} licences")
    return check


def nothing_paid_without_payment(books: Books) -> Check:
    check = Check("2. no licence (or paid order) without a payment")
    for order_id, ours in books.orders.items():
        theirs = books.wechat_orders.get(order_id)
        paid_there = theirs is not None and theirs["trade_state"] in PAID_THERE
        if books.licences[order_id]:
            check.expect(paid_there, f"licence for {order_id}, which WeChat never saw paid")
        if ours["status"] in PAID_HERE:
            check.expect(paid_there, f"{order_id} is {ours['status']} here, never paid at WeChat")
    return check


def expired_unpaid_is_closed(books: Books, now: int) -> Check:
    check = Check("3. every expired unpaid order is CLOSED")
    for order_id, ours in books.orders.items():
        theirs = books.wechat_orders.get(order_id)
        if (theirs is not None and theirs["trade_state"] in PAID_THERE) or int(ours["expires_at"]) > now:
            continue
        check.expect(ours["status"] == "CLOSED", f"{order_id} expired unpaid but {ours['status']}")
        check.expect(
            theirs is None or theirs["trade_state"] == "CLOSED" or theirs["time_expire"] <= now,
            f"{order_id} closed here but still payable at WeChat",
        )
    return check


def no_refund_twice(books: Books) -> Check:
    check = Check("4. no refund applied twice")
    ours_by_no = {r["out_refund_no"]: r for r in books.refunds}
    refunded_here: Counter[str] = Counter()
    for refund in books.refunds:
        if refund["status"] == "SUCCESS":
            refunded_here[refund["order_id"]] += int(refund["amount_fen"])
    refunded_there: Counter[str] = Counter()
    for theirs in books.wechat_refunds:
        if theirs["out_trade_no"] not in books.orders:
            continue
        ours = ours_by_no.get(theirs["out_refund_no"])
        check.expect(ours is not None, f"refund {theirs['out_refund_no']} at WeChat, unknown here")
        if ours is not None:
            check.expect(
                (ours["status"], int(ours["amount_fen"])) == (theirs["status"], int(theirs["amount_refund"])),
                f"refund {theirs['out_refund_no']}: {ours['status']} {ours['amount_fen']} here,"
                f" {theirs['status']} {theirs['amount_refund']} at WeChat",
            )
        if theirs["status"] == "SUCCESS":
            refunded_there[theirs["out_trade_no"]] += int(theirs["amount_refund"])
    succeeded = Counter(e["details"].get("out_refund_no") for e in books.events if e["kind"] == "REFUND_SUCCEEDED")
    for out_refund_no, times in succeeded.items():
        check.expect(times == 1, f"refund {out_refund_no} applied {times} times")
    for order_id, ours in books.orders.items():
        here, there = refunded_here[order_id], refunded_there[order_id]
        check.expect(here == there, f"{order_id} refunded {here} fen here, {there} fen at WeChat")
        if ours["status"] in PAID_HERE:
            amount = int(ours["amount_fen"])
            expected = "PAID" if here == 0 else "REFUNDED" if here == amount else "PARTIALLY_REFUNDED"
            check.expect(ours["status"] == expected, f"{order_id} refunded {here}/{amount} fen but {ours['status']}")
    return check


def totals_match_the_bill(books: Books, storage: Storage, emulator: Emulator, days: list[dt.date]) -> Check:
    check = Check("5. our totals == the bill's; reconciliation clean")
    paid_at: defaultdict[dt.date, int] = defaultdict(int)
    for ours in books.orders.values():
        if ours["paid_at"] is not None:
            paid_at[dt.datetime.fromtimestamp(int(ours["paid_at"]), CST).date()] += int(ours["amount_fen"])
    refunded_at: defaultdict[dt.date, int] = defaultdict(int)
    for refund in books.refunds:
        if refund["status"] == "SUCCESS" and refund["success_at"] is not None:
            refunded_at[dt.datetime.fromtimestamp(int(refund["success_at"]), CST).date()] += int(refund["amount_fen"])
    for day in days:
        bill = parse_bill_csv(trade_bill(emulator.store, day, "ALL"))
        check.expect(
            paid_at[day] == bill.settlement_total_fen,
            f"{day}: paid {paid_at[day]} fen here, {bill.settlement_total_fen} in the bill",
        )
        check.expect(
            refunded_at[day] == bill.refund_total_fen,
            f"{day}: refunded {refunded_at[day]} fen here, {bill.refund_total_fen} in the bill",
        )
        report = storage.get_report("reconciliation", day.isoformat())
        check.expect(report is not None and report["status"] == "OK", f"{day}: reconciliation {_summary(report)}")
    return check


def one_paid_event(books: Books) -> Check:
    check = Check("6. at most one PAID event per order")
    paid_events = Counter(e["order_id"] for e in books.events if e["kind"] == "PAID")
    for order_id in books.orders:
        check.expect(paid_events[order_id] <= 1, f"{order_id} has {paid_events[order_id]} PAID events")
    return check


def _summary(report: dict[str, Any] | None) -> str:
    if report is None:
        return "missing"
    kinds = ("missing_here", "missing_there", "amount_mismatch", "state_mismatch")
    return f"{report['status']} " + ", ".join(f"{k} {report[k][:3]}" for k in kinds if report.get(k))


def table(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = [f"{'invariant':<{width}}  {'checked':>7}  {'violations':>10}  result"]
    lines += [
        f"{c.name:<{width}}  {c.checked:>7}  {len(c.violations):>10}  {'OK' if not c.violations else 'FAIL'}"
        for c in checks
    ]
    return "\n".join(lines)
