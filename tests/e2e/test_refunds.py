"""Refunds over real HTTP — the ops CLI asks, the emulator refunds and notifies the gateway (FC 3.0 events, worker
processes), the timer jobs catch what a lost notification left — and the licence revocation the extension sees
through the validate endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from scripts.stack import Stack
from tests.support.backoffice import Backoffice
from tests.support.emulator import RunningEmulator, wait_for
from tests.support.shop import Shop
from tests.support.stacks import own_stack


@pytest.fixture(scope="module")
def revoking_stack(emulator_server: RunningEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A second deployment whose PARTIAL_REFUND_POLICY is revoke."""
    data_dir = tmp_path_factory.mktemp("revoking")
    with own_stack(emulator_server, data_dir, PARTIAL_REFUND_POLICY="revoke", ORDER_QUERY_AFTER_SECONDS="1") as running:
        yield running


def bought(shop: Shop, emulator: RunningEmulator, product: str = "pro-monthly") -> dict[str, Any]:
    order = shop.order(product)
    emulator.pay(order["order_id"])
    status = wait_for(lambda: (s := shop.status(order))["status"] == "PAID" and s["license"] and s, timeout=20)
    return {**order, "license": status["license"]}


def validate(shop: Shop, **body: str) -> dict[str, Any]:
    response = shop.call("POST", "/v1/licenses/validate", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def settled(shop: Shop, order: dict[str, Any], status: str) -> dict[str, Any]:
    return wait_for(lambda: (s := shop.status(order))["status"] == status and s, timeout=20)


def kinds(shop: Shop, order_id: str) -> list[str]:
    return [event["kind"] for event in shop.storage().order_events(order_id)]


def test_a_full_refund_revokes_the_licence_at_the_next_validate_and_a_repeated_command_refunds_once(
    shop: Shop, emulator: RunningEmulator, office: Backoffice
) -> None:
    order = bought(shop, emulator)
    token, key = order["license"]["token"], order["license"]["license_key"]
    assert validate(shop, token=token)["valid"] is True

    refund = office.refund(order["order_id"], reason="课程不满意")
    assert (refund["amount_fen"], refund["order_status"]) == (990, "REFUNDING")
    status = settled(shop, order, "REFUNDED")

    assert validate(shop, token=token) == {"valid": False, "status": "REVOKED", "reason": "REVOKED"}
    by_key = validate(shop, license_key=key, install_id=order["install_id"])
    assert (by_key["valid"], by_key["reason"]) == (False, "REVOKED")
    assert status["license"]["status"] == "REVOKED" and status["license"]["token"] is None, "no fresh token"
    refund_notes = [n for n in emulator.notifications(order["order_id"]) if n["event_type"] == "REFUND.SUCCESS"]
    assert [a["response_status"] for a in refund_notes[0]["attempts"]] == [204]

    again = office.refund(order["order_id"], reason="课程不满意")
    assert again["out_refund_no"] == refund["out_refund_no"] and again["status"] == "SUCCESS"
    assert len(emulator.control("GET", "/_emulator/refunds")["refunds"]) == 1, "WeChat refunded once"
    timeline = kinds(shop, order["order_id"])
    for kind in ("REFUND_REQUESTED", "REFUND_SUCCEEDED", "REFUNDED", "LICENCE_REVOKED"):
        assert timeline.count(kind) == 1, (kind, timeline)


def test_a_partial_refund_keeps_the_licence_by_default_and_the_rest_is_all_that_can_be_refunded(
    shop: Shop, emulator: RunningEmulator, office: Backoffice
) -> None:
    order = bought(shop, emulator)
    office.refund(order["order_id"], 300)
    settled(shop, order, "PARTIALLY_REFUNDED")
    fresh = validate(shop, token=order["license"]["token"])
    assert fresh["valid"] is True and fresh["token"]

    code, refused = office.ops("refund", order["order_id"], "--amount", "700", "--reason", "more")
    assert code == 1 and refused["error"]["code"] == "AMOUNT_EXCEEDS_REFUNDABLE"
    assert refused["error"]["details"] == {"refundable_fen": 690}


def test_a_partial_refund_revokes_the_licence_where_the_policy_says_revoke(
    revoking_stack: Stack, emulator: RunningEmulator
) -> None:
    shop, office = Shop(revoking_stack), Backoffice(revoking_stack)
    order = bought(shop, emulator)
    office.refund(order["order_id"], 100)
    settled(shop, order, "PARTIALLY_REFUNDED")
    answer = validate(shop, license_key=order["license"]["license_key"], install_id=order["install_id"])
    assert (answer["valid"], answer["status"], answer["reason"]) == (False, "REVOKED", "REVOKED")


def test_a_refund_whose_notification_is_lost_is_settled_by_the_refund_job(
    shop: Shop, emulator: RunningEmulator, office: Backoffice
) -> None:
    order = bought(shop, emulator)
    emulator.control("POST", "/_emulator/refunds/outcome", {"status": "SUCCESS", "mode": "drop"})
    refund = office.refund(order["order_id"])
    wait_for(lambda: emulator.control("GET", "/_emulator/refunds")["refunds"][0]["status"] == "SUCCESS")
    assert shop.status(order)["status"] == "REFUNDING", "WeChat refunded, and told nobody"

    summary = office.run_jobs("reconcile_refunds")["reconcile_refunds"]
    assert (summary["outcome"], summary["success"]) == ("OK", 1)
    assert shop.status(order)["status"] == "REFUNDED"
    assert validate(shop, token=order["license"]["token"])["reason"] == "REVOKED"
    stored = shop.storage().get_refund(refund["out_refund_no"])
    assert stored is not None and stored.status.value == "SUCCESS" and stored.success_at


def test_a_refund_that_wechat_closes_leaves_the_order_paid_and_the_licence_valid(
    shop: Shop, emulator: RunningEmulator, office: Backoffice
) -> None:
    order = bought(shop, emulator)
    emulator.control("POST", "/_emulator/refunds/outcome", {"status": "CLOSED"})
    refund = office.refund(order["order_id"], 500)
    wait_for(lambda: (r := shop.storage().get_refund(refund["out_refund_no"])) and r.status.value == "CLOSED")
    assert settled(shop, order, "PAID")["license"]["status"] == "ACTIVE"
    assert validate(shop, token=order["license"]["token"])["valid"] is True
    assert kinds(shop, order["order_id"])[-2:] == ["REFUND_CLOSED", "NOT_REFUNDED"]


def test_a_refund_wechat_refuses_is_reported_to_the_operator_and_changes_nothing(
    shop: Shop, emulator: RunningEmulator, office: Backoffice
) -> None:
    order = bought(shop, emulator)
    emulator.fault("refund", "error", status=403, code="NOT_ENOUGH")
    code, refused = office.ops("refund", order["order_id"], "--reason", "no money in the account")
    assert code == 1 and refused["error"]["code"] == "REFUND_REFUSED"
    assert refused["error"]["details"]["wechatpay_code"] == "NOT_ENOUGH"
    assert shop.status(order)["status"] == "PAID"
    assert validate(shop, token=order["license"]["token"])["valid"] is True
