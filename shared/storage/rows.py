"""Domain objects <-> database rows, for every SQL adapter: enums as their string values, entitlements and
anomaly details as JSON text, times and money as integers. Columns are named after the dataclass fields.

The update helpers are the whitelist that makes an f-string column name safe: only a known, mutable field of the
dataclass ever reaches the SQL text, and never the primary key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

from shared.domain.licences import Licence, LicenceStatus
from shared.domain.orders import Order, OrderStatus
from shared.domain.refunds import Refund, RefundStatus

ORDER_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Order))
LICENCE_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Licence))
REFUND_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Refund))
# A licence's order never changes: one licence per order is what the UNIQUE(order_id) rests on. Nor does a
# refund's: the order's refunds are what its refundable amount is computed from.
_ORDER_MUTABLE = frozenset(ORDER_COLUMNS) - {"order_id"}
_LICENCE_MUTABLE = frozenset(LICENCE_COLUMNS) - {"licence_id", "order_id"}
_REFUND_MUTABLE = frozenset(REFUND_COLUMNS) - {"out_refund_no", "order_id"}
Status = OrderStatus | LicenceStatus | RefundStatus


def encode_json(value: Any) -> str:
    """Compact and stable; Chinese text kept readable (WeChat's messages are Chinese)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def order_to_row(order: Order) -> tuple[Any, ...]:
    return tuple(_order_value(name, getattr(order, name)) for name in ORDER_COLUMNS)


def order_from_row(row: Sequence[Any]) -> Order:
    values = dict(zip(ORDER_COLUMNS, row, strict=True))
    values["status"] = OrderStatus(values["status"])
    return Order(**values)


def licence_to_row(licence: Licence) -> tuple[Any, ...]:
    return tuple(_licence_value(name, getattr(licence, name)) for name in LICENCE_COLUMNS)


def licence_from_row(row: Sequence[Any]) -> Licence:
    values = dict(zip(LICENCE_COLUMNS, row, strict=True))
    values["status"] = LicenceStatus(values["status"])
    values["entitlements"] = tuple(json.loads(values["entitlements"]))
    return Licence(**values)


def refund_to_row(refund: Refund) -> tuple[Any, ...]:
    return tuple(_refund_value(name, getattr(refund, name)) for name in REFUND_COLUMNS)


def refund_from_row(row: Sequence[Any]) -> Refund:
    values = dict(zip(REFUND_COLUMNS, row, strict=True))
    values["status"] = RefundStatus(values["status"])
    return Refund(**values)


def order_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validated column -> database value; ValueError for an unknown or immutable field, or a bad status."""
    _check_fields("order", changes, _ORDER_MUTABLE)
    return {name: _order_value(name, value) for name, value in changes.items()}


def licence_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    _check_fields("licence", changes, _LICENCE_MUTABLE)
    return {name: _licence_value(name, value) for name, value in changes.items()}


def refund_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    _check_fields("refund", changes, _REFUND_MUTABLE)
    return {name: _refund_value(name, value) for name, value in changes.items()}


def status_values(expect: Sequence[Status], kind: type[Status]) -> list[str]:
    return [kind(status).value for status in expect]


def conditional_update(
    table: str, key: str, key_value: str, changes: Mapping[str, Any], expect: list[str] | None, mark: str
) -> tuple[str, list[Any]]:
    """The compare-and-set UPDATE every SQL adapter runs (`mark` is the driver's placeholder). `changes` comes
    from the whitelists above: its keys are known column names, never input."""
    sql = f"UPDATE {table} SET {', '.join(f'{name} = {mark}' for name in changes)} WHERE {key} = {mark}"  # noqa: S608
    params: list[Any] = [*changes.values(), key_value]
    if expect is not None:
        sql += f" AND status IN ({', '.join([mark] * len(expect))})"
        params += expect
    return sql, params


def _check_fields(what: str, changes: Mapping[str, Any], allowed: frozenset[str]) -> None:
    if not changes:
        raise ValueError(f"no {what} fields to change")
    refused = sorted(set(changes) - allowed)
    if refused:
        raise ValueError(f"cannot change {what} field(s) {refused}; changeable: {sorted(allowed)}")


def _order_value(name: str, value: Any) -> Any:
    return OrderStatus(value).value if name == "status" else value


def _refund_value(name: str, value: Any) -> Any:
    return RefundStatus(value).value if name == "status" else value


def _licence_value(name: str, value: Any) -> Any:
    if name == "status":
        return LicenceStatus(value).value
    if name == "entitlements":
        if isinstance(value, str):
            raise ValueError("entitlements must be a sequence of strings, not a string")
        return encode_json(list(value))
    return value
