"""SdkPayGateway: the real wechatpayv3 SDK driven against a scripted WeChat host inside `requests` (no network)."""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import Encoding

from shared.wechatpay._sdk_transport import TRANSPORT
from shared.wechatpay.errors import BillHashMismatch, GatewayError, GatewayUnknown, SignatureError, UnknownSerial
from shared.wechatpay.gateway import PayGateway, TradeBill
from shared.wechatpay.sdk_gateway import GatewayConfig, SdkPayGateway, format_time_expire
from tests.fixtures import keys
from tests.unit.fake_wechat_http import BASE_URL, FakeWeChatHost, Reply
from tests.unit.wechat_double import PAID_TRANSACTION, certificates_data

pytestmark = pytest.mark.sdk

CST = timezone(timedelta(hours=8))
EXPIRE = datetime(2026, 1, 1, 0, 30, tzinfo=timezone.utc)
NOTIFY_URL = "https://merchant.example/v1/notify/wechatpay"
REFUND_ANSWER = {
    "refund_id": "50000000382019052709732678859",
    "out_refund_no": "rfd_0001_TESTONLY",
    "transaction_id": "4200001863202305068344507881",
    "out_trade_no": "ord_0001_TESTONLY",
    "status": "PROCESSING",
    "create_time": "2026-01-01T08:00:00+08:00",
    "amount": {"total": 990, "refund": 990, "currency": "CNY"},
}


@pytest.fixture
def host() -> Iterator[FakeWeChatHost]:
    fake = FakeWeChatHost()
    TRANSPORT.mount(BASE_URL + "/", fake)
    yield fake
    TRANSPORT.unmount(BASE_URL + "/")


def _config(**overrides: Any) -> GatewayConfig:
    settings: dict[str, Any] = {
        "mchid": keys.MCHID,
        "appid": keys.APPID,
        "private_key_pem": keys.text("merchant_private_key.pem"),
        "merchant_serial_no": keys.MERCHANT_SERIAL_NO,
        "apiv3_key": keys.apiv3_key(),
        "notify_url": NOTIFY_URL,
        "base_url": BASE_URL,
        "public_key_pem": keys.text("wechatpay_public_key.pem"),
        "public_key_id": keys.PUBLIC_KEY_ID,
    }
    return GatewayConfig(**(settings | overrides))


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def gateway(host: FakeWeChatHost, sleeps: list[float]) -> SdkPayGateway:
    return SdkPayGateway(_config(), sleep=sleeps.append)


def _order(gateway: PayGateway) -> str:
    return gateway.create_native_order(
        out_trade_no="ord_0001_TESTONLY",
        description="课程 A",
        amount_total=990,
        time_expire=EXPIRE,
        notify_url=NOTIFY_URL,
        attach="course-42",
    )


def _assert_signed_by_merchant(request: requests.PreparedRequest) -> None:
    authorization = request.headers["Authorization"]
    assert authorization.startswith("WECHATPAY2-SHA256-RSA2048 ")
    params = dict(re.findall(r'(\w+)="([^"]*)"', authorization))
    assert (params["mchid"], params["serial_no"]) == (keys.MCHID, keys.MERCHANT_SERIAL_NO)
    body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
    message = f"{request.method}\n{request.path_url}\n{params['timestamp']}\n{params['nonce_str']}\n".encode()
    public_key = keys.private_key("merchant").public_key()
    signature = base64.b64decode(params["signature"])
    public_key.verify(signature, message + body + b"\n", padding.PKCS1v15(), hashes.SHA256())


def test_public_key_mode_constructs_without_any_request(host: FakeWeChatHost, gateway: SdkPayGateway) -> None:
    assert host.requests == []


def test_a_native_order_goes_to_the_configured_base_url_signed_and_returns_its_code_url(
    host: FakeWeChatHost, gateway: SdkPayGateway
) -> None:
    host.script = [Reply(body={"code_url": "weixin://wxpay/bizpayurl?pr=TESTONLY"})]
    assert _order(gateway) == "weixin://wxpay/bizpayurl?pr=TESTONLY"
    request = host.requests[0]
    assert request.url == BASE_URL + "/v3/pay/transactions/native"
    assert request.headers["Wechatpay-Serial"] == keys.PUBLIC_KEY_ID
    _assert_signed_by_merchant(request)
    sent = json.loads(request.body or b"")
    assert sent["amount"] == {"total": 990, "currency": "CNY"}
    assert sent["time_expire"] == "2026-01-01T08:30:00+08:00"
    assert (sent["appid"], sent["mchid"], sent["notify_url"]) == (keys.APPID, keys.MCHID, NOTIFY_URL)
    assert host.timeouts == [(3.0, 10.0)]


def test_a_refusal_becomes_a_gateway_error_with_wechat_code_message_and_request_id(
    host: FakeWeChatHost, gateway: SdkPayGateway
) -> None:
    host.script = [Reply(400, {"code": "PARAM_ERROR", "message": "参数错误"}, key=None, request_id="REQ-1")]
    with pytest.raises(GatewayError) as caught:
        _order(gateway)
    assert (caught.value.status, caught.value.code, caught.value.message) == (400, "PARAM_ERROR", "参数错误")
    assert caught.value.request_id == "REQ-1"
    assert len(host.requests) == 1


def test_server_errors_are_retried_with_backoff_and_the_same_order_number(
    host: FakeWeChatHost, gateway: SdkPayGateway, sleeps: list[float]
) -> None:
    error = {"code": "SYSTEM_ERROR", "message": "系统错误"}
    host.script = [Reply(500, error, key=None), Reply(503, b"", key=None), Reply(body={"code_url": "weixin://x"})]
    assert _order(gateway) == "weixin://x"
    assert sleeps == [0.2, 0.4]
    assert len({request.body for request in host.requests}) == 1


def test_rate_limiting_until_attempts_run_out_is_an_unknown_outcome_keeping_the_last_error(
    host: FakeWeChatHost, gateway: SdkPayGateway
) -> None:
    host.script = [Reply(429, {"code": "FREQUENCY_LIMITED", "message": "频率超限"}, key=None)] * 3
    with pytest.raises(GatewayUnknown) as caught:
        gateway.query_by_out_trade_no("ord_0001_TESTONLY")
    assert isinstance(caught.value.__cause__, GatewayError)
    assert caught.value.__cause__.code == "FREQUENCY_LIMITED"
    assert len(host.requests) == 3


def test_connection_failures_and_timeouts_are_retried(host: FakeWeChatHost, gateway: SdkPayGateway) -> None:
    host.script = [requests.ConnectionError("reset"), requests.ReadTimeout("slow"), Reply(status=204, key="wechatpay")]
    gateway.close("ord_0001_TESTONLY")
    assert host.paths() == ["/v3/pay/transactions/out-trade-no/ord_0001_TESTONLY/close"] * 3


def test_timeouts_on_every_attempt_are_an_unknown_outcome(host: FakeWeChatHost, gateway: SdkPayGateway) -> None:
    host.script = [requests.ReadTimeout("slow")] * 3
    with pytest.raises(GatewayUnknown) as caught:
        _order(gateway)
    assert isinstance(caught.value.__cause__, requests.ReadTimeout)


@pytest.mark.parametrize(
    "reply",
    [
        Reply(body={"code_url": "weixin://x"}, key="platform"),
        Reply(body={"code_url": "weixin://x"}, key=None),
        Reply(body={"code_url": "weixin://x"}, headers={"Wechatpay-Signature-Type": ""}),
    ],
    ids=["wrong key", "unsigned", "no signature type"],
)
def test_an_unverifiable_success_is_an_unknown_outcome_and_not_retried(
    host: FakeWeChatHost, gateway: SdkPayGateway, reply: Reply
) -> None:
    host.script = [reply]
    with pytest.raises(GatewayUnknown, match="not verified"):
        _order(gateway)
    assert len(host.requests) == 1


def test_a_verified_success_without_code_url_is_an_unknown_outcome(
    host: FakeWeChatHost, gateway: SdkPayGateway
) -> None:
    host.script = [Reply(body={"prepay_id": "x"})]
    with pytest.raises(GatewayUnknown, match="code_url"):
        _order(gateway)


def test_a_query_by_order_number_returns_the_typed_transaction(host: FakeWeChatHost, gateway: SdkPayGateway) -> None:
    host.script = [Reply(body=PAID_TRANSACTION)]
    transaction = gateway.query_by_out_trade_no("ord_0001_TESTONLY")
    assert (transaction.trade_state, transaction.amount_total) == ("SUCCESS", 990)
    assert host.paths() == [f"/v3/pay/transactions/out-trade-no/ord_0001_TESTONLY?mchid={keys.MCHID}"]
    _assert_signed_by_merchant(host.requests[0])


def test_a_query_by_transaction_id_uses_the_id_path(host: FakeWeChatHost, gateway: SdkPayGateway) -> None:
    host.script = [Reply(body=PAID_TRANSACTION)]
    assert gateway.query_by_transaction_id("4200001863202305068344507881").transaction_id is not None
    assert host.paths() == [f"/v3/pay/transactions/id/4200001863202305068344507881?mchid={keys.MCHID}"]


def test_an_unknown_order_is_a_gateway_error_with_the_not_found_code(
    host: FakeWeChatHost, gateway: SdkPayGateway
) -> None:
    host.script = [Reply(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}, key=None)]
    with pytest.raises(GatewayError, match="ORDER_NOT_EXIST"):
        gateway.query_by_out_trade_no("ord_0404_TESTONLY")


def test_a_refund_sends_amounts_in_cny_and_returns_the_typed_refund(
    host: FakeWeChatHost, gateway: SdkPayGateway
) -> None:
    host.script = [Reply(body=REFUND_ANSWER)]
    refund = gateway.refund(
        out_refund_no="rfd_0001_TESTONLY", amount_refund=990, amount_total=990, out_trade_no="ord_0001_TESTONLY"
    )
    assert (refund.status, refund.amount_refund) == ("PROCESSING", 990)
    sent = json.loads(host.requests[0].body or b"")
    assert sent["amount"] == {"refund": 990, "total": 990, "currency": "CNY"}
    assert (sent["out_trade_no"], sent["out_refund_no"]) == ("ord_0001_TESTONLY", "rfd_0001_TESTONLY")


def test_a_refund_query_returns_the_typed_refund(host: FakeWeChatHost, gateway: SdkPayGateway) -> None:
    host.script = [Reply(body=REFUND_ANSWER | {"status": "SUCCESS"})]
    assert gateway.query_refund("rfd_0001_TESTONLY").status == "SUCCESS"
    assert host.paths() == ["/v3/refund/domestic/refunds/rfd_0001_TESTONLY"]


CSV = "交易时间,商户订单号\n`2026-01-01 08:00:00,`ord_0001_TESTONLY\n".encode()
CSV_SHA1 = "45eff000d0a8342db51e3b8424bfb9ca2ecb798e"


def test_a_trade_bill_is_applied_for_downloaded_from_the_base_url_and_gunzipped(
    host: FakeWeChatHost, gateway: SdkPayGateway
) -> None:
    download_url = "https://api.mch.weixin.qq.com/v3/billdownload/file?token=T0K3N"
    answer = {"hash_type": "SHA1", "hash_value": CSV_SHA1, "download_url": download_url}
    host.script = [
        Reply(body=answer),
        Reply(body=gzip.compress(CSV), key=None, content_type="application/octet-stream"),
    ]
    bill = gateway.trade_bill(date(2025, 12, 31))
    assert bill == TradeBill("SHA1", CSV_SHA1, download_url)
    assert gateway.download_bill(bill) == CSV
    assert host.paths() == [
        "/v3/bill/tradebill?bill_date=2025-12-31&bill_type=ALL&tar_type=GZIP",
        "/v3/billdownload/file?token=T0K3N",
    ]
    assert host.requests[1].url == BASE_URL + "/v3/billdownload/file?token=T0K3N"


def test_a_downloaded_bill_that_does_not_match_its_hash_is_refused(
    host: FakeWeChatHost, gateway: SdkPayGateway
) -> None:
    host.script = [Reply(body=gzip.compress(CSV + b"forged\n"), key=None, content_type="application/octet-stream")]
    with pytest.raises(BillHashMismatch):
        gateway.download_bill(TradeBill("SHA1", CSV_SHA1, BASE_URL + "/v3/billdownload/file?token=T"))


@pytest.mark.parametrize(
    "call",
    [
        lambda g: g.query_by_out_trade_no("ord|0001"),
        lambda g: g.close("short"),
        lambda g: g.query_by_transaction_id("42000018632023050683445078x"),
        lambda g: g.refund(out_refund_no="r1", amount_refund=1, amount_total=1),
        lambda g: g.refund(out_refund_no="r1", amount_refund=1, amount_total=1, out_trade_no="o1", transaction_id="1"),
        lambda g: g.refund(out_refund_no="r1", amount_refund=1, amount_total=1, out_trade_no="ord|0001"),
        lambda g: g.refund(out_refund_no="r1", amount_refund=2, amount_total=1, out_trade_no="ord_0001"),
        lambda g: g.trade_bill(date(2026, 1, 1), "EVERYTHING"),
        lambda g: g.create_native_order(
            out_trade_no="ord_0001", description="A", amount_total=1, time_expire=datetime(2026, 1, 1), notify_url="x"
        ),
        lambda g: g.create_native_order(
            out_trade_no="ord_0001", description="A", amount_total=0, time_expire=EXPIRE, notify_url="x"
        ),
    ],
    ids=[
        "pipe in id",
        "short id",
        "non-digit transaction id",
        "no order id",
        "both order ids",
        "pipe in refunded order id",
        "over-refund",
        "bill type",
        "naive expiry",
        "zero amount",
    ],
)
def test_invalid_arguments_are_refused_before_any_request(
    host: FakeWeChatHost, gateway: SdkPayGateway, call: Any
) -> None:
    with pytest.raises(ValueError):
        call(gateway)
    assert host.requests == []


def test_time_expire_is_written_in_china_standard_time() -> None:
    assert (
        format_time_expire(datetime(2026, 1, 1, 16, 0, 0, 123456, tzinfo=timezone.utc)) == "2026-01-02T00:00:00+08:00"
    )
    assert format_time_expire(datetime(2026, 1, 1, 8, 0, tzinfo=CST)) == "2026-01-01T08:00:00+08:00"


def test_the_config_repr_never_shows_secrets() -> None:
    text = repr(_config())
    assert keys.apiv3_key() not in text
    assert "PRIVATE KEY" not in text
    assert "PUBLIC KEY" not in text
    assert keys.MCHID in text


@pytest.mark.parametrize(
    "overrides",
    [
        {"public_key_id": None},
        {"public_key_id": "0001"},
        {"apiv3_key": "short"},
        {"base_url": "http://wechatpay.test/"},
        {"max_attempts": 0},
    ],
)
def test_an_inconsistent_config_is_refused_at_start_up(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        _config(**overrides)


def _certificates_reply(*stems_serials: tuple[str, str], key: str = "platform") -> Reply:
    return Reply(body=certificates_data(*stems_serials), key=key, serial=keys.PLATFORM_SERIAL)


def _certificate_mode(tmp_path: Path) -> GatewayConfig:
    return _config(public_key_pem=None, public_key_id=None, cert_dir=str(tmp_path / "certs"))


def test_certificate_mode_seeds_the_sdk_from_the_base_url_and_verifies_answers_with_those_certificates(
    host: FakeWeChatHost, tmp_path: Path
) -> None:
    host.script = [
        _certificates_reply(("platform", keys.PLATFORM_SERIAL), ("platform_expired", keys.EXPIRED_SERIAL)),
        Reply(body=PAID_TRANSACTION, key="platform", serial=keys.PLATFORM_SERIAL),
    ]
    gateway = SdkPayGateway(_certificate_mode(tmp_path), sleep=lambda _: None)
    assert host.paths() == ["/v3/certificates"]
    _assert_signed_by_merchant(host.requests[0])
    assert sorted(p.name for p in (tmp_path / "certs").iterdir()) == [f"{keys.PLATFORM_SERIAL}.pem"]
    assert gateway.query_by_out_trade_no("ord_0001_TESTONLY").trade_state == "SUCCESS"


def test_certificate_mode_refuses_a_certificate_list_signed_by_none_of_its_certificates(
    host: FakeWeChatHost, tmp_path: Path
) -> None:
    host.script = [_certificates_reply(("platform", keys.PLATFORM_SERIAL), key="platform2")]
    with pytest.raises(SignatureError, match="Wechatpay-Signature"):
        SdkPayGateway(_certificate_mode(tmp_path), sleep=lambda _: None)
    assert not (tmp_path / "certs").exists()


def test_certificate_mode_falls_back_to_cached_certificates_when_the_host_is_unreachable(
    host: FakeWeChatHost, tmp_path: Path
) -> None:
    cert_dir = tmp_path / "certs"
    cert_dir.mkdir()
    (cert_dir / f"{keys.PLATFORM_SERIAL}.pem").write_bytes(keys.certificate("platform").public_bytes(Encoding.PEM))
    host.script = [requests.ConnectionError("down")] * 3
    gateway = SdkPayGateway(_certificate_mode(tmp_path), sleep=lambda _: None)
    host.script = [Reply(status=204, key="platform", serial=keys.PLATFORM_SERIAL)]
    gateway.close("ord_0001_TESTONLY")
    assert len(host.requests) == 4


def test_certificate_mode_without_cache_or_host_fails_at_start_up(host: FakeWeChatHost, tmp_path: Path) -> None:
    host.script = [requests.ConnectionError("down")] * 3
    with pytest.raises(GatewayUnknown):
        SdkPayGateway(_certificate_mode(tmp_path), sleep=lambda _: None)


def test_certificate_mode_refuses_a_list_of_only_expired_certificates(host: FakeWeChatHost, tmp_path: Path) -> None:
    host.script = [_certificates_reply(("platform_expired", keys.EXPIRED_SERIAL), key="platform2")]
    with pytest.raises(UnknownSerial):
        SdkPayGateway(_certificate_mode(tmp_path), sleep=lambda _: None)
