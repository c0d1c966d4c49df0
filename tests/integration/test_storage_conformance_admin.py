"""The port's admin part, run once per adapter (see conftest): the order search and its pages, day figures, status
counts, reports, admin keys, the audit log, rate-limit counters and their retention, and the new datasets in
backups."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import pytest

from shared.domain.admin import AdminKey, AuditEntry, Role
from shared.domain.orders import Order, OrderStatus
from shared.domain.refunds import RefundStatus
from shared.storage.port import Storage
from shared.storage.search import DayTotals, OrderQuery
from tests.integration.conftest import T0, make_order, make_refund

CST = 28800  # China Standard Time: days start at 16:00 UTC
DAY = 86400
D0 = CST + ((T0 - CST) // DAY + 1) * DAY  # a day start after T0


def _search_all(storage: Storage, query: OrderQuery, limit: int) -> tuple[list[str], int]:
    """Every page of a search: the order ids in page order, and how many pages it took."""
    ids: list[str] = []
    cursor, pages = None, 0
    while True:
        page = storage.search_orders(query, cursor, limit)
        assert len(page.orders) <= limit
        ids += [order.order_id for order in page.orders]
        pages += 1
        if page.next_cursor is None:
            return ids, pages
        cursor = page.next_cursor
        assert pages < 50, "the search never ends"


def _shop(storage: Storage) -> list[Order]:
    """Seven orders over three products and four statuses; two pairs created in the same second."""
    specs = [
        ("ord_s_01", T0 + 10, OrderStatus.PAID, "pro", "4200000001"),
        ("ord_s_02", T0 + 20, OrderStatus.PENDING, "pro", None),
        ("ord_s_03", T0 + 20, OrderStatus.PAID, "team", "4200000003"),
        ("ord_s_04", T0 + 30, OrderStatus.CLOSED, "pro", None),
        ("ord_s_05", T0 + 40, OrderStatus.REFUNDED, "pro", "4200000005"),
        ("ord_s_06", T0 + 40, OrderStatus.PAID, "pro", "4200000006"),
        ("ord_s_07", T0 + 50, OrderStatus.PENDING, "lite", None),
    ]
    orders = [
        make_order(order_id=oid, created_at=at, status=status, product_id=product, transaction_id=tx)
        for oid, at, status, product, tx in specs
    ]
    for order in orders:
        assert storage.insert_order(order)
    return orders


# -- the order search ----------------------------------------------------------------------------------------


def test_search_lists_every_order_newest_first_across_pages(storage: Storage) -> None:
    _shop(storage)
    newest_first = ["ord_s_07", "ord_s_06", "ord_s_05", "ord_s_04", "ord_s_03", "ord_s_02", "ord_s_01"]
    for limit, pages in ((2, 4), (3, 3), (7, 1), (50, 1)):
        assert _search_all(storage, OrderQuery(), limit) == (newest_first, pages)
    first = storage.search_orders(OrderQuery(), None, 2)
    assert [o.order_id for o in first.orders] == ["ord_s_07", "ord_s_06"]
    assert first.orders[0] == storage.get_order("ord_s_07")
    assert storage.search_orders(OrderQuery(), None, 0).orders == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (OrderQuery(status=OrderStatus.PAID), ["ord_s_06", "ord_s_03", "ord_s_01"]),
        (OrderQuery(status=OrderStatus.PENDING), ["ord_s_07", "ord_s_02"]),
        (OrderQuery(status=OrderStatus.REFUNDING), []),
        (OrderQuery(created_from=T0 + 20), ["ord_s_07", "ord_s_06", "ord_s_05", "ord_s_04", "ord_s_03", "ord_s_02"]),
        (OrderQuery(created_to=T0 + 40), ["ord_s_04", "ord_s_03", "ord_s_02", "ord_s_01"]),
        (OrderQuery(created_from=T0 + 20, created_to=T0 + 40), ["ord_s_04", "ord_s_03", "ord_s_02"]),
        (OrderQuery(order_id="ord_s_04"), ["ord_s_04"]),
        (OrderQuery(order_id="ord_missing"), []),
        (OrderQuery(transaction_id="4200000005"), ["ord_s_05"]),
        (OrderQuery(transaction_id="4200009999"), []),
        (OrderQuery(product_id="pro"), ["ord_s_06", "ord_s_05", "ord_s_04", "ord_s_02", "ord_s_01"]),
        (OrderQuery(product_id="none"), []),
        (OrderQuery(status=OrderStatus.PAID, product_id="pro"), ["ord_s_06", "ord_s_01"]),
        (OrderQuery(status=OrderStatus.PAID, created_from=T0 + 15, created_to=T0 + 41), ["ord_s_06", "ord_s_03"]),
        (OrderQuery(order_id="ord_s_04", status=OrderStatus.PAID), []),
        (OrderQuery(transaction_id="4200000003", product_id="pro"), []),
        (OrderQuery(product_id="pro", created_from=T0 + 30), ["ord_s_06", "ord_s_05", "ord_s_04"]),
    ],
)
def test_search_filters_are_all_optional_and_anded(storage: Storage, query: OrderQuery, expected: list[str]) -> None:
    _shop(storage)
    assert _search_all(storage, query, 2)[0] == expected
    assert _search_all(storage, query, 100)[0] == expected


def test_a_transaction_id_set_after_the_order_was_created_is_found(storage: Storage) -> None:
    order = make_order(order_id="ord_s_late")
    assert storage.insert_order(order)
    changes = {"status": OrderStatus.PAID, "transaction_id": "4200000777", "paid_at": T0 + 500}
    assert storage.update_order(order.order_id, changes, expect_status=[OrderStatus.PENDING])
    page = storage.search_orders(OrderQuery(transaction_id="4200000777"), None, 10)
    assert [o.order_id for o in page.orders] == ["ord_s_late"] and page.orders[0].status is OrderStatus.PAID
    assert storage.search_orders(OrderQuery(status=OrderStatus.PENDING), None, 10).orders == []


def test_a_page_goes_on_after_its_cursor_even_when_orders_arrive_in_between(storage: Storage) -> None:
    _shop(storage)
    first = storage.search_orders(OrderQuery(), None, 3)
    assert first.next_cursor is not None
    storage.insert_order(make_order(order_id="ord_s_99", created_at=T0 + 60))  # newer: not in later pages
    second = storage.search_orders(OrderQuery(), first.next_cursor, 3)
    assert [o.order_id for o in second.orders] == ["ord_s_04", "ord_s_03", "ord_s_02"]


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "",
        base64.urlsafe_b64encode(b"[1, 2, 3]").decode(),
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(b'["x", "ord"]').decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        base64.urlsafe_b64encode(b'[1000000000000000000000000000000, "ord"]').decode(),  # would overflow a column
        base64.urlsafe_b64encode(b'[-1, "ord"]').decode(),
    ],
)
def test_an_unreadable_cursor_raises_value_error(storage: Storage, cursor: str) -> None:
    _shop(storage)
    with pytest.raises(ValueError):
        storage.search_orders(OrderQuery(), cursor, 10)


def test_count_orders_counts_one_status(storage: Storage) -> None:
    _shop(storage)
    assert storage.count_orders(OrderStatus.PENDING) == 2
    assert storage.count_orders(OrderStatus.PAID) == 3
    assert storage.count_orders(OrderStatus.REFUNDING) == 0
    assert storage.update_order("ord_s_02", {"status": OrderStatus.CLOSED}, expect_status=[OrderStatus.PENDING])
    assert storage.count_orders(OrderStatus.PENDING) == 1
    assert storage.count_orders(OrderStatus.CLOSED) == 2


# -- day figures ---------------------------------------------------------------------------------------------


def _days(storage: Storage) -> None:
    """Orders and refunds on the edges of China Standard Time days D0, D0 + 1 day, D0 + 2 days."""
    first = make_order(created_at=D0, status=OrderStatus.PAID, paid_at=D0 + 100, amount_fen=1000)
    last_second = make_order(created_at=D0 + DAY - 1)
    refunded = make_order(created_at=D0 + DAY, status=OrderStatus.REFUNDED, paid_at=D0 + DAY + 50, amount_fen=2000)
    day_before = make_order(created_at=D0 - 1, status=OrderStatus.PAID, paid_at=D0 + 10, amount_fen=500)
    after = make_order(created_at=D0 + 3 * DAY, status=OrderStatus.PAID, paid_at=D0 + 3 * DAY, amount_fen=7)
    closed = make_order(created_at=D0 + 5, status=OrderStatus.CLOSED)
    for order in (first, last_second, refunded, day_before, after, closed):
        assert storage.insert_order(order)
    success = RefundStatus.SUCCESS
    storage.insert_refund(make_refund(refunded, amount_fen=1500, status=success, success_at=D0 + 2 * DAY + 5))
    storage.insert_refund(make_refund(refunded, amount_fen=500, status=success, success_at=D0 + 3 * DAY - 1))
    storage.insert_refund(make_refund(refunded, amount_fen=300, status=RefundStatus.REQUESTED))
    storage.insert_refund(make_refund(first, amount_fen=9, status=success, success_at=D0 - 1))


def test_day_totals_count_each_figure_on_its_own_day(storage: Storage) -> None:
    _days(storage)
    assert storage.day_totals(D0, D0 + 3 * DAY, CST) == [
        DayTotals(D0, orders_created=3, orders_paid=1, revenue_fen=1500, payments=2, refunded_fen=0),
        DayTotals(D0 + DAY, orders_created=1, orders_paid=1, revenue_fen=2000, payments=1, refunded_fen=0),
        DayTotals(D0 + 2 * DAY, orders_created=0, orders_paid=0, revenue_fen=0, payments=0, refunded_fen=2000),
    ]


def test_day_totals_include_empty_days_and_take_only_day_starts(storage: Storage) -> None:
    _days(storage)
    empty = storage.day_totals(D0 + 10 * DAY, D0 + 12 * DAY, CST)
    assert empty == [DayTotals(D0 + (10 + n) * DAY, 0, 0, 0, 0, 0) for n in range(2)]
    assert storage.day_totals(D0, D0, CST) == []
    one = storage.day_totals(D0 + DAY, D0 + 2 * DAY, CST)
    assert [(d.day, d.orders_created, d.revenue_fen) for d in one] == [(D0 + DAY, 1, 2000)]
    for start, end in ((D0 + 1, D0 + DAY + 1), (D0, D0 + 3600), (D0 + DAY, D0)):
        with pytest.raises(ValueError):
            storage.day_totals(start, end, CST)


def test_day_totals_follow_the_offset(storage: Storage) -> None:
    _days(storage)
    utc = D0 - CST  # the UTC midnight 8 hours before D0: D0's orders fall 8 hours into that UTC day
    totals = storage.day_totals(utc, utc + DAY, 0)
    assert totals == [DayTotals(utc, orders_created=3, orders_paid=2, revenue_fen=1500, payments=2, refunded_fen=9)]


# -- reports -------------------------------------------------------------------------------------------------


def test_reports_list_the_newest_keys_of_a_kind_first(storage: Storage) -> None:
    for n, key in enumerate(("2026-11-27", "2026-11-29", "2026-11-28")):
        storage.save_report("reconciliation", key, {"n": n, "说明": "对账"}, T0 + n)
    storage.save_report("other", "2026-11-30", {}, T0)
    assert storage.reports("reconciliation", 2) == [
        {"key": "2026-11-29", "at": T0 + 1, "report": {"n": 1, "说明": "对账"}},
        {"key": "2026-11-28", "at": T0 + 2, "report": {"n": 2, "说明": "对账"}},
    ]
    assert [r["key"] for r in storage.reports("reconciliation", 10)] == ["2026-11-29", "2026-11-28", "2026-11-27"]
    assert storage.reports("reconciliation", 0) == [] and storage.reports("none", 5) == []


# -- admin keys ----------------------------------------------------------------------------------------------


def _key(key_id: str, at: int, **overrides: Any) -> AdminKey:
    key = AdminKey(key_id, f"{key_id:0<64}", Role.OPERATOR, f"运营 {key_id}", at)
    return dataclasses.replace(key, **overrides)


def test_admin_keys_are_inserted_once_listed_oldest_first_and_revoked_once(storage: Storage) -> None:
    viewer = _key("bbbbbbbbbbbb", T0, role=Role.VIEWER)
    operator = _key("aaaaaaaaaaaa", T0 + 5)
    same_second = _key("000000000000", T0 + 5)
    for key in (operator, viewer, same_second):
        assert storage.insert_admin_key(key)
    assert storage.insert_admin_key(_key("aaaaaaaaaaaa", T0 + 9, name="someone else")) is False
    assert storage.get_admin_key("aaaaaaaaaaaa") == operator
    assert storage.get_admin_key("cccccccccccc") is None
    assert storage.admin_keys() == [viewer, same_second, operator]
    assert storage.revoke_admin_key("aaaaaaaaaaaa", T0 + 100)
    assert storage.revoke_admin_key("aaaaaaaaaaaa", T0 + 200) is False  # revoked already: the first time stands
    assert storage.revoke_admin_key("cccccccccccc", T0 + 100) is False
    revoked = storage.get_admin_key("aaaaaaaaaaaa")
    assert revoked == dataclasses.replace(operator, revoked_at=T0 + 100)
    assert storage.admin_keys() == [viewer, same_second, revoked]
    assert storage.get_admin_key("bbbbbbbbbbbb") == viewer and viewer.role is Role.VIEWER


# -- the audit log -------------------------------------------------------------------------------------------


def _entry(n: int, target: str, **overrides: Any) -> AuditEntry:
    entry = AuditEntry(
        audit_id=f"{T0 + n // 2:010d}-{n:012x}",
        at=T0 + n // 2,
        actor="aaaaaaaaaaaa",
        actor_name="运营 ops",
        role="operator",
        action="licence.revoke",
        target=target,
        outcome="ok",
        before={"status": "ACTIVE", "nested": {"a": [1, 2]}},
        after={"status": "REVOKED"},
        request_id=f"req-{n}",
        source_ip="203.0.113.7",
    )
    return dataclasses.replace(entry, **overrides)


def test_the_audit_log_reads_newest_first_in_pages_and_by_target(storage: Storage) -> None:
    entries = [_entry(n, "order:ord_a" if n % 3 == 0 else "licence:L1") for n in range(7)]
    entries[4] = dataclasses.replace(entries[4], before=None, after=None, request_id=None, source_ip=None)
    for entry in reversed(entries):  # written in any order, read by audit_id
        storage.append_audit(entry)
    newest = list(reversed(entries))
    assert storage.audit_entries(None, 100) == newest
    assert storage.audit_entries(None, 3) == newest[:3]
    assert storage.audit_entries(newest[2].audit_id, 3) == newest[3:6]
    assert storage.audit_entries(newest[5].audit_id, 3) == newest[6:]
    assert storage.audit_entries(entries[0].audit_id, 3) == []
    on_order = [e for e in newest if e.target == "order:ord_a"]
    assert [e.audit_id for e in on_order] == [entries[6].audit_id, entries[3].audit_id, entries[0].audit_id]
    assert storage.audit_entries(None, 10, target="order:ord_a") == on_order
    assert storage.audit_entries(None, 1, target="order:ord_a") == on_order[:1]
    assert storage.audit_entries(on_order[0].audit_id, 10, target="order:ord_a") == on_order[1:]
    assert storage.audit_entries(entries[5].audit_id, 10, target="licence:L1") == [entries[4], entries[2], entries[1]]
    assert storage.audit_entries(None, 10, target="order:none") == []
    assert storage.audit_entries(None, 0) == []


def test_an_audit_entry_is_written_once(storage: Storage) -> None:
    entry = _entry(1, "order:ord_a")
    storage.append_audit(entry)
    with pytest.raises(ValueError):
        storage.append_audit(dataclasses.replace(entry, outcome="changed"))
    assert storage.audit_entries(None, 10) == [entry]


# -- rate-limit counters -------------------------------------------------------------------------------------


def test_counters_count_per_name_and_window_and_expired_windows_are_purged(storage: Storage) -> None:
    assert [storage.hit_counter("auth:203.0.113.7", 100, T0 + 600) for _ in range(3)] == [1, 2, 3]
    assert storage.hit_counter("auth:203.0.113.7", 101, T0 + 900) == 1
    assert storage.hit_counter("auth:198.51.100.1", 100, T0 + 600) == 1
    assert storage.hit_counter("认证:中文", 100, T0 + 600) == 1
    assert storage.purge("rate_limits", T0 + 600, 10) == 0  # expiring at T0 + 600: not before it
    assert storage.purge("rate_limits", T0 + 601, 2) == 2
    assert storage.purge("rate_limits", T0 + 601, 10) == 1
    assert storage.purge("rate_limits", T0 + 601, 10) == 0
    assert storage.hit_counter("auth:203.0.113.7", 100, T0 + 600) == 1  # a purged window starts again
    assert storage.hit_counter("auth:203.0.113.7", 101, T0 + 900) == 2  # the later window was kept
    assert storage.purge("rate_limits", T0 + 10_000, 0) == 0
    with pytest.raises(ValueError):
        storage.purge("audit_log", T0 + 10_000, 10)


# -- backups -------------------------------------------------------------------------------------------------


def test_admin_keys_and_the_audit_log_export_in_key_order_and_restore_once(
    storage: Storage, spare_storage: Storage
) -> None:
    keys = [_key("bbbbbbbbbbbb", T0, role=Role.VIEWER), _key("aaaaaaaaaaaa", T0 + 5, revoked_at=T0 + 9)]
    for key in keys:
        assert storage.insert_admin_key(key)
    entries = [_entry(2, "order:ord_a"), _entry(1, "licence:L1", before=None, after=None, request_id=None)]
    for entry in entries:
        storage.append_audit(entry)
    exported = {name: list(storage.export_rows(name)) for name in ("admin_keys", "audit_log")}
    assert exported["admin_keys"] == [
        {**dataclasses.asdict(keys[1]), "role": "operator"},
        {**dataclasses.asdict(keys[0]), "role": "viewer"},
    ]
    assert exported["audit_log"] == [dataclasses.asdict(entries[1]), dataclasses.asdict(entries[0])]
    assert exported["audit_log"][1]["before"] == {"status": "ACTIVE", "nested": {"a": [1, 2]}}
    for name, found in exported.items():
        assert spare_storage.import_rows(name, iter(found)) == 2
        assert spare_storage.import_rows(name, iter(found)) == 0  # a restore run again changes nothing
        assert list(spare_storage.export_rows(name)) == found
    assert spare_storage.admin_keys() == storage.admin_keys()
    assert spare_storage.audit_entries(None, 10, target="order:ord_a") == [entries[0]]
