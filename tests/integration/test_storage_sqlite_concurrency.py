"""Real races on one SQLite file: threads with their own connections, and separate processes (spawned, as
independent function instances would be) each opening their own SqliteStorage on the same path.

Child-process entry points are module-level functions: the "spawn" context imports this module in each child.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from multiprocessing.context import SpawnProcess
from pathlib import Path
from typing import Any

import pytest

from shared.domain.licences import ActivationOutcome, Licence, LicenceStatus, licence_id_for
from shared.domain.orders import Order, OrderStatus
from shared.errors import StorageError
from shared.storage.schema_sqlite import LATEST_VERSION
from shared.storage.sqlite import SqliteStorage
from tests.integration.conftest import T0, make_licence, make_order
from tests.integration.racers import run_racers

SPAWN = multiprocessing.get_context("spawn")
CHILD_TIMEOUT = 20  # seconds; a hung child fails the test instead of hanging the suite


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "race.sqlite3")


@pytest.fixture
def storage(path: str) -> SqliteStorage:
    return SqliteStorage(path)


def _pay_and_license(storage: SqliteStorage, worker: int, order_id: str, barrier: Any) -> tuple[bool, bool]:
    """What every duplicate notification does: PENDING -> PAID, then issue the order's licence."""
    barrier.wait(CHILD_TIMEOUT)
    paid = storage.update_order(
        order_id,
        {"status": OrderStatus.PAID, "transaction_id": f"tx-{worker}", "paid_at": T0 + worker},
        expect_status=[OrderStatus.PENDING],
    )
    # Half the racers use the derived licence id, half another one: the order's UNIQUE must stop them too.
    licence_id = licence_id_for(order_id) if worker % 2 == 0 else f"L-stray-{worker}"
    licence = Licence(
        licence_id=licence_id,
        order_id=order_id,
        product_id="pro",
        key_hash=f"key-hash-{worker}",
        status=LicenceStatus.ACTIVE,
        entitlements=("pro",),
        max_devices=3,
        issued_at=T0 + worker,
        expires_at=None,
    )
    return paid, storage.insert_licence(licence)


def _activate(storage: SqliteStorage, licence_id: str, install: str, barrier: Any) -> str:
    barrier.wait(CHILD_TIMEOUT)
    return storage.activate(licence_id, install, max_devices=3, now=T0).outcome.value


# -- child process entry points ----------------------------------------------------------------------------


def _child_pay(path: str, worker: int, order_id: str, barrier: Any) -> tuple[bool, bool]:
    return _pay_and_license(SqliteStorage(path), worker, order_id, barrier)


def _child_activate(path: str, worker: int, licence_id: str, barrier: Any) -> str:
    return _activate(SqliteStorage(path), licence_id, f"install-{worker}", barrier)


def _child_open(path: str, worker: int, barrier: Any) -> int:
    barrier.wait(CHILD_TIMEOUT)
    return SqliteStorage(path).schema_version()


def _child_main(target: Callable[..., Any], args: tuple[Any, ...], barrier: Any, results: Any) -> None:
    """Report the result, or the failure, so that the parent fails at once instead of waiting for a timeout."""
    worker = args[1]
    try:
        results.put((worker, "ok", target(*args, barrier)))
    except BaseException as exc:
        results.put((worker, "failed", f"{type(exc).__name__}: {exc}"))
        raise


def _child_dies_inside_a_transaction(path: str, licence_id: str, holding: Any, die: Any) -> None:
    storage = SqliteStorage(path)
    with storage._transaction() as conn:
        conn.execute("INSERT INTO activations VALUES (?, 'install-ghost', ?)", (licence_id, T0))
        conn.execute("UPDATE orders SET status = 'REFUNDED'")
        holding.set()
        die.wait(CHILD_TIMEOUT)
        os._exit(1)  # no rollback, no close: as if the instance were frozen and reclaimed mid-write


def _run_children(target: Callable[..., Any], args: Sequence[tuple[Any, ...]]) -> dict[int, Any]:
    """Start one process per args tuple (path, worker, ...); a barrier makes them race. {worker: result}."""
    return run_racers(_child_main, [(target, a) for a in args], CHILD_TIMEOUT)


def _query(path: str, sql: str) -> list[tuple[Any, ...]]:
    """Look at the file behind the adapter's back, through a connection of our own."""
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


def _stored_order_and_licence(storage: SqliteStorage) -> tuple[Order, Licence]:
    order = make_order()
    storage.insert_order(order)
    licence = make_licence(order)
    storage.insert_licence(licence)
    return order, licence


def _assert_one_payment_and_one_licence(storage: SqliteStorage, order: Order, outcomes: dict[int, Any]) -> None:
    paid_by = [worker for worker, (paid, _) in outcomes.items() if paid]
    licensed_by = [worker for worker, (_, licensed) in outcomes.items() if licensed]
    assert len(paid_by) == 1 and len(licensed_by) == 1
    stored = storage.get_order(order.order_id)
    assert stored is not None and stored.status is OrderStatus.PAID
    assert stored.transaction_id == f"tx-{paid_by[0]}"  # the winner's write, not a mix of several
    licence = storage.get_licence_by_key_hash(f"key-hash-{licensed_by[0]}")
    assert licence is not None and licence.order_id == order.order_id
    assert _query(storage.path, "SELECT COUNT(*) FROM licences") == [(1,)]


# -- payments: exactly one transition and one licence --------------------------------------------------------


@pytest.mark.parametrize("instances", ["one per thread", "one shared"])
def test_eight_threads_paying_one_order_make_one_payment_and_one_licence(
    storage: SqliteStorage, path: str, instances: str
) -> None:
    order = make_order()
    storage.insert_order(order)
    barrier = threading.Barrier(8)

    def racer(worker: int) -> tuple[bool, bool]:
        mine = SqliteStorage(path) if instances == "one per thread" else storage
        return _pay_and_license(mine, worker, order.order_id, barrier)

    with ThreadPoolExecutor(8) as pool:
        outcomes = dict(enumerate(pool.map(racer, range(8))))
    _assert_one_payment_and_one_licence(storage, order, outcomes)


def test_four_processes_paying_one_order_make_one_payment_and_one_licence(storage: SqliteStorage, path: str) -> None:
    order = make_order()
    storage.insert_order(order)
    outcomes = _run_children(_child_pay, [(path, worker, order.order_id) for worker in range(4)])
    _assert_one_payment_and_one_licence(storage, order, outcomes)


# -- activations: the device limit holds under a race --------------------------------------------------------


def test_six_processes_activating_a_three_device_licence_bind_exactly_three(storage: SqliteStorage, path: str) -> None:
    _, licence = _stored_order_and_licence(storage)
    outcomes = _run_children(_child_activate, [(path, worker, licence.licence_id) for worker in range(6)])
    assert sorted(outcomes.values()) == ["ACTIVATED"] * 3 + ["LIMIT_REACHED"] * 3
    bound = {a.install_hash for a in storage.activations(licence.licence_id)}
    assert bound == {f"install-{w}" for w, outcome in outcomes.items() if outcome == "ACTIVATED"}


def test_twelve_threads_activating_a_three_device_licence_bind_exactly_three(storage: SqliteStorage, path: str) -> None:
    _, licence = _stored_order_and_licence(storage)
    barrier = threading.Barrier(12)

    def racer(worker: int) -> str:
        # Two threads per install: a double click must not take two slots either.
        return _activate(SqliteStorage(path), licence.licence_id, f"install-{worker // 2}", barrier)

    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(racer, range(12)))
    assert outcomes.count(ActivationOutcome.ACTIVATED.value) == 3
    assert outcomes.count(ActivationOutcome.ALREADY_ACTIVE.value) == 3
    assert len(storage.activations(licence.licence_id)) == 3


# -- opening the file ------------------------------------------------------------------------------------------


def test_four_processes_creating_the_same_new_file_migrate_it_once(path: str) -> None:
    versions = _run_children(_child_open, [(path, worker) for worker in range(4)])
    assert set(versions.values()) == {LATEST_VERSION}
    assert _query(path, "SELECT version FROM schema_version ORDER BY version") == [
        (v,) for v in range(1, LATEST_VERSION + 1)
    ]


def test_data_survives_reopening_and_a_second_migrate_changes_nothing(storage: SqliteStorage, path: str) -> None:
    order, licence = _stored_order_and_licence(storage)
    storage.close()
    reopened = SqliteStorage(path)
    reopened.migrate()
    assert reopened.get_order(order.order_id) == order
    assert reopened.get_licence(licence.licence_id) == licence
    assert reopened.schema_version() == LATEST_VERSION


def test_the_file_is_in_wal_mode_with_foreign_keys_enforced(storage: SqliteStorage, path: str) -> None:
    assert _query(path, "PRAGMA journal_mode") == [("wal",)]
    with pytest.raises(ValueError, match="constraint"):
        storage.activate("L-no-such-licence", "install-1", max_devices=3, now=T0)


# -- interrupted transactions ------------------------------------------------------------------------------------


def test_an_exception_inside_a_transaction_leaves_nothing_behind(storage: SqliteStorage, path: str) -> None:
    order, licence = _stored_order_and_licence(storage)
    with pytest.raises(RuntimeError), storage._transaction() as conn:
        conn.execute("INSERT INTO activations VALUES (?, 'install-ghost', ?)", (licence.licence_id, T0))
        conn.execute("UPDATE orders SET status = 'REFUNDED'")
        raise RuntimeError("crash between two writes")
    assert storage.activations(licence.licence_id) == []
    assert storage.get_order(order.order_id) == order
    other = SqliteStorage(path, busy_timeout_ms=200)  # the write lock was released, not just rolled back
    assert other.activate(licence.licence_id, "install-1", 3, T0).outcome is ActivationOutcome.ACTIVATED
    assert storage.update_order(order.order_id, {"updated_at": T0}) is True


def test_a_process_killed_inside_a_transaction_leaves_nothing_and_blocks_no_one(
    storage: SqliteStorage, path: str
) -> None:
    order, licence = _stored_order_and_licence(storage)
    holding, die = SPAWN.Event(), SPAWN.Event()
    child: SpawnProcess = SPAWN.Process(
        target=_child_dies_inside_a_transaction, args=(path, licence.licence_id, holding, die)
    )
    child.start()
    try:
        assert holding.wait(CHILD_TIMEOUT), "the child never took the write lock"
        impatient = SqliteStorage(path, busy_timeout_ms=100)
        with pytest.raises(StorageError, match="locked"):
            impatient.activate(licence.licence_id, "install-1", 3, T0)
        assert storage.get_order(order.order_id) == order  # WAL: readers are not blocked by the writer
    finally:
        die.set()
        child.join(CHILD_TIMEOUT)
    assert child.exitcode == 1
    assert storage.activations(licence.licence_id) == []
    assert storage.get_order(order.order_id) == order
    result = SqliteStorage(path, busy_timeout_ms=1000).activate(licence.licence_id, "install-1", 3, T0)
    assert result.outcome is ActivationOutcome.ACTIVATED
