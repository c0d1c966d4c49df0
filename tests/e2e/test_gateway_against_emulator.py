"""Our PayGateway adapter (over wechatpayv3) against the emulator over real HTTP: every operation in both key modes,
typed errors with WeChat's status, code and Request-ID, retries that reuse the same ids, and "unknown" outcomes."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import wechatpayv3.core

from shared.wechatpay.errors import GatewayError, GatewayUnknown
from shared.wechatpay.sdk_gateway import GatewayConfig, SdkPayGateway
from tests.support.emulator import RunningEmulator, wait_for
from tests.support.sdk import sdk_client

CST = dt.timezone(dt.timedelta(hours=8))
NOTIFY = "https://merchant.example/v1/notify/wechatpay"


def config(emulator: RunningEmulator, mode: str, cert_dir: Path, **overrides: Any) -> GatewayConfig:
    m = emulator.merchant
    keys: dict[str, Any] = (
        {"public_key_pem": m["wechatpay_public_key"], "public_key_id": m["wechatpay_public_key_id"]}
        if mode == "public_key"
        else {"cert_dir": str(cert_dir)}
    )
    settings: dict[str, Any] = dict(
        mchid=m["mchid"],
        appid=m["appid"],
        private_key_pem=m["merchant_private_key"],
        merchant_serial_no=m["merchant_serial_no"],
        apiv3_key=m["apiv3_key"],
        notify_url=NOTIFY,
        base_url=emulator.base_url,
        timeout=(2.0, 2.0),
        backoff_seconds=0.0,
        **keys,
    )
    settings.update(overrides)
    return GatewayConfig(**settings)


@pytest.fixture(params=["public_key", "certificate"])
def gateway(request: pytest.FixtureRequest, emulator: RunningEmulator, tmp_path: Path) -> Iterator[SdkPayGateway]:
    emulator.control("POST", "/_emulator/config", {"signing_mode": request.param})
    yield SdkPayGateway(config(emulator, request.param, tmp_path / "certs"), sleep=lambda _: None)


def new_id(prefix: str = "G") -> str:
    return prefix + uuid.uuid4().hex[:20]


def expires() -> dt.datetime:
    return dt.datetime.now(CST) + dt.timedelta(minutes=10)


def order(gateway: SdkPayGateway, total: int = 500) -> tuple[str, str]:
    out_trade_no = new_id()
    code_url = gateway.create_native_order(
        out_trade_no=out_trade_no, description="Course", amount_total=total, time_expire=expires(), notify_url=NOTIFY
    )
    return out_trade_no, code_url


def requests_for(emulator: RunningEmulator, endpoint: str) -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = emulator.control("GET", "/_emulator/requests")["requests"]
    return [r for r in log if r["endpoint"] == endpoint]


def test_the_gateway_runs_the_whole_order_lifecycle(gateway: SdkPayGateway, emulator: RunningEmulator) -> None:
    out_trade_no, code_url = order(gateway, 1990)
    assert code_url.startswith("weixin://wxpay/bizpayurl?pr=")
    assert gateway.query_by_out_trade_no(out_trade_no).trade_state == "NOTPAY"
    transaction_id = emulator.pay(out_trade_no)["transaction"]["transaction_id"]
    paid = gateway.query_by_transaction_id(transaction_id)
    assert (paid.trade_state, paid.out_trade_no, paid.amount_total) == ("SUCCESS", out_trade_no, 1990)

    refund = gateway.refund(out_refund_no=new_id("R"), amount_refund=990, amount_total=1990, out_trade_no=out_trade_no)
    assert refund.status == "PROCESSING" and refund.amount_refund == 990
    assert wait_for(lambda: gateway.query_refund(refund.out_refund_no).status == "SUCCESS")

    unpaid, _ = order(gateway)
    gateway.close(unpaid)
    assert gateway.query_by_out_trade_no(unpaid).trade_state == "CLOSED"


def test_the_gateway_downloads_a_bill_and_checks_its_sha1(gateway: SdkPayGateway, emulator: RunningEmulator) -> None:
    out_trade_no, _ = order(gateway, 4321)
    emulator.pay(out_trade_no)
    day = dt.datetime.now(CST).date()
    emulator.control("POST", "/_emulator/clock", {"advance_seconds": 2 * 86400})
    bill = gateway.trade_bill(day)
    content = gateway.download_bill(bill)
    assert bill.hash_type == "SHA1"
    text = content.decode("utf-8-sig")
    assert f"`{out_trade_no}" in text and "`43.21" in text and text.startswith("交易时间,")


def test_wechat_refusals_are_typed_errors_with_status_code_and_request_id(gateway: SdkPayGateway) -> None:
    with pytest.raises(GatewayError) as missing:
        gateway.query_by_out_trade_no(new_id())
    assert (missing.value.status, missing.value.code) == (404, "ORDER_NOT_EXIST")
    assert missing.value.request_id and missing.value.request_id.endswith("-268512771")

    paid_total = 100
    out_trade_no, _ = order(gateway, paid_total)
    with pytest.raises(GatewayError) as unpaid_refund:
        gateway.refund(out_refund_no=new_id("R"), amount_refund=1, amount_total=paid_total, out_trade_no=out_trade_no)
    assert (unpaid_refund.value.status, unpaid_refund.value.code) == (404, "RESOURCE_NOT_EXISTS")


def test_server_errors_are_retried_with_the_same_out_trade_no(
    gateway: SdkPayGateway, emulator: RunningEmulator
) -> None:
    emulator.fault("create", status=500, count=2)
    out_trade_no, code_url = order(gateway)
    creates = requests_for(emulator, "create")
    assert [r["status"] for r in creates] == [500, 500, 200]
    assert all(out_trade_no in r["body"] for r in creates) and code_url


def test_a_refund_retried_after_a_timeout_is_not_refunded_twice(
    gateway: SdkPayGateway, emulator: RunningEmulator
) -> None:
    out_trade_no, _ = order(gateway, 800)
    emulator.pay(out_trade_no)
    emulator.fault("refund", "timeout", delay=2.5)  # carried out, but the answer never arrives in time
    out_refund_no = new_id("R")
    refund = gateway.refund(out_refund_no=out_refund_no, amount_refund=800, amount_total=800, out_trade_no=out_trade_no)
    assert refund.out_refund_no == out_refund_no
    refunds = emulator.control("GET", "/_emulator/refunds")["refunds"]
    assert [r["out_refund_no"] for r in refunds] == [out_refund_no]


def test_rate_limiting_on_every_attempt_is_an_unknown_outcome(
    gateway: SdkPayGateway, emulator: RunningEmulator
) -> None:
    emulator.fault("query", status=429, count=3)
    with pytest.raises(GatewayUnknown):
        gateway.query_by_out_trade_no(new_id())
    assert len(requests_for(emulator, "query")) == 3, "bounded: max_attempts, no more"


def test_an_answer_that_does_not_verify_is_an_unknown_outcome_not_a_failure(
    gateway: SdkPayGateway, emulator: RunningEmulator
) -> None:
    emulator.fault("create", "bad_signature")
    out_trade_no = new_id()
    with pytest.raises(GatewayUnknown):
        gateway.create_native_order(
            out_trade_no=out_trade_no, description="Course", amount_total=100, time_expire=expires(), notify_url=NOTIFY
        )
    assert gateway.query_by_out_trade_no(out_trade_no).trade_state == "NOTPAY", "WeChat did create it: query first"


def test_certificate_mode_construction_talks_only_to_the_configured_base_url(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    emulator.control("POST", "/_emulator/config", {"signing_mode": "certificate"})
    SdkPayGateway(config(emulator, "certificate", tmp_path / "certs"))
    assert [r["target"] for r in emulator.control("GET", "/_emulator/requests")["requests"]] == ["/v3/certificates"]
    assert (tmp_path / "certs" / f"{emulator.merchant['platform_serial_no']}.pem").exists()


def test_the_sdk_internals_the_adapter_relies_on_are_still_there(emulator: RunningEmulator) -> None:
    """If a wechatpayv3 upgrade moves its hard-coded host or its HTTP calls, this fails before production does."""
    client = sdk_client(emulator.merchant, None)
    assert client._core._gate_way == "https://api.mch.weixin.qq.com"
    assert hasattr(wechatpayv3.core, "requests")
    assert wechatpayv3.__version__ == "2.0.4", "re-check reference §11 before upgrading the SDK"
