"""What the extension polls: an order's status with its licence once paid; an overdue PENDING order is queried at
WeChat and the answer applied through the same path as a notification (never rely on notifications alone, §6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared import errors, log
from shared.domain.licences import invalid_reason, licence_id_for
from shared.domain.orders import PAID_STATES, Order, OrderStatus, is_overdue_for_query
from shared.licensing.derive import token_hash, tokens_equal
from shared.services.licences import LicenceService
from shared.services.notifications import report_of
from shared.services.payments import PaymentService
from shared.storage.port import Storage
from shared.wechatpay.errors import GatewayError, GatewayUnknown
from shared.wechatpay.gateway import PayGateway


class StatusService:
    def __init__(
        self,
        storage: Storage,
        payments: PaymentService,
        licences: LicenceService,
        gateway: Callable[[], PayGateway],
        clock: Callable[[], int],
        *,
        query_after: int,
        query_every: int,
    ):
        self._storage, self._payments, self._licences, self._gateway = storage, payments, licences, gateway
        self._clock, self._query_after, self._query_every = clock, query_after, query_every

    def get(self, order_id: str, poll_token: str | None) -> dict[str, Any]:
        order = self._storage.get_order(order_id)
        presented = token_hash(poll_token) if poll_token else ""
        # A wrong or missing token gets the very answer an unknown order gets: order ids must not be probed.
        if order is None or not presented or not tokens_equal(presented, order.poll_token_hash):
            raise errors.NotFound("no such order", code="ORDER_NOT_FOUND")
        log.bind(order_id=order_id)
        if is_overdue_for_query(order, self._clock(), self._query_after, self._query_every):
            order = self._reconcile(order)
        return self.view(order)

    def _reconcile(self, order: Order) -> Order:
        self._storage.update_order(
            order.order_id, {"last_queried_at": self._clock()}, expect_status=[OrderStatus.PENDING]
        )
        try:
            transaction = self._gateway().query_by_out_trade_no(order.order_id)
        except (GatewayError, GatewayUnknown) as exc:
            # The poll still answers; the next poll (or the timer job) asks again.
            log.warning("wechat_query_failed", order_id=order.order_id, error=type(exc).__name__)
            return order
        self._payments.apply(report_of(transaction), reference=f"query:{order.order_id}")
        return self._storage.get_order(order.order_id) or order

    def view(self, order: Order) -> dict[str, Any]:
        licence: dict[str, Any] | None = None
        if order.status in PAID_STATES:
            stored = self._storage.get_licence(licence_id_for(order.order_id))
            if stored is not None:
                # A revoked or expired licence gets no fresh token: the extension learns why from `status`.
                usable = invalid_reason(stored, self._clock()) is None
                token = self._licences.token_for(stored, order.install_hash) if usable else None
                licence = {
                    "license_key": self._licences.licence_key(order.order_id),
                    "license_id": stored.licence_id,
                    "status": stored.status.value,
                    "token": token.token if token else None,
                    "token_expires_at": token.expires_at if token else None,
                    "expires_at": stored.expires_at,
                }
        return {
            "order_id": order.order_id,
            "status": order.status.value,
            "product_id": order.product_id,
            "amount_fen": order.amount_fen,
            "currency": order.currency,
            "created_at": order.created_at,
            "expires_at": order.expires_at,
            "paid_at": order.paid_at,
            "license": licence,
        }
