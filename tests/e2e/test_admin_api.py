"""The admin API over real HTTP: the local gateway (two worker processes standing in for function instances, FC 3.0
events), the WeChat Pay emulator and SQLite — keys made by the key service, purchases made as the extension makes
them, and every operator action checked where a user or an auditor would see it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from scripts.stack import Stack
from shared.domain.licences import licence_id_for
from tests.support.backoffice import configured
from tests.support.emulator import RunningEmulator, wait_for
from tests.support.shop import Shop
from tests.support.stacks import own_stack

CST = dt.timezone(dt.timedelta(hours=8))


class Operator:
    """An operator's client: one admin key, the API over HTTP."""

    def __init__(self, stack: Stack, key: str | None):
        self.base_url, self.key = stack.gateway.base_url, key
        self.http = requests.Session()
        self.http.trust_env = False

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        headers.update(kwargs.pop("headers", {}))
        return self.http.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)

    def get(self, path: str, **query: str) -> Any:
        answer = self.call("GET", path, params=query)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def post(self, path: str, body: dict[str, Any] | None = None, expect: int = 200) -> Any:
        answer = self.call("POST", path, json=body or {})
        assert answer.status_code == expect, answer.text
        return answer.json()


def make_keys(stack: Stack) -> dict[str, str]:
    with configured(stack.gateway.env):
        from shared.bootstrap import container

        keys = container().admin.keys
        return {role: keys.create("e2e", f"e2e-{role}", role)["key"] for role in ("viewer", "operator")}


@pytest.fixture(scope="module")
def keys(stack: Stack) -> dict[str, str]:
    return make_keys(stack)


@pytest.fixture
def operator(stack: Stack, keys: dict[str, str]) -> Operator:
    return Operator(stack, keys["operator"])


@pytest.fixture
def viewer(stack: Stack, keys: dict[str, str]) -> Operator:
    return Operator(stack, keys["viewer"])


def bought(shop: Shop, emulator: RunningEmulator) -> dict[str, Any]:
    order = shop.order()
    emulator.pay(order["order_id"])
    status = wait_for(lambda: (s := shop.status(order))["status"] == "PAID" and s["license"] and s, timeout=20)
    return {**order, "license": status["license"]}


def validate(shop: Shop, order: dict[str, Any]) -> dict[str, Any]:
    body = {"license_key": order["license"]["license_key"], "install_id": order["install_id"]}
    answer = shop.call("POST", "/v1/licenses/validate", json=body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def today() -> str:
    return dt.datetime.now(CST).date().isoformat()


def test_an_order_bought_through_the_emulator_is_found_refunded_and_its_licence_revoked(
    shop: Shop, emulator: RunningEmulator, operator: Operator, viewer: Operator
) -> None:
    before = viewer.get("/v1/admin/stats", **{"from": today(), "to": today()})["totals"]
    order = bought(shop, emulator)
    order_id = order["order_id"]

    for query in (
        {"status": "PAID", "from": today(), "to": today()},
        {"order_id": order_id},
        {"product_id": "pro-monthly", "status": "PAID"},
    ):
        assert order_id in [o["order_id"] for o in viewer.get("/v1/admin/orders", **query)["orders"]], query
    detail = viewer.get(f"/v1/admin/orders/{order_id}")
    transaction_id = detail["order"]["transaction_id"]
    assert [o["order_id"] for o in viewer.get("/v1/admin/orders", transaction_id=transaction_id)["orders"]] == [
        order_id
    ]
    assert viewer.get("/v1/admin/orders", status="CLOSED", order_id=order_id)["orders"] == []
    assert detail["order"]["status"] == "PAID" and "install_hash" not in detail["order"]
    assert {"CREATED", "PAID", "LICENCE_ISSUED"} <= {e["kind"] for e in detail["events"]}
    assert detail["licence"]["status"] == "ACTIVE" and len(detail["licence"]["activations"]) == 1
    assert validate(shop, order)["valid"] is True

    refund = operator.post(f"/v1/admin/orders/{order_id}/refund", {"reason": "课程不满意"})
    assert (refund["amount_fen"], refund["order_status"]) == (990, "REFUNDING")
    again = operator.post(f"/v1/admin/orders/{order_id}/refund", {"reason": "课程不满意"})
    assert again["out_refund_no"] == refund["out_refund_no"]  # the same request refunds once
    settled = wait_for(
        lambda: (d := viewer.get(f"/v1/admin/orders/{order_id}"))["order"]["status"] == "REFUNDED" and d, timeout=20
    )
    assert [r["status"] for r in settled["refunds"]] == ["SUCCESS"] and settled["licence"]["status"] == "REVOKED"
    assert validate(shop, order) == {"valid": False, "status": "REVOKED", "reason": "REVOKED"}

    after = viewer.get("/v1/admin/stats", **{"from": today(), "to": today()})
    totals = after["totals"]
    assert totals["orders_created"] - before["orders_created"] == 1
    assert totals["orders_paid"] - before["orders_paid"] == 1 and totals["payments"] - before["payments"] == 1
    assert totals["revenue_fen"] - before["revenue_fen"] == 990
    assert totals["refunded_fen"] - before["refunded_fen"] == 990
    assert [d["date"] for d in after["days"]] == [today()] and isinstance(after["pending"], int)

    entries = viewer.get("/v1/admin/audit", target=f"order:{order_id}")["entries"]
    assert [(e["action"], e["outcome"]) for e in entries] == [("order.refund", "ok"), ("order.refund", "ok")]
    first = next(e for e in entries if e["before"]["order"]["status"] == "PAID")
    repeat = next(e for e in entries if e is not first)
    assert first["after"]["order"]["status"] == "REFUNDING" and len(repeat["after"]["refunds"]) == 1
    assert first["after"]["refunds"][0]["amount_fen"] == 990
    assert first["actor_name"] == "e2e-operator" and first["role"] == "operator" and first["request_id"]


def test_confirm_paid_settles_a_payment_whose_notification_never_came_then_licence_operations(
    shop: Shop, emulator: RunningEmulator, operator: Operator, viewer: Operator
) -> None:
    order = shop.order()
    order_id = order["order_id"]
    emulator.pay(order_id, mode="drop")  # paid at WeChat; no notification, and nobody polls
    assert viewer.get(f"/v1/admin/orders/{order_id}")["order"]["status"] == "PENDING"

    confirmed = operator.post(f"/v1/admin/orders/{order_id}/confirm-paid")
    assert (confirmed["outcome"], confirmed["order"]["status"]) == ("PAID", "PAID")
    assert operator.post(f"/v1/admin/orders/{order_id}/confirm-paid")["outcome"] == "ALREADY_PAID"
    detail = viewer.get(f"/v1/admin/orders/{order_id}")
    assert [e["details"].get("via") for e in detail["events"] if e["kind"] == "PAID"] == ["admin"]
    licence_id = licence_id_for(order_id)
    assert detail["licence"]["licence_id"] == licence_id
    order["license"] = shop.status(order)["license"]
    assert validate(shop, order)["valid"] is True

    revoked = operator.post(f"/v1/admin/licences/{licence_id}/revoke", {"reason": "chargeback"})
    assert (revoked["status"], revoked["revoke_reason"]) == ("REVOKED", "chargeback")
    assert validate(shop, order)["reason"] == "REVOKED"
    conflict = operator.post(f"/v1/admin/licences/{licence_id}/revoke", {"reason": "again"}, expect=409)
    assert conflict["error"]["code"] == "LICENSE_REVOKED"
    assert operator.post(f"/v1/admin/licences/{licence_id}/reinstate", {"reason": "resolved"})["status"] == "ACTIVE"
    assert validate(shop, order)["valid"] is True

    reset = operator.post(f"/v1/admin/licences/{licence_id}/reset-devices")
    assert reset["removed"] == 1 and reset["licence"]["activations"] == []
    assert validate(shop, order)["reason"] == "NOT_ACTIVATED"  # the user activates again, on any device

    entries = viewer.get("/v1/admin/audit", target=f"licence:{licence_id}")["entries"]
    assert sorted((e["action"], e["outcome"]) for e in entries) == [
        ("licence.reinstate", "ok"),
        ("licence.reset_devices", "ok"),
        ("licence.revoke", "LICENSE_REVOKED"),
        ("licence.revoke", "ok"),
    ]
    revoke = next(e for e in entries if e["action"] == "licence.revoke" and e["outcome"] == "ok")
    assert (revoke["before"]["status"], revoke["after"]["status"]) == ("ACTIVE", "REVOKED")
    paid = viewer.get("/v1/admin/audit", target=f"order:{order_id}")["entries"]
    assert {(e["action"], e["outcome"]) for e in paid} == {("order.confirm_paid", "ok")} and len(paid) == 2


def test_keys_roles_and_cors_over_http(stack: Stack, viewer: Operator) -> None:
    anonymous = Operator(stack, None)
    missing = anonymous.call("GET", "/v1/admin/orders")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    assert missing.json()["error"]["code"] == "UNAUTHENTICATED"
    assert viewer.get("/v1/admin/me")["role"] == "viewer"
    refused = viewer.call("POST", "/v1/admin/orders/o-any/confirm-paid", json={})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "FORBIDDEN")

    origin = {"Origin": "https://evil.example"}
    answer = viewer.call("GET", "/v1/admin/me", headers=origin)
    assert answer.status_code == 200 and not [h for h in answer.headers if h.lower().startswith("access-control")]
    preflight = anonymous.call("OPTIONS", "/v1/admin/me", headers={**origin, "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 403
    assert not [h for h in preflight.headers if h.lower().startswith("access-control")]


def test_the_dashboard_is_served_through_the_gateway(stack: Stack) -> None:
    anonymous = Operator(stack, None)
    moved = anonymous.call("GET", "/admin", allow_redirects=False)
    assert moved.status_code == 301 and moved.headers["Location"] == "/admin/"
    page = anonymous.call("GET", "/admin/")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Gateway-Function"] == "admin"


@pytest.fixture(scope="module")
def strict_stack(emulator_server: RunningEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A deployment that locks an address out after 3 failed authentications, with two instances."""
    data_dir = tmp_path_factory.mktemp("admin-strict")
    with own_stack(
        emulator_server, data_dir, workers=2, ADMIN_AUTH_MAX_FAILURES="3", ADMIN_AUTH_WINDOW_SECONDS="600"
    ) as running:
        yield running


def test_a_lockout_holds_across_instances_and_refuses_even_the_right_key(strict_stack: Stack) -> None:
    right = make_keys(strict_stack)["viewer"]
    guesser = Operator(strict_stack, right[:-4] + "AAAA")
    owner = Operator(strict_stack, right)
    assert owner.call("GET", "/v1/admin/me").status_code == 200
    with ThreadPoolExecutor(3) as pool:  # at once: the failures land on both instances
        failed = list(pool.map(lambda _: guesser.call("GET", "/v1/admin/me").status_code, range(3)))
    assert failed == [401, 401, 401]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: owner.call("GET", "/v1/admin/me"), range(8)))
    assert {a.status_code for a in answers} == {429}
    assert all(0 < int(a.headers["Retry-After"]) <= 600 for a in answers)
    assert answers[0].json()["error"]["code"] == "RATE_LIMITED"
    anomalies = owner.http.get(strict_stack.gateway.base_url + "/v1/admin/anomalies", timeout=30)
    assert anomalies.status_code == 429  # the locked-out address reads nothing either
