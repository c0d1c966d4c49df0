"""Refunds as an operator asks for them and as WeChat reports them: one refund per request however often it is
retried, the order's state and the licence following the money, one apply path for notifications and queries."""

from __future__ import annotations

import dataclasses

import pytest

from shared import errors
from shared.domain.licences import PartialRefundPolicy, licence_id_for
from shared.domain.orders import OrderStatus
from shared.domain.refunds import REFUND_INTERVAL, Refund, RefundReport, RefundStatus, out_refund_no_for
from shared.services.refund_ledger import report_from_answer
from shared.wechatpay.errors import GatewayError
from tests.unit.fake_gateway import MCHID, UNKNOWN
from tests.unit.lifecycle_world import NOTIFY_URL, World

pytestmark = pytest.mark.usefixtures("fresh_log_context")


def notified(world: World, out_refund_no: str, status: str = "SUCCESS") -> str:
    """WeChat settles the refund and its notification (state in `refund_status`) is applied."""
    answer = report_from_answer(world.gateway.settle(out_refund_no, status))
    return world.ledger.apply(dataclasses.replace(answer, mchid=MCHID), reference=f"notify:{out_refund_no}")


def test_a_full_refund_ends_refunded_and_revokes_the_licence_once_wechat_reports_success() -> None:
    world = World()
    order = world.paid_order()
    view = world.refund(order.order_id)
    assert (view["amount_fen"], view["status"], view["order_status"]) == (990, "PROCESSING", "REFUNDING")
    assert view["out_refund_no"] == out_refund_no_for(order.order_id, "ticket-1")
    sent = world.gateway.calls[-1][1]
    assert (sent["notify_url"], sent["amount_total"], sent["out_trade_no"]) == (NOTIFY_URL, 990, order.order_id)
    assert world.licence_status(order.order_id) == "ACTIVE", "nothing is revoked before the money moved"

    assert notified(world, view["out_refund_no"]) == "SUCCESS"
    assert world.order(order.order_id).status is OrderStatus.REFUNDED
    assert world.licence_status(order.order_id) == "REVOKED"
    assert world.storage.event_kinds(order.order_id)[-4:] == [
        "REFUND_REQUESTED",
        "REFUND_SUCCEEDED",
        "REFUNDED",
        "LICENCE_REVOKED",
    ]
    key = world.licences.licence_key(order.order_id)
    answer = world.licences.validate_key(key, "a-valid-install-id-0000001")
    assert (answer["valid"], answer["status"], answer["reason"]) == (False, "REVOKED", "REVOKED")


def test_a_retried_request_is_the_same_refund_and_wechat_is_asked_again_only_while_it_has_not_answered() -> None:
    world = World()
    order = world.paid_order()
    world.gateway.fail("refund", UNKNOWN)
    first = world.refund(order.order_id, 300)
    assert first["status"] == "REQUESTED" and world.order(order.order_id).status is OrderStatus.REFUNDING
    again = world.refund(order.order_id, 300)
    assert again["out_refund_no"] == first["out_refund_no"] and again["status"] == "PROCESSING"
    world.refund(order.order_id, 300)
    assert world.gateway.count("refund") == 2, "answered once: never sent again"
    assert len(world.storage.refunds_for_order(order.order_id)) == 1
    assert world.storage.event_kinds(order.order_id).count("REFUND_REQUESTED") == 1
    with pytest.raises(errors.Conflict) as reused:
        world.refund(order.order_id, 400)
    assert reused.value.code == "REQUEST_KEY_REUSED"


@pytest.mark.parametrize(
    ("policy", "licence"), [(PartialRefundPolicy.KEEP, "ACTIVE"), (PartialRefundPolicy.REVOKE, "REVOKED")]
)
def test_a_partial_refund_keeps_or_revokes_the_licence_as_the_policy_says(
    policy: PartialRefundPolicy, licence: str
) -> None:
    world = World(policy)
    order = world.paid_order()
    notified(world, world.refund(order.order_id, 300)["out_refund_no"])
    assert world.order(order.order_id).status is OrderStatus.PARTIALLY_REFUNDED
    assert world.licence_status(order.order_id) == licence
    world.now += REFUND_INTERVAL
    rest = world.refund(order.order_id, None, key="ticket-2")
    assert rest["amount_fen"] == 690, "no amount: all that is left"
    notified(world, rest["out_refund_no"])
    assert world.order(order.order_id).status is OrderStatus.REFUNDED
    assert world.licence_status(order.order_id) == "REVOKED"


@pytest.mark.parametrize(
    ("setup", "amount", "error", "code"),
    [
        ("pending", 100, errors.Conflict, "ORDER_NOT_REFUNDABLE"),
        ("paid", 991, errors.Conflict, "AMOUNT_EXCEEDS_REFUNDABLE"),
        ("paid", 0, errors.ValidationFailed, "INVALID_AMOUNT"),
        ("refunded_now", 100, errors.Conflict, "REFUND_TOO_SOON"),
        ("fully_refunded", 1, errors.Conflict, "ORDER_NOT_REFUNDABLE"),
        ("a_year_ago", 1, errors.Conflict, "REFUND_WINDOW_PASSED"),
    ],
)
def test_wechats_limits_are_refused_with_a_clear_error_before_calling_it(
    setup: str, amount: int, error: type[errors.AppError], code: str
) -> None:
    world = World()
    order = world.pending_order() if setup == "pending" else world.paid_order()
    if setup == "refunded_now":
        world.refund(order.order_id, 100, key="earlier")
    if setup == "fully_refunded":
        notified(world, world.refund(order.order_id, key="earlier")["out_refund_no"])
        world.now += REFUND_INTERVAL
    if setup == "a_year_ago":
        world.now += 366 * 86400
    calls = world.gateway.count("refund")
    with pytest.raises(error) as refused:
        world.refund(order.order_id, amount)
    assert refused.value.code == code
    assert world.gateway.count("refund") == calls, "WeChat was not asked"


def test_unknown_orders_and_bad_requests_are_refused() -> None:
    world = World()
    with pytest.raises(errors.NotFound):
        world.refund("oNoSuchOrder000000000001", 1)
    order = world.paid_order()
    for kwargs, code in [
        ({"reason": ""}, "INVALID_REASON"),
        ({"reason": "x" * 81}, "INVALID_REASON"),
        ({"reason": "refund 🙂"}, "INVALID_REASON"),  # WeChat Pay refuses 4-byte UTF-8 characters
        ({"reason": "refund \ud800"}, "INVALID_REASON"),
        ({"key": "no spaces please"}, "INVALID_REQUEST_KEY"),
    ]:
        with pytest.raises(errors.ValidationFailed) as refused:
            world.refund(order.order_id, 100, **kwargs)
        assert refused.value.code == code


def test_a_refund_wechat_refuses_fails_and_the_order_is_paid_again() -> None:
    world = World()
    order = world.paid_order()
    world.gateway.fail("refund", GatewayError(403, "NOT_ENOUGH", "基本账户余额不足"))
    with pytest.raises(errors.UpstreamFailed) as refused:
        world.refund(order.order_id)
    assert refused.value.code == "REFUND_REFUSED" and refused.value.details["wechatpay_code"] == "NOT_ENOUGH"
    assert [r.status for r in world.storage.refunds_for_order(order.order_id)] == [RefundStatus.FAILED]
    assert world.order(order.order_id).status is OrderStatus.PAID
    assert world.licence_status(order.order_id) == "ACTIVE"
    assert world.storage.event_kinds(order.order_id)[-2:] == ["REFUND_FAILED", "NOT_REFUNDED"]
    replay = world.refund(order.order_id)
    assert replay["status"] == "FAILED" and world.gateway.count("refund") == 1, "the same request replays its end"
    assert world.refund(order.order_id, key="ticket-2")["status"] == "PROCESSING"


def test_a_closed_refund_returns_the_order_to_its_paid_state_and_an_abnormal_one_waits_for_the_operator() -> None:
    world = World()
    order = world.paid_order()
    closed = world.refund(order.order_id, 300)["out_refund_no"]
    assert notified(world, closed, "CLOSED") == "CLOSED"
    assert world.order(order.order_id).status is OrderStatus.PAID

    world.now += REFUND_INTERVAL
    abnormal = world.refund(order.order_id, 300, key="ticket-2")["out_refund_no"]
    notified(world, abnormal, "ABNORMAL")
    assert world.order(order.order_id).status is OrderStatus.REFUNDING
    assert "REFUND_ABNORMAL" in world.storage.anomaly_kinds()
    assert notified(world, abnormal, "SUCCESS") == "SUCCESS", "re-routed by the abnormal-refund API, then paid out"
    assert world.order(order.order_id).status is OrderStatus.PARTIALLY_REFUNDED


def test_duplicate_late_and_contradicting_reports_change_nothing_twice() -> None:
    world = World()
    order = world.paid_order()
    no = world.refund(order.order_id)["out_refund_no"]
    processing = report_from_answer(world.gateway.refunds[no])
    notified(world, no)
    assert notified(world, no) == "UNCHANGED"
    assert world.ledger.apply(processing, reference="query:late") == "UNCHANGED"
    assert world.storage.anomaly_kinds() == []
    closed = dataclasses.replace(processing, status="CLOSED")
    world.ledger.apply(closed, reference="notify:contradiction")
    assert world.storage.anomaly_kinds() == ["REFUND_STATE_CONFLICT"]
    assert world.storage.get_refund(no).status is RefundStatus.SUCCESS  # type: ignore[union-attr]
    kinds = world.storage.event_kinds(order.order_id)
    assert (kinds.count("REFUND_SUCCEEDED"), kinds.count("REFUNDED"), kinds.count("LICENCE_REVOKED")) == (1, 1, 1)


def test_a_report_that_disagrees_with_our_refund_is_an_anomaly_and_changes_nothing() -> None:
    world = World()
    order = world.paid_order()
    no = world.refund(order.order_id, 300)["out_refund_no"]
    report = dataclasses.replace(report_from_answer(world.gateway.settle(no)), amount_refund=990)
    assert world.ledger.apply(report, reference="notify:odd") == "MISMATCH"
    assert world.storage.get_refund(no).status is RefundStatus.PROCESSING  # type: ignore[union-attr]
    assert world.storage.anomaly_kinds() == ["REFUND_MISMATCH"]


def test_a_refund_made_outside_this_system_is_recorded_and_still_revokes_the_licence() -> None:
    world = World()
    order = world.paid_order()
    report = RefundReport("R-portal-0001", order.order_id, "SUCCESS", 990, 990, "5030001", world.now, MCHID)
    assert world.ledger.apply(report, reference="notify:portal") == "SUCCESS"
    adopted = world.storage.get_refund("R-portal-0001")
    assert adopted is not None and (adopted.status, adopted.requested_by) == (RefundStatus.SUCCESS, "wechatpay")
    assert world.order(order.order_id).status is OrderStatus.REFUNDED
    assert world.licence_status(order.order_id) == "REVOKED"
    assert "REFUND_FROM_OUTSIDE" in world.storage.anomaly_kinds()


def test_two_different_requests_at_once_never_commit_more_than_was_paid() -> None:
    world = World()
    order = world.paid_order()
    racing = Refund("R-racing", order.order_id, 700, RefundStatus.REQUESTED, "other", "ops2", world.now - 120)
    original_insert = world.storage.insert_refund

    def insert_after_the_other(refund: Refund) -> bool:
        original_insert(racing)  # the other request inserted between our check and our insert
        return original_insert(refund)

    world.storage.insert_refund = insert_after_the_other  # type: ignore[method-assign]
    with pytest.raises(errors.Conflict) as refused:
        world.refund(order.order_id, 500)
    assert refused.value.code == "AMOUNT_EXCEEDS_REFUNDABLE"
    ours = world.storage.get_refund(out_refund_no_for(order.order_id, "ticket-1"))
    assert ours is not None and ours.status is RefundStatus.FAILED
    assert world.gateway.count("refund") == 0


def test_a_licence_issued_after_the_refund_landed_is_revoked_at_once() -> None:
    world = World()
    order = world.paid_order()
    world.storage.licences.clear()  # as if the instance that marked it paid stopped before issuing
    world.storage.update_order(order.order_id, {"status": OrderStatus.REFUNDED})
    world.licences.ensure_issued(order)  # a late duplicate notification issues it now
    assert world.licence_status(order.order_id) == "REVOKED"


def test_the_order_status_poll_hands_out_no_token_for_a_revoked_licence() -> None:
    from shared.services.status import StatusService

    world = World()
    order = world.paid_order()
    status = StatusService(
        world.storage, world.payments, world.licences, lambda: world.gateway, world.clock, query_after=10, query_every=5
    )
    assert status.view(order)["license"]["token"]
    notified(world, world.refund(order.order_id)["out_refund_no"])
    view = status.view(world.order(order.order_id))
    assert view["status"] == "REFUNDED" and view["license"]["status"] == "REVOKED"
    assert view["license"]["token"] is None
    assert world.storage.get_licence(licence_id_for(order.order_id)).revoke_reason == "REFUNDED"  # type: ignore[union-attr]


def test_the_same_request_twice_at_the_same_moment_is_one_refund_not_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second request looked before the first stored its refund, then finds it among the order's refunds: it
    answers that refund (not REFUND_TOO_SOON or NOTHING_TO_REFUND), and WeChat is asked once."""
    world = World()
    order = world.paid_order()
    first = world.refund(order.order_id)
    get_refund = world.storage.get_refund
    monkeypatch.setattr(world.storage, "get_refund", lambda out_refund_no: None)  # looked before the first stored
    second = world.refund(order.order_id)
    monkeypatch.setattr(world.storage, "get_refund", get_refund)
    assert second["out_refund_no"] == first["out_refund_no"]
    assert len(world.storage.refunds_for_order(order.order_id)) == 1
    assert [call[0] for call in world.gateway.calls].count("refund") == 1
