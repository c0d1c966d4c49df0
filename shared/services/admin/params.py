"""The admin API's query parameters read into typed values: every mistake is a 400 with its own code, never a 500.

Unknown parameters are refused (a misspelt filter must not silently match everything)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shared.domain.orders import OrderStatus
from shared.errors import ValidationFailed
from shared.services.admin.days import DAY, day_of, day_start, parse_day
from shared.storage.search import OrderQuery

MAX_PAGE = 200
DEFAULT_PAGE = 50
STATS_DEFAULT_DAYS = 30
STATS_MAX_DAYS = 366
# Days the API reads: wide enough for any order, narrow enough that no default range or bound leaves the calendar.
EARLIEST_DAY = dt.date(2000, 1, 1)
LATEST_DAY = dt.date(2100, 12, 31)
_ORDER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TRANSACTION_ID = re.compile(r"[0-9A-Za-z]{1,64}")
_PRODUCT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_TARGET = re.compile(r"[a-z_]+:[A-Za-z0-9_.:-]{1,128}")
_AUDIT_ID = re.compile(r"[0-9]{10}-[0-9a-f]{1,32}")
_CURSOR_MAX = 1024


@dataclass(frozen=True)
class DayRange:
    first: dt.date
    last: dt.date  # inclusive

    @property
    def start(self) -> int:
        return day_start(self.first)

    @property
    def end(self) -> int:
        """Exclusive: the start of the day after `last`."""
        return day_start(self.last) + DAY

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass(frozen=True)
class OrderSearch:
    query: OrderQuery
    cursor: str | None
    limit: int


@dataclass(frozen=True)
class AuditPage:
    before: str | None
    target: str | None
    limit: int


def _invalid(name: str, message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, details={"parameter": name})


def only(query: Mapping[str, str], allowed: Iterable[str]) -> None:
    unknown = sorted(set(query) - set(allowed))
    if unknown:
        raise ValidationFailed(
            f"unknown query parameter {unknown[0]!r}",
            code="UNKNOWN_PARAMETER",
            details={"parameter": unknown[0], "allowed": sorted(allowed)},
        )


def text(query: Mapping[str, str], name: str, pattern: re.Pattern[str], code: str) -> str | None:
    value = query.get(name, "")
    if value == "":
        return None
    if not pattern.fullmatch(value):
        raise _invalid(name, f"{name} is not a valid value", code)
    return value


def limit(query: Mapping[str, str], default: int = DEFAULT_PAGE, maximum: int = MAX_PAGE) -> int:
    raw = query.get("limit", "")
    if raw == "":
        return default
    # isdigit() alone accepts "²" and "①", which int() refuses; the length cap keeps int() off huge strings.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or not 1 <= int(raw) <= maximum:
        raise _invalid("limit", f"limit must be a whole number from 1 to {maximum}", "INVALID_LIMIT")
    return int(raw)


def day(query: Mapping[str, str], name: str) -> dt.date | None:
    raw = query.get(name, "")
    if raw == "":
        return None
    parsed = parse_day(raw)
    if parsed is None or not EARLIEST_DAY <= parsed <= LATEST_DAY:
        raise _invalid(
            name,
            f"{name} must be a day written YYYY-MM-DD (China time), from {EARLIEST_DAY} to {LATEST_DAY}",
            "INVALID_DATE",
        )
    return parsed


def _ordered(first: dt.date | None, last: dt.date | None) -> None:
    if first is not None and last is not None and first > last:
        raise ValidationFailed("from must not be after to", code="INVALID_RANGE", details={"parameter": "from"})


def order_search(query: Mapping[str, str]) -> OrderSearch:
    only(query, ("status", "from", "to", "order_id", "transaction_id", "product_id", "cursor", "limit"))
    status = query.get("status", "")
    if status and status not in OrderStatus.__members__:
        raise ValidationFailed(
            f"status must be one of {', '.join(OrderStatus.__members__)}",
            code="INVALID_STATUS",
            details={"parameter": "status", "allowed": list(OrderStatus.__members__)},
        )
    first, last = day(query, "from"), day(query, "to")
    _ordered(first, last)
    cursor = query.get("cursor") or None
    if cursor is not None and len(cursor) > _CURSOR_MAX:
        raise _invalid("cursor", "cursor is not one this API handed out", "INVALID_CURSOR")
    return OrderSearch(
        OrderQuery(
            status=OrderStatus(status) if status else None,
            created_from=day_start(first) if first else None,
            created_to=day_start(last) + DAY if last else None,
            order_id=text(query, "order_id", _ORDER_ID, "INVALID_ORDER_ID"),
            transaction_id=text(query, "transaction_id", _TRANSACTION_ID, "INVALID_TRANSACTION_ID"),
            product_id=text(query, "product_id", _PRODUCT_ID, "INVALID_PRODUCT_ID"),
        ),
        cursor,
        limit(query),
    )


def stats_range(query: Mapping[str, str], now: int) -> DayRange:
    """`from`/`to` inclusive; by default the last 30 days up to today; at most 366 days."""
    only(query, ("from", "to"))
    first, last = day(query, "from"), day(query, "to")
    _ordered(first, last)
    last = last or max(day_of(now), first or day_of(now))
    first = first or last - dt.timedelta(days=STATS_DEFAULT_DAYS - 1)
    chosen = DayRange(first, last)
    if chosen.days > STATS_MAX_DAYS:
        raise ValidationFailed(
            f"at most {STATS_MAX_DAYS} days at once", code="RANGE_TOO_LONG", details={"parameter": "from"}
        )
    return chosen


def list_limit(query: Mapping[str, str], default: int = DEFAULT_PAGE) -> int:
    only(query, ("limit",))
    return limit(query, default)


def audit_page(query: Mapping[str, str]) -> AuditPage:
    only(query, ("before", "target", "limit"))
    return AuditPage(
        before=text(query, "before", _AUDIT_ID, "INVALID_BEFORE"),
        target=text(query, "target", _TARGET, "INVALID_TARGET"),
        limit=limit(query),
    )


def report_date(value: str) -> str:
    # Only a lookup key (no bound is computed from it): a real day without a report is a 404, not a 400.
    if parse_day(value) is None:
        raise ValidationFailed("the report's date must be written YYYY-MM-DD", code="INVALID_DATE")
    return value
