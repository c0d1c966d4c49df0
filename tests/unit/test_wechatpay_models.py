"""Typed query and refund answers (reference §4, §7), and bills (reference §8)."""

from __future__ import annotations

import gzip
from datetime import datetime, timezone
from typing import Any

import pytest

from shared.wechatpay.bills import parse_trade_bill, unpack_bill
from shared.wechatpay.errors import BillHashMismatch, MalformedPayload
from shared.wechatpay.gateway import TradeBill
from shared.wechatpay.models import parse_refund, parse_transaction
from tests.fixtures import keys
from tests.unit.wechat_double import REFUND_RESOURCE

UNPAID_QUERY_ANSWER: dict[str, Any] = {
    "amount": {"payer_currency": "CNY", "total": 1},
    "appid": keys.APPID,
    "mchid": keys.MCHID,
    "out_trade_no": "ord_0002_TESTONLY",
    "promotion_detail": [],
    "scene_info": {"device_id": ""},
    "trade_state": "NOTPAY",
    "trade_state_desc": "订单未支付",
}

REFUND_ANSWER: dict[str, Any] = {
    "refund_id": "50000000382019052709732678859",
    "out_refund_no": "rfd_0001_TESTONLY",
    "transaction_id": "4200001863202305068344507881",
    "out_trade_no": "ord_0001_TESTONLY",
    "channel": "ORIGINAL",
    "user_received_account": "支付用户零钱",
    "success_time": "",
    "create_time": "2026-01-01T08:00:00+08:00",
    "status": "PROCESSING",
    "funds_account": "AVAILABLE",
    "amount": {"total": 990, "refund": 500, "payer_total": 990, "payer_refund": 500, "currency": "CNY"},
}


def test_an_unpaid_order_query_answer_parses_with_the_paid_only_fields_absent() -> None:
    transaction = parse_transaction(UNPAID_QUERY_ANSWER)
    assert (transaction.trade_state, transaction.amount_total) == ("NOTPAY", 1)
    assert transaction.transaction_id is None
    assert transaction.payer_openid is None
    assert transaction.success_time is None
    assert transaction.payer_currency == "CNY"


def test_a_utc_success_time_written_with_z_is_read() -> None:
    answer = UNPAID_QUERY_ANSWER | {"trade_state": "SUCCESS", "success_time": "2026-01-01T00:00:00Z"}
    assert parse_transaction(answer).success_time == datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_a_success_time_without_offset_is_malformed() -> None:
    with pytest.raises(MalformedPayload, match="success_time"):
        parse_transaction(UNPAID_QUERY_ANSWER | {"success_time": "2026-01-01T00:00:00"})


def test_a_refund_answer_reads_its_state_from_status() -> None:
    refund = parse_refund(REFUND_ANSWER)
    assert (refund.status, refund.amount_refund, refund.amount_total) == ("PROCESSING", 500, 990)
    assert refund.success_time is None
    assert refund.create_time is not None
    assert refund.channel == "ORIGINAL"


def test_a_refund_notification_resource_is_not_a_refund_answer() -> None:
    with pytest.raises(MalformedPayload, match="status"):
        parse_refund(REFUND_RESOURCE)


@pytest.mark.parametrize("answer", [None, [], "x", {"appid": keys.APPID}])
def test_a_query_answer_of_the_wrong_shape_is_malformed(answer: Any) -> None:
    with pytest.raises(MalformedPayload):
        parse_transaction(answer)


CSV = "交易时间,公众账号ID,商户号\n`2026-01-01 08:00:00,`wx1,`1900000001\n".encode()
SHA1 = "f18327db4def755c155f75243c723648afdc802f"  # sha1sum of CSV, computed once


def _bill(hash_value: str = SHA1) -> TradeBill:
    return TradeBill("SHA1", hash_value, "https://api.mch.weixin.qq.com/v3/billdownload/file?token=T")


def test_a_gzip_bill_is_uncompressed_and_checked_against_the_hash_of_the_uncompressed_bytes() -> None:
    assert unpack_bill(_bill(), gzip.compress(CSV)) == CSV


def test_an_uncompressed_bill_is_checked_as_is() -> None:
    assert unpack_bill(_bill(SHA1.upper()), CSV) == CSV


def test_a_bill_whose_hash_differs_is_refused() -> None:
    with pytest.raises(BillHashMismatch):
        unpack_bill(_bill(), gzip.compress(CSV + b"extra row\n"))


def test_a_truncated_gzip_bill_is_refused() -> None:
    with pytest.raises(BillHashMismatch):
        unpack_bill(_bill(), gzip.compress(CSV)[:-10])


def test_a_trade_bill_answer_parses() -> None:
    answer = {"hash_type": "SHA1", "hash_value": SHA1, "download_url": "https://x/v3/billdownload/file?token=T"}
    assert parse_trade_bill(answer) == TradeBill("SHA1", SHA1, "https://x/v3/billdownload/file?token=T")


def test_a_trade_bill_with_another_hash_type_is_refused() -> None:
    with pytest.raises(MalformedPayload, match="hash_type"):
        parse_trade_bill({"hash_type": "MD5", "hash_value": "x", "download_url": "https://x/"})
