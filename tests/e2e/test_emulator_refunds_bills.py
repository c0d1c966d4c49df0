"""Refund limits and trade bills as WeChat Pay enforces and formats them (reference §7, §8)."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from typing import Any

import pytest
import requests

from tests.support.emulator import RunningEmulator
from tests.support.raw import RawClient

CST = dt.timezone(dt.timedelta(hours=8))
REFUNDS = "/v3/refund/domestic/refunds"


@pytest.fixture
def raw(emulator: RunningEmulator) -> RawClient:
    return RawClient(emulator.base_url, emulator.merchant)


def paid_order(raw: RawClient, emulator: RunningEmulator, total: int = 1000) -> str:
    out_trade_no = "B" + uuid.uuid4().hex[:20]
    order = raw.native_order(out_trade_no, amount={"total": total, "currency": "CNY"}, attach="course-7")
    assert raw.call("POST", "/v3/pay/transactions/native", order).status_code == 200
    emulator.pay(out_trade_no)
    return out_trade_no


def refund(raw: RawClient, out_trade_no: str, amount: int, total: int = 1000, out_refund_no: str | None = None) -> Any:
    body = {
        "out_trade_no": out_trade_no,
        "out_refund_no": out_refund_no or "R" + uuid.uuid4().hex[:20],
        "amount": {"refund": amount, "total": total, "currency": "CNY"},
    }
    return raw.call("POST", REFUNDS, body)


def later(emulator: RunningEmulator, seconds: float) -> None:
    emulator.control("POST", "/_emulator/clock", {"advance_seconds": seconds})


def test_a_retried_refund_with_the_same_out_refund_no_is_the_same_refund(
    raw: RawClient, emulator: RunningEmulator
) -> None:
    out_trade_no = paid_order(raw, emulator)
    first = refund(raw, out_trade_no, 300, out_refund_no="R-same")
    again = refund(raw, out_trade_no, 300, out_refund_no="R-same")
    assert first.status_code == again.status_code == 200
    assert first.json()["refund_id"] == again.json()["refund_id"]
    changed = refund(raw, out_trade_no, 400, out_refund_no="R-same")
    assert (changed.status_code, changed.json()["code"]) == (400, "INVALID_REQUEST")


def test_partial_refunds_cannot_exceed_the_total_and_need_a_minute_between_them(
    raw: RawClient, emulator: RunningEmulator
) -> None:
    out_trade_no = paid_order(raw, emulator)
    assert refund(raw, out_trade_no, 600).status_code == 200
    too_soon = refund(raw, out_trade_no, 100)
    assert (too_soon.status_code, too_soon.json()["code"]) == (429, "FREQUENCY_LIMITED")
    later(emulator, 61)
    too_much = refund(raw, out_trade_no, 401)
    assert (too_much.status_code, too_much.json()["code"]) == (400, "INVALID_REQUEST")
    assert refund(raw, out_trade_no, 400).status_code == 200


def test_refunds_of_unpaid_or_unknown_orders_are_resource_not_exists(raw: RawClient, emulator: RunningEmulator) -> None:
    unpaid = "U" + uuid.uuid4().hex[:20]
    raw.call("POST", "/v3/pay/transactions/native", raw.native_order(unpaid))
    for out_trade_no in (unpaid, "NOPE" + uuid.uuid4().hex[:10]):
        response = refund(raw, out_trade_no, 1, total=100)
        assert (response.status_code, response.json()["code"]) == (404, "RESOURCE_NOT_EXISTS")
    unknown = raw.call("GET", f"{REFUNDS}/NO-SUCH-REFUND")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "RESOURCE_NOT_EXISTS")


def test_a_refund_after_a_year_is_refused(raw: RawClient, emulator: RunningEmulator) -> None:
    out_trade_no = paid_order(raw, emulator)
    later(emulator, 366 * 86400)
    response = refund(raw, out_trade_no, 100)
    assert (response.status_code, response.json()["code"]) == (400, "INVALID_REQUEST")


def test_a_refund_whose_total_differs_from_the_order_is_param_error(raw: RawClient, emulator: RunningEmulator) -> None:
    response = refund(raw, paid_order(raw, emulator), 100, total=999)
    assert (response.status_code, response.json()["code"]) == (400, "PARAM_ERROR")


def bill(raw: RawClient, day: str, *, bill_type: str = "ALL", tar_type: str | None = None) -> requests.Response:
    query = f"?bill_date={day}&bill_type={bill_type}" + (f"&tar_type={tar_type}" if tar_type else "")
    return raw.call("GET", "/v3/bill/tradebill" + query)


def to_cst(emulator: RunningEmulator, moment: dt.datetime) -> None:
    later(emulator, moment.timestamp() - emulator.control("GET", "/_emulator/clock")["now"])


def test_a_days_bill_lists_payments_and_refunds_in_yuan_with_a_summary(
    raw: RawClient, emulator: RunningEmulator
) -> None:
    today = dt.datetime.now(CST).date()
    to_cst(emulator, dt.datetime.combine(today, dt.time(12), CST))
    paid = paid_order(raw, emulator, total=1999)
    refund(raw, paid, 500, total=1999)
    other = paid_order(raw, emulator, total=1)
    time.sleep(0.2)  # the refund settles
    emulator.core.tick()

    assert bill(raw, today.isoformat()).json()["code"] == "INVALID_REQUEST", "no bill for the current day"
    to_cst(emulator, dt.datetime.combine(today + dt.timedelta(days=1), dt.time(8), CST))
    assert bill(raw, today.isoformat()).json()["code"] == "STATEMENT_CREATING", "bills are ready from 09:00"
    later(emulator, 3600 + 1)

    answer = bill(raw, today.isoformat()).json()
    assert answer["hash_type"] == "SHA1"
    download = answer["download_url"][len(emulator.base_url) :]
    file = raw.call("GET", download)
    assert "Wechatpay-Signature" not in file.headers, "the bill file itself is not signed"
    assert hashlib.sha1(file.content, usedforsecurity=False).hexdigest() == answer["hash_value"]
    lines = file.content.decode("utf-8-sig").splitlines()
    header, rows, summary = lines[0].split(","), [line.split(",") for line in lines[1:-2]], lines[-1].split(",")
    records = [dict(zip(header, (field.lstrip("`") for field in row), strict=True)) for row in rows]
    by_state = {(r["商户订单号"], r["交易状态"]): r for r in records}
    assert (
        by_state[(paid, "SUCCESS")]["应结订单金额"] == "19.99"
        and by_state[(paid, "SUCCESS")]["商户数据包"] == "course-7"
    )
    assert by_state[(paid, "REFUND")]["退款金额"] == "5.00" and by_state[(other, "SUCCESS")]["订单金额"] == "0.01"
    assert lines[-2].startswith("总交易单数") and summary[:3] == ["`3", "`20.00", "`5.00"]

    success_only = bill(raw, today.isoformat(), bill_type="SUCCESS").json()
    content = raw.call("GET", success_only["download_url"][len(emulator.base_url) :]).content.decode("utf-8-sig")
    assert "`REFUND" not in content and f"`{paid}" in content


def test_a_day_without_trades_has_no_statement(raw: RawClient, emulator: RunningEmulator) -> None:
    day = (dt.datetime.now(CST).date() - dt.timedelta(days=5)).isoformat()
    response = bill(raw, day)
    assert (response.status_code, response.json()["code"]) == (400, "NO_STATEMENT_EXIST")


def test_an_expired_or_unknown_download_token_is_refused(raw: RawClient) -> None:
    response = raw.call("GET", "/v3/billdownload/file?token=forged")
    assert (response.status_code, response.json()["code"]) == (400, "INVALID_REQUEST")
