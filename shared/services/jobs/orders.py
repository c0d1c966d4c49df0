"""Orders no notification settles: expired ones closed at WeChat and here (the close/pay race honoured), and
PENDING ones asked about at WeChat with a backoff across runs — both applied through the payment path."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared import log
from shared.domain.orders import Order, OrderStatus, reconcile_due
from shared.services.jobs.runner import each
from shared.services.notifications import report_of
from shared.services.payments import PaymentService
from shared.storage.port import Storage
from shared.wechatpay.constants import NOT_FOUND_CODES
from shared.wechatpay.errors import GatewayError, GatewayUnknown
from shared.wechatpay.gateway import PayGateway

ORDER_PAID = "ORDER_PAID"  # close answers this when the order was paid first (reference §5)
SCAN_FACTOR = 4  # PENDING orders looked at per order queried: most are still within their backoff


class CloseExpired:
    """PENDING orders past expires_at: closed at WeChat first, so the QR code can no longer be paid, then here.
    If WeChat answers that the order was paid meanwhile, the payment is applied: PAID and a licence."""

    def __init__(
        self,
        storage: Storage,
        payments: PaymentService,
        gateway: Callable[[], PayGateway],
        clock: Callable[[], int],
        batch: int,
    ):
        self._storage, self._payments, self._gateway, self._clock = storage, payments, gateway, clock
        self._batch = batch

    def __call__(self, options: Mapping[str, Any]) -> dict[str, Any]:
        expired = self._storage.orders_expired(self._clock(), self._batch)
        outcomes = each(expired, self._close, lambda order: {"order_id": order.order_id})
        return {"expired": len(expired), **outcomes}

    def _close(self, order: Order) -> str:
        try:
            self._gateway().close(order.order_id)
        except GatewayError as exc:
            if exc.code == ORDER_PAID:
                return self._paid_meanwhile(order)
            log.warning("close_refused", order_id=order.order_id, code=exc.code)
            return "failed"
        except GatewayUnknown:
            return "unknown"  # the next run tries again: closing is re-entrant
        now = self._clock()
        changes = {"status": OrderStatus.CLOSED, "closed_at": now, "updated_at": now}
        if not self._storage.update_order(order.order_id, changes, expect_status=[OrderStatus.PENDING]):
            return "changed"  # paid or closed by a notification or a poll meanwhile
        self._storage.append_order_event(order.order_id, "CLOSED", now, {"via": "close_expired"})
        log.info("order_closed", order_id=order.order_id)
        return "closed"

    def _paid_meanwhile(self, order: Order) -> str:
        """The close/pay race: the user paid just before the close. Never conclude without asking (reference §9)."""
        try:
            transaction = self._gateway().query_by_out_trade_no(order.order_id)
        except (GatewayError, GatewayUnknown):
            return "unknown"
        outcome = self._payments.apply(report_of(transaction), reference=f"close:{order.order_id}")
        return "paid" if outcome.value in ("PAID", "ALREADY_PAID") else outcome.value.lower()


class ReconcilePending:
    """PENDING orders old enough that a notification should have come: WeChat is asked, and its answer applied
    exactly as a notification would be. The pause between two questions grows with the order's age."""

    def __init__(
        self,
        storage: Storage,
        payments: PaymentService,
        gateway: Callable[[], PayGateway],
        clock: Callable[[], int],
        batch: int,
        *,
        after: int,
        max_interval: int,
    ):
        self._storage, self._payments, self._gateway, self._clock = storage, payments, gateway, clock
        self._batch, self._after, self._max_interval = batch, after, max_interval

    def __call__(self, options: Mapping[str, Any]) -> dict[str, Any]:
        now = self._clock()
        candidates = self._storage.orders_in_status(OrderStatus.PENDING, now - self._after, self._batch * SCAN_FACTOR)
        due = [o for o in candidates if reconcile_due(o, now, self._after, self._max_interval)][: self._batch]
        outcomes = each(due, self._query, lambda order: {"order_id": order.order_id})
        return {"pending": len(candidates), "queried": len(due), **outcomes}

    def _query(self, order: Order) -> str:
        now = self._clock()
        if not self._storage.update_order(
            order.order_id, {"last_queried_at": now}, expect_status=[OrderStatus.PENDING]
        ):
            return "changed"
        try:
            transaction = self._gateway().query_by_out_trade_no(order.order_id)
        except GatewayError as exc:
            # Never reached WeChat (its create failed): nothing to pay; close_expired ends it when it expires.
            return "not_at_wechat" if exc.code in NOT_FOUND_CODES else "failed"
        except GatewayUnknown:
            return "unknown"
        return self._payments.apply(report_of(transaction), reference=f"reconcile:{order.order_id}").value.lower()
