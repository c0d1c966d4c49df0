"""Refunds still in flight: WeChat is asked and its answer applied through the refund path, so a lost refund
notification or a lost answer to the refund call never leaves an order REFUNDING (or a licence valid) for ever."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared.domain.orders import Order, OrderStatus
from shared.domain.refunds import RefundStatus
from shared.services.jobs.runner import each
from shared.services.refund_ledger import RefundLedger
from shared.services.refunds import RefundService
from shared.storage.port import Storage


class ReconcileRefunds:
    def __init__(
        self,
        storage: Storage,
        refunds: RefundService,
        ledger: RefundLedger,
        clock: Callable[[], int],
        batch: int,
        *,
        resend_after: int,
    ):
        self._storage, self._refunds, self._ledger, self._clock = storage, refunds, ledger, clock
        self._batch, self._resend_after = batch, resend_after

    def __call__(self, options: Mapping[str, Any]) -> dict[str, Any]:
        now = self._clock()
        # A REQUESTED refund may still be waiting for WeChat's answer in the operator's own request: leave it
        # alone until that request must have ended. PROCESSING and ABNORMAL ones are asked about every run.
        in_flight = [
            *self._storage.refunds_in_status(RefundStatus.REQUESTED, now - self._resend_after, self._batch),
            *self._storage.refunds_in_status(RefundStatus.PROCESSING, now + 1, self._batch),
            *self._storage.refunds_in_status(RefundStatus.ABNORMAL, now + 1, self._batch),
        ][: self._batch]
        outcomes = each(
            in_flight,
            lambda refund: self._refunds.reconcile(refund).lower(),
            lambda refund: {"order_id": refund.order_id, "out_refund_no": refund.out_refund_no},
        )
        # A safety net: an order left REFUNDING after its refunds all ended (an instance stopped between writes).
        refunding = self._storage.orders_in_status(OrderStatus.REFUNDING, now + 1, self._batch)
        settled = each(refunding, self._settle, lambda order: {"order_id": order.order_id})
        errors = outcomes.pop("error", 0) + settled.pop("error", 0)
        return {"in_flight": len(in_flight), **outcomes, "orders_settled": settled["settled"], **_nonzero(error=errors)}

    def _settle(self, order: Order) -> str:
        after = self._ledger.settle_order(order.order_id)
        return "settled" if after is not None and after.status is not OrderStatus.REFUNDING else "in_flight"


def _nonzero(**counts: int) -> dict[str, int]:
    return {name: count for name, count in counts.items() if count}
