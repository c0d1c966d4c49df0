"""Applying what WeChat says about a payment — from a notification or a query — through one path (design §3, §5).

The licence is issued first (exactly once), then PENDING (or CLOSED: the close/pay race is honoured) -> PAID is a
compare-and-set: a PAID order always has its licence, and a run that stops between the two writes leaves the order
PENDING, which every path (notification retry, status poll, reconcile and close jobs) brings back here. A report
that disagrees with the stored order is an anomaly: never paid, never licensed.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable

from shared import errors, log
from shared.domain.orders import PAID_STATES, Order, OrderStatus, PaymentReport, payment_mismatches
from shared.services.licences import LicenceService
from shared.storage.port import Storage


class PaymentOutcome(str, enum.Enum):
    PAID = "PAID"  # this report moved the order to PAID
    ALREADY_PAID = "ALREADY_PAID"  # a duplicate: nothing changed, the licence is there
    CLOSED = "CLOSED"  # WeChat says the order is closed
    NOT_PAID = "NOT_PAID"  # WeChat has no payment yet
    UNKNOWN_ORDER = "UNKNOWN_ORDER"  # anomaly
    MISMATCH = "MISMATCH"  # anomaly


class PaymentService:
    def __init__(self, storage: Storage, licences: LicenceService, clock: Callable[[], int]):
        self._storage, self._licences, self._clock = storage, licences, clock

    def apply(self, report: PaymentReport, *, reference: str) -> PaymentOutcome:
        """`reference` names the source (a notification id, or a query) for anomalies and logs."""
        log.bind(order_id=report.out_trade_no)
        order = self._storage.get_order(report.out_trade_no)
        if order is None:
            self._anomaly("UNKNOWN_ORDER", None, reference, {"out_trade_no": report.out_trade_no})
            return PaymentOutcome.UNKNOWN_ORDER
        if report.trade_state == "SUCCESS":
            return self._paid(order, report, reference)
        if report.trade_state == "REFUND" and order.status not in PAID_STATES:
            # Paid and refunded at WeChat without our seeing the payment: an operator decides (refunds: lifecycle).
            self._anomaly(
                "REFUNDED_UNSEEN_PAYMENT", order.order_id, reference, {"transaction_id": report.transaction_id}
            )
            return PaymentOutcome.NOT_PAID
        if report.trade_state == "CLOSED" and order.status is OrderStatus.PENDING:
            now = self._clock()
            if self._storage.update_order(
                order.order_id,
                {"status": OrderStatus.CLOSED, "closed_at": now, "updated_at": now},
                expect_status=[OrderStatus.PENDING],
            ):
                self._storage.append_order_event(order.order_id, "CLOSED", now, {"via": _via(reference)})
            return PaymentOutcome.CLOSED
        return PaymentOutcome.NOT_PAID

    def _paid(self, order: Order, report: PaymentReport, reference: str) -> PaymentOutcome:
        mismatched = payment_mismatches(order, report)
        if mismatched:
            self._anomaly("PAYMENT_MISMATCH", order.order_id, reference, {"fields": mismatched})
            return PaymentOutcome.MISMATCH
        if order.status in PAID_STATES:
            self._licences.ensure_issued(order)
            return PaymentOutcome.ALREADY_PAID
        # Licence first: were the order marked PAID first and the licence write then failed, no path would come
        # back (polls and jobs query only PENDING orders) and the buyer would have paid for nothing.
        self._licences.ensure_issued(order)
        now = self._clock()
        changes = {
            "status": OrderStatus.PAID,
            "transaction_id": report.transaction_id,
            "paid_at": report.success_time or now,
            "payer_hash": _payer_hash(report.payer_openid),
            "updated_at": now,
        }
        won = self._storage.update_order(
            order.order_id, changes, expect_status=[OrderStatus.PENDING, OrderStatus.CLOSED]
        )
        current = self._storage.get_order(order.order_id)
        if current is None or current.status not in PAID_STATES:
            raise errors.StorageError(f"order {order.order_id} could not be marked paid")
        if won:
            after_close = order.status is OrderStatus.CLOSED
            self._storage.append_order_event(
                order.order_id,
                "PAID",
                now,
                {"via": _via(reference), "transaction_id": report.transaction_id, "after_close": after_close},
            )
            if after_close:
                self._anomaly(
                    "PAID_AFTER_CLOSE", order.order_id, order.order_id, {"transaction_id": report.transaction_id}
                )
            log.info("order_paid", order_id=order.order_id, outcome="PAID", via=_via(reference))
            log.metric("orders_paid", product_id=order.product_id, amount_fen=order.amount_fen, via=_via(reference))
        return PaymentOutcome.PAID if won else PaymentOutcome.ALREADY_PAID

    def _anomaly(self, kind: str, order_id: str | None, reference: str, details: dict[str, object]) -> None:
        if self._storage.record_anomaly(kind, order_id, reference, details, self._clock()):
            log.warning("payment_anomaly", kind=kind, order_id=order_id, details=details)


def _via(reference: str) -> str:
    return reference.split(":", 1)[0]


def _payer_hash(openid: str | None) -> str | None:
    """The payer's openid is personal data: only a hash is kept (enough to spot repeat buyers)."""
    return hashlib.sha256(openid.encode()).hexdigest()[:32] if openid else None
