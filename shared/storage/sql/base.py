"""What PostgreSQL and MySQL share beyond the queries of shared.storage.relational(_orders, _admin): the schema,
how statements run (shared.storage.sql.session), and where the servers differ from SQLite (placeholders are `%s`
in psycopg and PyMySQL).

Insert-if-absent rests on primary and unique keys (the dialect decides how a clash reads as False); transitions
are `UPDATE ... WHERE status IN (...)` and the row count says who won (MySQL connections report matched rows, not
changed rows: see mysql.py). `activate` locks the licence row, so activations of one licence run one at a time
and the device limit holds under any concurrency.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar, TypeVar

from shared.storage.port import IdempotencyRecord
from shared.storage.relational import Query
from shared.storage.relational_admin import RelationalAdmin
from shared.storage.relational_orders import RelationalOrders
from shared.storage.sql.schema import SCHEMA_VERSION_TABLE, migrations
from shared.storage.sql.session import Cursor, SqlSession

_IDEMPOTENCY_COLUMNS = ("idempotency_key", "fingerprint", "order_id", "created_at")
T = TypeVar("T")


class SqlStorage(RelationalOrders, RelationalAdmin, SqlSession):
    """Orders, licences, activations, notifications, anomalies and the timeline: shared.storage.relational_orders;
    refunds, the jobs' reads, leases, reports, retention, backups and admin: shared.storage.relational(_admin)."""

    dialect: ClassVar[str]  # the schema module's name for it
    transactional_ddl: ClassVar[bool]  # a migration can run in one transaction
    mark = "%s"
    idempotency_key_column = "idempotency_key"
    # Inside `activate`, locking reads: they see the latest committed rows whatever the isolation level. Under
    # MySQL's REPEATABLE READ a plain read answers from the transaction's snapshot, which is only as recent as the
    # licence lock if no plain read came before it: true today, but not a property to rest the device limit on.
    locking_read = " FOR UPDATE"
    anomaly_seq = "seq"

    # -- dialect hooks -----------------------------------------------------------------------------------
    @abstractmethod
    def _insert_if_absent(self, cursor: Cursor, table: str, columns: Sequence[str], values: Sequence[Any]) -> bool:
        """Insert unless a primary or unique key clashes; True when inserted. Other errors raise."""

    @abstractmethod
    def _migration_lock(self, cursor: Cursor) -> AbstractContextManager[None]:
        """Held while migrating, so that concurrent `migrate` runs apply each migration once."""

    def _migrate_statement(self, cursor: Cursor, statement: str) -> None:
        """Run one statement of a migration (a dialect may know some failures to mean "already done")."""
        cursor.execute(statement)

    # -- schema ------------------------------------------------------------------------------------------
    def migrate(self) -> int:
        """Apply the missing migrations; safe to run twice and from several processes at once. The version."""

        def work(cursor: Cursor) -> int:
            with self._migration_lock(cursor):
                cursor.execute(SCHEMA_VERSION_TABLE)
                current = _version(cursor)
                for version, statements in migrations(self.dialect):
                    if version > current:
                        for statement in statements:
                            self._migrate_statement(cursor, statement)
                        cursor.execute("INSERT INTO schema_version VALUES (%s, %s)", (version, int(time.time())))
                        current = version
                return current

        return self._run(work, transaction=self.transactional_ddl)

    def schema_version(self) -> int:
        """0 when the schema was never migrated."""

        def work(cursor: Cursor) -> int:
            try:
                return _version(cursor)
            except Exception as exc:
                if self._is_missing_table(exc):
                    return 0
                raise

        return self._run(work)

    def ping(self) -> None:
        """Reachable and migrated (a function answering before `migrate` ran would fail on every request)."""
        self._run(_version)

    # -- what differs from SQLite ------------------------------------------------------------------------
    def claim_idempotency_key(self, record: IdempotencyRecord) -> IdempotencyRecord:
        # Two statements, no transaction: once inserted a key is never changed or deleted, so the read that
        # follows the insert-if-absent always finds the first record, whoever wrote it.
        values = (record.key, record.fingerprint, record.order_id, record.created_at)
        self._insert("idempotency_keys", _IDEMPOTENCY_COLUMNS, values)
        sql = f"SELECT {', '.join(_IDEMPOTENCY_COLUMNS)} FROM idempotency_keys WHERE idempotency_key = %s"  # noqa: S608
        found = self._all(sql, (record.key,))
        if not found:
            raise ValueError("storage constraint violated: an idempotency key vanished after its insert")
        key, fingerprint, order_id, created_at = found[0]
        return IdempotencyRecord(key, fingerprint, order_id, created_at)

    # -- plumbing ----------------------------------------------------------------------------------------
    def _insert(self, table: str, columns: Sequence[str], values: Sequence[Any]) -> bool:
        return self._run(lambda cursor: self._insert_if_absent(cursor, table, columns, values))

    def _rowcount(self, sql: str, params: Sequence[Any]) -> int:
        def work(cursor: Cursor) -> int:
            cursor.execute(sql, params)
            return cursor.rowcount

        return self._run(work)

    def _all(self, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        def work(cursor: Cursor) -> list[Sequence[Any]]:
            cursor.execute(sql, params)
            return list(cursor.fetchall())

        return self._run(work)

    def _atomically(self, work: Callable[[Query], T]) -> T:
        # Run once more after a lost connection: the transaction either committed (then the work's reads find
        # what it wrote) or rolled back, so a second run never applies it twice.
        def query(cursor: Cursor) -> Query:
            def run(sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
                cursor.execute(sql, params)
                return list(cursor.fetchall()) if cursor.description is not None else []

            return run

        return self._run(lambda cursor: work(query(cursor)), transaction=True)

    def _lock_licence(self, query: Query, licence_id: str) -> None:
        # The licence row lock serialises activations of this licence: count and insert cannot interleave.
        if not query("SELECT 1 FROM licences WHERE licence_id = %s FOR UPDATE", (licence_id,)):
            raise ValueError(f"storage constraint violated: no licence {licence_id!r} to activate")

    def _execute_once(self, sql: str, params: Sequence[Any]) -> None:
        # Never run twice (session.py): the probe of an idle connection stands in for the retry.
        self._run(lambda cursor: cursor.execute(sql, params), replay_safe=False)


def insert_sql(table: str, columns: Sequence[str]) -> str:
    marks = ", ".join(["%s"] * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 - names are constants


def _version(cursor: Cursor) -> int:
    cursor.execute("SELECT MAX(version) FROM schema_version")
    row = cursor.fetchone()
    return int(row[0] or 0)
