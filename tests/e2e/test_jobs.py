"""The timer jobs over real HTTP — fired with FC 3.0 timer events on their own function instances (processes),
against the emulator and the gateway's SQLite: orders whose notifications never came, expired orders, the
close/pay race, and two runs of every job at the same moment doing the work once."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from scripts.stack import Stack
from shared.domain.licences import licence_id_for
from shared.domain.orders import OrderStatus
from tests.support.backoffice import Backoffice
from tests.support.emulator import RunningEmulator
from tests.support.shop import Shop

FREQUENT = "close_expired,reconcile_pending,reconcile_refunds"


@pytest.fixture
def office(stack: Stack) -> Iterator[Backoffice]:
    # A batch big enough for what other tests of the session left PENDING.
    backoffice = Backoffice(stack, JOB_BATCH_SIZE="500")
    yield backoffice
    backoffice.stop()


def expire(shop: Shop, order: dict[str, Any]) -> None:
    """The order's checkout window is over (our expires_at; WeChat's own time_expire is later)."""
    shop.storage().update_order(order["order_id"], {"expires_at": int(time.time()) - 1})


def two_minutes_old(shop: Shop, order: dict[str, Any]) -> None:
    """Old enough that its notification should have come (the job asks from RECONCILE_AFTER_SECONDS, 60 s)."""
    stored = shop.storage().get_order(order["order_id"])
    assert stored is not None
    shop.storage().update_order(order["order_id"], {"created_at": stored.created_at - 120})


def status_of(shop: Shop, order: dict[str, Any]) -> OrderStatus:
    stored = shop.storage().get_order(order["order_id"])
    assert stored is not None
    return stored.status


def calls(emulator: RunningEmulator, endpoint: str) -> Counter[str]:
    """How often each order was the target of an APIv3 call, from the emulator's request log."""
    log = emulator.control("GET", "/_emulator/requests")["requests"]
    return Counter(
        r["target"].split("/out-trade-no/")[1].split("?")[0].split("/")[0] for r in log if r["endpoint"] == endpoint
    )


def test_paid_orders_whose_notifications_were_all_dropped_are_settled_by_the_jobs_alone(
    shop: Shop, emulator: RunningEmulator, office: Backoffice
) -> None:
    paid = [shop.order() for _ in range(6)]
    unpaid = [shop.order() for _ in range(2)]
    for order in paid:
        emulator.pay(order["order_id"], mode="drop")
    for order in paid + unpaid:
        two_minutes_old(shop, order)  # and nobody polls

    summary = office.run_jobs(FREQUENT)["reconcile_pending"]

    assert (summary["outcome"], summary["paid"]) == ("OK", 6)
    storage = shop.storage()
    for order in paid:
        assert status_of(shop, order) is OrderStatus.PAID
        assert storage.get_licence(licence_id_for(order["order_id"])) is not None
        assert [e["details"]["via"] for e in storage.order_events(order["order_id"]) if e["kind"] == "PAID"] == [
            "reconcile"
        ]
        assert emulator.notifications(order["order_id"])[0]["attempts"] == [], "no notification ever arrived"
    assert {status_of(shop, order) for order in unpaid} == {OrderStatus.PENDING}
    assert shop.status(paid[0])["license"]["token"], "the extension's next poll finds the licence"

    for order in unpaid:
        expire(shop, order)
    assert office.run_jobs("close_expired")["close_expired"]["closed"] == 2
    for order in unpaid:
        assert emulator.control("GET", f"/_emulator/orders/{order['order_id']}")["trade_state"] == "CLOSED"
        assert status_of(shop, order) is OrderStatus.CLOSED
        refused = emulator.http.post(f"{emulator.base_url}/_emulator/pay", json={"out_trade_no": order["order_id"]})
        assert refused.status_code == 400, "the QR code can no longer be paid"


def test_an_order_paid_as_it_is_closed_ends_paid_with_a_licence(
    shop: Shop, emulator: RunningEmulator, office: Backoffice
) -> None:
    order = shop.order()
    emulator.control("POST", f"/_emulator/orders/{order['order_id']}/pay-on-close", {})
    expire(shop, order)

    summary = office.run_jobs("close_expired")["close_expired"]

    assert (summary["expired"], summary["paid"]) == (1, 1)
    assert emulator.control("GET", f"/_emulator/orders/{order['order_id']}")["trade_state"] == "SUCCESS"
    status = shop.status(order)
    assert status["status"] == "PAID" and status["license"]["status"] == "ACTIVE" and status["license"]["token"]
    kinds = [e["kind"] for e in shop.storage().order_events(order["order_id"])]
    assert kinds.count("PAID") == 1 and "CLOSED" not in kinds


def test_every_job_fired_twice_at_the_same_moment_does_its_work_once(
    shop: Shop, emulator: RunningEmulator, office: Backoffice
) -> None:
    office.start_instances(2)
    expired = [shop.order() for _ in range(4)]
    dropped = [shop.order() for _ in range(3)]
    for order in expired:
        expire(shop, order)
    for order in dropped:
        emulator.pay(order["order_id"], mode="drop")
        two_minutes_old(shop, order)
    emulator.fault("close", "slow", delay=0.3, count=4)  # the first run still holds its lease when the second looks

    first, second = office.fire(FREQUENT), office.fire(FREQUENT)
    runs = [first.result(timeout=120)["jobs"], second.result(timeout=120)["jobs"]]

    closes, queries = calls(emulator, "close"), calls(emulator, "query")
    assert [closes[o["order_id"]] for o in expired] == [1, 1, 1, 1], "one close per expired order"
    assert [queries[o["order_id"]] for o in dropped] == [1, 1, 1], "one query per unsettled order"
    assert {status_of(shop, o) for o in expired} == {OrderStatus.CLOSED}
    assert {status_of(shop, o) for o in dropped} == {OrderStatus.PAID}
    close_runs = [s for run in runs for s in run if s["job"] == "close_expired"]
    assert sorted(s["outcome"] for s in close_runs) == ["OK", "SKIPPED"], "the lease let one run do the work"
    assert sum(s.get("paid", 0) for run in runs for s in run if s["job"] == "reconcile_pending") == 3
    assert all(s["outcome"] in ("OK", "SKIPPED") for run in runs for s in run)


def test_the_operator_runs_a_job_now_from_the_ops_cli(
    shop: Shop, emulator: RunningEmulator, office: Backoffice
) -> None:
    order = shop.order()
    expire(shop, order)
    code, ran = office.ops("jobs", "run", "close_expired,retention")
    assert code == 0 and [(s["job"], s["outcome"]) for s in ran["jobs"]] == [
        ("close_expired", "OK"),
        ("retention", "OK"),
    ]
    assert status_of(shop, order) is OrderStatus.CLOSED
    code, failed = office.ops("jobs", "run", "reconcile_bill", "--date", "yesterday")
    assert code == 1 and failed["jobs"][0]["outcome"] == "FAILED", "a failed job fails the command"
