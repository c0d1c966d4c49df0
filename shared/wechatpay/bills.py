"""Trade bills (reference §8): the apply answer, the downloaded file checked against its hash, and the CSV read
into rows by column name."""

from __future__ import annotations

import csv
import gzip
import hashlib
import re
import zlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shared.wechatpay._fields import as_object, req_str
from shared.wechatpay.constants import BILL_HASH_TYPE_SHA1
from shared.wechatpay.errors import BillHashMismatch, MalformedPayload
from shared.wechatpay.gateway import TradeBill

GZIP_MAGIC = b"\x1f\x8b"


def parse_trade_bill(obj: Any) -> TradeBill:
    """A TradeBill from the decoded `/v3/bill/tradebill` answer; raises MalformedPayload."""
    obj = as_object(obj, "trade bill")
    bill = TradeBill(req_str(obj, "hash_type"), req_str(obj, "hash_value"), req_str(obj, "download_url"))
    if bill.hash_type.upper() != BILL_HASH_TYPE_SHA1:
        raise MalformedPayload(f"unsupported bill hash_type {bill.hash_type!r}")
    return bill


def unpack_bill(bill: TradeBill, data: bytes) -> bytes:
    """Gunzip `data` if it is gzip, then check the SHA1 of the uncompressed bytes (WeChat hashes those)."""
    if data.startswith(GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise BillHashMismatch("bill is not valid gzip") from exc
    digest = hashlib.sha1(data, usedforsecurity=False).hexdigest()
    if digest != bill.hash_value.lower():
        raise BillHashMismatch(f"bill SHA1 {digest} differs from announced {bill.hash_value}")
    return data


# Column names of the trade bill (reference §8). Column sets differ per bill_type: read by name, never by position.
COL_TRADE_TIME = "交易时间"
COL_TRANSACTION_ID = "微信订单号"
COL_OUT_TRADE_NO = "商户订单号"
COL_TRADE_STATE = "交易状态"
COL_SETTLEMENT_TOTAL = "应结订单金额"
COL_ORDER_TOTAL = "订单金额"
COL_REFUND_ID = "微信退款单号"
COL_OUT_REFUND_NO = "商户退款单号"
COL_REFUND = "退款金额"
COL_REFUND_APPLIED = "申请退款金额"
COL_REFUND_STATUS = "退款状态"
SUMMARY_FIRST_COLUMN = "总交易单数"
SUM_COUNT, SUM_SETTLEMENT, SUM_REFUND, SUM_ORDER = "总交易单数", "应结订单总金额", "退款总金额", "订单总金额"
_NONE = ("", "0")  # how a payment row fills the refund columns
_YUAN = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,2})?")


@dataclass(frozen=True)
class BillRow:
    """One detail row: a payment (trade_state SUCCESS) or a refund (REFUND), amounts in fen."""

    trade_time: str
    transaction_id: str
    out_trade_no: str
    trade_state: str
    total_fen: int
    out_refund_no: str | None
    refund_id: str | None
    refund_fen: int
    refund_status: str | None


@dataclass(frozen=True)
class BillFile:
    """A parsed trade bill: its detail rows and its summary row (count and totals in fen)."""

    rows: tuple[BillRow, ...]
    count: int
    settlement_total_fen: int
    refund_total_fen: int
    order_total_fen: int | None


def parse_bill_csv(data: bytes) -> BillFile:
    """Parse a trade bill's uncompressed CSV: optional BOM, every field prefixed with a backtick, amounts in yuan,
    a summary header and row at the end. Raises MalformedPayload for anything else."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedPayload("the bill is not UTF-8") from exc
    records = [_fields(line) for line in text.splitlines() if line.strip()]
    if not records:
        raise MalformedPayload("the bill is empty")
    header, body = records[0], records[1:]
    split = next((i for i, record in enumerate(body) if record[0] == SUMMARY_FIRST_COLUMN), None)
    if split is None or split + 1 >= len(body):
        raise MalformedPayload("the bill has no summary rows")
    rows = tuple(_row(_named(header, record)) for record in body[:split])
    summary = _named(body[split], body[split + 1])
    return BillFile(
        rows=rows,
        count=_count(summary, SUM_COUNT),
        settlement_total_fen=yuan_to_fen(_required(summary, SUM_SETTLEMENT)),
        refund_total_fen=yuan_to_fen(_required(summary, SUM_REFUND)),
        order_total_fen=yuan_to_fen(summary[SUM_ORDER]) if summary.get(SUM_ORDER) else None,
    )


def _fields(line: str) -> list[str]:
    """A record's fields. WeChat neither quotes nor escapes: a product name may hold a comma. Every field of a data
    row starts with a backtick, so those rows split on ",`"; header rows (no backticks) on commas."""
    line = line.strip()
    if line.startswith("`"):
        return [field.strip() for field in line[1:].split(",`")]
    return [field.strip().removeprefix("`").strip() for field in next(csv.reader([line]))]


def yuan_to_fen(text: str) -> int:
    """ "19.99" -> 1999, exactly (no float on the way): at most two decimals, as WeChat writes money."""
    plain = text.replace(",", "")
    if not _YUAN.fullmatch(plain):
        raise MalformedPayload(f"not an amount in yuan: {text!r}")
    return int(Decimal(plain) * 100)


def _named(header: list[str], record: list[str]) -> dict[str, str]:
    if len(record) != len(header):
        raise MalformedPayload(f"a bill row has {len(record)} fields, its header {len(header)}")
    return dict(zip(header, record, strict=True))


def _required(fields: dict[str, str], name: str) -> str:
    value = fields.get(name)
    if value is None:
        raise MalformedPayload(f"the bill has no column {name}")
    return value


def _optional(fields: dict[str, str], name: str) -> str | None:
    value = fields.get(name, "")
    return None if value in _NONE else value


def _count(fields: dict[str, str], name: str) -> int:
    value = _required(fields, name)
    if not value.isdigit():
        raise MalformedPayload(f"{name} is not a count: {value!r}")
    return int(value)


def _row(fields: dict[str, str]) -> BillRow:
    total = fields.get(COL_ORDER_TOTAL) or _required(fields, COL_SETTLEMENT_TOTAL)
    refund = fields.get(COL_REFUND_APPLIED) or fields.get(COL_REFUND) or "0"
    return BillRow(
        trade_time=fields.get(COL_TRADE_TIME, ""),
        transaction_id=_required(fields, COL_TRANSACTION_ID),
        out_trade_no=_required(fields, COL_OUT_TRADE_NO),
        trade_state=_required(fields, COL_TRADE_STATE),
        total_fen=yuan_to_fen(total),
        out_refund_no=_optional(fields, COL_OUT_REFUND_NO),
        refund_id=_optional(fields, COL_REFUND_ID),
        refund_fen=yuan_to_fen(refund),
        refund_status=_optional(fields, COL_REFUND_STATUS),
    )
