"""Every function's handler driven in process with the events each cloud delivers — an Alibaba FC 3.0 HTTP
trigger event (bytes of JSON) and a Tencent SCF function-URL event (a dict) — and answered in that cloud's shape."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from functions.create_order import index as create_order
from functions.license import index as license_fn
from functions.order_status import index as order_status
from functions.payment_notify import index as payment_notify
from scripts.stack import function_env
from shared import bootstrap
from shared.http import fc3, scf
from shared.licensing.install import install_hash
from shared.licensing.tokens import verify_token
from tests.events import load_event
from tests.support.emulator import RunningEmulator, wait_for
from tests.support.sink import NotifySink
from tests.support.wechat import genuine_notification, paid_resource, signed

INSTALL = "functional-test-install-0001"


@pytest.fixture
def configured(emulator: RunningEmulator, sink: NotifySink, tmp_path: Path) -> Iterator[None]:
    env = function_env(tmp_path, emulator.merchant, emulator.base_url, "http://unused.invalid")
    env["WECHATPAY_NOTIFY_URL"] = sink.url  # notifications are captured, then fed to the handler as events
    bootstrap.reset(env)
    yield
    bootstrap.reset()


def invoke(
    platform: str,
    module: Any,
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> tuple[int, dict[str, str], Any]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    sent = {"Content-Type": "application/json", **(headers or {})} if data else dict(headers or {})
    context = SimpleNamespace(request_id="req-functional", function_name="test")
    if platform == "fc3":
        answer = module.handler(fc3.build_event(method, path, headers=sent, body=data), context)
        assert set(answer) == {"statusCode", "headers", "isBase64Encoded", "body"}
    else:
        answer = module.main_handler(scf.build_event(method, path, headers=sent, body=data), context)
        assert {"statusCode", "headers", "body"} <= set(answer)
    text = base64.b64decode(answer["body"]).decode() if answer.get("isBase64Encoded") else answer["body"]
    return answer["statusCode"], answer["headers"], json.loads(text) if text else None


PLATFORMS = pytest.mark.parametrize("platform", ["fc3", "scf"])


@PLATFORMS
def test_every_function_answers_healthz(configured: None, platform: str) -> None:
    for module in (create_order, payment_notify, order_status, license_fn):
        status, headers, body = invoke(platform, module, "GET", "/healthz")
        assert status == 200 and body["status"] == "ok"
        assert headers["X-Request-Id"] and headers["Cache-Control"] == "no-store"


@PLATFORMS
def test_the_whole_purchase_through_the_handlers(
    configured: None, platform: str, emulator: RunningEmulator, sink: NotifySink
) -> None:
    status, _, catalogue = invoke(platform, create_order, "GET", "/v1/products")
    assert status == 200 and {p["id"] for p in catalogue["products"]} >= {"pro-monthly", "pro-lifetime"}

    status, _, order = invoke(
        platform, create_order, "POST", "/v1/orders", body={"product_id": "pro-monthly", "install_id": INSTALL}
    )
    assert status == 201 and order["status"] == "PENDING" and order["qr_svg"].startswith("<?xml")
    auth = {"Authorization": f"Bearer {order['poll_token']}"}
    assert (
        invoke(platform, order_status, "GET", f"/v1/orders/{order['order_id']}", headers=auth)[2]["status"] == "PENDING"
    )

    emulator.pay(order["order_id"])
    delivered = wait_for(lambda: sink.received and sink.received[0])
    status, _, _ = invoke(
        platform,
        payment_notify,
        "POST",
        "/v1/notify/wechatpay",
        raw=delivered.body,
        headers={k: v for k, v in delivered.headers.items() if k.lower().startswith("wechatpay")},
    )
    assert status == 204

    status, _, paid = invoke(platform, order_status, "GET", f"/v1/orders/{order['order_id']}", headers=auth)
    assert paid["status"] == "PAID"
    licence = paid["license"]
    _, _, keys = invoke(platform, license_fn, "GET", "/v1/licenses/keys")
    from shared.licensing.keys import PublicKeys

    public = PublicKeys.from_mapping({k["kid"]: k["public_key"] for k in keys["keys"]})
    assert verify_token(licence["token"], public, int(time.time()))["ins"] == install_hash(INSTALL)

    second = "functional-second-device"
    status, _, activated = invoke(
        platform,
        license_fn,
        "POST",
        "/v1/licenses/activate",
        body={"license_key": licence["license_key"], "install_id": second},
    )
    assert status == 200 and verify_token(activated["token"], public, int(time.time()))["ins"] == install_hash(second)
    status, _, checked = invoke(
        platform, license_fn, "POST", "/v1/licenses/validate", body={"token": activated["token"]}
    )
    assert checked["valid"] is True
    status, _, freed = invoke(
        platform,
        license_fn,
        "POST",
        "/v1/licenses/deactivate",
        body={"license_key": licence["license_key"], "install_id": second},
    )
    assert freed == {"deactivated": True}

    _, _, history = invoke(platform, order_status, "GET", "/v1/history", headers={"X-Install-Id": INSTALL})
    assert [o["order_id"] for o in history["orders"]] == [order["order_id"]]


@PLATFORMS
def test_errors_are_rendered_as_json_in_each_clouds_shape(configured: None, platform: str) -> None:
    status, _, body = invoke(platform, create_order, "GET", "/v1/nothing")
    assert (status, body["error"]["code"]) == (404, "NOT_FOUND")
    status, headers, body = invoke(platform, create_order, "DELETE", "/v1/orders")
    assert status == 405 and "POST" in headers["Allow"]
    status, _, body = invoke(platform, payment_notify, "POST", "/v1/notify/wechatpay", raw=b'{"id":"x"}')
    assert status == 401 and body["code"] == "FAIL" and "Traceback" not in json.dumps(body)
    status, _, body = invoke(platform, license_fn, "POST", "/v1/licenses/activate", body={"license_key": "x"})
    assert (status, body["error"]["code"]) == (400, "MISSING_FIELD")


def test_a_canned_fc3_event_and_a_canned_scf_event_reach_the_handlers(configured: None) -> None:
    for name, call in (
        ("fc3_http_get_query.json", create_order.handler),
        ("scf_function_url_get.json", create_order.main_handler),
    ):
        event = load_event(name)
        if isinstance(event, bytes):
            decoded = json.loads(event)
            decoded["rawPath"] = decoded["requestContext"]["http"]["path"] = "/v1/products"
            event = json.dumps(decoded).encode()
        else:
            event["path"] = "/v1/products"
        answer = call(event, SimpleNamespace(request_id="canned"))
        assert answer["statusCode"] == 200 and "pro-monthly" in answer["body"]


def test_a_missing_secret_stops_the_function_with_a_message_naming_it(
    emulator: RunningEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = function_env(tmp_path, emulator.merchant, emulator.base_url, "http://unused.invalid")
    del env["SERVER_SECRET"]
    bootstrap.reset(env)
    try:
        status, _, body = invoke(
            "fc3", create_order, "POST", "/v1/orders", body={"product_id": "pro-monthly", "install_id": INSTALL}
        )
    finally:
        bootstrap.reset()
    assert status == 500 and "SERVER_SECRET" not in json.dumps(body), "the client learns nothing of our settings"
    assert "missing required setting SERVER_SECRET" in capsys.readouterr().out, "the operator's log names it"


@PLATFORMS
def test_a_storage_failure_answers_wechat_5xx_fail_so_it_retries(
    emulator: RunningEmulator, sink: NotifySink, tmp_path: Path, platform: str
) -> None:
    env = function_env(tmp_path, emulator.merchant, emulator.base_url, sink.url)
    (tmp_path / "not-a-dir").write_text("a file where the database folder should be")
    env["STORAGE_URL"] = f"sqlite:///{tmp_path / 'not-a-dir' / 'app.sqlite3'}"
    bootstrap.reset(env)
    try:
        order = {"product_id": "pro-monthly", "install_id": INSTALL}
        status, _, body = invoke(platform, create_order, "POST", "/v1/orders", body=order)
        assert status in (500, 503) and body["error"]["code"] in ("INTERNAL", "UNAVAILABLE")
        emulator_order = emulator.control("GET", "/_emulator/orders")["orders"]
        assert emulator_order == [], "nothing reached WeChat Pay either"
        status, _, _ = invoke(platform, payment_notify, "GET", "/healthz")
        assert status == 503
        body_bytes = genuine_notification(emulator, paid_resource(emulator, "oSomeOrder00000000000001", 990))
        status, _, answer = invoke(
            platform,
            payment_notify,
            "POST",
            "/v1/notify/wechatpay",
            raw=body_bytes,
            headers=signed(emulator, body_bytes),
        )
        assert (status, answer["code"]) == (500, "FAIL"), "a 5xx makes WeChat retry: the payment is not lost"
    finally:
        bootstrap.reset()
