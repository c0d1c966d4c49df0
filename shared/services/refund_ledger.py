"""Applying what WeChat says about a refund — from a notification (`refund_status`) or a query (`status`) — through
one path (reference §7), and keeping the order's state and its licence in step with the money.

The refund moves by compare-and-set; the order's state is then derived from all its refunds
(domain.refunds.order_status_after) and written by compare-and-set too, so racing notifications, queries and
jobs converge on one state, and each transition is written (and its event appended) by one writer only.
Imports no SDK: the notify function applies refund notifications on its cold-start budget.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from shared import log
from shared.domain.orders import Order, OrderStatus, can_transition
from shared.domain.refunds import (
    FINAL,
    REPORTED,
    Refund,
    RefundReport,
    RefundStatus,
    order_status_after,
    refund_sources_of,
    refunded_fen,
)
from shared.services.licences import LicenceService
from shared.storage.port import Storage
from shared.wechatpay import models as wx

# The states a paid order passes through while refunds happen; anything else is not the ledger's to change.
REFUND_PHASE = frozenset(
    {OrderStatus.PAID, OrderStatus.REFUNDING, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}
)
_ORDER_EVENTS = {
    OrderStatus.REFUNDED: "REFUNDED",
    OrderStatus.PARTIALLY_REFUNDED: "PARTIALLY_REFUNDED",
    OrderStatus.PAID: "NOT_REFUNDED",  # the refund in flight failed or closed: nothing left the merchant
}
_REFUND_EVENTS = {
    RefundStatus.SUCCESS: "REFUND_SUCCEEDED",
    RefundStatus.ABNORMAL: "REFUND_ABNORMAL",
    RefundStatus.CLOSED: "REFUND_CLOSED",
    RefundStatus.FAILED: "REFUND_FAILED",
}
_SETTLE_ATTEMPTS = 5


class RefundLedger:
    def __init__(self, storage: Storage, licences: LicenceService, clock: Callable[[], int]):
        self._storage, self._licences, self._clock = storage, licences, clock

    def apply(self, report: RefundReport, *, reference: str) -> str:
        """Apply one report; returns an outcome for logs. `reference` names the source (notify:<id>, query:...)."""
        log.bind(order_id=report.out_trade_no)
        order = self._storage.get_order(report.out_trade_no)
        if order is None:
            self._anomaly("UNKNOWN_REFUND_ORDER", None, reference, {"out_refund_no": report.out_refund_no})
            return "UNKNOWN_ORDER"
        target = REPORTED.get(report.status)
        if target is None:
            self._anomaly("UNKNOWN_REFUND_STATUS", order.order_id, reference, {"status": report.status})
            return "UNKNOWN_STATUS"
        refund = self._storage.get_refund(report.out_refund_no) or self._adopt(order, report, reference)
        if refund is None:
            return "MISMATCH"
        mismatched = _mismatches(order, refund, report)
        if mismatched:
            self._anomaly("REFUND_MISMATCH", order.order_id, reference, {"fields": mismatched})
            return "MISMATCH"
        outcome = self.move(refund, target, report, reference=reference)
        self.settle_order(order.order_id)
        return outcome

    def move(
        self,
        refund: Refund,
        target: RefundStatus,
        report: RefundReport | None = None,
        *,
        reference: str,
        details: dict[str, Any] | None = None,
    ) -> str:
        """Compare-and-set the refund into `target`; the winner appends the event. Returns an outcome."""
        if refund.status is target:
            return "UNCHANGED"
        now = self._clock()
        changes: dict[str, Any] = {"status": target, "updated_at": now}
        if report is not None and report.refund_id:
            changes["refund_id"] = report.refund_id
        if target is RefundStatus.SUCCESS:
            changes["success_at"] = (report.success_time if report else None) or now
        if not self._storage.update_refund(refund.out_refund_no, changes, expect_status=refund_sources_of(target)):
            current = self._storage.get_refund(refund.out_refund_no)
            if current is not None and current.status in FINAL and target in FINAL and current.status is not target:
                # CLOSED reported for a refund we hold as SUCCESS, say: money never un-happens, an operator looks.
                # (A stale PROCESSING after SUCCESS is only a late answer, and is ignored.)
                self._anomaly(
                    "REFUND_STATE_CONFLICT",
                    refund.order_id,
                    f"{reference}:{target.value}",
                    {"out_refund_no": refund.out_refund_no, "ours": current.status.value, "reported": target.value},
                )
            return "UNCHANGED"
        details = {
            "out_refund_no": refund.out_refund_no,
            "amount_fen": refund.amount_fen,
            "via": _via(reference),
            **(details or {}),
        }
        if target in _REFUND_EVENTS:
            self._storage.append_order_event(refund.order_id, _REFUND_EVENTS[target], now, details)
        if target is RefundStatus.ABNORMAL:
            # The user's account cannot take the money: the merchant re-routes it with the abnormal-refund API
            # (POST /v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund, reference §7).
            self._anomaly(
                "REFUND_ABNORMAL",
                refund.order_id,
                refund.out_refund_no,
                {**details, "refund_id": changes.get("refund_id") or refund.refund_id},
            )
        log.info("refund_" + target.value.lower(), order_id=refund.order_id, out_refund_no=refund.out_refund_no)
        if target is RefundStatus.SUCCESS:
            log.metric("refunds_succeeded", amount_fen=refund.amount_fen, via=_via(reference))
        return target.value

    def settle_order(self, order_id: str) -> Order | None:
        """Bring the order's state in line with its refunds, then its licence in line with the order."""
        order = self._storage.get_order(order_id)
        for _ in range(_SETTLE_ATTEMPTS):
            if order is None or order.status not in REFUND_PHASE:
                return order
            refunds = self._storage.refunds_for_order(order_id)
            target = order_status_after(order.amount_fen, refunds)
            if target is order.status:
                break
            if not can_transition(order.status, target):
                self._anomaly(
                    "ORDER_REFUND_STATE", order_id, f"{order.status.value}->{target.value}", {"target": target.value}
                )
                break
            now = self._clock()
            if self._storage.update_order(
                order_id, {"status": target, "updated_at": now}, expect_status=[order.status]
            ):
                order = dataclasses.replace(order, status=target, updated_at=now)
                if target in _ORDER_EVENTS:
                    refunded = refunded_fen(refunds)
                    self._storage.append_order_event(order_id, _ORDER_EVENTS[target], now, {"refunded_fen": refunded})
                    log.info("order_" + _ORDER_EVENTS[target].lower(), order_id=order_id, refunded_fen=refunded)
                break
            order = self._storage.get_order(order_id)  # someone else moved it: look again
        if order is not None:
            self._licences.enforce_refund_policy(order)
        return order

    def _adopt(self, order: Order, report: RefundReport, reference: str) -> Refund | None:
        """A refund we did not ask for (made in the merchant portal, say): WeChat signed it, so it happened. It is
        recorded and applied like ours — a licence must not outlive a refund — and an operator is told."""
        if report.amount_total != order.amount_fen or (report.mchid is not None and report.mchid != order.mchid):
            self._anomaly("REFUND_MISMATCH", order.order_id, reference, {"out_refund_no": report.out_refund_no})
            return None
        now = self._clock()
        adopted = Refund(
            out_refund_no=report.out_refund_no,
            order_id=order.order_id,
            amount_fen=report.amount_refund,
            status=RefundStatus.REQUESTED,
            reason="made outside this system",
            requested_by="wechatpay",
            requested_at=now,
            refund_id=report.refund_id,
            updated_at=now,
        )
        if self._storage.insert_refund(adopted):
            self._anomaly(
                "REFUND_FROM_OUTSIDE", order.order_id, report.out_refund_no, {"amount_fen": adopted.amount_fen}
            )
        return self._storage.get_refund(report.out_refund_no)

    def _anomaly(self, kind: str, order_id: str | None, reference: str, details: dict[str, Any]) -> None:
        if self._storage.record_anomaly(kind, order_id, reference, details, self._clock()):
            log.warning("refund_anomaly", kind=kind, order_id=order_id, details=details)


def report_from_answer(answer: wx.Refund) -> RefundReport:
    """The refund API's or the refund query's answer (state in `status`)."""
    return RefundReport(
        out_refund_no=answer.out_refund_no,
        out_trade_no=answer.out_trade_no,
        status=answer.status,
        amount_refund=answer.amount_refund,
        amount_total=answer.amount_total,
        refund_id=answer.refund_id,
        success_time=wx.epoch(answer.success_time),
    )


def report_from_notification(result: wx.RefundResult) -> RefundReport:
    """A refund notification's resource (state in `refund_status`)."""
    return RefundReport(
        out_refund_no=result.out_refund_no,
        out_trade_no=result.out_trade_no,
        status=result.refund_status,
        amount_refund=result.amount_refund,
        amount_total=result.amount_total,
        refund_id=result.refund_id,
        success_time=wx.epoch(result.success_time),
        mchid=result.mchid,
    )


def _mismatches(order: Order, refund: Refund, report: RefundReport) -> list[str]:
    checks = [
        ("out_trade_no", refund.order_id, report.out_trade_no),
        ("amount_refund", refund.amount_fen, report.amount_refund),
        ("amount_total", order.amount_fen, report.amount_total),
    ]
    mismatched = [name for name, ours, theirs in checks if ours != theirs]
    if report.mchid is not None and report.mchid != order.mchid:
        mismatched.append("mchid")
    return mismatched


def _via(reference: str) -> str:
    return reference.split(":", 1)[0]
