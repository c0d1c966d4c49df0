"""The audit log is append-only on every SQL backend: the schema's triggers refuse a raw UPDATE or DELETE, whoever
sends it. And `python -m scripts.storage migrate` brings a database of schema version 3 to 4, keeping its data."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pymysql
import pytest

from scripts import storage as storage_command
from shared.domain.admin import AuditEntry
from shared.storage.factory import open_storage
from shared.storage.schema_sqlite import LATEST_VERSION as SQLITE_LATEST
from shared.storage.schema_sqlite import MIGRATIONS as SQLITE_MIGRATIONS
from shared.storage.search import OrderQuery
from shared.storage.sql.schema import LATEST_VERSION, SCHEMA_VERSION_TABLE, migrations
from tests.integration.conftest import T0, make_order
from tests.integration.test_storage_sql_servers import DIALECTS, SERVERS, SqlTestServer

ENTRY = AuditEntry(
    f"{T0:010d}-000000000001", T0, "aaaaaaaaaaaa", "ops", "operator", "order.refund", "order:o1", "ok", None, {"a": 1}
)


@pytest.fixture(params=DIALECTS)
def server(request: pytest.FixtureRequest) -> SqlTestServer:
    return SERVERS[request.param]


@pytest.fixture
def namespace(server: SqlTestServer) -> Iterator[str]:
    name = server.create_namespace()
    yield name
    server.drop_namespace(name)


def test_sqlite_refuses_update_and_delete_on_the_audit_log(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    storage = open_storage(f"sqlite:///{path}")
    storage.append_audit(ENTRY)
    conn = sqlite3.connect(path)
    for statement in ("UPDATE audit_log SET outcome = 'changed'", "DELETE FROM audit_log"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(statement)
    conn.execute(
        "INSERT INTO audit_log SELECT 'x', at, actor, actor_name, role, action, target, outcome,"
        " state_before, state_after, request_id, source_ip FROM audit_log"
    )  # inserting is allowed
    conn.commit()
    conn.close()
    assert [e.audit_id for e in storage.audit_entries(None, 10)] == ["x", ENTRY.audit_id]
    storage.close()  # type: ignore[attr-defined]


def test_the_sql_servers_refuse_update_and_delete_on_the_audit_log(server: SqlTestServer, namespace: str) -> None:
    storage = server.open(namespace)
    storage.migrate()
    storage.append_audit(ENTRY)
    table = f"{namespace}.audit_log"
    for statement in (f"UPDATE {table} SET outcome = 'changed'", f"DELETE FROM {table}"):  # noqa: S608
        with pytest.raises((psycopg.Error, pymysql.MySQLError), match="append-only"):
            server.execute(statement)
    assert storage.audit_entries(None, 10) == [ENTRY]
    assert server.count(namespace, "audit_log") == 1
    storage.close()


def test_migrate_brings_a_version_3_sqlite_file_to_the_latest_keeping_its_orders(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)")
    for version, statements in SQLITE_MIGRATIONS[:3]:
        for statement in statements:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version VALUES (?, 0)", (version,))
    order = make_order(order_id="ord_old_1", transaction_id="4200000042")
    columns = list(vars(order))
    conn.execute(
        f"INSERT INTO orders ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",  # noqa: S608
        [getattr(order, c).value if c == "status" else getattr(order, c) for c in columns],
    )
    conn.close()
    assert storage_command.main(["migrate"], {"STORAGE_URL": f"sqlite:///{path}"}) == 0
    storage = open_storage(f"sqlite:///{path}")
    assert storage.schema_version() == SQLITE_LATEST == 4  # type: ignore[attr-defined]
    assert storage.search_orders(OrderQuery(transaction_id="4200000042"), None, 5).orders == [order]
    storage.close()  # type: ignore[attr-defined]


def test_migrate_brings_a_version_3_server_database_to_the_latest_keeping_its_orders(
    server: SqlTestServer, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = server.open(namespace)
    for version, statements in migrations(server.dialect)[:3]:
        for statement in (SCHEMA_VERSION_TABLE, *statements, f"INSERT INTO schema_version VALUES ({version}, 0)"):  # noqa: S608
            storage._run(lambda cursor, sql=statement: cursor.execute(sql))
    assert storage.schema_version() == 3
    order = make_order(order_id="ord_old_1", transaction_id="4200000042")
    assert storage.insert_order(order)
    storage.close()
    assert storage_command.main(["migrate"], {"STORAGE_URL": server.url_for(namespace)}) == 0
    assert capsys.readouterr().out.strip() == f"schema version {LATEST_VERSION}" and LATEST_VERSION == 4
    storage = server.open(namespace)
    assert storage.search_orders(OrderQuery(transaction_id="4200000042"), None, 5).orders == [order]
    storage.append_audit(ENTRY)
    with pytest.raises((psycopg.Error, pymysql.MySQLError), match="append-only"):
        server.execute(f"DELETE FROM {namespace}.audit_log")  # noqa: S608 - a test namespace
    assert storage.migrate() == LATEST_VERSION  # again: nothing to do, the triggers are not made twice
    storage.close()
