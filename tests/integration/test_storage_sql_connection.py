"""The one connection of a warm instance on the real servers: opened on first use, replaced after the server
closed it, units cut by a lost connection rolled back whole, run once more only when replaying cannot double a
write, and lock waits bounded by the URL's read_timeout."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from shared.domain.licences import ActivationOutcome, Licence
from shared.domain.orders import Order, OrderStatus
from shared.errors import StorageError
from shared.storage.factory import open_storage
from shared.storage.sql.base import SqlStorage
from tests.integration.conftest import T0, make_licence, make_order
from tests.integration.test_storage_sql_servers import DIALECTS, SERVERS, SqlTestServer


@pytest.fixture(params=DIALECTS)
def server(request: pytest.FixtureRequest) -> SqlTestServer:
    return SERVERS[request.param]


@pytest.fixture
def namespace(server: SqlTestServer) -> str:
    namespace = server.shared_namespace()
    server.empty(namespace)
    return namespace


@pytest.fixture
def storage(server: SqlTestServer, namespace: str) -> Iterator[SqlStorage]:
    storage = server.open(namespace)
    yield storage
    storage.close()


@pytest.fixture
def stored(storage: SqlStorage) -> tuple[Order, Licence]:
    order = make_order()
    licence = make_licence(order)
    assert storage.insert_order(order) and storage.insert_licence(licence)
    return order, licence


@pytest.mark.parametrize("scheme", ["postgresql", "mysql"])
def test_opening_connects_to_nothing_until_the_first_call_and_a_refusal_never_shows_the_password(scheme: str) -> None:
    storage = open_storage(f"{scheme}://app:s3cr%40t@127.0.0.1:1/licences?connect_timeout=1")
    with pytest.raises(StorageError, match="cannot connect") as refused:
        storage.get_order("ord_1")
    assert "s3cr@t" not in str(refused.value) and "s3cr%40t" not in str(refused.value)
    assert "s3cr" not in repr(storage)


def test_a_connection_the_server_closed_while_idle_is_replaced_on_the_next_call(
    server: SqlTestServer, storage: SqlStorage, stored: tuple[Order, Licence]
) -> None:
    order, _ = stored
    first = server.backend_id(storage)
    server.kill(first)
    assert storage.get_order(order.order_id) == order
    assert storage.update_order(order.order_id, {"last_queried_at": T0}) is True
    assert server.backend_id(storage) != first


def test_an_append_after_the_idle_connection_died_is_written_once(
    server: SqlTestServer, storage: SqlStorage, namespace: str, stored: tuple[Order, Licence]
) -> None:
    order, _ = stored
    storage.idle_probe_after = 0  # any pause counts as idle: the probe runs before the append
    server.kill(server.backend_id(storage))
    storage.append_order_event(order.order_id, "PAID", T0, {"via": "notify"})
    assert storage.order_events(order.order_id) == [{"kind": "PAID", "at": T0, "details": {"via": "notify"}}]


def test_an_append_whose_connection_dies_is_never_replayed(
    server: SqlTestServer, storage: SqlStorage, namespace: str, stored: tuple[Order, Licence]
) -> None:
    order, _ = stored
    storage.idle_probe_after = 3600  # no probe: the append itself meets the dead connection
    server.kill(server.backend_id(storage))
    with pytest.raises(StorageError):
        storage.append_order_event(order.order_id, "PAID", T0, {})
    assert server.count(namespace, "order_events") == 0
    storage.append_order_event(order.order_id, "PAID", T0, {})  # the next call has a new connection
    assert server.count(namespace, "order_events") == 1


def _write_then_lose_the_connection(server: SqlTestServer, licence: Licence, cursor: Any, attempts: list[int]) -> None:
    attempts.append(1)
    cursor.execute(
        "INSERT INTO activations (licence_id, install_hash, activated_at) VALUES (%s, %s, %s)",
        (licence.licence_id, "install-ghost", T0),
    )
    cursor.execute("UPDATE orders SET status = 'REFUNDED'")
    if len(attempts) == 1:
        cursor.execute("SELECT CONNECTION_ID()" if server.dialect == "mysql" else "SELECT pg_backend_pid()")
        server.kill(int(cursor.fetchone()[0]))
        cursor.execute("SELECT 1")  # fails: the server closed this connection and rolled the transaction back


def test_a_transaction_cut_by_the_server_leaves_nothing_and_the_next_call_reconnects(
    server: SqlTestServer, storage: SqlStorage, namespace: str, stored: tuple[Order, Licence]
) -> None:
    order, licence = stored
    attempts: list[int] = []
    with pytest.raises(StorageError):
        storage._run(
            lambda cursor: _write_then_lose_the_connection(server, licence, cursor, attempts),
            transaction=True,
            replay_safe=False,
        )
    assert len(attempts) == 1
    assert server.count(namespace, "activations") == 0
    assert storage.get_order(order.order_id) == order
    result = storage.activate(licence.licence_id, "install-1", max_devices=3, now=T0)
    assert result.outcome is ActivationOutcome.ACTIVATED


def test_a_replay_safe_unit_cut_by_a_lost_connection_runs_once_more_and_applies_once(
    server: SqlTestServer, storage: SqlStorage, namespace: str, stored: tuple[Order, Licence]
) -> None:
    _, licence = stored
    attempts: list[int] = []
    storage._run(lambda cursor: _write_then_lose_the_connection(server, licence, cursor, attempts), transaction=True)
    assert len(attempts) == 2
    assert server.count(namespace, "activations") == 1
    assert server.count(namespace, "orders", "status = %s", ("REFUNDED",)) == 1


def test_a_write_blocked_by_another_transaction_gives_up_after_the_read_timeout_without_retrying(
    server: SqlTestServer, namespace: str, stored: tuple[Order, Licence]
) -> None:
    order, _ = stored
    impatient = server.open(namespace, read_timeout="2")  # MySQL: lock waits give up after 1 s, PostgreSQL 2 s
    server.execute("BEGIN")
    try:
        server.execute(f"SELECT status FROM {namespace}.orders WHERE order_id = %s FOR UPDATE", (order.order_id,))  # noqa: S608
        started = time.monotonic()
        with pytest.raises(StorageError, match=r"(?i)lock|timeout|cancel"):
            impatient.update_order(order.order_id, {"status": OrderStatus.PAID}, expect_status=[OrderStatus.PENDING])
        assert time.monotonic() - started < 3.5  # once, not twice
    finally:
        server.execute("ROLLBACK")
    assert impatient.update_order(order.order_id, {"status": OrderStatus.PAID}, expect_status=[OrderStatus.PENDING])
    impatient.close()
