"""Races on the jobs' part of the port, on every backend: two runs of a job taking its lease at once, a lease
expiring under several takers, an operator's refund request sent several times at once.

SQLite, PostgreSQL and MySQL race separate processes (spawned, as independent function instances would be), each
opening its own storage from the URL; Tablestore races threads on one in-memory fake, with a random delay before
each call so that they interleave between the adapter's writes (the fake cannot be shared between processes).
Child-process entry points are module-level functions: the "spawn" context imports this module in each child.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from shared.domain.refunds import Refund
from shared.storage.factory import open_storage
from shared.storage.port import Storage
from shared.storage.tablestore import TablestoreStorage
from tests.integration.conftest import T0, make_order, make_refund
from tests.integration.fake_tablestore import FakeOTSClient
from tests.integration.racers import run_racers
from tests.integration.test_storage_sql_servers import SERVERS

CHILD_TIMEOUT = 30  # seconds; a hung child fails the test instead of hanging the suite
RACERS = 6
Work = Callable[..., Any]  # work(storage, worker, *args), a module-level function


class Race:
    """Racers released together against one storage: processes opening `url`, or threads sharing `shared`."""

    def __init__(self, storage: Storage, url: str | None) -> None:
        self.storage, self.url = storage, url

    def run(self, work: Work, *args: Any) -> list[Any]:
        if self.url is None:
            barrier = threading.Barrier(RACERS)

            def racer(worker: int) -> Any:
                barrier.wait(CHILD_TIMEOUT)
                return work(self.storage, worker, *args)

            with ThreadPoolExecutor(RACERS) as pool:
                return list(pool.map(racer, range(RACERS)))
        return _processes(self.url, work, args)


@pytest.fixture(params=["sqlite", "postgresql", "mysql", "tablestore"])
def race(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Race]:
    kind = request.param
    if kind == "tablestore":
        storage = TablestoreStorage(FakeOTSClient(page_size=2, latency=0.002), table_prefix="race_")
        storage.migrate()
        yield Race(storage, None)
        return
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'race.sqlite3'}"
    else:
        server = SERVERS[kind]
        namespace = server.shared_namespace()
        server.empty(namespace)
        url = server.url_for(namespace)
    storage = open_storage(url)
    yield Race(storage, url)
    storage.close()  # type: ignore[attr-defined]


# -- what each racer does ----------------------------------------------------------------------------------


def _take_lease(storage: Storage, worker: int, now: int) -> bool:
    return storage.acquire_lease("reconcile-bill", f"run-{worker}", now=now, ttl=300)


def _request_refund(storage: Storage, worker: int, refund: Refund) -> bool:
    # The same out_refund_no from every racer (a retried request), each with its own amount: one must win whole.
    return storage.insert_refund(dataclasses.replace(refund, amount_fen=100 + worker))


# -- the races ---------------------------------------------------------------------------------------------


def test_runs_taking_one_free_lease_at_once_leave_exactly_one_holder(race: Race) -> None:
    taken = race.run(_take_lease, T0)
    assert taken.count(True) == 1
    holder = f"run-{taken.index(True)}"
    assert race.storage.acquire_lease("reconcile-bill", holder, now=T0 + 1, ttl=300) is True
    assert race.storage.acquire_lease("reconcile-bill", "run-late", now=T0 + 1, ttl=300) is False


def test_runs_taking_over_an_expired_lease_at_once_leave_exactly_one_holder(race: Race) -> None:
    assert race.storage.acquire_lease("reconcile-bill", "run-crashed", now=T0, ttl=60)
    taken = race.run(_take_lease, T0 + 61)
    assert taken.count(True) == 1
    assert race.storage.acquire_lease("reconcile-bill", "run-crashed", now=T0 + 62, ttl=60) is False
    assert race.storage.acquire_lease("reconcile-bill", f"run-{taken.index(True)}", now=T0 + 62, ttl=60) is True


def test_one_refund_requested_several_times_at_once_is_stored_once(race: Race) -> None:
    order = make_order()
    race.storage.insert_order(order)
    refund = make_refund(order)
    inserted = race.run(_request_refund, refund)
    assert inserted.count(True) == 1
    stored = race.storage.get_refund(refund.out_refund_no)
    assert stored is not None and stored.amount_fen == 100 + inserted.index(True)
    assert race.storage.refunds_for_order(order.order_id) == [stored]


# -- processes ---------------------------------------------------------------------------------------------


def _child_main(url: str, work: Work, worker: int, args: tuple[Any, ...], barrier: Any, results: Any) -> None:
    """Report the result, or the failure, so that the parent fails at once instead of waiting for a timeout."""
    try:
        storage = open_storage(url)
        barrier.wait(CHILD_TIMEOUT)
        results.put((worker, "ok", work(storage, worker, *args)))
    except BaseException as exc:
        results.put((worker, "failed", f"{type(exc).__name__}: {exc}"))
        raise


def _processes(url: str, work: Work, args: tuple[Any, ...]) -> list[Any]:
    collected = run_racers(_child_main, [(url, work, worker, args) for worker in range(RACERS)], CHILD_TIMEOUT)
    return [collected[worker] for worker in range(RACERS)]
