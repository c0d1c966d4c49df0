"""The port's contract for refunds and for what the timer jobs read, run once per adapter (see conftest)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from shared.domain.orders import Order, OrderStatus
from shared.domain.refunds import Refund, RefundStatus
from shared.storage.port import Storage
from tests.integration.conftest import T0

MakeOrder = Callable[..., Order]
MakeRefund = Callable[..., Refund]


@pytest.fixture
def order(storage: Storage, make_order: MakeOrder) -> Order:
    stored = make_order(status=OrderStatus.PAID, paid_at=T0 + 60, transaction_id="4200000000000001")
    assert storage.insert_order(stored)
    return stored


@pytest.fixture
def refund(storage: Storage, order: Order, make_refund: MakeRefund) -> Refund:
    stored = make_refund(order)
    assert storage.insert_refund(stored)
    return stored


def _ids(found: list[Order]) -> list[str]:
    return [o.order_id for o in found]


# -- refunds ---------------------------------------------------------------------------------------------


def test_inserting_a_refund_twice_keeps_the_first_and_reports_false(storage: Storage, refund: Refund) -> None:
    assert storage.insert_refund(dataclasses.replace(refund, amount_fen=1, status=RefundStatus.SUCCESS)) is False
    assert storage.get_refund(refund.out_refund_no) == refund


def test_a_refund_round_trips_every_field_when_all_are_set(
    storage: Storage, order: Order, make_refund: MakeRefund
) -> None:
    refund = make_refund(
        order,
        status=RefundStatus.SUCCESS,
        refund_id="50000000382019052709732678859",
        success_at=T0 + 99,
        updated_at=T0 + 98,
    )
    assert storage.insert_refund(refund)
    stored = storage.get_refund(refund.out_refund_no)
    assert stored == refund
    assert stored is not None and stored.status is RefundStatus.SUCCESS and type(stored.amount_fen) is int


def test_a_missing_refund_is_none(storage: Storage) -> None:
    assert storage.get_refund("R-nobody") is None


def test_a_refund_moves_once_by_compare_and_set_on_its_status(storage: Storage, refund: Refund) -> None:
    move = {"status": RefundStatus.PROCESSING, "refund_id": "5000001", "updated_at": T0 + 5}
    expect = [RefundStatus.REQUESTED]
    assert storage.update_refund(refund.out_refund_no, move, expect_status=expect) is True
    assert storage.update_refund(refund.out_refund_no, {**move, "refund_id": "5000002"}, expect_status=expect) is False
    assert storage.get_refund(refund.out_refund_no) == dataclasses.replace(
        refund, status=RefundStatus.PROCESSING, refund_id="5000001", updated_at=T0 + 5
    )


def test_a_refund_in_another_status_or_an_empty_expectation_is_left_as_it_was(storage: Storage, refund: Refund) -> None:
    done = {"status": RefundStatus.SUCCESS, "success_at": T0 + 9}
    assert storage.update_refund(refund.out_refund_no, done, expect_status=[RefundStatus.PROCESSING]) is False
    assert storage.update_refund(refund.out_refund_no, done, expect_status=[]) is False
    assert storage.get_refund(refund.out_refund_no) == refund


def test_an_unconditional_refund_update_applies_and_a_missing_refund_reports_false(
    storage: Storage, refund: Refund
) -> None:
    assert storage.update_refund(refund.out_refund_no, {"updated_at": T0 + 7}) is True
    assert storage.get_refund(refund.out_refund_no) == dataclasses.replace(refund, updated_at=T0 + 7)
    assert storage.update_refund("R-nobody", {"updated_at": T0}) is False
    assert storage.update_refund("R-nobody", {"updated_at": T0}, expect_status=[RefundStatus.REQUESTED]) is False
    assert storage.get_refund("R-nobody") is None


@pytest.mark.parametrize(
    "changes",
    [{"colour": "red"}, {"out_refund_no": "R-other"}, {"order_id": "ord_other"}, {"status": "REVERSED"}, {}],
    ids=["unknown field", "primary key", "order", "unknown status", "nothing"],
)
def test_a_refund_update_with_a_field_that_cannot_change_raises_and_changes_nothing(
    storage: Storage, refund: Refund, changes: dict[str, object]
) -> None:
    with pytest.raises(ValueError):
        storage.update_refund(refund.out_refund_no, changes)
    assert storage.get_refund(refund.out_refund_no) == refund


def test_an_orders_refunds_come_oldest_first_and_only_its_own(
    storage: Storage, order: Order, make_order: MakeOrder, make_refund: MakeRefund
) -> None:
    other = make_order()
    storage.insert_order(other)
    mine = [make_refund(order, requested_at=T0 + t) for t in (30, 10, 20)]
    for refund in [*mine, make_refund(other, requested_at=T0 + 15)]:
        assert storage.insert_refund(refund)
    assert [r.requested_at for r in storage.refunds_for_order(order.order_id)] == [T0 + 10, T0 + 20, T0 + 30]
    assert storage.refunds_for_order("ord_nobody") == []
    assert storage.update_refund(mine[1].out_refund_no, {"requested_at": T0 + 40}) is True  # moved to the end
    assert [r.requested_at for r in storage.refunds_for_order(order.order_id)] == [T0 + 20, T0 + 30, T0 + 40]


# -- orders for the timer jobs -----------------------------------------------------------------------------


def test_orders_in_a_status_created_before_a_time_come_oldest_first_and_limited(
    storage: Storage, make_order: MakeOrder
) -> None:
    pending = [make_order(created_at=T0 + t) for t in (30, 10, 20, 40)]
    closed = make_order(created_at=T0 + 5, status=OrderStatus.CLOSED)
    for order in [*pending, closed]:
        storage.insert_order(order)
    found = storage.orders_in_status(OrderStatus.PENDING, created_before=T0 + 40, limit=10)
    assert [o.created_at for o in found] == [T0 + 10, T0 + 20, T0 + 30]  # strictly before
    assert found[0] == pending[1]
    assert [o.created_at for o in storage.orders_in_status(OrderStatus.PENDING, T0 + 99, limit=2)] == [T0 + 10, T0 + 20]
    assert storage.orders_in_status(OrderStatus.CLOSED, T0 + 99, 10) == [closed]
    assert storage.orders_in_status(OrderStatus.PENDING, T0 + 99, limit=0) == []
    assert storage.orders_in_status(OrderStatus.REFUNDED, T0 + 99, limit=10) == []


def test_an_order_that_changes_status_leaves_the_old_list_and_joins_the_new_one(
    storage: Storage, make_order: MakeOrder
) -> None:
    first, second = make_order(), make_order()
    for order in (first, second):
        storage.insert_order(order)
    paid = {"status": OrderStatus.PAID, "paid_at": T0 + 500}
    assert storage.update_order(first.order_id, paid, expect_status=[OrderStatus.PENDING])
    assert _ids(storage.orders_in_status(OrderStatus.PENDING, T0 + 10**6, 10)) == [second.order_id]
    assert _ids(storage.orders_in_status(OrderStatus.PAID, T0 + 10**6, 10)) == [first.order_id]
    refused = storage.update_order(second.order_id, {"status": OrderStatus.CLOSED}, expect_status=[OrderStatus.PAID])
    assert refused is False
    assert _ids(storage.orders_in_status(OrderStatus.CLOSED, T0 + 10**6, 10)) == []
    assert storage.update_order(first.order_id, {"status": OrderStatus.REFUNDING}) is True
    assert storage.update_order(first.order_id, {"status": OrderStatus.PAID}) is True  # back again: listed again
    assert _ids(storage.orders_in_status(OrderStatus.PAID, T0 + 10**6, 10)) == [first.order_id]
    assert _ids(storage.orders_in_status(OrderStatus.REFUNDING, T0 + 10**6, 10)) == []


def test_expired_pending_orders_come_by_expiry_and_nothing_else_does(storage: Storage, make_order: MakeOrder) -> None:
    due = [make_order(expires_at=T0 + t) for t in (300, 100, 200)]
    later = make_order(expires_at=T0 + 900)
    paid = make_order(expires_at=T0 + 50, status=OrderStatus.PAID, paid_at=T0 + 10)
    for order in [*due, later, paid]:
        storage.insert_order(order)
    assert [o.expires_at for o in storage.orders_expired(now=T0 + 300, limit=10)] == [T0 + 100, T0 + 200, T0 + 300]
    assert [o.expires_at for o in storage.orders_expired(now=T0 + 1000, limit=2)] == [T0 + 100, T0 + 200]
    assert storage.orders_expired(now=T0 + 99, limit=10) == []
    assert storage.orders_expired(now=T0 + 1000, limit=0) == []
    closed = {"status": OrderStatus.CLOSED, "closed_at": T0 + 150}
    assert storage.update_order(due[1].order_id, closed, expect_status=[OrderStatus.PENDING])
    assert storage.update_order(due[0].order_id, {"expires_at": T0 + 1500})  # extended: no longer due
    assert _ids(storage.orders_expired(now=T0 + 1000, limit=10)) == [due[2].order_id, later.order_id]


def test_orders_paid_in_a_half_open_interval_come_by_payment_time(storage: Storage, make_order: MakeOrder) -> None:
    inside = [make_order(status=OrderStatus.PAID, paid_at=T0 + t) for t in (200, 100, 150)]
    outside = [make_order(status=OrderStatus.PAID, paid_at=T0 + t) for t in (99, 300)]
    for order in [*inside, *outside, make_order()]:
        storage.insert_order(order)
    found = storage.orders_paid_between(T0 + 100, T0 + 300, limit=10)
    assert [o.paid_at for o in found] == [T0 + 100, T0 + 150, T0 + 200]
    assert found[0] == inside[1]
    assert [o.paid_at for o in storage.orders_paid_between(T0, T0 + 1000, limit=2)] == [T0 + 99, T0 + 100]
    assert storage.orders_paid_between(T0, T0 + 1000, limit=0) == []


def test_an_order_is_listed_as_paid_once_its_payment_time_is_set_and_where_it_was_moved_to(
    storage: Storage, make_order: MakeOrder
) -> None:
    order = make_order()
    storage.insert_order(order)
    assert storage.orders_paid_between(T0, T0 + 10**6, 10) == []
    move = {"status": OrderStatus.PAID, "paid_at": T0 + 700, "transaction_id": "tx"}
    assert storage.update_order(order.order_id, move, expect_status=[OrderStatus.PENDING])
    assert storage.orders_paid_between(T0 + 700, T0 + 701, 10) == [dataclasses.replace(order, **move)]
    assert storage.update_order(order.order_id, {"paid_at": T0 + 800}) is True  # corrected from WeChat's record
    assert storage.orders_paid_between(T0 + 700, T0 + 701, 10) == []
    assert _ids(storage.orders_paid_between(T0 + 800, T0 + 801, 10)) == [order.order_id]


# -- refunds for the timer jobs ----------------------------------------------------------------------------


def test_refunds_in_a_status_requested_before_a_time_come_oldest_first_and_follow_their_status(
    storage: Storage, order: Order, make_refund: MakeRefund
) -> None:
    waiting = [make_refund(order, status=RefundStatus.PROCESSING, requested_at=T0 + t) for t in (30, 10, 20)]
    for refund in [*waiting, make_refund(order, requested_at=T0 + 5)]:
        storage.insert_refund(refund)
    found = storage.refunds_in_status(RefundStatus.PROCESSING, requested_before=T0 + 30, limit=10)
    assert found == [waiting[1], waiting[2]]
    assert [r.requested_at for r in storage.refunds_in_status(RefundStatus.PROCESSING, T0 + 99, 1)] == [T0 + 10]
    assert storage.refunds_in_status(RefundStatus.PROCESSING, T0 + 99, limit=0) == []
    done = {"status": RefundStatus.SUCCESS, "success_at": T0 + 40}
    assert storage.update_refund(waiting[1].out_refund_no, done, expect_status=[RefundStatus.PROCESSING])
    remaining = storage.refunds_in_status(RefundStatus.PROCESSING, T0 + 99, 10)
    assert [r.out_refund_no for r in remaining] == [waiting[2].out_refund_no, waiting[0].out_refund_no]
    assert [r.out_refund_no for r in storage.refunds_in_status(RefundStatus.SUCCESS, T0 + 99, 10)] == [
        waiting[1].out_refund_no
    ]


def test_refunds_that_succeeded_in_a_half_open_interval_come_by_success_time(
    storage: Storage, order: Order, make_refund: MakeRefund
) -> None:
    done = [make_refund(order, status=RefundStatus.SUCCESS, success_at=T0 + t) for t in (200, 100, 300)]
    pending = make_refund(order)
    for refund in [*done, pending]:
        storage.insert_refund(refund)
    assert storage.refunds_succeeded_between(T0 + 100, T0 + 300, 10) == [done[1], done[0]]
    assert storage.refunds_succeeded_between(T0, T0 + 1000, 0) == []
    success = {"status": RefundStatus.SUCCESS, "success_at": T0 + 250}
    assert storage.update_refund(pending.out_refund_no, success, expect_status=[RefundStatus.REQUESTED])
    found = storage.refunds_succeeded_between(T0 + 100, T0 + 300, 10)
    assert [r.success_at for r in found] == [T0 + 100, T0 + 200, T0 + 250]
    assert [r.success_at for r in storage.refunds_succeeded_between(T0, T0 + 1000, 2)] == [T0 + 100, T0 + 200]
