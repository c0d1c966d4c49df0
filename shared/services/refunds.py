"""Operator-initiated refunds (reference §7): WeChat's limits checked first, one refund per request however often
it is retried, and the outcome applied through the same path as refund notifications (RefundLedger).

The out_refund_no is derived from (order, request key), and WeChat treats the same out_refund_no as the same
refund: a retry — by the operator, or by the reconciler after a lost answer — can never refund twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shared import errors, log
from shared.domain.orders import Order
from shared.domain.refunds import (
    MAX_REASON_LENGTH,
    Refund,
    RefundStatus,
    out_refund_no_for,
    refund_refusal,
    refund_view,
    refundable_fen,
)
from shared.services.refund_ledger import RefundLedger, report_from_answer
from shared.storage.port import Storage
from shared.wechatpay.constants import NOT_FOUND_CODES
from shared.wechatpay.errors import GatewayError, GatewayUnknown
from shared.wechatpay.gateway import PayGateway

REQUEST_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class RefundService:
    def __init__(
        self,
        storage: Storage,
        ledger: RefundLedger,
        gateway: Callable[[], PayGateway],
        notify_url: str,
        clock: Callable[[], int],
    ):
        self._storage, self._ledger, self._gateway = storage, ledger, gateway
        self._notify_url, self._clock = notify_url, clock

    def request(
        self, order_id: str, amount_fen: int | None, reason: str, request_key: str, operator: str
    ) -> dict[str, Any]:
        """Refund `amount_fen` (None: all that is left) of a paid order. Repeating a request (same key) returns the
        same refund, sending it to WeChat again only while WeChat has not answered it."""
        _check_request(amount_fen, reason, request_key, operator)
        order = self._storage.get_order(order_id)
        if order is None:
            raise errors.NotFound("no such order", code="ORDER_NOT_FOUND")
        log.bind(order_id=order_id)
        out_refund_no = out_refund_no_for(order_id, request_key)
        refund = self._storage.get_refund(out_refund_no) or self._new(
            order, amount_fen, reason, operator, out_refund_no
        )
        if amount_fen is not None and amount_fen != refund.amount_fen:
            raise errors.Conflict(
                "this request key named a refund of another amount: use a new key",
                code="REQUEST_KEY_REUSED",
                details={"amount_fen": refund.amount_fen},
            )
        if refund.status is RefundStatus.REQUESTED:
            refund, refused = self.send(order, refund)
            if refused is not None:
                raise errors.UpstreamFailed(
                    f"WeChat Pay refused the refund: {refused.code} {refused.message}",
                    code="REFUND_REFUSED",
                    details={"wechatpay_code": refused.code, "out_refund_no": refund.out_refund_no},
                ) from refused
        return self.view(refund)

    def _new(self, order: Order, amount_fen: int | None, reason: str, operator: str, out_refund_no: str) -> Refund:
        now = self._clock()
        refunds = self._storage.refunds_for_order(order.order_id)
        same = next((r for r in refunds if r.out_refund_no == out_refund_no), None)
        if same is not None:  # the same request, stored since `request` looked: that refund, not a refusal
            return same
        amount = amount_fen if amount_fen is not None else refundable_fen(order.amount_fen, refunds)
        refusal = refund_refusal(order, refunds, amount, now)
        if refusal is not None:
            error = errors.ValidationFailed if refusal.invalid else errors.Conflict
            raise error(refusal.message, code=refusal.code, details=refusal.details)
        refund = Refund(
            out_refund_no, order.order_id, amount, RefundStatus.REQUESTED, reason, operator, now, updated_at=now
        )
        if not self._storage.insert_refund(refund):  # the same request, at the same moment
            return self._storage.get_refund(out_refund_no) or refund
        self._storage.append_order_event(
            order.order_id,
            "REFUND_REQUESTED",
            now,
            {"out_refund_no": out_refund_no, "amount_fen": amount, "reason": reason, "operator": operator},
        )
        log.info("refund_requested", order_id=order.order_id, out_refund_no=out_refund_no, amount_fen=amount)
        # Two different requests at once may each have seen room for their amount: whoever looks after inserting
        # and finds the order over-committed steps back (both may; neither refunds more than was paid).
        if refundable_fen(order.amount_fen, self._storage.refunds_for_order(order.order_id)) < 0:
            self._ledger.move(refund, RefundStatus.FAILED, reference=f"refund:{out_refund_no}")
            self._ledger.settle_order(order.order_id)
            raise errors.Conflict(
                "another refund of this order was asked for at the same moment: look again and retry",
                code="AMOUNT_EXCEEDS_REFUNDABLE",
            )
        self._ledger.settle_order(order.order_id)  # -> REFUNDING
        return refund

    def send(self, order: Order, refund: Refund) -> tuple[Refund, GatewayError | None]:
        """Ask WeChat for a REQUESTED refund (again: the same out_refund_no is the same refund) and apply its answer.
        A refusal ends it FAILED; an unknown outcome leaves it REQUESTED for the reconciler."""
        reference = f"refund:{refund.out_refund_no}"
        try:
            answer = self._gateway().refund(
                out_refund_no=refund.out_refund_no,
                amount_refund=refund.amount_fen,
                amount_total=order.amount_fen,
                out_trade_no=order.order_id,
                reason=refund.reason,
                notify_url=self._notify_url,
            )
        except GatewayError as exc:
            log.warning("refund_refused", order_id=order.order_id, code=exc.code, status=exc.status)
            self._ledger.move(refund, RefundStatus.FAILED, reference=reference, details={"wechatpay_code": exc.code})
            self._ledger.settle_order(order.order_id)
            return self._storage.get_refund(refund.out_refund_no) or refund, exc
        except GatewayUnknown as exc:
            log.warning("refund_outcome_unknown", order_id=order.order_id, error=type(exc.__cause__).__name__)
            return refund, None
        self._ledger.apply(report_from_answer(answer), reference=reference)
        return self._storage.get_refund(refund.out_refund_no) or refund, None

    def reconcile(self, refund: Refund) -> str:
        """Ask WeChat about a refund still in flight and apply the answer (the timer job's step). A REQUESTED refund
        WeChat has never heard of was lost on the way: sending the same out_refund_no again is safe."""
        try:
            answer = self._gateway().query_refund(refund.out_refund_no)
        except GatewayUnknown:
            return "UNKNOWN"
        except GatewayError as exc:
            if exc.code not in NOT_FOUND_CODES:
                log.warning("refund_query_refused", order_id=refund.order_id, code=exc.code)
                return "ERROR"
            order = self._storage.get_order(refund.order_id)
            if refund.status is not RefundStatus.REQUESTED or order is None:
                self._storage.record_anomaly(
                    "REFUND_UNKNOWN_AT_WECHAT",
                    refund.order_id,
                    refund.out_refund_no,
                    {"status": refund.status.value},
                    self._clock(),
                )
                return "NOT_FOUND"
            sent, refused = self.send(order, refund)
            return "FAILED" if refused is not None else f"RESENT_{sent.status.value}"
        return self._ledger.apply(report_from_answer(answer), reference=f"query:{refund.out_refund_no}")

    def view(self, refund: Refund) -> dict[str, Any]:
        order = self._storage.get_order(refund.order_id)
        return refund_view(refund, order.status.value if order else None)


def _check_request(amount_fen: int | None, reason: str, request_key: str, operator: str) -> None:
    if amount_fen is not None and (isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen < 1):
        raise errors.ValidationFailed("amount_fen must be a whole number of fen, at least 1", code="INVALID_AMOUNT")
    # WeChat Pay takes only 1-3-byte UTF-8 characters (reference: "JSON"): an emoji would be refused there, after
    # the refund was stored, as a 502 and a FAILED refund instead of this 400.
    if (
        not reason.strip()
        or len(reason) > MAX_REASON_LENGTH
        or any(ord(ch) > 0xFFFF or 0xD800 <= ord(ch) <= 0xDFFF for ch in reason)
    ):
        raise errors.ValidationFailed(
            f"a reason of 1-{MAX_REASON_LENGTH} characters, no emoji, is required (the user sees it)",
            code="INVALID_REASON",
        )
    if not REQUEST_KEY.fullmatch(request_key):
        raise errors.ValidationFailed(
            "the request key must be 1-64 characters of A-Z a-z 0-9 _ . : -", code="INVALID_REQUEST_KEY"
        )
    if not operator.strip():
        raise errors.ValidationFailed("the operator must be named (audit)", code="INVALID_OPERATOR")
