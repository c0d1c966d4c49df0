"""What operators change through the admin API: each call reuses the system's own services (refunds, the payment
apply path) and leaves exactly one audit entry — who, what, before, after, outcome — whether it worked or not."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from shared import errors, log
from shared.domain.admin import Role
from shared.domain.licences import LicenceStatus, licence_id_for
from shared.domain.orders import OrderStatus
from shared.domain.refunds import default_request_key, out_refund_no_for
from shared.wechatpay.errors import GatewayError
from tests.unit.admin_world import AdminWorld
from tests.unit.fake_gateway import UNKNOWN

pytestmark = pytest.mark.usefixtures("fresh_log_context")


def body(**fields: Any) -> Any:
    return lambda: fields


def failing(call: Any) -> errors.AppError:
    with pytest.raises(errors.AppError) as raised:
        call()
    return raised.value


def test_a_refund_is_the_refund_service_s_and_is_audited_with_the_order_before_and_after() -> None:
    world = AdminWorld()
    order = world.paid_order()
    caller = world.caller()
    refund = world.operations.refund(caller, order.order_id, body(reason="课程不满意", request_key="T-1"))
    assert (refund["amount_fen"], refund["status"], refund["order_status"]) == (990, "PROCESSING", "REFUNDING")
    assert refund["out_refund_no"] == out_refund_no_for(order.order_id, "T-1")
    assert refund["requested_by"] == f"operator-user [{caller.actor}]"
    [entry] = world.audit()
    assert (entry.action, entry.target, entry.outcome) == ("order.refund", f"order:{order.order_id}", "ok")
    assert (entry.actor, entry.actor_name, entry.role) == (caller.actor, "operator-user", "operator")
    assert (entry.request_id, entry.source_ip) == ("req-1", "203.0.113.7")
    assert entry.before is not None and entry.after is not None
    assert entry.before["order"]["status"] == "PAID" and entry.before["refunds"] == []
    assert entry.after["order"]["status"] == "REFUNDING" and entry.after["refunds"][0]["amount_fen"] == 990
    assert "poll_token_hash" not in entry.before["order"] and "install_hash" not in entry.before["order"]


def test_without_a_request_key_the_key_is_derived_from_amount_and_reason_so_a_repeat_refunds_once() -> None:
    assert default_request_key(None, "why") == default_request_key(None, "why") != default_request_key(None, "why?")
    assert default_request_key(300, "why") != default_request_key(301, "why") != default_request_key(None, "why")
    world = AdminWorld()
    order = world.paid_order()
    caller = world.caller()
    first = world.operations.refund(caller, order.order_id, body(reason="dup"))
    again = world.operations.refund(caller, order.order_id, body(reason="dup"))
    assert (
        first["out_refund_no"]
        == again["out_refund_no"]
        == out_refund_no_for(order.order_id, default_request_key(None, "dup"))
    )
    assert world.gateway.count("refund") == 1 and len(world.audit()) == 2


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"reason": "x", "amount_fen": 0}, "INVALID_AMOUNT"),
        ({"reason": "x", "amount_fen": "100"}, "INVALID_AMOUNT"),
        ({"reason": "x", "amount_fen": True}, "INVALID_AMOUNT"),
        ({"reason": ""}, "INVALID_REASON"),
        ({"reason": 5}, "INVALID_REASON"),
        ({}, "INVALID_REASON"),
        ({"reason": "x", "request_key": 7}, "INVALID_REQUEST_KEY"),
        ({"reason": "x", "request_key": "spaces are not allowed"}, "INVALID_REQUEST_KEY"),
        ({"reason": "x", "amount": 100}, "UNKNOWN_FIELD"),
        ({"reason": "x", "amount_fen": 991}, "AMOUNT_EXCEEDS_REFUNDABLE"),
    ],
)
def test_a_refund_refused_before_wechat_is_audited_with_its_error_code(fields: dict[str, Any], code: str) -> None:
    world = AdminWorld()
    order = world.paid_order()
    assert failing(lambda: world.operations.refund(world.caller(), order.order_id, body(**fields))).code == code
    [entry] = world.audit()
    assert entry.outcome == code and entry.before == entry.after
    assert world.gateway.count("refund") == 0


def test_a_viewer_key_cannot_change_anything_and_the_attempt_is_audited() -> None:
    world = AdminWorld()
    order = world.paid_order()
    viewer = world.caller(Role.VIEWER)
    calls = [
        lambda: world.operations.refund(viewer, order.order_id, body(reason="x")),
        lambda: world.operations.confirm_paid(viewer, order.order_id, body()),
        lambda: world.operations.revoke(viewer, licence_id_for(order.order_id), body(reason="x")),
        lambda: world.operations.reinstate(viewer, licence_id_for(order.order_id), body(reason="x")),
        lambda: world.operations.reset_devices(viewer, licence_id_for(order.order_id), body()),
    ]
    for call in calls:
        error = failing(call)
        assert (error.status, error.code) == (403, "FORBIDDEN")
    assert [e.outcome for e in world.audit()] == ["FORBIDDEN"] * 5
    assert world.gateway.count("refund") == 0 and world.licence_status(order.order_id) == "ACTIVE"


def test_confirm_paid_applies_what_wechat_reports_once_and_is_idempotent() -> None:
    world = AdminWorld()
    order = world.pending_order()
    caller = world.caller()
    not_yet = world.operations.confirm_paid(caller, order.order_id, body())
    assert (not_yet["outcome"], not_yet["order"]["status"]) == ("NOT_PAID", "PENDING")

    world.gateway.trade_states[order.order_id] = "SUCCESS"  # paid at WeChat; the notification never came
    world.now += 1
    paid = world.operations.confirm_paid(caller, order.order_id, body())
    assert (paid["outcome"], paid["order"]["status"]) == ("PAID", "PAID")
    assert paid["order"]["transaction_id"] and world.licence_status(order.order_id) == "ACTIVE"
    world.now += 1
    again = world.operations.confirm_paid(caller, order.order_id, body())
    assert again["outcome"] == "ALREADY_PAID"
    assert world.storage.event_kinds(order.order_id).count("PAID") == 1
    entries = world.audit()
    assert [e.outcome for e in entries] == ["ok", "ok", "ok"]
    assert entries[1].before is not None and entries[1].after is not None
    assert (entries[1].before["order"]["status"], entries[1].after["order"]["status"]) == ("PENDING", "PAID")
    assert entries[1].after["licence_status"] == "ACTIVE"


def test_confirm_paid_when_wechat_cannot_say_or_knows_no_such_order() -> None:
    world = AdminWorld()
    caller = world.caller()
    order = world.pending_order()
    world.gateway.fail("query", UNKNOWN)
    error = failing(lambda: world.operations.confirm_paid(caller, order.order_id, body()))
    assert (error.status, error.code) == (503, "WECHATPAY_UNAVAILABLE")
    world.now += 1
    unknown_there = world.pending_order(at_wechat=False)
    error = failing(lambda: world.operations.confirm_paid(caller, unknown_there.order_id, body()))
    assert (error.status, error.code) == (409, "NOT_FOUND_AT_WECHATPAY")
    world.now += 1
    world.gateway.fail("query", GatewayError(400, "PARAM_ERROR", "bad"))
    error = failing(lambda: world.operations.confirm_paid(caller, order.order_id, body()))
    assert (error.status, error.code) == (502, "WECHATPAY_ERROR")
    world.now += 1
    error = failing(lambda: world.operations.confirm_paid(caller, "oNOSUCHORDER", body()))
    assert (error.status, error.code) == (404, "ORDER_NOT_FOUND")
    assert [e.outcome for e in world.audit()] == [
        "ORDER_NOT_FOUND",
        "WECHATPAY_ERROR",
        "NOT_FOUND_AT_WECHATPAY",
        "WECHATPAY_UNAVAILABLE",
    ]
    assert world.audit()[0].before is None
    assert world.order(order.order_id).status is OrderStatus.PENDING


def test_an_operator_s_revocation_is_counted_once_with_a_fixed_reason_never_the_operator_s_words() -> None:
    world = AdminWorld()
    order = world.paid_order()
    licence_id = licence_id_for(order.order_id)
    caller = world.caller()
    stream = io.StringIO()
    log.configure(stream=stream)
    try:
        world.operations.revoke(caller, licence_id, body(reason="chargeback from 张三"))
        failing(lambda: world.operations.revoke(caller, licence_id, body(reason="again")))
        world.operations.reinstate(caller, licence_id, body(reason="resolved"))
        failing(lambda: world.operations.revoke(caller, "LnoSuch", body(reason="x")))
        failing(lambda: world.operations.revoke(world.caller(Role.VIEWER), licence_id, body(reason="x")))
    finally:
        log.configure(stream=None)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    revoked = [x for x in lines if x["event"] == "metric" and x["metric"] == "licences_revoked"]
    assert [(x["value"], x["reason"]) for x in revoked] == [(1, "operator")]
    assert "张三" not in json.dumps(revoked, ensure_ascii=False)


def test_revoke_and_reinstate_a_licence_with_their_conflicts() -> None:
    world = AdminWorld()
    order = world.paid_order()
    licence_id = licence_id_for(order.order_id)
    caller = world.caller()
    revoked = world.operations.revoke(caller, licence_id, body(reason="chargeback"))
    world.now += 1
    assert (revoked["status"], revoked["revoke_reason"]) == ("REVOKED", "chargeback") and revoked["revoked_at"]
    error = failing(lambda: world.operations.revoke(caller, licence_id, body(reason="again")))
    assert (error.status, error.code) == (409, "LICENSE_REVOKED")
    world.now += 1
    reinstated = world.operations.reinstate(caller, licence_id, body(reason="resolved"))
    world.now += 1
    assert (reinstated["status"], reinstated["revoked_at"], reinstated["revoke_reason"]) == ("ACTIVE", None, None)
    error = failing(lambda: world.operations.reinstate(caller, licence_id, body(reason="again")))
    assert (error.status, error.code) == (409, "LICENSE_ACTIVE")
    world.now += 1
    assert failing(lambda: world.operations.revoke(caller, licence_id, body())).code == "INVALID_REASON"
    world.now += 1
    assert failing(lambda: world.operations.revoke(caller, "LnoSuch", body(reason="x"))).code == "LICENSE_NOT_FOUND"
    entries = list(reversed(world.audit()))
    assert [(e.action, e.outcome) for e in entries] == [
        ("licence.revoke", "ok"),
        ("licence.revoke", "LICENSE_REVOKED"),
        ("licence.reinstate", "ok"),
        ("licence.reinstate", "LICENSE_ACTIVE"),
        ("licence.revoke", "INVALID_REASON"),
        ("licence.revoke", "LICENSE_NOT_FOUND"),
    ]
    assert entries[0].before is not None and entries[0].after is not None
    assert (entries[0].before["status"], entries[0].after["status"]) == ("ACTIVE", "REVOKED")
    assert entries[0].target == f"licence:{licence_id}"
    kinds = world.storage.event_kinds(order.order_id)
    assert "LICENCE_REVOKED" in kinds and "LICENCE_REINSTATED" in kinds


def test_reset_devices_frees_every_slot() -> None:
    world = AdminWorld()
    order = world.paid_order()
    licence_id = licence_id_for(order.order_id)
    world.storage.activate(licence_id, "second-device", 3, world.now)
    answer = world.operations.reset_devices(world.caller(), licence_id, body())
    assert answer["removed"] == 2 and answer["licence"]["activations"] == []
    assert world.storage.activations(licence_id) == []
    [entry] = world.audit()
    assert entry.before is not None and entry.after is not None
    assert len(entry.before["activations"]) == 2 and entry.after["activations"] == []
    assert failing(lambda: world.operations.reset_devices(world.caller(), licence_id, body(x=1))).code == (
        "UNKNOWN_FIELD"
    )
    licence = world.storage.get_licence(licence_id)
    assert licence is not None and licence.status is LicenceStatus.ACTIVE


def test_an_audit_entry_is_written_even_when_the_action_fails_unexpectedly() -> None:
    world = AdminWorld()
    order = world.paid_order()

    def broken(*args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("disk on fire")

    world.storage.update_licence = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        world.operations.revoke(world.caller(), licence_id_for(order.order_id), body(reason="x"))
    [entry] = world.audit()
    assert entry.outcome == "INTERNAL"
