"""The purchase over real HTTP — gateway (FC 3.0 events, two worker processes) + emulator + SQLite: order, QR,
payment, notification, PAID exactly once, and a licence token that verifies offline with the published key."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shared.domain.licences import licence_id_for
from shared.licensing.install import install_hash
from shared.licensing.keys import PublicKeys
from shared.licensing.tokens import verify_token
from tests.support.emulator import RunningEmulator, wait_for
from tests.support.shop import Shop


def paid(shop: Shop, order: dict[str, Any]) -> dict[str, Any]:
    return wait_for(lambda: (s := shop.status(order))["status"] == "PAID" and s["license"] and s, timeout=20)


def test_a_purchase_ends_paid_with_a_licence_that_verifies_offline_and_names_the_install(
    shop: Shop, emulator: RunningEmulator
) -> None:
    products = shop.call("GET", "/v1/products").json()["products"]
    lifetime = next(p for p in products if p["id"] == "pro-lifetime")
    assert (lifetime["price_fen"], lifetime["licence_days"], lifetime["currency"]) == (9900, None, "CNY")

    order = shop.order("pro-lifetime")
    assert order["status"] == "PENDING" and order["amount_fen"] == 9900
    assert order["code_url"].startswith("weixin://wxpay/bizpayurl?pr=") and "<svg" in order["qr_svg"]
    assert emulator.control("GET", f"/_emulator/orders/{order['order_id']}")["amount"]["total"] == 9900

    emulator.pay(order["order_id"])
    status = paid(shop, order)
    payload = verify_token(status["license"]["token"], PublicKeys.from_mapping(shop.public_keys()), int(time.time()))
    assert payload["ins"] == install_hash(order["install_id"])
    assert (payload["sub"], payload["ent"], payload["lexp"]) == ("pro-lifetime", ["pro"], None)
    assert payload["lic"] == licence_id_for(order["order_id"])
    delivered = emulator.notifications(order["order_id"])[0]
    assert delivered["state"] == "delivered" and delivered["attempts"][-1]["response_status"] == 204


def test_five_concurrent_deliveries_and_polls_make_one_transition_and_one_licence(
    shop: Shop, emulator: RunningEmulator
) -> None:
    order = shop.order()
    notification_id = emulator.pay(order["order_id"], mode="hold")["notification_id"]
    with ThreadPoolExecutor(10) as pool:
        polls = [pool.submit(shop.status, order) for _ in range(5)]
        deliveries = emulator.control("POST", f"/_emulator/notifications/{notification_id}/duplicate", {"count": 5})
        [poll.result() for poll in polls]
    assert [a["response_status"] for a in deliveries["attempts"]] == [204] * 5
    status = paid(shop, order)
    storage = shop.storage()
    licence = storage.get_licence(licence_id_for(order["order_id"]))
    assert licence is not None and status["license"]["license_id"] == licence.licence_id
    assert len(storage.activations(licence.licence_id)) == 1
    assert [e["kind"] for e in storage.order_events(order["order_id"])].count("PAID") == 1


def test_a_notification_that_never_arrives_is_recovered_by_the_polls_query(
    shop: Shop, emulator: RunningEmulator
) -> None:
    order = shop.order()
    emulator.pay(order["order_id"], mode="drop")
    time.sleep(1.1)  # past ORDER_QUERY_AFTER_SECONDS of this stack
    status = paid(shop, order)
    assert status["license"]["license_key"]
    assert emulator.notifications(order["order_id"])[0]["attempts"] == [], "no notification was ever delivered"


def test_the_idempotency_key_replays_the_first_answer(shop: Shop) -> None:
    first = shop.order(install_id=None, **{"Idempotency-Key": "checkout-0001"})
    again = shop.order(install_id=first["install_id"], **{"Idempotency-Key": "checkout-0001"})
    assert (again["order_id"], again["poll_token"], again["code_url"]) == (
        first["order_id"],
        first["poll_token"],
        first["code_url"],
    )
    other = shop.call(
        "POST",
        "/v1/orders",
        json={"product_id": "pro-lifetime", "install_id": first["install_id"]},
        headers={"Idempotency-Key": "checkout-0001"},
    )
    assert (other.status_code, other.json()["error"]["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")


def test_history_lists_only_the_installs_own_orders_and_needs_its_header(shop: Shop, emulator: RunningEmulator) -> None:
    mine, theirs = shop.order(), shop.order()
    emulator.pay(mine["order_id"])
    paid(shop, mine)
    history = shop.call("GET", "/v1/history", headers={"X-Install-Id": mine["install_id"]}).json()["orders"]
    assert [o["order_id"] for o in history] == [mine["order_id"]]
    assert history[0]["status"] == "PAID" and history[0]["license_key"]
    assert theirs["order_id"] not in json.dumps(history)
    missing = shop.call("GET", "/v1/history")
    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "INVALID_INSTALL_ID")


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        ({"product_id": "no-such-product", "install_id": "A" * 22}, {}, 400, "UNKNOWN_PRODUCT"),
        ({"product_id": "pro-monthly", "install_id": "short"}, {}, 400, "INVALID_INSTALL_ID"),
        ({"product_id": "pro-monthly", "install_id": "has spaces in it, not an id"}, {}, 400, "INVALID_INSTALL_ID"),
        (
            {"product_id": "pro-monthly", "install_id": "A" * 22},
            {"Idempotency-Key": "bad key!"},
            400,
            "INVALID_IDEMPOTENCY_KEY",
        ),
    ],
)
def test_bad_orders_get_a_clear_4xx_and_write_nothing(
    shop: Shop, body: dict[str, str], headers: dict[str, str], status: int, code: str
) -> None:
    response = shop.call("POST", "/v1/orders", json=body, headers=headers)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert shop.call("GET", "/v1/history", headers={"X-Install-Id": "A" * 22}).json()["orders"] == []


def test_malformed_oversized_and_mistyped_bodies_are_refused(shop: Shop) -> None:
    not_json = shop.call("POST", "/v1/orders", data=b"{nope", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and "error" in not_json.json()
    wrong_type = shop.call("POST", "/v1/orders", data=b"product_id=x", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    huge = shop.call("POST", "/v1/orders", json={"product_id": "pro-monthly", "install_id": "A" * 22, "x": "y" * 9000})
    assert huge.status_code == 413


def test_a_wrong_or_missing_poll_token_is_answered_as_an_unknown_order(shop: Shop) -> None:
    order = shop.order()
    wrong = shop.call("GET", f"/v1/orders/{order['order_id']}", headers={"Authorization": "Bearer " + "x" * 43})
    missing = shop.call("GET", f"/v1/orders/{order['order_id']}")
    unknown = shop.call("GET", "/v1/orders/oNoSuchOrder000000000", headers={"Authorization": "Bearer x"})
    assert [(r.status_code, r.json()["error"]["code"]) for r in (wrong, missing, unknown)] == [
        (404, "ORDER_NOT_FOUND"),
        (404, "ORDER_NOT_FOUND"),
        (404, "ORDER_NOT_FOUND"),
    ]
    assert "poll_token" not in wrong.text


def test_a_licence_activates_up_to_its_device_limit_and_a_device_can_free_its_slot(
    shop: Shop, emulator: RunningEmulator
) -> None:
    order = shop.order("pro-monthly")  # 3 devices; the buyer's install holds the first
    emulator.pay(order["order_id"])
    key = paid(shop, order)["license"]["license_key"]
    devices = ["B" * 22, "C" * 22, "D" * 22]
    answers = [shop.call("POST", "/v1/licenses/activate", json={"license_key": key, "install_id": d}) for d in devices]
    assert [a.status_code for a in answers] == [200, 200, 409]
    assert answers[2].json()["error"]["code"] == "DEVICE_LIMIT_REACHED"
    freed = shop.call("POST", "/v1/licenses/deactivate", json={"license_key": key.lower(), "install_id": devices[0]})
    assert freed.json() == {"deactivated": True}
    assert (
        shop.call("POST", "/v1/licenses/activate", json={"license_key": key, "install_id": devices[2]}).status_code
        == 200
    )

    token = answers[1].json()["token"]
    refreshed = shop.call("POST", "/v1/licenses/validate", json={"token": token}).json()
    assert refreshed["valid"] is True and refreshed["token"]
    gone = shop.call("POST", "/v1/licenses/validate", json={"license_key": key, "install_id": devices[0]}).json()
    assert (gone["valid"], gone["reason"]) == (False, "NOT_ACTIVATED")
    forged = shop.call("POST", "/v1/licenses/validate", json={"token": token[:-4] + "AAAA"}).json()
    assert (forged["valid"], forged["reason"]) == (False, "BAD_SIGNATURE")
    unknown = shop.call("POST", "/v1/licenses/activate", json={"license_key": "0" * 25, "install_id": devices[0]})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "LICENSE_NOT_FOUND")
