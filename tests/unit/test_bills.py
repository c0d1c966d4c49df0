"""The trade bill as WeChat writes it (reference §8) — BOM, every field behind a backtick, amounts in yuan, a summary
at the end, columns that differ per bill type — read by column name; and our books compared with it."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from shared.domain.reconciliation import BilledPayment, BilledRefund, compare, day_bounds, previous_day
from shared.domain.refunds import Refund, RefundStatus
from shared.services.jobs.bill import ReconcileBill
from shared.wechatpay.bills import parse_bill_csv, yuan_to_fen
from shared.wechatpay.errors import GatewayError, MalformedPayload
from tests.unit.lifecycle_world import World

HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
    "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,"
    "费率,订单金额,申请退款金额,费率备注"
)
SUMMARY = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
PAYMENT = (
    "2026-01-01 12:00:00,wx1,1900000001,0,,4200000001,oPAID0001,oUser,NATIVE,SUCCESS,OTHERS,CNY,19.99,0.00,0,0,"
    "0.00,0.00,,,Pro features, 30 days,pro-monthly,0.12,0.60%,19.99,0.00,"
)
REFUND = (
    "2026-01-01 12:00:00,wx1,1900000001,0,,4200000001,oPAID0001,oUser,NATIVE,REFUND,OTHERS,CNY,0.00,0.00,503001,"
    "Rrefund0001,5.00,0.00,ORIGINAL,SUCCESS,Pro,pro-monthly,-0.03,0.60%,0.00,5.00,"
)

pytestmark = pytest.mark.usefixtures("fresh_log_context")


def bill(*rows: str, summary: str = "2,19.99,5.00,0.00,0.09000,19.99,5.00", bom: bool = True) -> bytes:
    lines = [
        HEADER,
        *(",".join("`" + f for f in row.replace(", ", "\0").split(",")).replace("\0", ", ") for row in rows),
        SUMMARY,
    ]
    lines.append(",".join("`" + f for f in summary.split(",")))
    return (("\ufeff" if bom else "") + "\r\n".join(lines) + "\r\n").encode()


def test_a_bill_is_read_by_column_name_with_backticks_bom_and_yuan_removed() -> None:
    parsed = parse_bill_csv(bill(PAYMENT, REFUND))  # the product name holds a comma: WeChat does not quote
    payment, refund = parsed.rows
    assert (payment.out_trade_no, payment.trade_state, payment.total_fen, payment.out_refund_no) == (
        "oPAID0001",
        "SUCCESS",
        1999,
        None,
    )
    assert (refund.trade_state, refund.out_refund_no, refund.refund_fen, refund.refund_status) == (
        "REFUND",
        "Rrefund0001",
        500,
        "SUCCESS",
    )
    assert (parsed.count, parsed.settlement_total_fen, parsed.refund_total_fen) == (2, 1999, 500)
    assert parse_bill_csv(bill(PAYMENT, REFUND, bom=False)) == parsed


def test_columns_in_another_order_or_missing_optional_ones_are_read_the_same() -> None:
    names, values = HEADER.split(","), PAYMENT.replace("Pro features, 30 days", "Pro").split(",")
    order = list(reversed(range(len(names))))
    keep = [i for i in order if names[i] not in ("订单金额", "申请退款金额", "费率备注")]
    text = "\r\n".join(
        [
            ",".join(names[i] for i in keep),
            ",".join("`" + values[i] for i in keep),
            SUMMARY,
            "`1,`19.99,`0.00,`0.00,`0.12000,`19.99,`0.00",
        ]
    )
    (row,) = parse_bill_csv(text.encode()).rows
    assert (row.out_trade_no, row.total_fen, row.refund_fen) == ("oPAID0001", 1999, 0)


@pytest.mark.parametrize(
    ("text", "fen"), [("19.99", 1999), ("0.01", 1), ("100", 10000), ("1,234.50", 123450), ("-0.03", -3)]
)
def test_yuan_become_fen_exactly(text: str, fen: int) -> None:
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize("text", ["", "abc", "0.001", "NaN", "1e400"])
def test_what_is_not_money_in_yuan_is_refused(text: str) -> None:
    with pytest.raises(MalformedPayload):
        yuan_to_fen(text)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        "\ufeff".encode(),
        b"\xff\xfe not utf-8",
        "交易时间,商户订单号\r\n`x,`y\r\n".encode(),  # no summary
        bill(PAYMENT.replace(",19.99,", ",19.99,extra,", 1)),  # a row longer than its header
        bill(PAYMENT.replace("19.99", "lots")),
    ],
)
def test_a_bill_that_is_not_what_wechat_writes_is_refused(data: bytes) -> None:
    with pytest.raises(MalformedPayload):
        parse_bill_csv(data)


# -- comparing --------------------------------------------------------------------------------------------------

DAY = dt.date(2026, 1, 1)


def test_bill_days_are_days_in_china_time() -> None:
    start, end = day_bounds(DAY)
    assert dt.datetime.fromtimestamp(start, dt.timezone.utc).isoformat() == "2025-12-31T16:00:00+00:00"
    assert end - start == 86400
    assert previous_day(start + 3600) == dt.date(2025, 12, 31)


def test_every_kind_of_difference_is_named() -> None:
    world = World()
    start, _ = day_bounds(DAY)
    ok, wrong_amount, ours_only = (world.paid_order() for _ in range(3))
    pending = world.pending_order()
    orders = [dataclasses.replace(world.order(o.order_id), paid_at=start + 60) for o in (ok, wrong_amount, ours_only)]
    refund = Refund("Rours", ok.order_id, 100, RefundStatus.SUCCESS, "r", "ops", start, success_at=start + 100)
    payments = [
        BilledPayment(ok.order_id, "42001", 990),
        BilledPayment(wrong_amount.order_id, "42002", 999),
        BilledPayment(pending.order_id, "42003", 990),
        BilledPayment("oTheirsOnly", "42004", 990),
    ]
    refunds = [BilledRefund("Rours", ok.order_id, 100), BilledRefund("Rtheirs", ok.order_id, 50)]
    report = compare(DAY, orders, [refund], payments, refunds, {pending.order_id: pending}, {})
    assert report["status"] == "DISCREPANCIES"
    assert [(x["kind"], x["id"]) for x in report["missing_here"]] == [("payment", "oTheirsOnly"), ("refund", "Rtheirs")]
    assert [x["id"] for x in report["missing_there"]] == [ours_only.order_id]
    assert report["amount_mismatch"] == [
        {"kind": "payment", "id": wrong_amount.order_id, "ours_fen": 990, "theirs_fen": 999}
    ]
    assert report["state_mismatch"] == [
        {"kind": "payment", "id": pending.order_id, "ours": "PENDING", "theirs": "SUCCESS"}
    ]
    assert report["totals"] == {
        "ours": {"payments": 3, "payments_fen": 2970, "refunds": 1, "refunds_fen": 100},
        "theirs": {"payments": 4, "payments_fen": 3969, "refunds": 2, "refunds_fen": 150},
    }


def test_books_that_agree_report_ok() -> None:
    world = World()
    order = world.paid_order()
    report = compare(DAY, [order], [], [BilledPayment(order.order_id, "42", 990)], [], {}, {})
    assert report["status"] == "OK" and report["totals"]["ours"] == report["totals"]["theirs"]


def test_the_bill_job_stores_its_report_and_raises_the_alert_line(capsys: pytest.CaptureFixture[str]) -> None:
    world = World()
    order = world.paid_order()
    start, _ = day_bounds(DAY)
    world.storage.update_order(order.order_id, {"paid_at": start + 60})
    world.gateway.bill_csv = bill(PAYMENT, summary="1,19.99,0.00,0.00,0.12000,19.99,0.00")
    counts = ReconcileBill(world.storage, lambda: world.gateway, world.clock)({"date": "2026-01-01"})
    assert counts == {
        "date": "2026-01-01",
        "status": "DISCREPANCIES",
        "bill_rows": 1,
        "missing_here": 1,
        "missing_there": 1,
        "amount_mismatch": 0,
        "state_mismatch": 0,
    }
    report = world.storage.get_report("reconciliation", "2026-01-01")
    assert report is not None and report["bill"]["summary_consistent"] is True
    assert '"level":"error","event":"reconcile_discrepancies"' in capsys.readouterr().out


def test_a_day_without_trades_is_an_empty_bill_and_a_bill_in_the_making_is_no_report_yet() -> None:
    world = World()
    job = ReconcileBill(world.storage, lambda: world.gateway, world.clock)
    world.gateway.fail("trade_bill", GatewayError(400, "NO_STATEMENT_EXIST", "无账单"))
    assert job({"date": "2026-01-01"})["status"] == "OK"
    world.gateway.fail("trade_bill", GatewayError(400, "STATEMENT_CREATING", "生成中"))
    assert job({"date": "2026-01-02"}) == {"date": "2026-01-02", "bill": "NOT_READY"}
    assert world.storage.get_report("reconciliation", "2026-01-02") is None
    world.gateway.fail("trade_bill", GatewayError(400, "NO_STATEMENT_EXIST", "无账单"))
    assert job({})["date"] == "2025-12-31", "by default yesterday, in China time"
