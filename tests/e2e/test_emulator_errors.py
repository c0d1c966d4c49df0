"""Bad requests get the status and code WeChat Pay gives, and only authenticated answers are signed."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from wechatpayv3.utils import rsa_verify

from emulator import crypto
from tests.support.emulator import RunningEmulator
from tests.support.raw import RawClient

NATIVE = "/v3/pay/transactions/native"


@pytest.fixture
def raw(emulator: RunningEmulator) -> RawClient:
    return RawClient(emulator.base_url, emulator.merchant)


def otn() -> str:
    return "E" + uuid.uuid4().hex[:20]


def error(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


def is_signed_by_wechatpay(response: Any, emulator: RunningEmulator) -> bool:
    from wechatpayv3.utils import load_public_key

    h = response.headers
    if "Wechatpay-Signature" not in h:
        return False
    key = load_public_key(emulator.merchant["wechatpay_public_key"])
    return bool(
        rsa_verify(h["Wechatpay-Timestamp"], h["Wechatpay-Nonce"], response.text, h["Wechatpay-Signature"], key)
    )


def test_a_bad_signature_is_401_sign_error_with_the_sign_information(raw: RawClient, emulator: RunningEmulator) -> None:
    response = raw.call("POST", NATIVE, raw.native_order(otn()), signed_target="/v3/pay/transactions/jsapi")
    assert error(response) == (401, "SIGN_ERROR")
    detail = response.json()["detail"]
    assert detail["field"] == "signature" and detail["detail"]["issue"] == "sign not match"
    assert detail["sign_information"]["url"] == NATIVE
    assert "Wechatpay-Signature" not in response.headers and response.headers["Request-ID"]


def test_a_request_signed_with_another_key_is_401_sign_error(raw: RawClient) -> None:
    other = crypto.private_pem(crypto.new_rsa_key())
    assert error(raw.call("POST", NATIVE, raw.native_order(otn()), private_key=other)) == (401, "SIGN_ERROR")


@pytest.mark.parametrize("skew", [-360, 360], ids=["stale", "future"])
def test_a_timestamp_more_than_five_minutes_off_is_401_sign_error(raw: RawClient, skew: int) -> None:
    response = raw.call("POST", NATIVE, raw.native_order(otn()), timestamp=int(time.time()) + skew)
    assert error(response) == (401, "SIGN_ERROR")


def test_a_timestamp_within_the_window_is_accepted(raw: RawClient) -> None:
    assert raw.call("POST", NATIVE, raw.native_order(otn()), timestamp=int(time.time()) - 250).status_code == 200


def test_an_unknown_serial_is_401_sign_error(raw: RawClient) -> None:
    assert error(raw.call("POST", NATIVE, raw.native_order(otn()), serial_no="ABCDEF")) == (401, "SIGN_ERROR")


def test_a_malformed_or_missing_authorization_is_401_sign_error(raw: RawClient) -> None:
    assert error(raw.call("POST", NATIVE, raw.native_order(otn()), headers={"Authorization": None})) == (
        401,
        "SIGN_ERROR",
    )
    bad = {"Authorization": 'WECHATPAY2-SHA256-RSA2048 mchid="1"'}
    assert error(raw.call("POST", NATIVE, raw.native_order(otn()), headers=bad)) == (401, "SIGN_ERROR")


def test_an_unknown_merchant_in_the_authorization_is_mch_not_exists(raw: RawClient) -> None:
    assert error(raw.call("POST", NATIVE, raw.native_order(otn()), mchid="1900000000")) == (400, "MCH_NOT_EXISTS")


def test_a_body_mchid_that_differs_from_the_signer_is_invalid_request(
    raw: RawClient, emulator: RunningEmulator
) -> None:
    response = raw.call("POST", NATIVE, raw.native_order(otn(), mchid="1900000000"))
    assert error(response) == (400, "INVALID_REQUEST")
    assert is_signed_by_wechatpay(response, emulator), "errors to authenticated requests are signed"


def test_an_appid_not_bound_to_the_merchant_is_appid_mchid_not_match(raw: RawClient) -> None:
    response = raw.call("POST", NATIVE, raw.native_order(otn(), appid="wx0000000000000000"))
    assert error(response) == (400, "APPID_MCHID_NOT_MATCH")


@pytest.mark.parametrize("missing", ["Accept", "User-Agent"])
def test_a_missing_accept_or_user_agent_is_400_invalid_request(raw: RawClient, missing: str) -> None:
    response = raw.call("POST", NATIVE, raw.native_order(otn()), headers={missing: None})
    assert error(response) == (400, "INVALID_REQUEST")
    assert response.json()["message"] == "Http头缺少Accept或User-Agent"


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"amount": {"total": 0, "currency": "CNY"}}, "/amount/total"),
        ({"amount": {"total": 1, "currency": "USD"}}, "/amount/currency"),
        ({"amount": {"total": "1"}}, "/amount/total"),
        ({"out_trade_no": "bad no!"}, "/out_trade_no"),
        ({"out_trade_no": "12345"}, "/out_trade_no"),
        ({"description": ""}, "/description"),
        ({"description": "x" * 128}, "/description"),
        ({"notify_url": "https://merchant.example/notify?x=1"}, "/notify_url"),
        ({"notify_url": "/relative"}, "/notify_url"),
        ({"time_expire": "2026-01-01 10:00:00"}, "/time_expire"),
        ({"attach": None}, "/attach"),
    ],
)
def test_invalid_fields_are_param_error_naming_the_field(raw: RawClient, fields: dict[str, Any], pointer: str) -> None:
    response = raw.call("POST", NATIVE, {**raw.native_order(otn()), **fields})
    assert error(response) == (400, "PARAM_ERROR")
    assert response.json()["detail"]["field"] == pointer


def test_a_body_that_is_not_json_is_param_error(raw: RawClient) -> None:
    assert error(raw.call("POST", NATIVE, raw_body=b"{not json")) == (400, "PARAM_ERROR")


def test_four_byte_characters_are_param_error(raw: RawClient) -> None:
    assert error(raw.call("POST", NATIVE, raw.native_order(otn(), description="课程 \U0001f600"))) == (
        400,
        "PARAM_ERROR",
    )


def test_reordering_with_the_same_parameters_returns_a_fresh_code_url(raw: RawClient) -> None:
    order = raw.native_order(otn())
    first, second = raw.call("POST", NATIVE, order), raw.call("POST", NATIVE, order)
    assert first.status_code == second.status_code == 200
    assert first.json()["code_url"] != second.json()["code_url"]


def test_reordering_with_changed_parameters_is_invalid_request(raw: RawClient) -> None:
    order = raw.native_order(otn())
    raw.call("POST", NATIVE, order)
    changed = {**order, "amount": {"total": 101, "currency": "CNY"}}
    assert error(raw.call("POST", NATIVE, changed)) == (400, "INVALID_REQUEST")


def test_reordering_a_paid_order_is_invalid_request_and_a_closed_one_order_closed(
    raw: RawClient, emulator: RunningEmulator
) -> None:
    paid, closed = raw.native_order(otn()), raw.native_order(otn())
    raw.call("POST", NATIVE, paid)
    raw.call("POST", NATIVE, closed)
    emulator.pay(paid["out_trade_no"])
    target = f"/v3/pay/transactions/out-trade-no/{closed['out_trade_no']}/close"
    assert raw.call("POST", target, {"mchid": raw.merchant["mchid"]}).status_code == 204
    assert error(raw.call("POST", NATIVE, paid)) == (400, "INVALID_REQUEST")
    assert error(raw.call("POST", NATIVE, closed)) == (400, "ORDER_CLOSED")


def test_querying_an_unknown_order_is_404_order_not_exist(raw: RawClient) -> None:
    m = raw.merchant["mchid"]
    assert error(raw.call("GET", f"/v3/pay/transactions/out-trade-no/{otn()}?mchid={m}")) == (404, "ORDER_NOT_EXIST")
    assert error(raw.call("GET", f"/v3/pay/transactions/id/4200000000000000000000000000?mchid={m}")) == (
        404,
        "ORDER_NOT_EXIST",
    )


def test_a_query_without_the_mchid_parameter_is_param_error(raw: RawClient) -> None:
    assert error(raw.call("GET", f"/v3/pay/transactions/out-trade-no/{otn()}")) == (400, "PARAM_ERROR")


def test_closing_a_paid_order_is_order_paid(raw: RawClient, emulator: RunningEmulator) -> None:
    order = raw.native_order(otn())
    raw.call("POST", NATIVE, order)
    emulator.pay(order["out_trade_no"])
    target = f"/v3/pay/transactions/out-trade-no/{order['out_trade_no']}/close"
    assert error(raw.call("POST", target, {"mchid": raw.merchant["mchid"]})) == (400, "ORDER_PAID")


def test_an_order_past_its_time_expire_is_closed(raw: RawClient, emulator: RunningEmulator) -> None:
    order = raw.native_order(otn())
    raw.call("POST", NATIVE, order)
    emulator.control("POST", "/_emulator/clock", {"advance_seconds": 7 * 86400 + 1})
    target = f"/v3/pay/transactions/out-trade-no/{order['out_trade_no']}?mchid={raw.merchant['mchid']}"
    assert raw.call("GET", target).json()["trade_state"] == "CLOSED"
    emulator.control("POST", "/_emulator/pay", {"out_trade_no": order["out_trade_no"]}, expect=400)


def test_platform_certificates_are_404_in_public_key_mode(raw: RawClient) -> None:
    assert error(raw.call("GET", "/v3/certificates")) == (404, "RESOURCE_NOT_EXISTS")


def test_an_unknown_endpoint_is_404(raw: RawClient) -> None:
    assert raw.call("GET", "/v3/nothing/here").status_code == 404
