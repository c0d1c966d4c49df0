"""The control surface: injected faults, the close/pay race, restarts, the CLI and the phone page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
from wechatpayv3 import WeChatPay

from tests.support.emulator import RunningEmulator, wait_for
from tests.support.sdk import sdk_client
from tests.support.sink import NotifySink

ROOT = Path(__file__).resolve().parents[2]


def sdk(emulator: RunningEmulator, timeout: tuple[float, float] = (3, 10)) -> WeChatPay:
    return sdk_client(emulator.merchant, emulator.base_url, timeout=timeout)


def order(client: WeChatPay, notify_url: str = "https://merchant.example/notify") -> tuple[str, tuple[int, str]]:
    out_trade_no = "F" + uuid.uuid4().hex[:20]
    return out_trade_no, client.pay(
        description="Course", out_trade_no=out_trade_no, amount={"total": 100, "currency": "CNY"}, notify_url=notify_url
    )


def state(client: WeChatPay, out_trade_no: str) -> str:
    return str(json.loads(client.query(out_trade_no=out_trade_no)[1])["trade_state"])


@pytest.mark.parametrize(("status", "code"), [(429, "FREQUENCY_LIMITED"), (500, "SYSTEM_ERROR")])
def test_an_injected_error_is_answered_signed_and_not_carried_out(
    emulator: RunningEmulator, status: int, code: str
) -> None:
    client = sdk(emulator)
    emulator.fault("create", status=status)
    out_trade_no, (got, body) = order(client)
    assert (got, json.loads(body)["code"]) == (status, code)
    assert client.query(out_trade_no=out_trade_no)[0] == 404
    assert order(client)[1][0] == 200, "a fault is used once"


def test_an_answer_with_a_bad_signature_fails_sdk_verification_though_the_order_exists(
    emulator: RunningEmulator,
) -> None:
    client = sdk(emulator)
    emulator.fault("create", "bad_signature")
    out_trade_no = "F" + uuid.uuid4().hex[:20]
    with pytest.raises(Exception, match="failed to verify the signature"):
        client.pay(
            description="Course",
            out_trade_no=out_trade_no,
            amount={"total": 100, "currency": "CNY"},
            notify_url="https://merchant.example/notify",
        )
    assert state(client, out_trade_no) == "NOTPAY", "the call was carried out: outcome unknown, query before concluding"


def test_an_unsigned_answer_fails_sdk_verification(emulator: RunningEmulator) -> None:
    client = sdk(emulator)
    out_trade_no, _ = order(client)
    emulator.fault("query", "unsigned")
    with pytest.raises(Exception, match="does not support this algorithm"):
        client.query(out_trade_no=out_trade_no)


def test_a_timeout_leaves_the_client_without_an_answer_but_the_close_done(emulator: RunningEmulator) -> None:
    client = sdk(emulator, timeout=(1, 0.3))
    out_trade_no, _ = order(client)
    emulator.fault("close", "timeout", delay=1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.close(out_trade_no)
    assert state(client, out_trade_no) == "CLOSED"


def test_a_slow_answer_still_arrives(emulator: RunningEmulator) -> None:
    client = sdk(emulator)
    out_trade_no, _ = order(client)
    emulator.fault("query", "slow", delay=0.3)
    assert state(client, out_trade_no) == "NOTPAY"


def test_a_dropped_connection_gives_the_client_a_connection_error(emulator: RunningEmulator) -> None:
    client = sdk(emulator)
    emulator.fault("create", "drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        order(client)


def test_faults_are_listed_and_cleared(emulator: RunningEmulator) -> None:
    emulator.fault("refund", status=500, count=2)
    assert emulator.control("GET", "/_emulator/faults")["faults"][0]["count"] == 2
    assert emulator.control("DELETE", "/_emulator/faults")["faults"] == []
    emulator.control("POST", "/_emulator/faults", {"endpoint": "nowhere"}, expect=400)


def test_the_close_pay_race_pays_the_order_and_close_answers_order_paid(
    emulator: RunningEmulator, sink: NotifySink
) -> None:
    client = sdk(emulator)
    out_trade_no, _ = order(client, sink.url)
    emulator.control("POST", f"/_emulator/orders/{out_trade_no}/pay-on-close", {})
    status, body = client.close(out_trade_no)
    assert (status, json.loads(body)["code"]) == (400, "ORDER_PAID")
    assert state(client, out_trade_no) == "SUCCESS"
    wait_for(lambda: sink.received)


def test_paying_by_code_url_uses_the_latest_qr(emulator: RunningEmulator) -> None:
    client = sdk(emulator)
    out_trade_no, (_, body) = order(client)
    paid = emulator.control("POST", "/_emulator/pay", {"code_url": json.loads(body)["code_url"]})
    assert paid["transaction"]["out_trade_no"] == out_trade_no
    emulator.control("POST", "/_emulator/pay", {"code_url": "weixin://wxpay/bizpayurl?pr=nothing"}, expect=400)


def test_state_and_keys_survive_a_restart(tmp_path: Path) -> None:
    first = RunningEmulator(tmp_path)
    out_trade_no, _ = order(sdk(first))
    merchant = first.merchant
    first.stop()
    second = RunningEmulator(tmp_path)
    try:
        assert second.merchant["merchant_private_key"] == merchant["merchant_private_key"]
        assert state(sdk(second), out_trade_no) == "NOTPAY"
    finally:
        second.stop()


def test_the_cli_pays_an_order_and_lists_its_notifications(emulator: RunningEmulator) -> None:
    out_trade_no, _ = order(sdk(emulator))
    env = {**os.environ, "EMULATOR_URL": emulator.base_url}

    def cli(*args: str) -> dict:  # type: ignore[type-arg]
        done = subprocess.run(
            [sys.executable, "-m", "emulator", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return json.loads(done.stdout)

    assert cli("pay", out_trade_no, "--hold", "--openid", "o-cli")["transaction"]["payer"]["openid"] == "o-cli"
    assert cli("notifications", "--order", out_trade_no)["notifications"][0]["state"] == "held"
    assert cli("merchant")["mchid"] == emulator.merchant["mchid"]


def test_the_phone_page_lists_unpaid_orders_and_pays_with_one_press(emulator: RunningEmulator) -> None:
    out_trade_no, (_, body) = order(sdk(emulator))
    code_url = json.loads(body)["code_url"]
    page = requests.get(f"{emulator.base_url}/phone", params={"code_url": code_url}, timeout=5)
    assert page.status_code == 200 and out_trade_no in page.text and code_url in page.text
    assert "fetch('/_emulator/pay'" in page.text


def test_healthz_answers_ok(emulator: RunningEmulator) -> None:
    assert requests.get(emulator.base_url + "/healthz", timeout=5).json()["status"] == "ok"


def test_a_control_request_with_a_wrong_type_is_a_clear_400(emulator: RunningEmulator) -> None:
    response = requests.post(emulator.base_url + "/_emulator/refunds/outcome", json={"count": "many"}, timeout=5)
    assert response.status_code == 400 and response.json()["error"]["code"] == "INVALID_REQUEST"
    assert requests.post(emulator.base_url + "/_emulator/pay", data=b"[1]", timeout=5).status_code == 400
