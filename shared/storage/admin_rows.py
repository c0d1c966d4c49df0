"""What every adapter shares for the admin part of the port: admin keys and audit entries <-> rows, the order
search's cursor and filters, and the day figures' calendar.

A search cursor is the base64url of the JSON `[created_at, order_id]` of the last row a page covered: the next page
starts strictly after it in the search's order (created_at, then order_id, descending). Anything else given as a
cursor raises ValueError. Days start `offset` seconds after a UTC midnight; day_totals takes whole days only.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

from shared.domain.admin import AdminKey, AuditEntry, Role
from shared.domain.orders import PAID_STATES, Order, OrderStatus
from shared.storage import rows
from shared.storage.search import DayTotals, OrderQuery

DAY = 86400
ADMIN_KEY_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(AdminKey))
AUDIT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(AuditEntry))
AUDIT_JSON = frozenset({"before", "after"})
# `before` is a reserved word in MySQL: the SQL tables name the two columns state_before and state_after.
AUDIT_SQL_COLUMNS = tuple({"before": "state_before", "after": "state_after"}.get(c, c) for c in AUDIT_COLUMNS)
PAID_VALUES: tuple[str, ...] = tuple(sorted(status.value for status in PAID_STATES))


# -- admin keys and audit entries ------------------------------------------------------------------------------
def admin_key_to_row(key: AdminKey) -> tuple[Any, ...]:
    return tuple(Role(key.role).value if name == "role" else getattr(key, name) for name in ADMIN_KEY_COLUMNS)


def admin_key_from_row(row: Sequence[Any]) -> AdminKey:
    values = dict(zip(ADMIN_KEY_COLUMNS, row, strict=True))
    values["role"] = Role(values["role"])
    return AdminKey(**values)


def audit_to_row(entry: AuditEntry) -> tuple[Any, ...]:
    """Values in AUDIT_COLUMNS order; before and after as JSON text, None when absent."""
    return tuple(_audit_value(name, getattr(entry, name)) for name in AUDIT_COLUMNS)


def audit_from_row(row: Sequence[Any]) -> AuditEntry:
    values = dict(zip(AUDIT_COLUMNS, row, strict=True))
    for name in AUDIT_JSON:
        values[name] = None if values[name] is None else json.loads(values[name])
    return AuditEntry(**values)


def _audit_value(name: str, value: Any) -> Any:
    if name in AUDIT_JSON:
        return None if value is None else rows.encode_json(dict(value))
    return value


# -- the order search ------------------------------------------------------------------------------------------
def encode_cursor(created_at: int, order_id: str) -> str:
    text = json.dumps([created_at, order_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """(created_at, order_id) of a cursor encode_cursor made; ValueError for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode())
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise ValueError("unreadable search cursor") from exc
    if not isinstance(value, list) or len(value) != 2 or type(value[0]) is not int or not isinstance(value[1], str):
        raise ValueError("unreadable search cursor")
    if not 0 <= value[0] < 2**53 or len(value[1]) > 64:  # times the backends store; a crafted one must not overflow
        raise ValueError("unreadable search cursor")
    return value[0], value[1]


def matches(order: Order, query: OrderQuery) -> bool:
    """The order passes every filter the query sets."""
    checks = (
        query.status is None or order.status is OrderStatus(query.status),
        query.created_from is None or order.created_at >= query.created_from,
        query.created_to is None or order.created_at < query.created_to,
        query.order_id is None or order.order_id == query.order_id,
        query.transaction_id is None or order.transaction_id == query.transaction_id,
        query.product_id is None or order.product_id == query.product_id,
    )
    return all(checks)


def after_cursor(order: Order, cursor: tuple[int, str] | None) -> bool:
    """The order comes after the cursor in newest-first order."""
    return cursor is None or (order.created_at, order.order_id) < cursor


# -- day figures -----------------------------------------------------------------------------------------------
def day_starts(start: int, end: int, offset: int) -> list[int]:
    """The days in [start, end); ValueError unless both are day starts and start <= end."""
    if (start - offset) % DAY or (end - offset) % DAY or end < start:
        raise ValueError(f"day_totals takes day starts (offset {offset} + k * {DAY}), start <= end")
    return list(range(start, end, DAY))


def day_of(at: int, start: int) -> int:
    """The start of the day `at` falls in, for days aligned on `start`."""
    return at - (at - start) % DAY


def assemble(
    days: Sequence[int],
    created: Mapping[int, tuple[int, int]],
    paid: Mapping[int, tuple[int, int]],
    refunded: Mapping[int, int],
) -> list[DayTotals]:
    """One DayTotals per day: created = {day: (orders_created, orders_paid)}, paid = {day: (payments, revenue_fen)},
    refunded = {day: refunded_fen}; days absent from them are zeros."""
    return [
        DayTotals(
            day=day,
            orders_created=int(created.get(day, (0, 0))[0]),
            orders_paid=int(created.get(day, (0, 0))[1]),
            revenue_fen=int(paid.get(day, (0, 0))[1]),
            payments=int(paid.get(day, (0, 0))[0]),
            refunded_fen=int(refunded.get(day, 0)),
        )
        for day in days
    ]
