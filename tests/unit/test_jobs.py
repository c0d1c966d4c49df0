"""The timer jobs over the in-memory storage and the scripted gateway: what each one settles, that a second run
at the same time does nothing, and that a failing job does not stop the others."""

from __future__ import annotations

import io
import json

import pytest

from shared import log
from shared.domain.licences import licence_id_for
from shared.domain.orders import OrderStatus
from shared.domain.refunds import RefundStatus
from shared.services.jobs.orders import CloseExpired, ReconcilePending
from shared.services.jobs.refunds import ReconcileRefunds
from shared.services.jobs.retention import Retention
from shared.services.jobs.runner import run_job
from shared.storage.port import IdempotencyRecord
from shared.wechatpay.errors import GatewayError
from tests.unit.fake_gateway import UNKNOWN
from tests.unit.lifecycle_world import World

pytestmark = pytest.mark.usefixtures("fresh_log_context")


def close_expired(world: World) -> CloseExpired:
    return CloseExpired(world.storage, world.payments, lambda: world.gateway, world.clock, batch=10)


def reconcile_pending(world: World) -> ReconcilePending:
    return ReconcilePending(
        world.storage, world.payments, lambda: world.gateway, world.clock, 10, after=60, max_interval=1800
    )


def reconcile_refunds(world: World) -> ReconcileRefunds:
    return ReconcileRefunds(world.storage, world.refunds, world.ledger, world.clock, 10, resend_after=120)


def test_expired_orders_are_closed_at_wechat_first_then_here() -> None:
    world = World()
    expired, fresh = world.pending_order(age=901), world.pending_order(age=10)
    counts = close_expired(world)({})
    assert counts == {"expired": 1, "closed": 1}
    assert world.gateway.trade_states[expired.order_id] == "CLOSED"
    assert world.order(expired.order_id).status is OrderStatus.CLOSED
    assert world.order(fresh.order_id).status is OrderStatus.PENDING
    assert world.storage.event_kinds(expired.order_id) == ["CLOSED"]


def test_an_order_paid_just_before_the_close_ends_paid_with_its_licence() -> None:
    world = World()
    order = world.pending_order(age=901)
    world.gateway.trade_states[order.order_id] = "SUCCESS"  # the user paid as the QR expired
    assert close_expired(world)({}) == {"expired": 1, "paid": 1}
    assert world.order(order.order_id).status is OrderStatus.PAID
    assert world.licence_status(order.order_id) == "ACTIVE"
    assert [name for name, _ in world.gateway.calls if name != "create"] == ["close", "query"]


def test_a_close_with_an_unknown_outcome_is_tried_again_by_the_next_run() -> None:
    world = World()
    order = world.pending_order(age=901)
    world.gateway.fail("close", UNKNOWN)
    assert close_expired(world)({}) == {"expired": 1, "unknown": 1}
    assert world.order(order.order_id).status is OrderStatus.PENDING
    assert close_expired(world)({}) == {"expired": 1, "closed": 1}


def test_pending_orders_are_asked_about_and_settled_as_a_notification_would() -> None:
    world = World()
    paid, unpaid, closed = (world.pending_order(age=120) for _ in range(3))
    young = world.pending_order(age=5)
    world.gateway.trade_states[paid.order_id] = "SUCCESS"
    world.gateway.trade_states[closed.order_id] = "CLOSED"
    counts = reconcile_pending(world)({})
    assert counts == {"pending": 3, "queried": 3, "paid": 1, "not_paid": 1, "closed": 1}
    assert world.order(paid.order_id).status is OrderStatus.PAID
    assert world.storage.get_licence(licence_id_for(paid.order_id)) is not None
    assert world.order(closed.order_id).status is OrderStatus.CLOSED
    assert world.order(unpaid.order_id).last_queried_at == world.now
    assert world.order(young.order_id).last_queried_at is None, "too young: its notification may still come"
    assert reconcile_pending(world)({})["queried"] == 0, "asked a moment ago: the backoff holds"
    world.now += 60
    assert reconcile_pending(world)({})["queried"] == 2, "the unpaid one again, the young one for the first time"


def test_refunds_in_flight_are_asked_about_and_a_lost_one_is_sent_again_under_the_same_number() -> None:
    world = World()
    settled, lost = world.paid_order(), world.paid_order()
    processing = world.refund(settled.order_id)["out_refund_no"]
    world.gateway.settle(processing)  # ...and its notification never came
    world.gateway.fail("refund", UNKNOWN)
    requested = world.refund(lost.order_id)["out_refund_no"]
    world.gateway.failures["refund"].clear()
    assert world.storage.get_refund(requested).status is RefundStatus.REQUESTED  # type: ignore[union-attr]

    counts = reconcile_refunds(world)({})
    assert counts == {"in_flight": 1, "success": 1, "orders_settled": 0}, "the lost one is too recent to send again"
    assert world.order(settled.order_id).status is OrderStatus.REFUNDED
    world.now += 121
    counts = reconcile_refunds(world)({})
    assert counts == {"in_flight": 1, "resent_processing": 1, "orders_settled": 0}
    sent = [call for name, call in world.gateway.calls if name == "refund" and call["out_trade_no"] == lost.order_id]
    assert [c["out_refund_no"] for c in sent] == [requested, requested]
    world.gateway.settle(requested)
    reconcile_refunds(world)({})
    assert world.order(lost.order_id).status is OrderStatus.REFUNDED
    assert world.licence_status(lost.order_id) == "REVOKED"


def test_a_lost_refund_that_wechat_refuses_when_sent_again_fails_and_the_order_is_paid_again() -> None:
    world = World()
    order = world.paid_order()
    world.gateway.fail("refund", UNKNOWN)
    world.refund(order.order_id)
    world.now += 121
    world.gateway.fail("refund", GatewayError(403, "NOT_ENOUGH", "余额不足"))
    assert reconcile_refunds(world)({})["failed"] == 1
    assert world.order(order.order_id).status is OrderStatus.PAID


def test_retention_purges_only_what_is_older_than_its_period() -> None:
    world = World()
    day = 86400
    world.storage.claim_idempotency_key(IdempotencyRecord("old", "p", "o1", world.now - 8 * day))
    world.storage.claim_idempotency_key(IdempotencyRecord("new", "p", "o2", world.now - day))
    world.storage.record_notification("n-old", "TRANSACTION.SUCCESS", "o1", world.now - 31 * day)
    world.storage.record_notification("n-new", "TRANSACTION.SUCCESS", "o2", world.now - 29 * day)
    world.storage.hit_counter("rl:orders_per_ip:old", 1, world.now - 1)
    world.storage.hit_counter("rl:orders_per_ip:new", 2, world.now + 600)
    job = Retention(world.storage, world.clock, 1, idempotency_days=7, notification_days=30)
    assert job({}) == {"purged_idempotency": 1, "purged_notifications": 1, "purged_counters": 1}
    assert set(world.storage.idempotency) == {"new"} and set(world.storage.notifications) == {"n-new"}
    assert list(world.storage.counters) == [("rl:orders_per_ip:new", 2)]


def test_a_second_run_at_the_same_time_is_skipped_and_a_finished_run_frees_the_lease() -> None:
    world = World()
    world.pending_order(age=901)
    inner: list[dict[str, object]] = []

    def job(options: object) -> dict[str, int]:
        inner.append(run_job("close_expired", close_expired(world), world.storage, world.clock, lease_seconds=60))
        return {"done": 1}

    outer = run_job("close_expired", job, world.storage, world.clock, lease_seconds=60)
    assert outer["outcome"] == "OK" and inner[0]["outcome"] == "SKIPPED"
    assert world.gateway.count("close") == 0
    again = run_job("close_expired", close_expired(world), world.storage, world.clock, lease_seconds=60)
    assert again["outcome"] == "OK" and again["closed"] == 1
    assert world.storage.leases == {}


def test_a_lease_left_by_a_run_that_died_expires() -> None:
    world = World()
    world.storage.acquire_lease("job:retention", "dead-instance", world.now, 60)
    job = Retention(world.storage, world.clock, 10, idempotency_days=7, notification_days=30)
    assert run_job("retention", job, world.storage, world.clock, lease_seconds=60)["outcome"] == "SKIPPED"
    world.now += 61
    assert run_job("retention", job, world.storage, world.clock, lease_seconds=60)["outcome"] == "OK"


def test_a_failing_job_is_logged_as_an_error_and_reported_failed() -> None:
    world = World()
    out = io.StringIO()
    log.configure(stream=out)
    try:

        def broken(options: object) -> dict[str, int]:
            raise RuntimeError("storage went away")

        summary = run_job("broken", broken, world.storage, world.clock, lease_seconds=60)
    finally:
        log.configure(stream=None)
    assert summary["outcome"] == "FAILED" and world.storage.leases == {}
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(x["level"], x["event"]) for x in lines] == [("error", "job_failed"), ("info", "job_summary")]
    assert lines[1]["job"] == "broken" and isinstance(lines[1]["duration_ms"], int)


def test_an_order_left_refunding_after_its_refunds_ended_is_settled_by_the_refund_job() -> None:
    world = World()
    order = world.paid_order()
    no = world.refund(order.order_id)["out_refund_no"]
    world.storage.update_refund(no, {"status": RefundStatus.SUCCESS, "success_at": world.now})  # the order never moved
    assert world.order(order.order_id).status is OrderStatus.REFUNDING
    assert reconcile_refunds(world)({}) == {"in_flight": 0, "orders_settled": 1}
    assert world.order(order.order_id).status is OrderStatus.REFUNDED
    assert world.licence_status(order.order_id) == "REVOKED"


def test_one_order_that_fails_does_not_hold_up_the_others_and_the_run_ends_failed() -> None:
    world = World()
    broken, fine = world.pending_order(age=120), world.pending_order(age=120)
    world.storage.update_order(broken.order_id, {"product_id": "withdrawn"})  # no longer in the catalogue
    world.gateway.trade_states[broken.order_id] = world.gateway.trade_states[fine.order_id] = "SUCCESS"
    summary = run_job("reconcile_pending", reconcile_pending(world), world.storage, world.clock, lease_seconds=60)
    assert (summary["outcome"], summary["paid"], summary["error"]) == ("FAILED", 1, 1)
    assert world.order(fine.order_id).status is OrderStatus.PAID
