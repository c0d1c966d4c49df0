"""Trade bills (reference §8): the apply answer, and the downloaded file checked against its hash."""

from __future__ import annotations

import gzip
import hashlib
import zlib
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
