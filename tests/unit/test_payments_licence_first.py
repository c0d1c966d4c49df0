"""A payment is never stored as PAID without its licence: when the licence write fails, the order stays PENDING, so
the paths that only look at PENDING orders (the status poll's query, the reconcile and close jobs) complete it.
Found by the chaos run (scripts/chaos): a polled order was marked PAID, its licence write failed, and no later poll
or job ever issued it."""

from __future__ import annotations

from typing import Any

import pytest

from shared import errors
from shared.domain.licences import licence_id_for
from shared.domain.orders import OrderStatus
from shared.services.jobs.orders import ReconcilePending
from shared.services.notifications import report_of
from tests.unit.lifecycle_world import World

pytestmark = pytest.mark.usefixtures("fresh_log_context")


def fail_licence_writes(world: World, times: int) -> None:
    insert = world.storage.insert_licence
    left = [times]

    def failing(licence: Any) -> bool:
        if left[0] > 0:
            left[0] -= 1
            raise errors.StorageError("the licence could not be stored")
        return insert(licence)

    world.storage.insert_licence = failing  # type: ignore[method-assign]


def test_a_payment_whose_licence_could_not_be_stored_stays_pending_and_the_reconcile_job_completes_it() -> None:
    world = World()
    order = world.pending_order(age=600)
    world.gateway.trade_states[order.order_id] = "SUCCESS"
    fail_licence_writes(world, times=1)

    with pytest.raises(errors.StorageError):
        world.payments.apply(report_of(world.gateway.transaction(order.order_id)), reference=f"query:{order.order_id}")

    assert world.order(order.order_id).status is OrderStatus.PENDING, "never PAID without its licence"
    job = ReconcilePending(
        world.storage, world.payments, lambda: world.gateway, world.clock, 10, after=60, max_interval=60
    )
    assert job({})["paid"] == 1
    assert world.order(order.order_id).status is OrderStatus.PAID
    assert world.storage.get_licence(licence_id_for(order.order_id)) is not None
    kinds = [e["kind"] for e in world.storage.order_events(order.order_id)]
    assert kinds.count("PAID") == 1 and kinds.count("LICENCE_ISSUED") == 1
