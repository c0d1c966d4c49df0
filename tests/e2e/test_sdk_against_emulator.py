"""The unmodified wechatpayv3 SDK, pointed at the emulator, completes every call we rely on with its own
response verification on — in public-key mode, certificate mode and the transition between them."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from wechatpayv3 import WeChatPay

from tests.support.emulator import RunningEmulator, wait_for
from tests.support.sdk import sdk_client as support_sdk_client
from tests.support.sink import NotifySink

pytestmark = pytest.mark.sdk
CST = dt.timezone(dt.timedelta(hours=8))


def sdk_client(emulator: RunningEmulator, key_mode: str, cert_dir: Path) -> WeChatPay:
    return support_sdk_client(
        emulator.merchant, emulator.base_url, cert_dir=None if key_mode == "public_key" else cert_dir
    )


def new_out_trade_no() -> str:
    return "T" + uuid.uuid4().hex[:20]


def body(result: tuple[int, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(result[1])
    return loaded


COMBINATIONS = [
    ("public_key", "public_key"),
    ("certificate", "certificate"),
    ("transition", "public_key"),
    ("transition", "certificate"),
]


@pytest.fixture(params=COMBINATIONS, ids=[f"{e}-emulator/{c}-client" for e, c in COMBINATIONS])
def client(request: pytest.FixtureRequest, emulator: RunningEmulator, tmp_path: Path) -> Iterator[WeChatPay]:
    emulator_mode, client_mode = request.param
    emulator.control("POST", "/_emulator/config", {"signing_mode": emulator_mode})
    yield sdk_client(emulator, client_mode, tmp_path / "certs")


def test_sdk_creates_queries_pays_and_refunds_a_native_order(
    client: WeChatPay, emulator: RunningEmulator, sink: NotifySink
) -> None:
    out_trade_no = new_out_trade_no()
    expire = (dt.datetime.now(CST) + dt.timedelta(minutes=15)).replace(microsecond=0).isoformat()
    status, created = client.pay(
        description="Course",
        out_trade_no=out_trade_no,
        time_expire=expire,
        amount={"total": 990, "currency": "CNY"},
        notify_url=sink.url,
    )
    assert status == 200 and json.loads(created)["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")

    status, unpaid = client.query(out_trade_no=out_trade_no)
    assert status == 200 and json.loads(unpaid)["trade_state"] == "NOTPAY"

    transaction_id = emulator.pay(out_trade_no)["transaction"]["transaction_id"]
    paid = body(client.query(transaction_id=transaction_id))
    assert (paid["trade_state"], paid["out_trade_no"], paid["amount"]["total"]) == ("SUCCESS", out_trade_no, 990)

    refund = body(
        client.refund(
            out_refund_no="R" + out_trade_no,
            amount={"refund": 990, "total": 990, "currency": "CNY"},
            out_trade_no=out_trade_no,
            notify_url=sink.url,
        )
    )
    assert refund["status"] == "PROCESSING"
    settled = wait_for(lambda: (r := body(client.query_refund("R" + out_trade_no)))["status"] == "SUCCESS" and r)
    assert settled["amount"]["refund"] == 990
    assert body(client.query(out_trade_no=out_trade_no))["trade_state"] == "REFUND"


def test_sdk_closes_an_unpaid_order_with_a_signed_204(client: WeChatPay) -> None:
    out_trade_no = new_out_trade_no()
    client.pay(
        description="Course",
        out_trade_no=out_trade_no,
        amount={"total": 1, "currency": "CNY"},
        notify_url="https://merchant.example/notify",
    )
    assert client.close(out_trade_no) == (204, b"")
    assert body(client.query(out_trade_no=out_trade_no))["trade_state"] == "CLOSED"


def test_sdk_downloads_a_trade_bill_whose_sha1_matches(client: WeChatPay, emulator: RunningEmulator) -> None:
    out_trade_no = new_out_trade_no()
    client.pay(
        description="Course",
        out_trade_no=out_trade_no,
        amount={"total": 1234, "currency": "CNY"},
        notify_url="https://merchant.example/notify",
    )
    emulator.pay(out_trade_no)
    bill_date = dt.datetime.now(CST).date().isoformat()
    emulator.control("POST", "/_emulator/clock", {"advance_seconds": 2 * 86400})

    status, answer = client.trade_bill(bill_date=bill_date)
    assert status == 200
    bill = json.loads(answer)
    status, file = client.download_bill(bill["download_url"])
    assert status == 200
    content = gzip.decompress(file)
    assert hashlib.sha1(content, usedforsecurity=False).hexdigest() == bill["hash_value"]
    assert f"`{out_trade_no}" in content.decode("utf-8-sig") and "`12.34" in content.decode("utf-8-sig")


@pytest.mark.parametrize("mode", ["certificate", "transition"])
def test_sdk_downloads_and_decrypts_platform_certificates(emulator: RunningEmulator, tmp_path: Path, mode: str) -> None:
    emulator.control("POST", "/_emulator/config", {"signing_mode": mode})
    client = sdk_client(emulator, "certificate", tmp_path / "certs")
    client._core._update_certificates()
    serials = [format(cert.serial_number, "X") for cert in client._core._certificates]
    assert serials == [emulator.merchant["platform_serial_no"]]


def test_fifty_refunds_is_the_limit_for_one_order(emulator: RunningEmulator, tmp_path: Path) -> None:
    client = sdk_client(emulator, "public_key", tmp_path)
    out_trade_no = new_out_trade_no()
    client.pay(
        description="Course",
        out_trade_no=out_trade_no,
        amount={"total": 100, "currency": "CNY"},
        notify_url="https://merchant.example/notify",
    )
    emulator.pay(out_trade_no)
    for n in range(51):
        status, answer = client.refund(
            out_refund_no=f"R{n}-{out_trade_no}",
            out_trade_no=out_trade_no,
            amount={"refund": 1, "total": 100, "currency": "CNY"},
        )
        emulator.control("POST", "/_emulator/clock", {"advance_seconds": 61})
    assert (status, json.loads(answer)["code"]) == (400, "INVALID_REQUEST")
    assert len(emulator.control("GET", "/_emulator/refunds")["refunds"]) == 50
