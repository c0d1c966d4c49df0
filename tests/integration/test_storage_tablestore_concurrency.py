"""Races on the Tablestore adapter: threads sharing one fake client, each call atomic as a single-row operation is
on the service, with a random delay before each call so the threads interleave between the adapter's writes. (The
fake lives in memory, so processes do not apply here; the SQL adapters race processes on real servers.)"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest

from shared.domain.licences import ActivationOutcome, Licence, licence_id_for
from shared.domain.orders import OrderStatus
from shared.storage.port import IdempotencyRecord
from shared.storage.tablestore import TablestoreStorage
from tests.integration.conftest import T0, make_licence, make_order
from tests.integration.fake_tablestore import FakeOTSClient

WORKERS = 12
Result = TypeVar("Result")


@pytest.fixture
def storage() -> TablestoreStorage:
    storage = TablestoreStorage(FakeOTSClient(page_size=2, latency=0.002), table_prefix="race_")
    storage.migrate()
    return storage


def race(workers: int, work: Callable[[int], Result]) -> list[Result]:
    """Run work(0..workers-1) on as many threads, released together."""
    barrier = threading.Barrier(workers)

    def run(worker: int) -> Result:
        barrier.wait(timeout=10)
        return work(worker)

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, range(workers)))


def test_duplicate_notifications_pay_once_and_issue_exactly_one_licence(storage: TablestoreStorage) -> None:
    order = make_order()
    storage.insert_order(order)

    def pay_and_license(worker: int) -> tuple[bool, Licence, bool]:
        paid = storage.update_order(
            order.order_id,
            {"status": OrderStatus.PAID, "transaction_id": f"tx-{worker}", "paid_at": T0 + worker},
            expect_status=[OrderStatus.PENDING],
        )
        # Half the racers use the derived licence id, half a stray one: the order's claim must stop them too.
        licence_id = licence_id_for(order.order_id) if worker % 2 == 0 else f"L-stray-{worker}"
        licence = make_licence(order, licence_id=licence_id, key_hash=f"key-hash-{worker}")
        return paid, licence, storage.insert_licence(licence)

    results = race(WORKERS, pay_and_license)
    assert [paid for paid, _, _ in results].count(True) == 1
    winners = [licence for _, licence, inserted in results if inserted]
    assert len(winners) == 1
    stored = storage.get_order(order.order_id)
    assert stored is not None and stored.status is OrderStatus.PAID
    for _, licence, _ in results:
        expected = licence if licence == winners[0] else None
        assert storage.get_licence_by_key_hash(licence.key_hash) == expected
        if licence.licence_id != winners[0].licence_id:
            assert storage.get_licence(licence.licence_id) is None


def test_six_devices_racing_for_three_seats_get_exactly_three(storage: TablestoreStorage) -> None:
    licence = make_licence(make_order())
    outcomes = race(6, lambda n: storage.activate(licence.licence_id, f"install-{n}", 3, T0 + n).outcome)
    assert sorted(outcomes) == sorted([ActivationOutcome.ACTIVATED] * 3 + [ActivationOutcome.LIMIT_REACHED] * 3)
    assert len(storage.activations(licence.licence_id)) == 3


def test_one_device_activating_six_times_at_once_is_bound_once(storage: TablestoreStorage) -> None:
    licence = make_licence(make_order())
    outcomes = race(6, lambda n: storage.activate(licence.licence_id, "install-same", 3, T0 + n).outcome)
    assert outcomes.count(ActivationOutcome.ACTIVATED) == 1
    assert outcomes.count(ActivationOutcome.ALREADY_ACTIVE) == 5
    assert [a.install_hash for a in storage.activations(licence.licence_id)] == ["install-same"]


def test_devices_coming_and_going_never_exceed_the_limit(storage: TablestoreStorage) -> None:
    licence = make_licence(make_order())
    seen: list[int] = []

    def churn(worker: int) -> int:
        activated = 0
        for round_ in range(8):
            install = f"install-{worker}-{round_ % 2}"
            if storage.activate(licence.licence_id, install, 2, T0).outcome is ActivationOutcome.ACTIVATED:
                activated += 1
            seen.append(len(storage.activations(licence.licence_id)))
            storage.deactivate(licence.licence_id, install)
        return activated

    activated = race(6, churn)
    assert sum(activated) > 0 and max(seen) <= 2
    assert storage.activations(licence.licence_id) == []


def test_the_same_order_inserted_at_once_is_stored_and_listed_once(storage: TablestoreStorage) -> None:
    order = make_order(install_hash="mine")
    assert race(8, lambda _: storage.insert_order(order)).count(True) == 1
    assert storage.orders_for_install("mine", 10) == [order]


def test_one_idempotency_key_claimed_at_once_answers_everyone_with_the_first_record(
    storage: TablestoreStorage,
) -> None:
    claims = race(8, lambda n: storage.claim_idempotency_key(IdempotencyRecord("idem", f"fp-{n}", f"ord-{n}", T0)))
    assert len(set(claims)) == 1
