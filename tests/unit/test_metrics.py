"""Metrics as log lines: one shape (`event` "metric", `metric`, `value`, dimensions), each emitted exactly once, by
the one writer that really did the thing — never on a replay, a duplicate or a lost race."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from functions.jobs import index as jobs_fn
from functions.payment_notify import index as notify_fn
from shared import log
from shared.domain.licences import PartialRefundPolicy
from shared.domain.orders import OrderStatus, PaymentReport
from shared.domain.reconciliation import day_bounds
from shared.http.request import Headers, Request
from shared.services.jobs.bill import ReconcileBill
from shared.services.notifications import NotificationRejected, NotificationService
from shared.services.purchase import Merchant, PurchaseService
from shared.wechatpay.verify import KeyRing
from tests.fixtures import keys
from tests.unit import wechat_double as wx
from tests.unit.conftest import Lines
from tests.unit.fake_storage import FakeStorage
from tests.unit.lifecycle_world import CATALOGUE, NOTIFY_URL, World
from tests.unit.test_bills import PAYMENT, bill

Metrics = Callable[..., list[dict[str, Any]]]
INSTALL = "install-id-for-metrics-0001"


@pytest.fixture
def metrics(lines: Lines) -> Iterator[Metrics]:
    """The metric lines written so far (optionally of one metric), each a parsed JSON object."""
    with log.request_scope():

        def read(name: str | None = None) -> list[dict[str, Any]]:
            return [x for x in lines() if x["event"] == "metric" and name in (None, x["metric"])]

        yield read


# -- the shape -------------------------------------------------------------------------------------------------------


def test_a_metric_line_has_one_stable_shape_after_the_request_fields(metrics: Metrics) -> None:
    with log.request_scope(request_id="r-1", function="create_order", route="/v1/orders"):
        log.bind(order_id="o1")
        log.metric("orders_created", product_id="pro-monthly")
    (line,) = metrics()
    assert list(line) == [
        "ts",
        "level",
        "event",
        "request_id",
        "function",
        "route",
        "order_id",
        "metric",
        "value",
        "product_id",
    ]
    assert (line["level"], line["event"], line["metric"], line["value"]) == ("info", "metric", "orders_created", 1)


def test_a_metric_carries_its_value_and_is_written_whatever_the_log_level(metrics: Metrics) -> None:
    log.configure(level="error")
    log.info("not_written")
    log.metric("job_duration_ms", 1234, job="retention")
    log.metric("reconcile_discrepancies", value=0, date="2026-01-01")
    assert [(x["metric"], x["value"]) for x in metrics()] == [("job_duration_ms", 1234), ("reconcile_discrepancies", 0)]


def test_a_dimension_cannot_rename_the_metric_nor_leak_a_secret(metrics: Metrics) -> None:
    log.metric("orders_paid", api_key="leaked", event="other")
    (line,) = metrics()
    assert (line["event"], line["metric"]) == ("metric", "orders_paid")
    assert "leaked" not in json.dumps(line)


# -- orders_created ----------------------------------------------------------------------------------------------------


def purchases(world: World) -> PurchaseService:
    merchant = Merchant("1900000001", "wx1", NOTIFY_URL)
    return PurchaseService(world.storage, CATALOGUE, lambda: world.gateway, merchant, b"p" * 32, 900, world.clock)


def test_orders_created_counts_a_new_order_once_and_not_its_idempotent_replays(metrics: Metrics) -> None:
    shop = purchases(World())
    first = shop.create("pro-monthly", INSTALL, "retry-key-0001")
    again = shop.create("pro-monthly", INSTALL, "retry-key-0001")
    shop.create("pro-monthly", INSTALL, None)
    assert again.replayed and again.order.order_id == first.order.order_id
    lines = metrics("orders_created")
    assert [(x["value"], x["product_id"], x["amount_fen"]) for x in lines] == [(1, "pro-monthly", 990)] * 2
    assert lines[0]["order_id"] == first.order.order_id


def test_an_order_whose_first_attempt_at_wechat_failed_is_counted_once_when_retried(metrics: Metrics) -> None:
    world = World()
    shop = purchases(world)
    world.gateway.fail("create", RuntimeError("boom"))
    with pytest.raises(RuntimeError):
        shop.create("pro-monthly", INSTALL, "retry-key-0002")
    shop.create("pro-monthly", INSTALL, "retry-key-0002")
    assert len(metrics("orders_created")) == 1


# -- orders_paid -------------------------------------------------------------------------------------------------------


def paid_report(world: World, order_id: str) -> PaymentReport:
    from shared.services.notifications import report_of

    world.gateway.trade_states[order_id] = "SUCCESS"
    return report_of(world.gateway.transaction(order_id))


def test_orders_paid_is_emitted_by_the_winner_of_the_paid_transition_only(metrics: Metrics) -> None:
    world = World()
    order = world.pending_order()
    report = paid_report(world, order.order_id)
    world.payments.apply(report, reference="notify:n1")
    world.payments.apply(report, reference="query:reconcile")  # a duplicate: already paid
    (line,) = metrics("orders_paid")
    assert (line["order_id"], line["amount_fen"], line["via"], line["value"]) == (order.order_id, 990, "notify", 1)


def test_a_payment_that_disagrees_with_the_order_is_not_counted_as_paid(metrics: Metrics) -> None:
    world = World()
    order = world.pending_order()
    report = dataclasses.replace(paid_report(world, order.order_id), amount_total=1)
    world.payments.apply(report, reference="notify:n1")
    assert metrics("orders_paid") == []


# -- refunds_succeeded, licences_revoked -------------------------------------------------------------------------------


def test_a_refund_that_succeeds_is_counted_once_and_the_licence_it_revokes_once() -> None:
    world = World()
    order = world.paid_order()
    world.gateway.refund_status = "SUCCESS"
    stream = io.StringIO()
    log.configure(stream=stream)
    try:
        with log.request_scope():
            world.refund(order.order_id)
            world.refund(order.order_id)  # the same request key: no second refund
            refund = world.storage.refunds_for_order(order.order_id)[0]
            world.ledger.settle_order(order.order_id)
            world.ledger.move(refund, refund.status, reference="query:again")
    finally:
        log.configure(stream=None)
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    counted = [(x["metric"], x["value"]) for x in lines if x["event"] == "metric"]
    assert world.order(order.order_id).status is OrderStatus.REFUNDED
    assert counted == [("refunds_succeeded", 1), ("licences_revoked", 1)]
    revoked = next(x for x in lines if x.get("metric") == "licences_revoked")
    assert revoked["reason"] and revoked["order_id"] == order.order_id


def test_a_partial_refund_under_the_keep_policy_revokes_nothing(metrics: Metrics) -> None:
    world = World(PartialRefundPolicy.KEEP)
    order = world.paid_order()
    world.gateway.refund_status = "SUCCESS"
    world.refund(order.order_id, 100)
    assert [x["metric"] for x in metrics()] == ["orders_paid", "refunds_succeeded"]


# -- notify_rejected ---------------------------------------------------------------------------------------------------


def notifications(world: World) -> NotificationService:
    ring = KeyRing.from_pem(public_key_pem=keys.text("wechatpay_public_key.pem"), public_key_id=keys.PUBLIC_KEY_ID)
    return NotificationService(
        world.storage, world.payments, world.ledger, ring, keys.apiv3_key().encode(), lambda: wx.NOW
    )


def genuine(resource: dict[str, Any] | None = None) -> tuple[dict[str, str], bytes]:
    body = wx.encode(wx.envelope(resource or wx.PAID_TRANSACTION))
    return wx.signed_headers(body), body


def forged(**change: Any) -> tuple[dict[str, str], bytes]:
    body = wx.encode(wx.envelope(wx.PAID_TRANSACTION))
    return wx.signed_headers(body, **change), body


def tampered() -> tuple[dict[str, str], bytes]:
    headers, body = genuine()
    return headers, body.replace(b"EV-", b"EX-")


def unsigned() -> tuple[dict[str, str], bytes]:
    headers, body = genuine()
    return {k: v for k, v in headers.items() if k != "Wechatpay-Signature"}, body


def sealed_under_another_key() -> tuple[dict[str, str], bytes]:
    envelope = wx.envelope(wx.PAID_TRANSACTION)
    envelope["resource"]["ciphertext"] = envelope["resource"]["ciphertext"][:-8] + "AAAAAAA="
    body = wx.encode(envelope)
    return wx.signed_headers(body), body


def malformed() -> tuple[dict[str, str], bytes]:
    body = wx.encode(wx.envelope(wx.PAID_TRANSACTION, event_type="SOMETHING.ELSE"))
    return wx.signed_headers(body), body


def probe() -> tuple[dict[str, str], bytes]:
    headers, body = genuine()
    return {**headers, "Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"]}, body


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (tampered, "bad_signature"),
        (unsigned, "bad_signature"),
        (lambda: forged(key="platform"), "bad_signature"),
        (lambda: forged(timestamp=wx.NOW - 301), "stale_timestamp"),
        (lambda: forged(serial="PUB_KEY_ID_0000000000000000000000000000"), "unknown_serial"),
        (probe, "signtest_probe"),
        (sealed_under_another_key, "decrypt_failed"),
        (malformed, "malformed"),
    ],
)
def test_every_rejected_notification_is_counted_once_with_its_reason(
    metrics: Metrics, make: Callable[[], tuple[dict[str, str], bytes]], reason: str
) -> None:
    headers, body = make()
    with pytest.raises(NotificationRejected):
        notifications(World()).handle(headers, body)
    (line,) = metrics()
    assert (line["metric"], line["value"], line["reason"]) == ("notify_rejected", 1, reason)


def stored_order_of(world: World, amount: int) -> None:
    world.pending_order(amount)
    order = world.storage.orders[next(iter(world.storage.orders))]
    world.storage.orders = {
        wx.PAID_TRANSACTION["out_trade_no"]: dataclasses.replace(
            order, order_id=wx.PAID_TRANSACTION["out_trade_no"], mchid=keys.MCHID, appid=keys.APPID
        )
    }


def test_a_genuine_notification_that_is_applied_counts_no_rejection(metrics: Metrics) -> None:
    world = World()
    stored_order_of(world, 990)
    assert notifications(world).handle(*genuine()) == "PAID"
    assert [x["metric"] for x in metrics()] == ["orders_paid"]


@pytest.mark.parametrize(("amount", "reason"), [(1990, "mismatch"), (None, "unknown_order")])
def test_a_genuine_notification_whose_payment_is_not_applied_is_counted_as_rejected(
    metrics: Metrics, amount: int | None, reason: str
) -> None:
    world = World()
    if amount is not None:
        stored_order_of(world, amount)
    service = notifications(world)
    assert service.handle(*genuine()) == reason.upper()
    assert service.handle(*genuine()) == "DUPLICATE"  # acknowledged: WeChat's retries are not counted again
    (line,) = metrics()
    assert (line["metric"], line["reason"], line["kind"]) == ("notify_rejected", reason, "payment")


def test_a_notification_with_a_duplicated_signature_header_is_counted_by_the_function(metrics: Metrics) -> None:
    headers = Headers([("wechatpay-signature", "a")], duplicated=["wechatpay-signature"])
    request = Request("POST", "/v1/notify/wechatpay", {}, headers, b"{}", "r-dup", None, "fc3")
    assert notify_fn.notify(request, {}).status == 400
    (line,) = metrics("notify_rejected")
    assert (line["metric"], line["reason"], line["value"]) == ("notify_rejected", "duplicated_header", 1)
    (event,) = metrics("security_events")  # counted as a security event too (audited when storage is reachable)
    assert (event["kind"], event["reason"]) == ("notify_rejected", "duplicated_header")


# -- reconcile_discrepancies, job_duration_ms ------------------------------------------------------------------------------


def test_the_bill_job_counts_its_discrepancies_and_zero_for_a_day_that_agrees(metrics: Metrics) -> None:
    import datetime as dt

    world = World()
    order = world.paid_order()
    start, _ = day_bounds(dt.date(2026, 1, 1))
    world.storage.update_order(order.order_id, {"paid_at": start + 60})
    world.gateway.bill_csv = bill(PAYMENT, summary="1,19.99,0.00,0.00,0.12000,19.99,0.00")
    job = ReconcileBill(world.storage, lambda: world.gateway, world.clock)
    job({"date": "2026-01-01"})  # one payment missing here, one missing there
    world.gateway.bill_csv = bill(summary="0,0.00,0.00,0.00,0.00000,0.00,0.00")
    job({"date": "2025-12-30"})  # nothing on either side
    lines = metrics("reconcile_discrepancies")
    assert [(x["value"], x["date"], x["missing_here"], x["missing_there"]) for x in lines] == [
        (2, "2026-01-01", 1, 1),
        (0, "2025-12-30", 0, 0),
    ]


def test_every_job_that_ran_reports_its_duration_and_outcome_and_a_skipped_one_none(
    metrics: Metrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = FakeStorage()
    storage.acquire_lease("job:busy", "another-instance", 0, 10**10)

    def broken(_options: object) -> dict[str, int]:
        raise RuntimeError("storage went away")

    jobs = {"fine": lambda c: lambda _o: {"done": 1}, "broken": lambda c: broken, "busy": lambda c: broken}
    monkeypatch.setattr(jobs_fn, "JOBS", jobs)
    monkeypatch.setattr(
        jobs_fn, "container", lambda: SimpleNamespace(storage=storage, lifecycle=SimpleNamespace(job_lease_seconds=60))
    )
    with pytest.raises(jobs_fn.JobsFailed):
        jobs_fn.handler({"jobs": "fine,broken,busy"}, SimpleNamespace(request_id="timer-1"))
    lines = metrics("job_duration_ms")
    assert [(x["job"], x["outcome"], x["function"]) for x in lines] == [
        ("fine", "OK", "jobs"),
        ("broken", "FAILED", "jobs"),
    ]
    assert all(isinstance(x["value"], int) and x["value"] >= 0 for x in lines)
