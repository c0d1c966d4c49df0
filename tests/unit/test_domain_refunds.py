"""Refund rules (reference §7): WeChat's limits checked before calling it, the order's state derived from its
refunds so that money never goes backwards, and what a refund does to the licence."""

from __future__ import annotations

import dataclasses

import pytest

from shared.domain.licences import PartialRefundPolicy, revocation_reason
from shared.domain.orders import Order, OrderStatus, can_transition, reconcile_due
from shared.domain.refunds import (
    MAX_REFUNDS_PER_ORDER,
    REFUND_INTERVAL,
    REFUND_WINDOW,
    Refund,
    RefundStatus,
    order_status_after,
    out_refund_no_for,
    refund_refusal,
    refund_sources_of,
    refundable_fen,
)

NOW = 1_780_000_000
PAID = Order(
    order_id="oREFUND0000000000000001",
    product_id="pro-monthly",
    install_hash="h",
    amount_fen=990,
    currency="CNY",
    description="Pro",
    mchid="1900000001",
    appid="wx1",
    status=OrderStatus.PAID,
    created_at=NOW - 3600,
    expires_at=NOW - 2700,
    poll_token_hash="x",
    paid_at=NOW - 3000,
)


def refund(amount: int, status: RefundStatus, at: int = NOW - 600, no: str = "R1") -> Refund:
    return Refund(no, PAID.order_id, amount, status, "why", "ops", at)


def test_a_retried_request_names_the_same_refund_and_another_request_another() -> None:
    first = out_refund_no_for(PAID.order_id, "ticket-42")
    assert first == out_refund_no_for(PAID.order_id, "ticket-42")
    assert first != out_refund_no_for(PAID.order_id, "ticket-43") != out_refund_no_for("oOther", "ticket-42")
    assert len(first) == 32 and first.isalnum()


def test_what_is_refundable_counts_money_refunded_or_in_flight_but_not_refunds_that_ended_without_money() -> None:
    refunds = [
        refund(100, RefundStatus.SUCCESS),
        refund(200, RefundStatus.PROCESSING),
        refund(50, RefundStatus.ABNORMAL),
        refund(300, RefundStatus.CLOSED),
        refund(300, RefundStatus.FAILED),
    ]
    assert refundable_fen(990, refunds) == 990 - 350


@pytest.mark.parametrize(
    ("order", "refunds", "amount", "code"),
    [
        (dataclasses.replace(PAID, status=OrderStatus.PENDING, paid_at=None), [], 1, "ORDER_NOT_REFUNDABLE"),
        (dataclasses.replace(PAID, status=OrderStatus.CLOSED), [], 1, "ORDER_NOT_REFUNDABLE"),
        (dataclasses.replace(PAID, status=OrderStatus.REFUNDED), [], 1, "ORDER_NOT_REFUNDABLE"),
        (dataclasses.replace(PAID, paid_at=NOW - REFUND_WINDOW - 1), [], 1, "REFUND_WINDOW_PASSED"),
        (PAID, [refund(1, RefundStatus.SUCCESS)] * MAX_REFUNDS_PER_ORDER, 1, "TOO_MANY_REFUNDS"),
        (PAID, [refund(990, RefundStatus.PROCESSING)], 1, "NOTHING_TO_REFUND"),
        (PAID, [], 0, "INVALID_AMOUNT"),
        (PAID, [refund(900, RefundStatus.SUCCESS)], 91, "AMOUNT_EXCEEDS_REFUNDABLE"),
        (PAID, [refund(100, RefundStatus.SUCCESS, at=NOW - REFUND_INTERVAL + 5)], 100, "REFUND_TOO_SOON"),
    ],
)
def test_wechats_refund_limits_are_checked_before_calling_it(
    order: Order, refunds: list[Refund], amount: int, code: str
) -> None:
    refusal = refund_refusal(order, refunds, amount, NOW)
    assert refusal is not None and refusal.code == code


def test_a_refund_within_the_limits_is_allowed_up_to_the_last_fen() -> None:
    assert refund_refusal(PAID, [], 990, NOW) is None
    assert refund_refusal(PAID, [refund(900, RefundStatus.SUCCESS)], 90, NOW) is None
    assert refund_refusal(dataclasses.replace(PAID, paid_at=NOW - REFUND_WINDOW), [], 1, NOW) is None
    failed = [refund(1, RefundStatus.FAILED)] * MAX_REFUNDS_PER_ORDER
    assert refund_refusal(PAID, failed, 1, NOW) is None, "refunds that never happened do not count"
    too_much = refund_refusal(PAID, [refund(900, RefundStatus.SUCCESS)], 91, NOW)
    assert too_much is not None and too_much.details == {"refundable_fen": 90}


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], OrderStatus.PAID),
        ([RefundStatus.REQUESTED], OrderStatus.REFUNDING),
        ([RefundStatus.SUCCESS, RefundStatus.ABNORMAL], OrderStatus.REFUNDING),
        ([RefundStatus.FAILED, RefundStatus.CLOSED], OrderStatus.PAID),
        ([RefundStatus.SUCCESS], OrderStatus.PARTIALLY_REFUNDED),
        ([RefundStatus.SUCCESS, RefundStatus.CLOSED], OrderStatus.PARTIALLY_REFUNDED),
        ([RefundStatus.SUCCESS, RefundStatus.SUCCESS, RefundStatus.SUCCESS], OrderStatus.REFUNDED),
    ],
)
def test_the_orders_state_follows_the_money(statuses: list[RefundStatus], expected: OrderStatus) -> None:
    refunds = [refund(330, status, no=f"R{i}") for i, status in enumerate(statuses)]
    assert order_status_after(990, refunds) is expected


def test_a_refund_never_unhappens() -> None:
    assert not can_transition(OrderStatus.REFUNDED, OrderStatus.PAID)
    assert not can_transition(OrderStatus.PARTIALLY_REFUNDED, OrderStatus.PAID)
    assert can_transition(OrderStatus.REFUNDING, OrderStatus.PAID), "a refund that failed leaves the money"
    assert refund_sources_of(RefundStatus.CLOSED) == (
        RefundStatus.REQUESTED,
        RefundStatus.PROCESSING,
        RefundStatus.ABNORMAL,
    )
    assert RefundStatus.SUCCESS not in refund_sources_of(RefundStatus.PROCESSING)
    assert all(RefundStatus.SUCCESS not in refund_sources_of(s) for s in RefundStatus)


@pytest.mark.parametrize(
    ("status", "policy", "reason"),
    [
        (OrderStatus.REFUNDED, PartialRefundPolicy.KEEP, "REFUNDED"),
        (OrderStatus.REFUNDED, PartialRefundPolicy.REVOKE, "REFUNDED"),
        (OrderStatus.PARTIALLY_REFUNDED, PartialRefundPolicy.KEEP, None),
        (OrderStatus.PARTIALLY_REFUNDED, PartialRefundPolicy.REVOKE, "PARTIALLY_REFUNDED"),
        (OrderStatus.REFUNDING, PartialRefundPolicy.REVOKE, None),
        (OrderStatus.PAID, PartialRefundPolicy.REVOKE, None),
    ],
)
def test_a_full_refund_revokes_the_licence_and_a_partial_one_as_the_policy_says(
    status: OrderStatus, policy: PartialRefundPolicy, reason: str | None
) -> None:
    assert revocation_reason(status, policy) == reason


def test_pending_orders_are_queried_with_a_backoff_that_grows_with_their_age() -> None:
    order = dataclasses.replace(PAID, status=OrderStatus.PENDING, created_at=NOW, paid_at=None)
    assert not reconcile_due(order, NOW + 59, after=60, cap=1800)
    assert reconcile_due(order, NOW + 60, after=60, cap=1800)
    asked = dataclasses.replace(order, last_queried_at=NOW + 60)
    assert not reconcile_due(asked, NOW + 119, after=60, cap=1800)
    assert reconcile_due(asked, NOW + 120, after=60, cap=1800)
    old = dataclasses.replace(order, last_queried_at=NOW + 3600)
    assert not reconcile_due(old, NOW + 4000, after=60, cap=1800), "a quarter of its age (4000 s): 1000 s"
    assert reconcile_due(old, NOW + 4800, after=60, cap=1800), "a quarter of 4800 s: 1200 s"
    ancient = dataclasses.replace(order, last_queried_at=NOW + 86400)
    assert reconcile_due(ancient, NOW + 86400 + 1800, after=60, cap=1800), "never more than the cap apart"
    assert not reconcile_due(dataclasses.replace(order, status=OrderStatus.CLOSED), NOW + 600, 60, 1800)
