"""The admin API's query parameters: China days turned into Unix bounds, and every mistake a 400 with its code."""

from __future__ import annotations

import datetime as dt

import pytest

from shared import errors
from shared.domain.orders import OrderStatus
from shared.services.admin import params
from shared.services.admin.days import day_of, day_start

CST_2026_01_01 = 1_767_196_800  # 2025-12-31T16:00:00Z


def code_of(call: object) -> str:
    with pytest.raises(errors.ValidationFailed) as raised:
        call()  # type: ignore[operator]
    assert raised.value.status == 400
    return raised.value.code


def test_days_are_china_days() -> None:
    assert day_start(dt.date(2026, 1, 1)) == CST_2026_01_01
    assert day_of(CST_2026_01_01) == dt.date(2026, 1, 1)
    assert day_of(CST_2026_01_01 - 1) == dt.date(2025, 12, 31)


def test_an_order_search_reads_every_filter_with_inclusive_days() -> None:
    search = params.order_search(
        {
            "status": "PAID",
            "from": "2026-01-01",
            "to": "2026-01-02",
            "order_id": "o123_-x",
            "transaction_id": "4200000000000000000000000001",
            "product_id": "pro-monthly",
            "cursor": "abc",
            "limit": "200",
        }
    )
    query = search.query
    assert query.status is OrderStatus.PAID
    assert (query.created_from, query.created_to) == (CST_2026_01_01, CST_2026_01_01 + 2 * 86400)
    assert (query.order_id, query.product_id) == ("o123_-x", "pro-monthly")
    assert (search.cursor, search.limit) == ("abc", 200)
    assert params.order_search({}).limit == params.DEFAULT_PAGE


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"status": "paid"}, "INVALID_STATUS"),
        ({"from": "2026-1-1"}, "INVALID_DATE"),
        ({"to": "2026-02-30"}, "INVALID_DATE"),
        ({"from": "2026-01-02", "to": "2026-01-01"}, "INVALID_RANGE"),
        ({"limit": "0"}, "INVALID_LIMIT"),
        ({"limit": "201"}, "INVALID_LIMIT"),
        ({"limit": "-1"}, "INVALID_LIMIT"),
        ({"limit": "ten"}, "INVALID_LIMIT"),
        ({"limit": "\u00b2"}, "INVALID_LIMIT"),  # superscript two: isdigit() says yes, int() says no
        ({"limit": "\u2460"}, "INVALID_LIMIT"),  # circled one
        ({"limit": "\u0665"}, "INVALID_LIMIT"),  # Arabic-Indic five: int() would read it
        ({"limit": "+5"}, "INVALID_LIMIT"),
        ({"limit": " 5"}, "INVALID_LIMIT"),
        ({"limit": "9" * 5000}, "INVALID_LIMIT"),  # past int()'s digit limit
        ({"from": "\u0662\u0660\u0662\u0666-01-01"}, "INVALID_DATE"),
        ({"from": "\uff12\uff10\uff12\uff16-01-01"}, "INVALID_DATE"),  # full-width digits
        ({"from": "2026-01-01\n"}, "INVALID_DATE"),
        ({"from": "0001-01-01"}, "INVALID_DATE"),
        ({"to": "1999-12-31"}, "INVALID_DATE"),
        ({"to": "2101-01-01"}, "INVALID_DATE"),
        ({"to": "9999-12-31"}, "INVALID_DATE"),
        ({"from": "-2026-01-01"}, "INVALID_DATE"),
        ({"order_id": "a b"}, "INVALID_ORDER_ID"),
        ({"transaction_id": "42/00"}, "INVALID_TRANSACTION_ID"),
        ({"cursor": "x" * 2000}, "INVALID_CURSOR"),
        ({"stauts": "PAID"}, "UNKNOWN_PARAMETER"),
    ],
)
def test_a_bad_search_parameter_is_a_400_with_its_own_code(query: dict[str, str], code: str) -> None:
    assert code_of(lambda: params.order_search(query)) == code


def test_stats_default_to_the_last_30_china_days_and_refuse_more_than_366() -> None:
    now = CST_2026_01_01 + 3600
    chosen = params.stats_range({}, now)
    assert (chosen.first, chosen.last, chosen.days) == (dt.date(2025, 12, 3), dt.date(2026, 1, 1), 30)
    assert (chosen.start, chosen.end) == (day_start(dt.date(2025, 12, 3)), CST_2026_01_01 + 86400)
    one = params.stats_range({"from": "2026-01-01", "to": "2026-01-01"}, now)
    assert one.days == 1
    assert params.stats_range({"from": "2025-01-01", "to": "2026-01-01"}, now).days == 366
    assert code_of(lambda: params.stats_range({"from": "2024-12-31", "to": "2026-01-01"}, now)) == "RANGE_TOO_LONG"
    assert code_of(lambda: params.stats_range({"limit": "3"}, now)) == "UNKNOWN_PARAMETER"


def test_a_limit_may_carry_leading_zeros_and_reaches_the_maximum() -> None:
    assert params.list_limit({"limit": "007"}) == 7
    assert params.list_limit({"limit": str(params.MAX_PAGE)}) == params.MAX_PAGE


@pytest.mark.parametrize(
    "query", [{"to": "0001-01-05"}, {"from": "0001-01-01"}, {"to": "9999-12-31"}, {"from": "9999-12-31"}]
)
def test_stats_days_at_the_ends_of_the_calendar_are_a_400_not_an_overflow(query: dict[str, str]) -> None:
    assert code_of(lambda: params.stats_range(query, CST_2026_01_01)) == "INVALID_DATE"


def test_stats_accept_the_first_and_last_days_of_the_sane_range() -> None:
    early = params.stats_range({"to": "2000-01-05"}, CST_2026_01_01)
    assert (early.last, early.days) == (dt.date(2000, 1, 5), params.STATS_DEFAULT_DAYS)
    late = params.stats_range({"from": "2100-12-31"}, CST_2026_01_01)
    assert (late.first, late.last) == (dt.date(2100, 12, 31), dt.date(2100, 12, 31))


@pytest.mark.parametrize("value", ["\uff12\uff10\uff12\uff16-01-01", "\u0662\u0660\u0662\u0666-01-01", "2026-13-01"])
def test_a_report_date_oddly_written_or_impossible_is_invalid(value: str) -> None:
    assert code_of(lambda: params.report_date(value)) == "INVALID_DATE"


def test_a_report_date_is_only_a_lookup_key_so_any_real_day_is_read() -> None:
    assert params.report_date("0001-01-01") == "0001-01-01"  # no report there: the 404 of a missing one


def test_audit_and_list_parameters() -> None:
    page = params.audit_page({"before": "1767225600-0a1b2c3d4e5f", "target": "order:o1", "limit": "5"})
    assert (page.before, page.target, page.limit) == ("1767225600-0a1b2c3d4e5f", "order:o1", 5)
    assert code_of(lambda: params.audit_page({"before": "'; drop"})) == "INVALID_BEFORE"
    assert code_of(lambda: params.audit_page({"target": "nothing"})) == "INVALID_TARGET"
    assert params.list_limit({}, 30) == 30
    assert code_of(lambda: params.report_date("yesterday")) == "INVALID_DATE"
