"""Orders and their state machine (design §3). Pure: time is passed in, nothing is stored here.

PENDING -> PAID -> (REFUNDING) -> REFUNDED | PARTIALLY_REFUNDED; PENDING -> CLOSED; and CLOSED -> PAID when WeChat
reports a payment for an order we closed or let expire (the close/pay race is honoured). Nothing goes backwards:
REFUNDING -> PAID only when the refund in flight failed or closed and nothing was refunded, so money decides the
state (shared.domain.refunds.order_status_after) and a refund never un-happens.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class OrderStatus(str, enum.Enum):
    PENDING = "PENDING"
    PAID = "PAID"
    REFUNDING = "REFUNDING"
    REFUNDED = "REFUNDED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    CLOSED = "CLOSED"


ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PAID, OrderStatus.CLOSED}),
    OrderStatus.CLOSED: frozenset({OrderStatus.PAID}),
    OrderStatus.PAID: frozenset({OrderStatus.REFUNDING, OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED}),
    OrderStatus.REFUNDING: frozenset({OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.PAID}),
    OrderStatus.PARTIALLY_REFUNDED: frozenset({OrderStatus.REFUNDING, OrderStatus.REFUNDED}),
    OrderStatus.REFUNDED: frozenset(),
}
PAID_STATES = frozenset({OrderStatus.PAID, OrderStatus.REFUNDING, OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED})


def can_transition(current: OrderStatus, new: OrderStatus) -> bool:
    return new in ALLOWED[current]


def sources_of(new: OrderStatus) -> tuple[OrderStatus, ...]:
    """The states a transition into `new` may start from: the `expect` of a compare-and-set."""
    return tuple(state for state, targets in ALLOWED.items() if new in targets)


@dataclass(frozen=True)
class Order:
    """One purchase. `order_id` is also WeChat's out_trade_no: 6-32 chars of [A-Za-z0-9_-]."""

    order_id: str
    product_id: str
    install_hash: str
    amount_fen: int
    currency: str
    description: str
    mchid: str
    appid: str
    status: OrderStatus
    created_at: int
    expires_at: int
    poll_token_hash: str
    code_url: str | None = None
    transaction_id: str | None = None
    paid_at: int | None = None
    payer_hash: str | None = None
    last_queried_at: int | None = None
    closed_at: int | None = None
    updated_at: int | None = None


@dataclass(frozen=True)
class PaymentReport:
    """What WeChat says about a payment, from a notification or a query (our view of its transaction)."""

    out_trade_no: str
    trade_state: str
    mchid: str
    appid: str
    amount_total: int
    currency: str | None
    transaction_id: str | None
    success_time: int | None
    payer_openid: str | None


def payment_mismatches(order: Order, report: PaymentReport) -> list[str]:
    """Fields where a successful payment report disagrees with the stored order: any one means never pay."""
    checks = [
        ("out_trade_no", order.order_id, report.out_trade_no),
        ("mchid", order.mchid, report.mchid),
        ("appid", order.appid, report.appid),
        ("amount_total", order.amount_fen, report.amount_total),
    ]
    mismatched = [name for name, ours, theirs in checks if ours != theirs]
    if report.currency not in (None, order.currency):
        mismatched.append("currency")
    return mismatched


def is_overdue_for_query(order: Order, now: int, after_seconds: int, every_seconds: int) -> bool:
    """A PENDING order old enough that WeChat should be asked, and not asked too recently."""
    if order.status is not OrderStatus.PENDING or now - order.created_at < after_seconds:
        return False
    return order.last_queried_at is None or now - order.last_queried_at >= every_seconds


def reconcile_due(order: Order, now: int, after: int, cap: int) -> bool:
    """Whether the timer job should ask WeChat about a PENDING order now: once it is `after` seconds old, then again
    after a pause that grows with its age (a quarter of it, between `after` and `cap` seconds) — a backoff across
    runs, kept in last_queried_at."""
    age = now - order.created_at
    if order.status is not OrderStatus.PENDING or age < after:
        return False
    pause = min(max(age // 4, after), cap)
    return order.last_queried_at is None or now - order.last_queried_at >= pause
