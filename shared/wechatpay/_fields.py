"""Typed reads from decoded WeChat JSON: a wrong shape raises MalformedPayload, never KeyError/TypeError."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.wechatpay.errors import MalformedPayload

JsonObject = Mapping[str, Any]


def parse_json(data: str | bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:  # includes UnicodeDecodeError
        raise MalformedPayload(f"{what} is not UTF-8 JSON") from exc


def as_object(value: object, where: str) -> JsonObject:
    if not isinstance(value, dict):
        raise MalformedPayload(f"{where} is not a JSON object")
    return value


def req_str(obj: JsonObject, key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"field {key!r} must be a non-empty string")
    return value


def opt_str(obj: JsonObject, key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedPayload(f"field {key!r} must be a string")
    return value


def req_int(obj: JsonObject, key: str) -> int:
    value = obj.get(key)
    # bool is an int subclass; JSON true must not pass as an amount.
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedPayload(f"field {key!r} must be an integer")
    return value


def opt_int(obj: JsonObject, key: str) -> int | None:
    return None if obj.get(key) is None else req_int(obj, key)


def opt_object(obj: JsonObject, key: str) -> JsonObject:
    value = obj.get(key)
    return {} if value is None else as_object(value, f"field {key!r}")


def parse_time(text: str, key: str) -> datetime:
    # RFC 3339 as WeChat writes it, e.g. 2018-06-08T10:34:56+08:00; Python 3.10 does not read a "Z" suffix.
    normalised = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        moment = datetime.fromisoformat(normalised)
    except ValueError:
        raise MalformedPayload(f"field {key!r} is not an RFC 3339 time: {text!r}") from None
    if moment.tzinfo is None:
        raise MalformedPayload(f"field {key!r} has no UTC offset: {text!r}")
    return moment


def req_time(obj: JsonObject, key: str) -> datetime:
    return parse_time(req_str(obj, key), key)


def opt_time(obj: JsonObject, key: str) -> datetime | None:
    # Refunds still PROCESSING may carry success_time as "" rather than omit it.
    text = opt_str(obj, key)
    return parse_time(text, key) if text else None
