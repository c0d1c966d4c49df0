"""Where the SQL servers differ from SQLite and from each other, and the port must not: row counts of updates
that change nothing, errors that insert-if-absent must not swallow, case-sensitive ids, four-byte characters."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from shared.domain.orders import OrderStatus
from shared.storage.port import Storage
from shared.storage.sqlite import SqliteStorage
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
def sql(server: SqlTestServer, namespace: str) -> Iterator[Storage]:
    storage = server.open(namespace)
    yield storage
    storage.close()


@pytest.fixture(params=["sqlite", *DIALECTS])
def any_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "sqlite":
        storage: Storage = SqliteStorage(str(tmp_path / "s.sqlite3"))
    else:
        server = SERVERS[request.param]
        namespace = server.shared_namespace()
        server.empty(namespace)
        storage = server.open(namespace)
    yield storage
    storage.close()  # type: ignore[attr-defined]


def test_an_update_that_writes_the_values_already_stored_counts_as_applied_on_every_backend(
    any_storage: Storage,
) -> None:
    order = make_order()
    any_storage.insert_order(order)
    assert any_storage.update_order(order.order_id, {"last_queried_at": T0}) is True
    assert any_storage.update_order(order.order_id, {"last_queried_at": T0}) is True  # same value again
    paid = {"status": OrderStatus.PAID, "transaction_id": "tx1"}
    assert any_storage.update_order(order.order_id, paid, expect_status=[OrderStatus.PENDING]) is True
    # The condition is what counts: it holds (PAID is expected), though nothing changes.
    assert any_storage.update_order(order.order_id, paid, expect_status=[OrderStatus.PAID]) is True
    assert any_storage.update_order(order.order_id, paid, expect_status=[OrderStatus.PENDING]) is False


def test_without_found_rows_a_mysql_update_of_identical_values_would_read_as_a_lost_compare_and_set() -> None:
    """Why the adapter sets CLIENT.FOUND_ROWS: MySQL's default row count is the number of rows changed."""
    server = SERVERS["mysql"]
    namespace = server.shared_namespace()
    server.empty(namespace)
    order = make_order()
    storage = server.open(namespace)
    storage.insert_order(order)
    storage.close()
    conn = server.admin()
    assert isinstance(conn, pymysql.connections.Connection)
    with conn.cursor() as cursor:
        sql = f"UPDATE {namespace}.orders SET status = 'PENDING' WHERE order_id = %s AND status = 'PENDING'"  # noqa: S608
        assert cursor.execute(sql, (order.order_id,)) == 0  # matched, not changed: the default counts 0


def test_insert_if_absent_reports_a_clash_and_raises_on_any_other_error(sql: Storage) -> None:
    orphan = make_licence(make_order())  # its order was never stored: the foreign key refuses it
    with pytest.raises(ValueError, match="constraint"):
        sql.insert_licence(orphan)
    too_long = make_order(order_id="o" * 200)
    with pytest.raises(ValueError, match="constraint"):
        sql.insert_order(too_long)
    assert sql.get_order(too_long.order_id) is None
    order = make_order()
    assert sql.insert_order(order) is True
    assert sql.insert_order(order) is False


def test_ids_that_differ_only_in_case_are_different_rows(sql: Storage) -> None:
    upper, lower = make_order(order_id="ord_CaseA"), make_order(order_id="ord_casea")
    assert sql.insert_order(upper) and sql.insert_order(lower)
    assert sql.get_order("ord_CaseA") == upper and sql.get_order("ord_casea") == lower
    assert sql.get_order("ORD_CASEA") is None


def test_chinese_text_and_four_byte_characters_round_trip(sql: Storage) -> None:
    order = make_order(description="专业版 Pro 🎓 licence")
    sql.insert_order(order)
    assert sql.get_order(order.order_id) == order
    sql.record_anomaly("AMOUNT_MISMATCH", order.order_id, "tx-1", {"message": "金额不符 💸"}, T0)
    assert sql.anomalies()[0]["details"] == {"message": "金额不符 💸"}


def test_an_activation_of_a_licence_that_does_not_exist_is_refused(sql: Storage) -> None:
    with pytest.raises(ValueError, match="no licence"):
        sql.activate("L-nobody", "install-1", max_devices=3, now=T0)


def test_a_licence_key_hash_taken_by_another_order_is_a_clash(sql: Storage) -> None:
    first, second = make_order(), make_order()
    sql.insert_order(first)
    sql.insert_order(second)
    licence = make_licence(first)
    assert sql.insert_licence(licence)
    clash = dataclasses.replace(make_licence(second), key_hash=licence.key_hash)
    assert sql.insert_licence(clash) is False
    assert sql.get_licence(clash.licence_id) is None
