"""Request body validation with WeChat's codes and JSON-pointer `detail` (reference §1, §3, §7, §9)."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any
from urllib.parse import urlsplit

from emulator.exceptions import InvalidRequest, ParamError

OUT_TRADE_NO = re.compile(r"^[0-9A-Za-z_\-|*]{6,32}$")
OUT_REFUND_NO = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")
TRANSACTION_ID = re.compile(r"^[0-9]{1,32}$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
REQUIRED = "必填性规则校验失败，此字段为必填项"


def parse_json(raw: bytes) -> dict[str, Any]:
    """Bodies are UTF-8 JSON objects of 1–3-byte characters, without nulls (reference §1)."""
    try:
        text = raw.decode("utf-8")
        body = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ParamError("请求体格式错误，不是合法的JSON", {"location": "body", "issue": str(exc)[:80]}) from exc
    if not isinstance(body, dict):
        raise ParamError("请求体格式错误，应为JSON对象", {"location": "body"})
    _check_values(body, "")
    return body


def _check_values(value: Any, pointer: str) -> None:
    """No nulls, and no 4-byte characters (emoji), whether raw or escaped as surrogate pairs."""
    if value is None:
        raise ParamError.field(pointer or "/", "字段值不能为null")
    if isinstance(value, str) and any(ord(ch) > 0xFFFF or 0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise ParamError.field(pointer, "包含4字节字符（如emoji），不支持", value)
    if isinstance(value, dict):
        for key, item in value.items():
            _check_values(item, f"{pointer}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_values(item, f"{pointer}/{index}")


def text(body: dict[str, Any], key: str, max_len: int, *, required: bool = True, prefix: str = "") -> str | None:
    pointer = f"{prefix}/{key}"
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise ParamError.field(pointer, REQUIRED)
        return None
    if not isinstance(value, str):
        raise ParamError.field(pointer, "类型规则校验失败，应为字符串", value)
    if len(value) > max_len:
        raise ParamError.field(pointer, f"长度规则校验失败，长度不能超过{max_len}", value)
    return value


def integer(body: dict[str, Any], key: str, *, prefix: str, minimum: int) -> int:
    pointer = f"{prefix}/{key}"
    value = body.get(key)
    if value is None:
        raise ParamError.field(pointer, REQUIRED)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ParamError.field(pointer, "类型规则校验失败，应为整数", value)
    if value < minimum or value > 2**31 - 1:
        raise ParamError.field(pointer, f"取值范围校验失败，应不小于{minimum}", value)
    return value


def notify_url(body: dict[str, Any], key: str, max_len: int, *, required: bool) -> str | None:
    url = text(body, key, max_len, required=required)
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ParamError.field(f"/{key}", "格式规则校验失败，应为完整的URL地址", url)
    if parts.query or parts.fragment:
        raise ParamError.field(f"/{key}", "格式规则校验失败，不能携带参数", url)
    return url


def amount(body: dict[str, Any], *fields: str) -> dict[str, int]:
    value = body.get("amount")
    if value is None:
        raise ParamError.field("/amount", REQUIRED)
    if not isinstance(value, dict):
        raise ParamError.field("/amount", "类型规则校验失败，应为对象")
    currency = value.get("currency", "CNY")
    if currency != "CNY":
        raise ParamError.field("/amount/currency", "取值规则校验失败，仅支持CNY", currency)
    return {name: integer(value, name, prefix="/amount", minimum=1) for name in fields}


def time_expire(body: dict[str, Any]) -> dt.datetime | None:
    value = text(body, "time_expire", 64, required=False)
    if value is None:
        return None
    if not RFC3339.match(value):
        raise ParamError.field("/time_expire", "格式规则校验失败，应为rfc3339格式", value)
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ParamError.field("/time_expire", "格式规则校验失败，应为rfc3339格式", value) from exc


def native_order(body: dict[str, Any]) -> dict[str, Any]:
    """The fields of `POST /v3/pay/transactions/native` we model (reference §3)."""
    out_trade_no = text(body, "out_trade_no", 32)
    assert out_trade_no is not None
    if not OUT_TRADE_NO.match(out_trade_no):
        raise ParamError.field("/out_trade_no", "格式规则校验失败，应为6-32位数字、大小写字母或_-|*", out_trade_no)
    for optional, limit in (("goods_tag", 32), ("attach", 128)):
        text(body, optional, limit, required=False)
    if "support_fapiao" in body and not isinstance(body["support_fapiao"], bool):
        raise ParamError.field("/support_fapiao", "类型规则校验失败，应为布尔值", body["support_fapiao"])
    scene = body.get("scene_info")
    if scene is not None and (not isinstance(scene, dict) or not scene.get("payer_client_ip")):
        raise ParamError.field("/scene_info/payer_client_ip", REQUIRED)
    return {
        "appid": text(body, "appid", 32),
        "mchid": text(body, "mchid", 32),
        "description": text(body, "description", 127),
        "out_trade_no": out_trade_no,
        "attach": body.get("attach"),
        "notify_url": notify_url(body, "notify_url", 255, required=True),
        "amount_total": amount(body, "total")["total"],
        "time_expire": time_expire(body),
    }


def refund_request(body: dict[str, Any]) -> dict[str, Any]:
    """The fields of `POST /v3/refund/domestic/refunds` (reference §7)."""
    out_refund_no = text(body, "out_refund_no", 64)
    assert out_refund_no is not None
    if not OUT_REFUND_NO.match(out_refund_no):
        raise ParamError.field("/out_refund_no", "格式规则校验失败，应为数字、大小写字母或_-|*@", out_refund_no)
    transaction_id = text(body, "transaction_id", 32, required=False)
    out_trade_no = text(body, "out_trade_no", 32, required=False)
    if not transaction_id and not out_trade_no:
        raise InvalidRequest("transaction_id和out_trade_no必须二选一进行传参", {"location": "body"})
    money = amount(body, "refund", "total")
    if money["refund"] > money["total"]:
        raise ParamError.field("/amount/refund", "取值规则校验失败，退款金额不能大于订单金额", money["refund"])
    return {
        "out_refund_no": out_refund_no,
        "transaction_id": transaction_id,
        "out_trade_no": out_trade_no,
        "reason": text(body, "reason", 80, required=False),
        "notify_url": notify_url(body, "notify_url", 256, required=False),
        "amount_refund": money["refund"],
        "amount_total": money["total"],
    }
