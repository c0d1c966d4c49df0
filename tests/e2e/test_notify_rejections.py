"""Forged, tampered, stale and probing notifications reach the notify function over real HTTP and are rejected
with nothing written; the genuine one, sent last, pays the order."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from emulator import crypto
from scripts.stack import Stack
from shared.domain.licences import licence_id_for
from tests.support.emulator import RunningEmulator, wait_for
from tests.support.shop import Shop
from tests.support.wechat import genuine_notification, paid_resource, signed

Forgery = Callable[[bytes, dict[str, str]], tuple[bytes, dict[str, str]]]


def post(stack: Stack, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(stack.gateway.base_url + "/v1/notify/wechatpay", data=body, headers=headers, timeout=30)


FORGERIES: dict[str, Callable[[RunningEmulator, bytes], tuple[bytes, dict[str, str]]]] = {
    "tampered body": lambda e, b: (b.replace(b'"summary":"', b'"summary":"x'), signed(e, b)),
    "another key": lambda e, b: (b, signed(e, b, key=crypto.new_rsa_key())),
    "unknown serial": lambda e, b: (b, signed(e, b, serial="PUB_KEY_ID_0000000000000000000000000000000099")),
    "stale timestamp": lambda e, b: (b, signed(e, b, timestamp=int(time.time()) - 301)),
    "future timestamp": lambda e, b: (b, signed(e, b, timestamp=int(time.time()) + 360)),
    "signtest probe": lambda e, b: (b, {**signed(e, b), "Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + "A" * 40}),
    "no signature": lambda e, b: (b, {k: v for k, v in signed(e, b).items() if k != "Wechatpay-Signature"}),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_forged_notification_is_rejected_and_writes_nothing(
    stack: Stack, emulator: RunningEmulator, forgery: str
) -> None:
    shop = Shop(stack)
    order = shop.order()
    genuine = json.loads(
        json.dumps(
            emulator.notifications(emulator.pay(order["order_id"], mode="hold")["transaction"]["out_trade_no"])[0]
        )
    )["body"].encode()

    body, headers = FORGERIES[forgery](emulator, genuine)
    answer = post(stack, body, headers)
    assert answer.status_code in (400, 401) and answer.json()["code"] == "FAIL"
    storage = shop.storage()
    assert storage.get_order(order["order_id"]).status.value == "PENDING"
    assert storage.get_licence(licence_id_for(order["order_id"])) is None
    assert not storage.notification_processed(json.loads(genuine)["id"])

    assert post(stack, genuine, signed(emulator, genuine)).status_code == 204
    assert wait_for(lambda: shop.status(order)["status"] == "PAID")


def test_an_emulator_signtest_probe_is_refused_and_the_retry_pays(stack: Stack, emulator: RunningEmulator) -> None:
    shop = Shop(stack)
    order = shop.order()
    emulator.pay(order["order_id"], signtest=True)
    note = wait_for(
        lambda: (n := emulator.notifications(order["order_id"])[0])["state"] == "delivered" and n, timeout=20
    )
    assert [(a["kind"], a["response_status"]) for a in note["attempts"]] == [("probe", 401), ("scheduled", 204)]


def test_duplicated_wechatpay_headers_are_refused(stack: Stack, emulator: RunningEmulator) -> None:
    shop = Shop(stack)
    order = shop.order()
    body = emulator.notifications(emulator.pay(order["order_id"], mode="hold")["transaction"]["out_trade_no"])[0][
        "body"
    ]
    headers = signed(emulator, body.encode())
    raw = requests.Request(
        "POST", stack.gateway.base_url + "/v1/notify/wechatpay", data=body.encode(), headers=headers
    ).prepare()
    session = requests.Session()
    raw.headers["Wechatpay-Signature"] = headers["Wechatpay-Signature"] + ", " + headers["Wechatpay-Signature"]
    assert session.send(raw, timeout=30).status_code == 400
    assert shop.storage().get_order(order["order_id"]).status.value == "PENDING"


@pytest.mark.parametrize(
    "changes",
    [{"amount": {"total": 1, "currency": "CNY"}}, {"mchid": "1900000000"}, {"appid": "wx0000000000000000"}],
    ids=["amount", "mchid", "appid"],
)
def test_a_genuine_payment_that_disagrees_with_the_order_is_an_anomaly_never_paid(
    stack: Stack, emulator: RunningEmulator, changes: dict[str, Any]
) -> None:
    shop = Shop(stack)
    order = shop.order()
    body = genuine_notification(emulator, paid_resource(emulator, order["order_id"], order["amount_fen"], **changes))
    assert post(stack, body, signed(emulator, body)).status_code == 204, "acknowledged: WeChat's retries cannot fix it"
    storage = shop.storage()
    assert storage.get_order(order["order_id"]).status.value == "PENDING"
    assert storage.get_licence(licence_id_for(order["order_id"])) is None
    anomaly = next(a for a in storage.anomalies() if a["order_id"] == order["order_id"])
    assert anomaly["kind"] == "PAYMENT_MISMATCH" and anomaly["details"]["fields"]


def test_a_genuine_payment_for_an_unknown_order_is_an_anomaly(stack: Stack, emulator: RunningEmulator) -> None:
    body = genuine_notification(emulator, paid_resource(emulator, "oNotOurs0000000000000001", 100))
    assert post(stack, body, signed(emulator, body)).status_code == 204
    kinds = {(a["kind"], a["details"].get("out_trade_no")) for a in Shop(stack).storage().anomalies()}
    assert ("UNKNOWN_ORDER", "oNotOurs0000000000000001") in kinds
