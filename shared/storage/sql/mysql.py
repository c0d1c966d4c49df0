"""MySQL-compatible servers through PyMySQL: TencentDB for MySQL, TDSQL-C, Alibaba RDS / PolarDB, MariaDB.
PyMySQL is what both clouds' Python runtimes ship and their database guides use.

    mysql://user:password@host:3306/database?ssl=verify_ca&ssl_ca=/code/ca.pem&connect_timeout=3&read_timeout=10

Options: `ssl` (disabled, preferred (default: TLS when the server offers it, unverified), required (TLS,
unverified), verify_ca, verify_identity (both need `ssl_ca`, the CA file)), `charset` (utf8mb4, the only one
accepted: anything less loses characters), `connect_timeout` (seconds, default 3), `read_timeout` (seconds to
wait for an answer, default 10; row-lock waits give up a second sooner so that the server answers first).

Two MySQL habits are designed around:
* An UPDATE's row count is the number of rows *changed*, so an update that writes the values already stored
  reads 0, as if the compare-and-set had failed. Connections set CLIENT.FOUND_ROWS: the count is the number of
  rows *matched* by the WHERE clause, the condition of the compare-and-set, as on the other backends.
* INSERT IGNORE turns many errors (a missing foreign key, a too-long value) into warnings. Insert-if-absent is
  a plain INSERT instead, and only duplicate-key error 1062 reads as "exists"; in autocommit mode that error
  rolls back the one statement and nothing else.
DDL commits on its own in MySQL, so migrations are not one transaction: see schema.py. A named lock (GET_LOCK)
keeps concurrent `migrate` runs apart. MySQL 8 has no ADD COLUMN / ADD INDEX IF NOT EXISTS (MariaDB has): a
migration run again after an interruption reads "duplicate column", "duplicate key name" and "trigger already
exists" as already done.
"""

from __future__ import annotations

import hashlib
import math
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import pymysql
from pymysql.constants import CLIENT

from shared.errors import ConfigError, StorageError
from shared.storage.sql.base import SqlStorage, insert_sql
from shared.storage.sql.session import Connection, Cursor
from shared.storage.sql.url import SqlUrl, option_choice, parse_sql_url

OPTIONS = ("ssl", "ssl_ca", "charset")
SSL_MODES = ("disabled", "preferred", "required", "verify_ca", "verify_identity")
DUPLICATE_KEY = 1062
_ALREADY_DONE = frozenset({1060, 1061, 1359})  # duplicate column name, duplicate key name, trigger exists
_LOST = frozenset({1053, 1927, 2006, 2013, 2055, 4031})  # shutdown, killed, gone away, lost, idle timeout
_DEADLOCK = 1213
_NO_SUCH_TABLE = 1146


def open_mysql(url: str) -> MysqlStorage:
    return MysqlStorage(parse_sql_url(url, scheme="mysql", default_port=3306, options=OPTIONS))


class MysqlStorage(SqlStorage):
    label = "MySQL"
    dialect = "mysql"
    transactional_ddl = False

    def __init__(self, url: SqlUrl, *, idle_probe_after: float = 5.0):
        option_choice(url.options, "charset", ("utf8mb4",), "utf8mb4")
        mode = option_choice(url.options, "ssl", SSL_MODES, "preferred")
        if mode.startswith("verify") and not url.options.get("ssl_ca"):
            raise ConfigError(f"storage option ssl={mode} needs ssl_ca, the path of the server's CA certificate")
        self._ssl = _ssl_arguments(mode, url.options.get("ssl_ca"))
        super().__init__(url, idle_probe_after=idle_probe_after)

    def _connect(self) -> Connection:
        url = self.url
        lock_wait = max(1, math.ceil(url.read_timeout) - 1)
        conn = pymysql.connect(
            host=url.host,
            port=url.port,
            user=url.user,
            password=(url.password or "").encode(),  # PyMySQL would encode a str as latin-1
            database=url.database,
            charset="utf8mb4",
            connect_timeout=url.connect_timeout,
            read_timeout=url.read_timeout,
            write_timeout=url.read_timeout,
            autocommit=True,
            client_flag=CLIENT.FOUND_ROWS,
            sql_mode="TRADITIONAL",  # strict: a bad value is an error, never silently truncated
            init_command=f"SET SESSION innodb_lock_wait_timeout = {lock_wait}",
            **self._ssl,
        )
        return conn

    def _is_driver_error(self, exc: BaseException) -> bool:
        return isinstance(exc, pymysql.MySQLError)

    def _is_lost(self, conn: Connection, exc: BaseException) -> bool:
        if isinstance(exc, pymysql.InterfaceError) or _code(exc) in _LOST:
            return True
        return isinstance(conn, pymysql.connections.Connection) and not conn.open

    def _is_deadlock(self, exc: BaseException) -> bool:
        return _code(exc) == _DEADLOCK

    def _is_constraint(self, exc: BaseException) -> bool:
        return isinstance(exc, pymysql.IntegrityError | pymysql.DataError)

    def _is_missing_table(self, exc: BaseException) -> bool:
        return _code(exc) == _NO_SUCH_TABLE

    def _insert_if_absent(self, cursor: Cursor, table: str, columns: Sequence[str], values: Sequence[Any]) -> bool:
        try:
            cursor.execute(insert_sql(table, columns), values)
        except pymysql.IntegrityError as exc:
            if _code(exc) == DUPLICATE_KEY:
                return False
            raise
        return True

    def _migrate_statement(self, cursor: Cursor, statement: str) -> None:
        try:
            cursor.execute(statement)
        except pymysql.MySQLError as exc:
            if _code(exc) not in _ALREADY_DONE:
                raise

    def _upsert_sql(self, table: str, key: Sequence[str], columns: Sequence[str]) -> str:
        changed = ", ".join(f"{name} = VALUES({name})" for name in columns if name not in key)
        return f"{insert_sql(table, columns)} ON DUPLICATE KEY UPDATE {changed}"

    def _counter_upsert_sql(self) -> str:
        return (
            "INSERT INTO counters (name, time_window, hits, expires_at) VALUES (%s, %s, 1, %s)"
            " ON DUPLICATE KEY UPDATE hits = hits + 1"
        )

    @contextmanager
    def _migration_lock(self, cursor: Cursor) -> Iterator[None]:
        # A session lock, per database; released below, or by the server when the connection ends.
        name = "wxpay-migrate:" + hashlib.sha1(self.url.database.encode()).hexdigest()  # noqa: S324 - a name
        cursor.execute("SELECT GET_LOCK(%s, %s)", (name, max(1, math.ceil(self.url.read_timeout) - 1)))
        if cursor.fetchone()[0] != 1:
            raise StorageError("another `migrate` is running on this database: try again when it has finished")
        try:
            yield
        finally:
            with suppress(pymysql.MySQLError):  # the connection is gone, and the lock with it
                cursor.execute("SELECT RELEASE_LOCK(%s)", (name,))


def _code(exc: BaseException) -> int | None:
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _ssl_arguments(mode: str, ca: str | None) -> dict[str, Any]:
    if mode == "disabled":
        return {"ssl_disabled": True}
    if mode == "required":
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        return {"ssl": context}
    if mode == "verify_ca":
        return {"ssl_ca": ca, "ssl_verify_cert": True}
    if mode == "verify_identity":
        return {"ssl_ca": ca, "ssl_verify_identity": True}
    return {}  # preferred: PyMySQL's own default
