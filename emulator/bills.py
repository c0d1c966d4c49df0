"""Trade bills in WeChat's format: backtick-prefixed CSV, amounts in yuan, a summary at the end (reference §8)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import ROUND_HALF_UP, Decimal

from emulator import exceptions
from emulator.store import Store

CST = dt.timezone(dt.timedelta(hours=8))
FEE_RATE = Decimal("0.006")
READY_HOUR = 9  # a day's bill is generated from 09:00 the next day
KEPT_DAYS = 92  # only the last three months can be downloaded

HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
    "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,"
    "费率,订单金额,申请退款金额,费率备注"
)
SUMMARY_HEADER = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"


def yuan(fen: int | Decimal) -> str:
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def fee(fen: int) -> Decimal:
    return (Decimal(fen) * FEE_RATE).quantize(Decimal("1"), rounding=ROUND_HALF_UP)


def check_date(bill_date: str, now: float) -> dt.date:
    try:
        day = dt.date.fromisoformat(bill_date)
    except ValueError as exc:
        raise exceptions.InvalidRequest("bill_date参数格式错误，应为YYYY-MM-DD") from exc
    today = dt.datetime.fromtimestamp(now, CST)
    ready = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(READY_HOUR), CST)
    if day >= today.date():
        raise exceptions.InvalidRequest("bill_date参数错误，不能是当天或未来的日期")
    if today < ready:
        raise exceptions.StatementCreating("账单生成中，请在次日9点后再下载")
    if (today.date() - day).days > KEPT_DAYS:
        raise exceptions.InvalidRequest("只能下载三个月以内的账单")
    return day


def trade_bill(store: Store, day: dt.date, bill_type: str) -> bytes:
    """Every bill type keeps the ALL column set here; parsers read columns by header name anyway (§8)."""
    start = dt.datetime.combine(day, dt.time(0), CST).timestamp()
    end = start + 86400
    rows: list[tuple[float, list[str], dict[str, Decimal]]] = []
    if bill_type in ("ALL", "SUCCESS"):
        for order in store.all("SELECT * FROM orders WHERE success_time >= ? AND success_time < ?", start, end):
            rows.append(_payment(order))
    if bill_type in ("ALL", "REFUND"):
        for refund in store.all(
            "SELECT r.*, o.appid, o.mchid, o.description, o.attach, o.payer_openid, o.bank_type, o.success_time"
            " AS paid_at FROM refunds r JOIN orders o USING (out_trade_no)"
            " WHERE r.status = 'SUCCESS' AND r.success_time >= ? AND r.success_time < ?",
            start,
            end,
        ):
            rows.append(_refund(refund))
    if not rows:
        raise exceptions.NoStatementExist("该日期无交易，不存在账单")
    rows.sort(key=lambda item: item[0])
    totals = {key: sum((r[2][key] for r in rows), Decimal(0)) for key in ("settle", "refund", "fee", "order", "apply")}
    lines = [HEADER] + [",".join("`" + field for field in row[1]) for row in rows]
    lines.append(SUMMARY_HEADER)
    summary = [
        str(len(rows)),
        yuan(totals["settle"]),
        yuan(totals["refund"]),
        "0.00",
        str((totals["fee"] / 100).quantize(Decimal("0.00001"))),
        yuan(totals["order"]),
        yuan(totals["apply"]),
    ]
    lines.append(",".join("`" + field for field in summary))
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def _time(epoch: float) -> str:
    return dt.datetime.fromtimestamp(int(epoch), CST).strftime("%Y-%m-%d %H:%M:%S")


def _payment(order: sqlite3.Row) -> tuple[float, list[str], dict[str, Decimal]]:
    total = int(order["amount_total"])
    charge = fee(total)
    fields = [
        _time(order["success_time"]),
        order["appid"],
        order["mchid"],
        "0",
        "",
        order["transaction_id"],
        order["out_trade_no"],
        order["payer_openid"],
        "NATIVE",
        "SUCCESS",
        order["bank_type"],
        "CNY",
        yuan(total),
        "0.00",
        "0",
        "0",
        "0.00",
        "0.00",
        "",
        "",
        order["description"],
        order["attach"] or "",
        yuan(charge),
        "0.60%",
        yuan(total),
        "0.00",
        "",
    ]
    sums = {"settle": Decimal(total), "refund": Decimal(0), "fee": charge, "order": Decimal(total), "apply": Decimal(0)}
    return float(order["success_time"]), fields, sums


def _refund(refund: sqlite3.Row) -> tuple[float, list[str], dict[str, Decimal]]:
    amount = int(refund["amount_refund"])
    charge = -fee(amount)
    fields = [
        _time(refund["paid_at"]),
        refund["appid"],
        refund["mchid"],
        "0",
        "",
        refund["transaction_id"],
        refund["out_trade_no"],
        refund["payer_openid"],
        "NATIVE",
        "REFUND",
        refund["bank_type"],
        "CNY",
        "0.00",
        "0.00",
        refund["refund_id"],
        refund["out_refund_no"],
        yuan(amount),
        "0.00",
        "ORIGINAL",
        "SUCCESS",
        refund["description"],
        refund["attach"] or "",
        yuan(charge),
        "0.60%",
        "0.00",
        yuan(amount),
        "",
    ]
    sums = {
        "settle": Decimal(0),
        "refund": Decimal(amount),
        "fee": charge,
        "order": Decimal(0),
        "apply": Decimal(amount),
    }
    return float(refund["success_time"]), fields, sums
