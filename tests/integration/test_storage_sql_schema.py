"""The versioned SQL schema on the real servers: `migrate` (adapter and command), concurrent migrations, an
interrupted one, and indexes under every query the timer jobs and the history run."""

from __future__ import annotations

import atexit
import multiprocessing
import os
import secrets
from collections.abc import Iterator

import pytest

from scripts import storage as storage_command
from shared.errors import StorageError
from shared.storage import relational, rows
from shared.storage.factory import open_storage
from shared.storage.sql.base import SqlStorage
from shared.storage.sql.schema import LATEST_VERSION, LICENCES, ORDERS, REFUNDS, SCHEMA_VERSION_TABLE, migrations
from tests.integration.conftest import T0, make_order
from tests.integration.test_storage_sql_servers import DIALECTS, SERVERS, SqlTestServer

SPAWN = multiprocessing.get_context("spawn")
CHILD_TIMEOUT = 30


@pytest.fixture(params=DIALECTS)
def server(request: pytest.FixtureRequest) -> SqlTestServer:
    return SERVERS[request.param]


@pytest.fixture
def empty_namespace(server: SqlTestServer) -> Iterator[str]:
    namespace = server.create_namespace()
    yield namespace
    server.drop_namespace(namespace)


def _versions(server: SqlTestServer, namespace: str) -> list[int]:
    found = server.execute(f"SELECT version FROM {namespace}.schema_version ORDER BY version")  # noqa: S608
    return [version for (version,) in found]


def test_the_tables_have_exactly_the_columns_the_row_mapping_reads_and_writes() -> None:
    assert ORDERS.column_names() == rows.ORDER_COLUMNS
    assert LICENCES.column_names() == rows.LICENCE_COLUMNS
    assert REFUNDS.column_names() == rows.REFUND_COLUMNS


def test_a_new_database_is_at_version_zero_fails_its_health_check_and_migrates_to_the_latest(
    server: SqlTestServer, empty_namespace: str
) -> None:
    storage = server.open(empty_namespace)
    assert storage.schema_version() == 0
    with pytest.raises(StorageError, match=r"scripts\.storage migrate"):
        storage.ping()
    assert storage.migrate() == LATEST_VERSION
    assert storage.schema_version() == LATEST_VERSION
    storage.ping()
    assert storage.migrate() == LATEST_VERSION  # a second run changes nothing
    assert _versions(server, empty_namespace) == list(range(1, LATEST_VERSION + 1))
    storage.close()


def test_migrating_into_a_postgres_schema_that_does_not_exist_yet_creates_it() -> None:
    server = SERVERS["postgresql"]
    namespace = f"wxt_{os.getpid()}_{secrets.token_hex(3)}"
    atexit.register(server.drop_namespace, namespace)
    storage = server.open(namespace)
    assert storage.schema_version() == 0
    assert storage.migrate() == LATEST_VERSION
    assert _versions(server, namespace) == list(range(1, LATEST_VERSION + 1))
    storage.close()
    server.drop_namespace(namespace)


def _child_migrate(url: str, barrier: object, results: object) -> None:
    storage = open_storage(url)
    assert isinstance(storage, SqlStorage)
    barrier.wait(CHILD_TIMEOUT)  # type: ignore[attr-defined]
    results.put(storage.migrate())  # type: ignore[attr-defined]


def test_four_processes_migrating_one_new_database_at_once_apply_each_migration_once(
    server: SqlTestServer, empty_namespace: str
) -> None:
    barrier, results = SPAWN.Barrier(4), SPAWN.Queue()
    url = server.url_for(empty_namespace)
    children = [SPAWN.Process(target=_child_migrate, args=(url, barrier, results)) for _ in range(4)]
    for child in children:
        child.start()
    reached = [results.get(timeout=CHILD_TIMEOUT) for _ in children]
    for child in children:
        child.join(CHILD_TIMEOUT)
    assert [child.exitcode for child in children] == [0] * 4
    assert reached == [LATEST_VERSION] * 4
    assert _versions(server, empty_namespace) == list(range(1, LATEST_VERSION + 1))


def test_a_migration_interrupted_halfway_is_completed_by_the_next_run(
    server: SqlTestServer, empty_namespace: str
) -> None:
    # As MySQL leaves it when the process dies mid-migration: DDL committed statement by statement, no version row.
    version_1 = migrations(server.dialect)[0][1]
    storage = server.open(empty_namespace)
    for statement in (SCHEMA_VERSION_TABLE, *version_1[:2]):
        storage._run(lambda cursor, sql=statement: cursor.execute(sql))
    assert storage.schema_version() == 0
    assert storage.migrate() == LATEST_VERSION
    assert _versions(server, empty_namespace) == list(range(1, LATEST_VERSION + 1))
    storage.close()


def test_a_database_at_version_2_upgrades_keeping_its_data_even_when_the_upgrade_was_interrupted(
    server: SqlTestServer, empty_namespace: str
) -> None:
    storage = server.open(empty_namespace)
    for version, statements in migrations(server.dialect)[:2]:
        for statement in (SCHEMA_VERSION_TABLE, *statements, f"INSERT INTO schema_version VALUES ({version}, 0)"):  # noqa: S608
            storage._run(lambda cursor, sql=statement: cursor.execute(sql))
    order = make_order()
    assert storage.insert_order(order)
    storage.append_order_event(order.order_id, "CREATED", T0, {"n": 1})
    # As MySQL leaves it when the process dies mid-migration: the ALTERs of version 3 done, no version row.
    for statement in [s for s in migrations(server.dialect)[2][1] if s.startswith("ALTER")]:
        storage._run(lambda cursor, sql=statement: cursor.execute(sql))
    assert storage.schema_version() == 2
    assert storage.migrate() == LATEST_VERSION
    assert storage.get_order(order.order_id) == order
    assert storage.order_events(order.order_id) == [{"kind": "CREATED", "at": T0, "details": {"n": 1}}]
    assert [row["seq"] for row in storage.export_rows("order_events")] == [1]  # its own seq, no origin
    assert storage.orders_in_status(order.status, T0 + 10**6, 10) == [order]
    storage.close()


def test_the_storage_command_migrates_and_reports_the_version(
    server: SqlTestServer, empty_namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"STORAGE_URL": server.url_for(empty_namespace)}
    assert storage_command.main(["version"], env) == 0
    assert capsys.readouterr().out.strip() == "0"
    assert storage_command.main(["migrate"], env) == 0
    assert capsys.readouterr().out.strip() == f"schema version {LATEST_VERSION}"
    assert storage_command.main(["version"], env) == 0
    assert capsys.readouterr().out.strip() == str(LATEST_VERSION)


def test_the_storage_command_names_the_problem_and_never_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    assert storage_command.main(["migrate"], {}) == 2
    assert "STORAGE_URL" in capsys.readouterr().err
    url = "mysql://root:s3cret@127.0.0.1:1/wxpay_test?connect_timeout=1"
    assert storage_command.main(["migrate"], {"STORAGE_URL": url}) == 1
    error = capsys.readouterr().err
    assert "cannot connect" in error and "s3cret" not in error


def test_the_migrate_command_allows_long_statements_unless_the_url_says_otherwise() -> None:
    long_reads = storage_command.with_long_reads
    assert long_reads("postgresql://u@h/db") == "postgresql://u@h/db?read_timeout=600"
    assert long_reads("mysql://u@h/db?ssl=required") == "mysql://u@h/db?ssl=required&read_timeout=600"
    assert long_reads("mysql://u@h/db?read_timeout=30") == "mysql://u@h/db?read_timeout=30"
    assert long_reads("sqlite:///x.sqlite3") == "sqlite:///x.sqlite3"


TIMER_AND_HISTORY_QUERIES = {
    "orders_by_status_expiry": "SELECT order_id FROM {ns}.orders WHERE status = 'PENDING' AND expires_at < 5",
    "orders_by_status": "SELECT order_id FROM {ns}.orders WHERE status = 'PENDING' AND created_at < 5"
    " ORDER BY created_at LIMIT 10",
    "orders_by_install": "SELECT order_id FROM {ns}.orders WHERE install_hash = 'x'"
    " ORDER BY created_at DESC, order_id DESC LIMIT 10",
    "anomalies_by_time": "SELECT kind FROM {ns}.anomalies ORDER BY at DESC, seq DESC LIMIT 10",
    "order_events_by_order": "SELECT kind FROM {ns}.order_events WHERE order_id = 'x' ORDER BY seq",
    "orders_by_paid": "SELECT order_id FROM {ns}.orders WHERE paid_at >= 1 AND paid_at < 5"
    " ORDER BY paid_at, order_id LIMIT 10",
    "refunds_by_order": "SELECT out_refund_no FROM {ns}.refunds WHERE order_id = 'x'"
    " ORDER BY requested_at, out_refund_no",
    "refunds_by_status": "SELECT out_refund_no FROM {ns}.refunds WHERE status = 'PROCESSING' AND requested_at < 5"
    " ORDER BY requested_at, out_refund_no LIMIT 10",
    "refunds_by_success": "SELECT out_refund_no FROM {ns}.refunds WHERE success_at >= 1 AND success_at < 5"
    " ORDER BY success_at, out_refund_no LIMIT 10",
    "idempotency_keys_by_time": "SELECT idempotency_key FROM {ns}.idempotency_keys WHERE created_at < 5"
    " ORDER BY created_at, idempotency_key LIMIT 10",
    "notifications_by_time": "SELECT notification_id FROM {ns}.notifications WHERE processed_at < 5"
    " ORDER BY processed_at, notification_id LIMIT 10",
}


@pytest.mark.parametrize("index", sorted(TIMER_AND_HISTORY_QUERIES))
def test_the_timer_jobs_and_history_queries_read_an_index_not_the_table(server: SqlTestServer, index: str) -> None:
    sql = "EXPLAIN " + TIMER_AND_HISTORY_QUERIES[index].format(ns=server.shared_namespace())
    if server.dialect == "mysql":
        chosen = [row[5] for row in server.execute(sql)]  # EXPLAIN's `key` column
        assert chosen == [index]
        return
    server.execute("BEGIN")
    try:
        server.execute("SET LOCAL enable_seqscan = off")  # tiny test tables: make the planner show what it could use
        server.execute("SET LOCAL enable_bitmapscan = off")  # a bitmap scan reads the index too, then sorts
        plan = " ".join(line for (line,) in server.execute(sql))
    finally:
        server.execute("ROLLBACK")
    assert f"using {index} on" in plan


@pytest.mark.parametrize("dataset", ["orders", "activations", "order_events", "anomalies", "notifications"])
def test_each_page_of_an_export_starts_where_the_last_ended_by_an_index_range(
    server: SqlTestServer, dataset: str
) -> None:
    source = relational._SOURCES[dataset]
    sql = "EXPLAIN " + source.page_sql("%s", after=True).replace(" FROM ", f" FROM {server.shared_namespace()}.", 1)
    last = {"order_events": ["x", 1], "activations": ["x", "y"], "anomalies": ["x", "y"]}.get(dataset, ["x"])
    params = (*source.after_params(last), 10)
    if server.dialect == "mysql":
        (plan,) = server.execute(sql, params)
        assert plan[3] == "range"  # EXPLAIN's `type`: a range of an index, not a scan from its start
        return
    server.execute("BEGIN")
    try:
        server.execute("SET LOCAL enable_seqscan = off")
        server.execute("SET LOCAL enable_bitmapscan = off")
        plan = " ".join(line for (line,) in server.execute(sql, params))
    finally:
        server.execute("ROLLBACK")
    assert "Index Cond" in plan and "Sort" not in plan
