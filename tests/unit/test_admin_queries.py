"""What operators read: an order with its whole story, figures per China day, reports, the audit log in pages —
and the admin keys the CLI makes, shown once and stored only as a hash."""

from __future__ import annotations

import datetime as dt

import pytest

from shared import errors
from shared.domain.admin import key_hash
from shared.domain.licences import licence_id_for
from shared.domain.refunds import refund_view
from shared.services.admin.params import AuditPage, DayRange
from tests.unit.admin_world import AdminWorld
from tests.unit.lifecycle_world import NOW

pytestmark = pytest.mark.usefixtures("fresh_log_context")


def test_an_order_s_detail_has_its_events_refunds_and_licence_but_not_the_buyer_s_secrets() -> None:
    world = AdminWorld()
    order = world.paid_order()
    world.refund(order.order_id, 300)
    detail = world.queries.order(order.order_id)
    assert detail["order"]["order_id"] == order.order_id and detail["order"]["status"] == "REFUNDING"
    assert "poll_token_hash" not in detail["order"] and "install_hash" not in detail["order"]
    assert "payer_hash" in detail["order"] and detail["order"]["transaction_id"]
    assert [e["kind"] for e in detail["events"]][:3] == ["LICENCE_ISSUED", "PAID", "REFUND_REQUESTED"]
    [refund] = detail["refunds"]
    assert refund == world.refunds.view(world.storage.refunds_for_order(order.order_id)[0])
    licence = detail["licence"]
    assert (licence["licence_id"], licence["status"], licence["max_devices"]) == (
        licence_id_for(order.order_id),
        "ACTIVE",
        3,
    )
    assert [a["install_hash"] for a in licence["activations"]] == ["install-hash"]
    with pytest.raises(errors.NotFound) as raised:
        world.queries.order("oNOSUCH")
    assert raised.value.code == "ORDER_NOT_FOUND"


def test_a_refund_in_a_detail_is_the_refund_view_of_the_ops_cli() -> None:
    world = AdminWorld()
    order = world.paid_order()
    world.refund(order.order_id)
    stored = world.storage.refunds_for_order(order.order_id)[0]
    assert refund_view(stored, world.order(order.order_id).status.value) == world.refunds.view(stored)


def test_stats_add_up_the_days_with_conversion_and_pending() -> None:
    world = AdminWorld()
    world.paid_order()
    world.paid_order(amount=1990)
    world.pending_order()
    today = dt.datetime.fromtimestamp(NOW + 8 * 3600, dt.timezone.utc).date()
    stats = world.queries.stats(DayRange(today - dt.timedelta(days=1), today))
    assert [d["date"] for d in stats["days"]] == [(today - dt.timedelta(days=1)).isoformat(), today.isoformat()]
    assert stats["days"][0]["orders_created"] == 0
    totals = stats["totals"]
    assert (totals["orders_created"], totals["orders_paid"], totals["payments"]) == (3, 2, 2)
    assert totals["revenue_fen"] == 990 + 1990 and totals["conversion"] == round(2 / 3, 4)
    assert stats["pending"] == 1 and (stats["from"], stats["to"]) == (stats["days"][0]["date"], today.isoformat())
    empty = world.queries.stats(DayRange(today - dt.timedelta(days=10), today - dt.timedelta(days=9)))
    assert empty["totals"]["conversion"] is None


def test_reports_are_listed_with_a_summary_and_read_whole() -> None:
    world = AdminWorld()
    report = {"date": "2026-01-01", "status": "DISCREPANCIES", "totals": {"ours_fen": 990}, "missing_here": [{}]}
    report.update({"missing_there": [], "amount_mismatch": [], "state_mismatch": [{}, {}]})
    world.storage.save_report("reconciliation", "2026-01-01", report, NOW)
    world.storage.save_report("admin_auth_lockout", "x|1", {"source_ip": "x"}, NOW)
    [listed] = world.queries.reports(10)["reports"]
    assert listed["date"] == "2026-01-01"
    assert listed["summary"] == {
        "status": "DISCREPANCIES",
        "totals": {"ours_fen": 990},
        "missing_here": 1,
        "missing_there": 0,
        "amount_mismatch": 0,
        "state_mismatch": 2,
    }
    assert world.queries.report("2026-01-01") == report
    with pytest.raises(errors.NotFound):
        world.queries.report("2026-01-02")


def test_the_audit_log_pages_newest_first_and_filters_by_target() -> None:
    world = AdminWorld()
    orders = [world.paid_order() for _ in range(3)]
    caller = world.caller()
    for order in orders:
        world.now += 1
        world.operations.revoke(caller, licence_id_for(order.order_id), lambda: {"reason": "test"})
    first = world.queries.audit(AuditPage(None, None, 2))
    assert [e["target"] for e in first["entries"]] == [
        f"licence:{licence_id_for(orders[2].order_id)}",
        f"licence:{licence_id_for(orders[1].order_id)}",
    ]
    assert first["next_before"] == first["entries"][-1]["audit_id"]
    rest = world.queries.audit(AuditPage(first["next_before"], None, 2))
    assert [e["target"] for e in rest["entries"]] == [f"licence:{licence_id_for(orders[0].order_id)}"]
    assert rest["next_before"] is None
    only = world.queries.audit(AuditPage(None, f"licence:{licence_id_for(orders[1].order_id)}", 10))
    assert len(only["entries"]) == 1 and only["entries"][0]["before"]["status"] == "ACTIVE"


def test_a_key_is_shown_once_stored_as_its_hash_and_both_creation_and_revocation_are_audited() -> None:
    world = AdminWorld()
    created = world.keys.create("root", "alice", "operator")
    assert created["key"].startswith(f"wxak_{created['key_id']}_") and created["role"] == "operator"
    stored = world.storage.get_admin_key(created["key_id"])
    assert stored is not None and stored.key_hash == key_hash(created["key"])
    assert created["key"] not in repr(stored)
    assert [k["key_id"] for k in world.keys.list()] == [created["key_id"]]
    assert "key" not in world.keys.list()[0] and "key_hash" not in world.keys.list()[0]
    world.now += 1
    revoked = world.keys.revoke("root", created["key_id"])
    assert revoked["revoked_at"] == world.now
    with pytest.raises(errors.Conflict):
        world.keys.revoke("root", created["key_id"])
    with pytest.raises(errors.ValidationFailed):
        world.keys.create("root", "bob", "admin")
    with pytest.raises(errors.ValidationFailed):
        world.keys.create("root", "", "viewer")
    entries = world.audit()
    assert {(e.action, e.outcome) for e in entries} == {
        ("admin_key.create", "ok"),
        ("admin_key.revoke", "ok"),
        ("admin_key.revoke", "KEY_REVOKED"),
        ("admin_key.create", "INVALID_ROLE"),
        ("admin_key.create", "INVALID_NAME"),
    }
    assert all(e.actor == "cli:root" and e.role == "cli" for e in entries)
    creation = next(e for e in entries if e.action == "admin_key.create" and e.outcome == "ok")
    assert creation.before is None and creation.after is not None and creation.after["name"] == "alice"
    assert all(created["key"] not in str(e) for e in entries)
