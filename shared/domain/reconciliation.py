"""Our books against WeChat's daily trade bill (reference §8). Pure: the caller fetches both sides.

A day's payments are the orders whose paid_at (WeChat's success_time) falls on that day in China time, and its
refunds those whose success_at does; the bill lists the same. Every difference is named: something WeChat has
that we do not (missing_here), something we have that WeChat does not (missing_there), an amount that differs,
or a record both have in different states (a payment we still think PENDING, say).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.domain.orders import PAID_STATES, Order
from shared.domain.refunds import Refund, RefundStatus

CST = dt.timezone(dt.timedelta(hours=8))  # WeChat's bill days are days in China Standard Time


@dataclass(frozen=True)
class BilledPayment:
    out_trade_no: str
    transaction_id: str
    amount_fen: int


@dataclass(frozen=True)
class BilledRefund:
    out_refund_no: str
    out_trade_no: str
    amount_fen: int


def day_bounds(day: dt.date) -> tuple[int, int]:
    """[start, end) of a bill day as Unix seconds."""
    start = int(dt.datetime.combine(day, dt.time(0), CST).timestamp())
    return start, start + 86400


def previous_day(now: int) -> dt.date:
    """Yesterday in China time: the latest day whose bill WeChat has (from 10:00)."""
    return dt.datetime.fromtimestamp(now, CST).date() - dt.timedelta(days=1)


def compare(
    day: dt.date,
    our_payments: Sequence[Order],
    our_refunds: Sequence[Refund],
    payments: Sequence[BilledPayment],
    refunds: Sequence[BilledRefund],
    stored_orders: Mapping[str, Order],
    stored_refunds: Mapping[str, Refund],
) -> dict[str, Any]:
    """The reconciliation report. `stored_orders` / `stored_refunds`: what we hold under the bill's ids that are not
    among our records of the day (to tell "we have it in another state" from "we have nothing")."""
    start, end = day_bounds(day)
    report: dict[str, Any] = {
        "date": day.isoformat(),
        "missing_here": [],
        "missing_there": [],
        "amount_mismatch": [],
        "state_mismatch": [],
    }
    ours = {o.order_id: o for o in our_payments}
    for billed in payments:
        order = ours.get(billed.out_trade_no) or stored_orders.get(billed.out_trade_no)
        if order is None:
            report["missing_here"].append({"kind": "payment", **_payment(billed)})
        elif order.order_id not in ours:
            state = (
                order.status.value
                if order.status not in PAID_STATES
                else f"{order.status.value} (paid_at {order.paid_at})"
            )
            report["state_mismatch"].append(
                {"kind": "payment", "id": order.order_id, "ours": state, "theirs": "SUCCESS"}
            )
        elif order.amount_fen != billed.amount_fen:
            report["amount_mismatch"].append(_amounts("payment", order.order_id, order.amount_fen, billed.amount_fen))
    billed_orders = {b.out_trade_no for b in payments}
    for order in our_payments:
        if order.order_id not in billed_orders:
            report["missing_there"].append(
                {"kind": "payment", "id": order.order_id, "amount_fen": order.amount_fen, "paid_at": order.paid_at}
            )
    _compare_refunds(report, our_refunds, refunds, stored_refunds)
    report["totals"] = {
        "ours": _totals([o.amount_fen for o in our_payments], [r.amount_fen for r in our_refunds]),
        "theirs": _totals([b.amount_fen for b in payments], [b.amount_fen for b in refunds]),
    }
    report["window"] = {"start": start, "end": end}
    differences = sum(len(report[k]) for k in ("missing_here", "missing_there", "amount_mismatch", "state_mismatch"))
    report["status"] = "DISCREPANCIES" if differences else "OK"
    return report


def _compare_refunds(
    report: dict[str, Any],
    our_refunds: Sequence[Refund],
    refunds: Sequence[BilledRefund],
    stored_refunds: Mapping[str, Refund],
) -> None:
    ours = {r.out_refund_no: r for r in our_refunds}
    for billed in refunds:
        refund = ours.get(billed.out_refund_no) or stored_refunds.get(billed.out_refund_no)
        if refund is None:
            report["missing_here"].append(
                {
                    "kind": "refund",
                    "id": billed.out_refund_no,
                    "order_id": billed.out_trade_no,
                    "amount_fen": billed.amount_fen,
                }
            )
        elif refund.out_refund_no not in ours:
            state = (
                refund.status.value
                if refund.status is not RefundStatus.SUCCESS
                else f"SUCCESS (at {refund.success_at})"
            )
            report["state_mismatch"].append(
                {"kind": "refund", "id": refund.out_refund_no, "ours": state, "theirs": "SUCCESS"}
            )
        elif refund.amount_fen != billed.amount_fen:
            report["amount_mismatch"].append(
                _amounts("refund", refund.out_refund_no, refund.amount_fen, billed.amount_fen)
            )
    billed_refunds = {b.out_refund_no for b in refunds}
    for refund in our_refunds:
        if refund.out_refund_no not in billed_refunds:
            report["missing_there"].append(
                {
                    "kind": "refund",
                    "id": refund.out_refund_no,
                    "order_id": refund.order_id,
                    "amount_fen": refund.amount_fen,
                }
            )


def _payment(billed: BilledPayment) -> dict[str, Any]:
    return {"id": billed.out_trade_no, "transaction_id": billed.transaction_id, "amount_fen": billed.amount_fen}


def _amounts(kind: str, ident: str, ours: int, theirs: int) -> dict[str, Any]:
    return {"kind": kind, "id": ident, "ours_fen": ours, "theirs_fen": theirs}


def _totals(payments: list[int], refunds: list[int]) -> dict[str, int]:
    return {
        "payments": len(payments),
        "payments_fen": sum(payments),
        "refunds": len(refunds),
        "refunds_fen": sum(refunds),
    }
