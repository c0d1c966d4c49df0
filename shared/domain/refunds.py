"""Refunds (reference §7): operator-initiated, full or partial, never applied twice.

A refund's out_refund_no is derived from the operator's request (order id + a request key), so a retried request
names the same refund at WeChat, which then refunds once (reference §7: same number = same refund).
REQUESTED (stored, WeChat not yet answered) -> PROCESSING -> SUCCESS | ABNORMAL | CLOSED; a refund WeChat
refused outright ends FAILED. An ABNORMAL refund (the user's account cannot take the money) goes on once the
merchant re-routes it with the abnormal-refund API. Nothing goes backwards: a refund that succeeded never un-happens.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared.domain.orders import Order, OrderStatus

REFUND_WINDOW = 365 * 86400  # WeChat refunds only within a year of payment
MAX_REFUNDS_PER_ORDER = 50
REFUND_INTERVAL = 60  # WeChat wants a minute between two refunds of one order (429 FREQUENCY_LIMITED otherwise)
MAX_REASON_LENGTH = 80


class RefundStatus(str, enum.Enum):
    REQUESTED = "REQUESTED"
    PROCESSING = "PROCESSING"
    SUCCESS = "SUCCESS"
    ABNORMAL = "ABNORMAL"
    CLOSED = "CLOSED"
    FAILED = "FAILED"


FINAL = frozenset({RefundStatus.SUCCESS, RefundStatus.CLOSED, RefundStatus.FAILED})
# Money that is refunded or may still be: counts against what can be refunded.
COMMITTED = frozenset({RefundStatus.REQUESTED, RefundStatus.PROCESSING, RefundStatus.SUCCESS, RefundStatus.ABNORMAL})
IN_FLIGHT = COMMITTED - {RefundStatus.SUCCESS}

ALLOWED: dict[RefundStatus, frozenset[RefundStatus]] = {
    RefundStatus.REQUESTED: frozenset(set(RefundStatus) - {RefundStatus.REQUESTED}),
    RefundStatus.PROCESSING: frozenset({RefundStatus.SUCCESS, RefundStatus.ABNORMAL, RefundStatus.CLOSED}),
    RefundStatus.ABNORMAL: frozenset({RefundStatus.PROCESSING, RefundStatus.SUCCESS, RefundStatus.CLOSED}),
    RefundStatus.SUCCESS: frozenset(),
    RefundStatus.CLOSED: frozenset(),
    RefundStatus.FAILED: frozenset(),
}
# WeChat's refund states (`status` in answers, `refund_status` in notifications) as ours.
REPORTED = {
    s.value: s for s in (RefundStatus.PROCESSING, RefundStatus.SUCCESS, RefundStatus.ABNORMAL, RefundStatus.CLOSED)
}


def refund_sources_of(new: RefundStatus) -> tuple[RefundStatus, ...]:
    """The states a refund may move to `new` from: the `expect` of a compare-and-set."""
    return tuple(state for state, targets in ALLOWED.items() if new in targets)


@dataclass(frozen=True)
class Refund:
    out_refund_no: str
    order_id: str
    amount_fen: int
    status: RefundStatus
    reason: str
    requested_by: str
    requested_at: int
    refund_id: str | None = None
    success_at: int | None = None
    updated_at: int | None = None


@dataclass(frozen=True)
class RefundReport:
    """What WeChat says about a refund, from a notification or a query (one apply path for both)."""

    out_refund_no: str
    out_trade_no: str
    status: str
    amount_refund: int
    amount_total: int
    refund_id: str | None
    success_time: int | None
    mchid: str | None = None  # notifications carry it, query answers do not


@dataclass(frozen=True)
class Refusal:
    """Why a refund cannot be asked for; `invalid` means a bad request rather than a state conflict."""

    code: str
    message: str
    invalid: bool = False
    details: dict[str, int] | None = None


def out_refund_no_for(order_id: str, request_key: str) -> str:
    """Deterministic per (order, request): `R` + 31 hex chars, within WeChat's 64 and our [A-Za-z0-9_-]."""
    return "R" + hashlib.sha256(f"{order_id}:{request_key}".encode()).hexdigest()[:31]


def refundable_fen(order_amount: int, refunds: list[Refund]) -> int:
    return order_amount - sum(r.amount_fen for r in refunds if r.status in COMMITTED)


def refunded_fen(refunds: Iterable[Refund]) -> int:
    return sum(r.amount_fen for r in refunds if r.status is RefundStatus.SUCCESS)


def refund_refusal(order: Order, refunds: list[Refund], amount: int, now: int) -> Refusal | None:
    """WeChat's refund limits (reference §7), checked before calling it, so an operator gets a clear answer."""
    if order.status not in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDING):
        return Refusal("ORDER_NOT_REFUNDABLE", f"order is {order.status.value}: only paid orders can be refunded")
    if order.paid_at is None or now - order.paid_at > REFUND_WINDOW:
        return Refusal("REFUND_WINDOW_PASSED", "WeChat Pay refunds only within a year of the payment")
    live = [r for r in refunds if r.status not in (RefundStatus.FAILED, RefundStatus.CLOSED)]
    if len(live) >= MAX_REFUNDS_PER_ORDER:
        return Refusal("TOO_MANY_REFUNDS", f"an order can be refunded at most {MAX_REFUNDS_PER_ORDER} times")
    left = refundable_fen(order.amount_fen, refunds)
    if left <= 0:
        return Refusal("NOTHING_TO_REFUND", "the whole amount is refunded or being refunded")
    if amount < 1:
        return Refusal("INVALID_AMOUNT", "a refund is at least 1 fen", invalid=True)
    if amount > left:
        return Refusal(
            "AMOUNT_EXCEEDS_REFUNDABLE", f"at most {left} fen can be refunded", details={"refundable_fen": left}
        )
    latest = max((r.requested_at for r in live), default=None)
    if latest is not None and now - latest < REFUND_INTERVAL:
        wait = REFUND_INTERVAL - (now - latest)
        return Refusal(
            "REFUND_TOO_SOON",
            f"WeChat Pay wants a minute between refunds: retry in {wait} s",
            details={"retry_after": wait},
        )
    return None


def order_status_after(order_amount: int, refunds: Iterable[Refund]) -> OrderStatus:
    """A paid order's state given its refunds: REFUNDING while one is in flight, else what was refunded.

    Money decides, so nothing goes backwards: once a refund succeeded the order never reads PAID again.
    """
    refunds = list(refunds)
    if any(r.status in IN_FLIGHT for r in refunds):
        return OrderStatus.REFUNDING
    refunded = refunded_fen(refunds)
    if refunded >= order_amount:
        return OrderStatus.REFUNDED
    return OrderStatus.PARTIALLY_REFUNDED if refunded > 0 else OrderStatus.PAID


def default_request_key(amount_fen: int | None, reason: str) -> str:
    """An operator's refund request key when none is given, derived from the amount and the reason: the same refund
    asked for again — from the CLI, the admin API or the dashboard — is the same refund, never a second one."""
    digest = hashlib.sha256(f"{amount_fen if amount_fen is not None else 'all'}:{reason}".encode()).hexdigest()
    return f"ops-{digest[:20]}"


def refund_view(refund: Refund, order_status: str | None) -> dict[str, Any]:
    """A refund as the operators' tools show it (admin API, dashboard, `scripts.ops refunds`)."""
    return {
        "out_refund_no": refund.out_refund_no,
        "order_id": refund.order_id,
        "amount_fen": refund.amount_fen,
        "status": refund.status.value,
        "reason": refund.reason,
        "requested_by": refund.requested_by,
        "requested_at": refund.requested_at,
        "refund_id": refund.refund_id,
        "success_at": refund.success_at,
        "order_status": order_status,
    }
