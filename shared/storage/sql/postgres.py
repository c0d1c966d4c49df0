"""PostgreSQL through psycopg 3 (TencentDB / Alibaba RDS for PostgreSQL, or any server).

    postgresql://user:password@host:5432/database?sslmode=require&connect_timeout=3&read_timeout=10

Options: `sslmode` (libpq's: disable, allow, prefer (default), require, verify-ca, verify-full), `sslrootcert`
(the CA file for verify-ca / verify-full), `schema` (the schema to use instead of the user's search_path),
`application_name`, `connect_timeout` (seconds, default 3; libpq waits at least 2) and `read_timeout` (seconds a
statement may take, lock waits included, default 10: the server cancels it, and the client gives up on a server
that stops answering at about the same time).

Insert-if-absent is `ON CONFLICT DO NOTHING` (no conflict target: a clash on any unique key means "exists"),
which unlike a caught unique violation never aborts an enclosing transaction. Migrations run in one transaction
under a transaction-scoped advisory lock.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from shared.errors import ConfigError
from shared.storage.sql.base import SqlStorage, insert_sql
from shared.storage.sql.session import Connection, Cursor
from shared.storage.sql.url import SqlUrl, option_choice, parse_sql_url

OPTIONS = ("sslmode", "sslrootcert", "schema", "application_name")
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_MIGRATION_LOCK = 0x77787061  # with the schema's hash: the advisory lock key of `migrate`


def open_postgres(url: str) -> PostgresStorage:
    return PostgresStorage(parse_sql_url(url, scheme="postgresql", default_port=5432, options=OPTIONS))


class PostgresStorage(SqlStorage):
    label = "PostgreSQL"
    dialect = "postgresql"
    transactional_ddl = True

    def __init__(self, url: SqlUrl, *, idle_probe_after: float = 5.0):
        option_choice(url.options, "sslmode", SSLMODES, "prefer")
        schema = url.options.get("schema")
        if schema is not None and not _IDENTIFIER.match(schema):
            raise ConfigError("storage option schema must be a plain identifier: A-Z a-z 0-9 _, at most 63")
        super().__init__(url, idle_probe_after=idle_probe_after)

    def _connect(self) -> Connection:
        url, read_ms = self.url, max(1, int(self.url.read_timeout * 1000))
        # Server side: no statement, and no transaction left open by a frozen instance, outlives the timeout.
        options = f"-c statement_timeout={read_ms} -c idle_in_transaction_session_timeout={read_ms}"
        if "schema" in url.options:
            options += f" -c search_path={url.options['schema']}"
        params: dict[str, Any] = {
            key: url.options[key] for key in ("sslmode", "sslrootcert", "application_name") if key in url.options
        }
        conn = psycopg.connect(
            host=url.host,
            port=url.port,
            dbname=url.database,
            user=url.user,
            password=url.password,
            connect_timeout=max(2, math.ceil(url.connect_timeout)),
            options=options,
            # Client side: give up on a server that stops acknowledging (tcp_user_timeout) or goes silent.
            tcp_user_timeout=read_ms,
            keepalives_idle=max(1, math.ceil(url.read_timeout)),
            keepalives_interval=2,
            keepalives_count=3,
            autocommit=True,
            # No server-side prepared statements: a transaction-pooling proxy in front of the server (the clouds'
            # database proxies, PgBouncer) may run the next statement on another backend that never saw them.
            prepare_threshold=None,
            **params,
        )
        return conn

    def _is_driver_error(self, exc: BaseException) -> bool:
        return isinstance(exc, psycopg.Error)

    def _is_lost(self, conn: Connection, exc: BaseException) -> bool:
        return isinstance(conn, psycopg.Connection) and (conn.closed or conn.broken)

    def _is_deadlock(self, exc: BaseException) -> bool:
        return isinstance(exc, pg_errors.DeadlockDetected | pg_errors.SerializationFailure)

    def _is_constraint(self, exc: BaseException) -> bool:
        return isinstance(exc, psycopg.IntegrityError | psycopg.DataError)

    def _is_missing_table(self, exc: BaseException) -> bool:
        return isinstance(exc, pg_errors.UndefinedTable)

    def _insert_if_absent(self, cursor: Cursor, table: str, columns: Sequence[str], values: Sequence[Any]) -> bool:
        cursor.execute(insert_sql(table, columns) + " ON CONFLICT DO NOTHING", values)
        return cursor.rowcount == 1

    @contextmanager
    def _migration_lock(self, cursor: Cursor) -> Iterator[None]:
        """One lock per schema, released by the migration's COMMIT or ROLLBACK; the `schema` option's schema is
        created under it (the first `migrate` of a new deployment). current_schema() is NULL while it is missing."""
        schema = self.url.options.get("schema")
        key = "SELECT pg_advisory_xact_lock(%s, hashtext(COALESCE(%s, current_schema(), '')))"
        cursor.execute(key, (_MIGRATION_LOCK, schema))
        if schema is not None:
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")  # a checked identifier
        yield
