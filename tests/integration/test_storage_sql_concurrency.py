"""Real races on the real servers: separate processes (spawned, as independent function instances would be),
each with its own connection, running the real PaymentService for one payment, activating one licence, and one
killed in the middle of a transaction.

Child-process entry points are module-level functions: the "spawn" context imports this module in each child.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.context import SpawnProcess
from typing import Any

import pytest

from shared.config import CODE_ROOT
from shared.domain.catalogue import Catalogue
from shared.domain.licences import ActivationOutcome, licence_id_for
from shared.domain.orders import Order, OrderStatus, PaymentReport
from shared.licensing.keys import SigningKeys, generate_entry
from shared.services.licences import LicenceService
from shared.services.payments import PaymentService
from shared.storage.factory import open_storage
from shared.storage.sql.base import SqlStorage
from tests.integration.conftest import T0, make_licence, make_order
from tests.integration.racers import run_racers
from tests.integration.test_storage_sql_servers import DIALECTS, SERVERS, SqlTestServer

SPAWN = multiprocessing.get_context("spawn")
CHILD_TIMEOUT = 30  # seconds; a hung child fails the test instead of hanging the suite
KEY_SECRET = b"licence-key-secret-for-the-races"


@pytest.fixture(params=DIALECTS)
def server(request: pytest.FixtureRequest) -> SqlTestServer:
    return SERVERS[request.param]


@pytest.fixture
def url(server: SqlTestServer) -> str:
    namespace = server.shared_namespace()
    server.empty(namespace)
    return server.url_for(namespace)


@pytest.fixture
def storage(url: str) -> SqlStorage:
    opened = open_storage(url)
    assert isinstance(opened, SqlStorage)
    return opened


def _payments(url: str, signing_entry: str) -> PaymentService:
    """Built as shared.bootstrap builds it for a function instance."""
    storage = open_storage(url)
    catalogue = Catalogue.from_json((CODE_ROOT / "config" / "products.json").read_text(encoding="utf-8"))
    licences = LicenceService(storage, catalogue, SigningKeys.parse(signing_entry), KEY_SECRET, lambda: T0 + 100)
    return PaymentService(storage, licences, lambda: T0 + 100)


# -- child process entry points ----------------------------------------------------------------------------


def _child_deliver(url: str, worker: int, report: PaymentReport, signing_entry: str, barrier: Any) -> list[str]:
    """One instance receiving the same notification twice (WeChat retries)."""
    payments = _payments(url, signing_entry)
    barrier.wait(CHILD_TIMEOUT)
    return [payments.apply(report, reference=f"notify:{worker}-{n}").value for n in range(2)]


def _child_poll(url: str, worker: int, order_id: str, barrier: Any) -> list[str]:
    """The extension polling the order while the notifications race: every status it ever saw, in order."""
    storage = open_storage(url)
    barrier.wait(CHILD_TIMEOUT)
    seen: list[str] = []
    deadline = time.monotonic() + CHILD_TIMEOUT
    while time.monotonic() < deadline and seen[-1:] != ["PAID"]:
        order = storage.get_order(order_id)
        assert order is not None
        if seen[-1:] != [order.status.value]:
            seen.append(order.status.value)
    return seen


def _child_activate(url: str, worker: int, licence_id: str, barrier: Any) -> str:
    storage = open_storage(url)
    barrier.wait(CHILD_TIMEOUT)
    return storage.activate(licence_id, f"install-{worker}", max_devices=3, now=T0).outcome.value


def _child_main(target: Callable[..., Any], args: tuple[Any, ...], barrier: Any, results: Any) -> None:
    """Report the result, or the failure, so that the parent fails at once instead of waiting for a timeout."""
    worker = args[1]
    try:
        results.put((worker, "ok", target(*args, barrier)))
    except BaseException as exc:
        results.put((worker, "failed", f"{type(exc).__name__}: {exc}"))
        raise


def _child_dies_inside_a_transaction(url: str, order: Order, licence_id: str, holding: Any, die: Any) -> None:
    storage = open_storage(url)
    assert isinstance(storage, SqlStorage)

    def work(cursor: Any) -> None:
        cursor.execute(
            "INSERT INTO activations (licence_id, install_hash, activated_at) VALUES (%s, 'install-ghost', %s)",
            (licence_id, T0),
        )
        cursor.execute("UPDATE orders SET status = 'REFUNDED' WHERE order_id = %s", (order.order_id,))
        holding.set()
        die.wait(CHILD_TIMEOUT)
        os._exit(1)  # no rollback, no close: as if the instance were frozen and reclaimed mid-write

    storage._run(work, transaction=True)


def _run_children(jobs: Sequence[tuple[Callable[..., Any], tuple[Any, ...]]]) -> dict[int, Any]:
    """One process per (target, (url, worker, ...)); a barrier makes them race. {worker: result}."""
    return run_racers(_child_main, list(jobs), CHILD_TIMEOUT)


# -- one payment, many deliveries and polls ------------------------------------------------------------------


def test_processes_delivering_one_payment_while_others_poll_make_one_transition_one_licence_one_activation(
    server: SqlTestServer, url: str, storage: SqlStorage
) -> None:
    order = make_order(product_id="pro-monthly", amount_fen=990)
    storage.insert_order(order)
    report = PaymentReport(
        out_trade_no=order.order_id,
        trade_state="SUCCESS",
        mchid=order.mchid,
        appid=order.appid,
        amount_total=order.amount_fen,
        currency="CNY",
        transaction_id="4200000000202601010000000001",
        success_time=T0 + 60,
        payer_openid="o-payer",
    )
    entry = generate_entry("k1")
    deliveries = [(_child_deliver, (url, worker, report, entry)) for worker in range(4)]
    polls = [(_child_poll, (url, worker, order.order_id)) for worker in range(4, 6)]
    outcomes = _run_children([*deliveries, *polls])

    applied = [outcome for worker in range(4) for outcome in outcomes[worker]]
    assert sorted(applied) == ["ALREADY_PAID"] * 7 + ["PAID"]
    assert all(outcomes[worker] in (["PENDING", "PAID"], ["PAID"]) for worker in (4, 5))
    # One of each; in either order, since a losing instance may issue the licence before the winner's PAID lands.
    assert sorted(event["kind"] for event in storage.order_events(order.order_id)) == ["LICENCE_ISSUED", "PAID"]
    stored = storage.get_order(order.order_id)
    assert stored is not None and stored.status is OrderStatus.PAID and stored.transaction_id == report.transaction_id
    namespace = server.shared_namespace()
    assert server.count(namespace, "licences") == 1
    licence = storage.get_licence(licence_id_for(order.order_id))
    assert licence is not None and licence.order_id == order.order_id
    assert [a.install_hash for a in storage.activations(licence.licence_id)] == [order.install_hash]


# -- the device limit ------------------------------------------------------------------------------------------


def _stored_licence(storage: SqlStorage) -> str:
    order = make_order()
    storage.insert_order(order)
    licence = make_licence(order)
    storage.insert_licence(licence)
    return licence.licence_id


def test_six_processes_activating_a_three_device_licence_bind_exactly_three(url: str, storage: SqlStorage) -> None:
    licence_id = _stored_licence(storage)
    outcomes = _run_children([(_child_activate, (url, worker, licence_id)) for worker in range(6)])
    assert sorted(outcomes.values()) == ["ACTIVATED"] * 3 + ["LIMIT_REACHED"] * 3
    bound = {a.install_hash for a in storage.activations(licence_id)}
    assert bound == {f"install-{w}" for w, outcome in outcomes.items() if outcome == "ACTIVATED"}


def test_twelve_instances_double_clicking_six_installs_on_a_three_device_licence_bind_three(
    url: str, storage: SqlStorage
) -> None:
    licence_id = _stored_licence(storage)
    barrier = threading.Barrier(12)

    def racer(worker: int) -> str:
        mine = open_storage(url)  # its own connection, as another instance would have
        barrier.wait(CHILD_TIMEOUT)
        return mine.activate(licence_id, f"install-{worker // 2}", max_devices=3, now=T0).outcome.value

    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(racer, range(12)))
    assert outcomes.count(ActivationOutcome.ACTIVATED.value) == 3
    assert outcomes.count(ActivationOutcome.ALREADY_ACTIVE.value) == 3
    assert outcomes.count(ActivationOutcome.LIMIT_REACHED.value) == 6
    assert len(storage.activations(licence_id)) == 3


# -- a writer that dies mid-transaction ------------------------------------------------------------------------


def test_a_process_killed_inside_a_transaction_leaves_nothing_and_blocks_no_one(
    server: SqlTestServer, url: str, storage: SqlStorage
) -> None:
    order = make_order()
    storage.insert_order(order)
    licence = make_licence(order)
    storage.insert_licence(licence)
    holding, die = SPAWN.Event(), SPAWN.Event()
    child: SpawnProcess = SPAWN.Process(
        target=_child_dies_inside_a_transaction, args=(url, order, licence.licence_id, holding, die)
    )
    child.start()
    try:
        assert holding.wait(CHILD_TIMEOUT), "the child never opened its transaction"
        assert storage.get_order(order.order_id) == order  # readers see the last committed state, unblocked
    finally:
        die.set()
        child.join(CHILD_TIMEOUT)
    assert child.exitcode == 1
    assert storage.activations(licence.licence_id) == []
    assert storage.get_order(order.order_id) == order
    # The dead transaction's locks on the licence and the order went with its connection.
    later = server.open(server.shared_namespace(), read_timeout="5")
    assert later.activate(licence.licence_id, "install-1", 3, T0).outcome is ActivationOutcome.ACTIVATED
    assert later.update_order(order.order_id, {"status": OrderStatus.PAID}, expect_status=[OrderStatus.PENDING])
    later.close()
