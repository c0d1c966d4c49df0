"""The bench's measuring machinery on a real world (emulator + SQLite): a fresh handler process answers the first
request and the warm ones with the expected statuses, a floor process does the same work, and a measured process
that answers wrongly stops the bench instead of producing figures. No timing is asserted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.bench.fixture import ADMIN_PAGE, World
from scripts.bench.measure import Requests, cold_summary
from scripts.bench.runner import ChildFailed, spawn
from scripts.bench.stats import summary
from shared.domain.orders import OrderStatus
from shared.storage.search import OrderQuery


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = World(tmp_path_factory.mktemp("bench-world"))
    yield built
    built.close()


@pytest.mark.parametrize(
    ("function", "status"), [("payment_notify", 204), ("order_status", 200), ("license", 200), ("admin", 200)]
)
def test_a_fresh_handler_process_serves_its_first_and_warm_requests(
    world: World, tmp_path: Path, function: str, status: int
) -> None:
    events = Requests(world).many(function, 4)
    run = spawn(tmp_path, world.env, "handler", function, first=events[0], warm=events[1:], expect=status)
    assert run.statuses == [status] * 4
    assert len(run.latencies_ms) == 3
    assert run.heavy == []
    assert run.peak_rss_mb > 0 and run.import_ms is not None
    assert cold_summary([run])["runs"] == 1


def test_the_notify_floor_pays_the_orders_it_is_given(world: World, tmp_path: Path) -> None:
    orders = [world.pending_order() for _ in range(3)]
    run = spawn(tmp_path, world.env, "floor", "payment_notify", warm=[world.notify_event(o) for o in orders])
    assert summary(run.latencies_ms)["n"] == 3
    for order in orders:
        stored = world.storage.get_order(order.order_id)
        assert stored is not None and stored.status is OrderStatus.PAID


def test_the_admin_reads_a_full_page_of_orders_without_the_payment_side_or_any_sdk(
    world: World, tmp_path: Path
) -> None:
    events = Requests(world).many("admin", 2)
    run = spawn(tmp_path, world.env, "handler", "admin", first=events[0], warm=events[1:], modules=True, expect=200)
    assert run.statuses == [200, 200]
    outside = ("cryptography", "requests", "urllib3", "wechatpayv3", "pydantic", "boto3", "botocore", "qrcode")
    assert sorted({m.split(".")[0] for m in run.modules} & set(outside)) == []
    assert "shared.services.notifications" not in run.modules
    assert "shared.wechatpay.sdk_gateway" not in run.modules
    assert len(world.storage.search_orders(OrderQuery(), None, ADMIN_PAGE).orders) == ADMIN_PAGE
    floor = spawn(tmp_path, world.env, "floor", "admin", warm=events)
    assert summary(floor.latencies_ms)["n"] == 2


def test_a_measured_process_answering_an_unexpected_status_stops_the_bench(world: World, tmp_path: Path) -> None:
    paid = world.paid_order()
    replayed = world.notify_event(world.storage.get_order(paid.order_id))  # type: ignore[arg-type]
    with pytest.raises(ChildFailed, match="expected status 500"):
        spawn(tmp_path, world.env, "handler", "payment_notify", first=replayed, expect=500)
