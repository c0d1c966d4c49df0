"""The SQL test servers: namespaces to test in, and the rule that an unreachable server fails the tests.

PostgreSQL: a schema per namespace in the database TEST_POSTGRES_URL names (default below; the adapter's `schema`
option points at it). MySQL: a database per namespace beside the one TEST_MYSQL_URL names (its user creates them).
The conformance suite shares one migrated namespace per test session, emptied before each test (deleting a few
rows is far cheaper than creating the tables again); migration tests get a new, empty namespace of their own.
Namespaces are dropped when the session ends, and those of test sessions that died are dropped by the next one.

`.ci/run` starts both servers and creates `wxpay_test` on each. A server that cannot be reached FAILS its tests (a
skipped integration suite would pass CI unnoticed) unless STORAGE_TESTS_ALLOW_SKIP=1 is set.
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pymysql
import pytest

from shared.storage.factory import open_storage
from shared.storage.port import Storage
from shared.storage.sql import mysql, postgres
from shared.storage.sql.base import SqlStorage
from shared.storage.sql.schema import APPEND_ONLY, TABLES_CHILDREN_FIRST
from shared.storage.sql.url import parse_sql_url

URLS = {
    "postgresql": os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/wxpay_test"),
    "mysql": os.environ.get("TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/wxpay_test"),
}
DIALECTS = tuple(URLS)
_NAMESPACE = re.compile(r"^wxt_(\d+)_[0-9a-f]{6}$")


class SqlTestServer:
    """One server, reached through its driver directly: to make namespaces and to look behind the adapter."""

    def __init__(self, dialect: str, url: str):
        self.dialect, self.url = dialect, url
        self._admin: Any = None
        self._failure: str | None = None
        self._shared: dict[str, str] = {}

    # -- namespaces --------------------------------------------------------------------------------------
    def url_for(self, namespace: str) -> str:
        parts = urlsplit(self.url)
        if self.dialect == "mysql":
            return urlunsplit(parts._replace(path=f"/{namespace}"))
        query = f"{parts.query}&schema={namespace}" if parts.query else f"schema={namespace}"
        return urlunsplit(parts._replace(query=query))

    def create_namespace(self) -> str:
        namespace = f"wxt_{os.getpid()}_{secrets.token_hex(3)}"
        self.execute(f"CREATE {'DATABASE' if self.dialect == 'mysql' else 'SCHEMA'} {namespace}")
        atexit.register(self.drop_namespace, namespace)
        return namespace

    def drop_namespace(self, namespace: str) -> None:
        if self.dialect == "mysql":
            self.execute(f"DROP DATABASE IF EXISTS {namespace}")
        else:
            self.execute(f"DROP SCHEMA IF EXISTS {namespace} CASCADE")

    def shared_namespace(self, role: str = "main") -> str:
        """Migrated once per test session (per process) and role: "main", or "spare" for a second instance."""
        if role not in self._shared:
            if not self._shared:
                self._drop_abandoned()
            namespace = self.create_namespace()
            storage = self.open(namespace)
            storage.migrate()
            storage.close()
            self._shared[role] = namespace
        return self._shared[role]

    def empty(self, namespace: str) -> None:
        for table in TABLES_CHILDREN_FIRST:
            # The audit log refuses DELETE by trigger; TRUNCATE fires no row trigger (and is for tests only).
            verb = "TRUNCATE TABLE" if table in APPEND_ONLY else "DELETE FROM"
            self.execute(f"{verb} {namespace}.{table}")

    def open(self, namespace: str, **options: str) -> SqlStorage:
        url = self.url_for(namespace)
        for name, value in options.items():
            url += f"&{name}={value}" if "?" in url else f"?{name}={value}"
        storage = open_storage(url)
        assert isinstance(storage, SqlStorage)
        return storage

    # -- looking behind the adapter ----------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self.admin().cursor()
        try:
            cursor.execute(sql, params or None)
            return list(cursor.fetchall()) if cursor.description else []
        finally:
            cursor.close()

    def count(self, namespace: str, table: str, where: str = "TRUE", params: Sequence[Any] = ()) -> int:
        rows = self.execute(f"SELECT COUNT(*) FROM {namespace}.{table} WHERE {where}", params)  # noqa: S608
        return int(rows[0][0])

    def backend_id(self, storage: SqlStorage) -> int:
        """The server's id of the adapter's current connection (opening it if needed)."""
        sql = "SELECT CONNECTION_ID()" if self.dialect == "mysql" else "SELECT pg_backend_pid()"

        def work(cursor: Any) -> int:
            cursor.execute(sql)
            return int(cursor.fetchone()[0])

        return storage._run(work)

    def kill(self, backend_id: int) -> None:
        """Close that connection from the server's side, as a restart or an idle-connection reaper would."""
        if self.dialect == "mysql":
            self.execute(f"KILL {int(backend_id)}")
            alive = "SELECT COUNT(*) FROM information_schema.processlist WHERE id = %s"
        else:
            self.execute("SELECT pg_terminate_backend(%s)", (backend_id,))
            alive = "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = %s"
        deadline = time.monotonic() + 5
        while self.execute(alive, (backend_id,))[0][0] and time.monotonic() < deadline:
            time.sleep(0.01)

    # -- reaching the server -----------------------------------------------------------------------------
    def admin(self) -> Any:
        if self._failure is not None:
            unreachable(self._failure)
        if self._admin is None:
            try:
                self._admin = self._connect_admin()
            except (psycopg.Error, pymysql.MySQLError, OSError) as exc:
                self._failure = f"the {self.dialect} test server at {_where(self.url)} cannot be reached: {exc}"
                unreachable(self._failure)
        return self._admin

    def _connect_admin(self) -> Any:
        port, options = (3306, mysql.OPTIONS) if self.dialect == "mysql" else (5432, postgres.OPTIONS)
        url = parse_sql_url(self.url, scheme=self.dialect, default_port=port, options=options)
        common = {"host": url.host, "port": url.port, "user": url.user, "password": url.password or ""}
        if self.dialect == "mysql":
            conn = pymysql.connect(**common, autocommit=True, connect_timeout=3)
            conn.cursor().execute(f"CREATE DATABASE IF NOT EXISTS {url.database}")
            return conn
        try:
            return psycopg.connect(**common, dbname=url.database, autocommit=True, connect_timeout=3)
        except psycopg.OperationalError as exc:
            if "does not exist" not in str(exc):
                raise
        # A developer's machine without .ci/run's setup: create the database, as .ci/run would.
        maintenance = psycopg.connect(**common, dbname="postgres", autocommit=True, connect_timeout=3)
        with maintenance, suppress(psycopg.errors.DuplicateDatabase):
            maintenance.execute(f"CREATE DATABASE {url.database}")
        return psycopg.connect(**common, dbname=url.database, autocommit=True, connect_timeout=3)

    def _drop_abandoned(self) -> None:
        """Namespaces left by test sessions that were killed before they could drop them."""
        if self.dialect == "mysql":
            names = self.execute("SELECT schema_name FROM information_schema.schemata")
        else:
            names = self.execute("SELECT nspname FROM pg_namespace")
        for (name,) in names:
            match = _NAMESPACE.match(name)
            if match and not _alive(int(match.group(1))):
                self.drop_namespace(name)


def unreachable(message: str) -> NoReturn:
    if os.environ.get("STORAGE_TESTS_ALLOW_SKIP") == "1":
        pytest.skip(message)
    pytest.fail(message + " (start it, or set STORAGE_TESTS_ALLOW_SKIP=1 to skip these tests)", pytrace=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}{parts.path}"  # never the password


SERVERS = {dialect: SqlTestServer(dialect, url) for dialect, url in URLS.items()}


def _conformance_storage(dialect: str, role: str = "main") -> Iterator[Storage]:
    server = SERVERS[dialect]
    namespace = server.shared_namespace(role)
    server.empty(namespace)
    storage = server.open(namespace)
    yield storage
    storage.close()


def postgresql_storage(tmp_path: Path) -> Iterator[Storage]:
    yield from _conformance_storage("postgresql")


def mysql_storage(tmp_path: Path) -> Iterator[Storage]:
    yield from _conformance_storage("mysql")


def postgresql_spare_storage(tmp_path: Path) -> Iterator[Storage]:
    yield from _conformance_storage("postgresql", "spare")


def mysql_spare_storage(tmp_path: Path) -> Iterator[Storage]:
    yield from _conformance_storage("mysql", "spare")


# -- the rule itself -------------------------------------------------------------------------------------------


def test_an_unreachable_server_fails_its_tests_unless_skipping_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    nowhere = SqlTestServer("postgresql", "postgresql://postgres:s3cret@127.0.0.1:1/wxpay_test")
    monkeypatch.delenv("STORAGE_TESTS_ALLOW_SKIP", raising=False)
    with pytest.raises(pytest.fail.Exception, match="cannot be reached") as failed:
        nowhere.admin()
    assert "s3cret" not in str(failed.value)
    monkeypatch.setenv("STORAGE_TESTS_ALLOW_SKIP", "1")
    with pytest.raises(pytest.skip.Exception, match="cannot be reached"):
        nowhere.admin()
