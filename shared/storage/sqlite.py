"""The SQLite adapter of the storage port: the embedded default for local use and tests.

Safe from several threads (one connection behind a lock) and from several processes on one file on one host:
WAL lets readers proceed beside a writer, and every read-modify-write runs in `BEGIN IMMEDIATE`, which takes the
write lock up front (a deferred transaction that later upgrades can fail with SQLITE_BUSY without waiting).
Single-statement writes are atomic on their own: insert-if-absent is `ON CONFLICT DO NOTHING`, compare-and-set is
`UPDATE ... WHERE status IN (...)`, and the row count says who won. Not for network file systems (NAS): WAL
needs shared memory between the processes.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from shared.errors import StorageError
from shared.storage.port import IdempotencyRecord
from shared.storage.relational import Query
from shared.storage.relational_admin import RelationalAdmin
from shared.storage.relational_orders import RelationalOrders
from shared.storage.schema_sqlite import LATEST_VERSION, MIGRATIONS

T = TypeVar("T")

_MIN_SQLITE = (3, 24, 0)  # ON CONFLICT DO NOTHING


class SqliteStorage(RelationalOrders, RelationalAdmin):
    """Orders, licences, activations, notifications, anomalies and the timeline (shared.storage.relational_orders),
    refunds, the timer jobs' reads, leases, reports, backups (shared.storage.relational) and the admin part
    (shared.storage.relational_admin); here the connection, the schema and what differs from the servers."""

    mark = "?"
    idempotency_key_column = "key"
    locking_read = ""  # no row locks: `activate` runs under BEGIN IMMEDIATE, the file's write lock
    anomaly_seq = "rowid"

    def __init__(self, path: str, *, busy_timeout_ms: int = 5000):
        if sqlite3.sqlite_version_info < _MIN_SQLITE:
            raise StorageError(f"SQLite {sqlite3.sqlite_version} is too old: 3.24 or newer is needed")
        self.path = path
        self._lock = threading.RLock()
        with _translated_errors():
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: the module never opens transactions behind our back; we BEGIN explicitly.
            self._conn = sqlite3.connect(
                path, timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
            )
        try:
            with self._connection() as conn:
                conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute("PRAGMA synchronous = NORMAL")
                _enable_wal(conn, busy_timeout_ms / 1000)
            self.migrate()
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def migrate(self) -> None:
        """Bring the schema to the latest version; safe to run twice and from several processes at once."""
        if self.schema_version() >= LATEST_VERSION:
            return
        with self._transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)"
            )
            current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
            for version, statements in MIGRATIONS:
                if version > current:
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_version VALUES (?, ?)", (version, int(time.time())))

    def schema_version(self) -> int:
        with self._connection() as conn:
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'")
            if found.fetchone() is None:
                return 0
            return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])

    # -- what differs from the servers -----------------------------------------------------------------
    def claim_idempotency_key(self, record: IdempotencyRecord) -> IdempotencyRecord:
        # One transaction: the read finds the record the insert-if-absent met or wrote.
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO idempotency_keys (key, fingerprint, order_id, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (record.key, record.fingerprint, record.order_id, record.created_at),
            )
            stored = conn.execute(
                "SELECT key, fingerprint, order_id, created_at FROM idempotency_keys WHERE key = ?", (record.key,)
            ).fetchone()
        return IdempotencyRecord(*stored)

    def ping(self) -> None:
        with self._connection() as conn:
            conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()

    # -- plumbing ----------------------------------------------------------------------------------------
    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock, _translated_errors():
            yield self._conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, the file's write lock held from the start; rolled back on any exception."""
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _insert(self, table: str, columns: Sequence[str], values: Sequence[Any]) -> bool:
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT DO NOTHING"  # noqa: S608
        with self._connection() as conn:
            return conn.execute(sql, tuple(values)).rowcount == 1

    def _all(self, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        with self._connection() as conn:
            return list(conn.execute(sql, tuple(params)).fetchall())

    def _rowcount(self, sql: str, params: Sequence[Any]) -> int:
        with self._connection() as conn:
            return int(conn.execute(sql, tuple(params)).rowcount)

    def _atomically(self, work: Callable[[Query], T]) -> T:
        with self._transaction() as conn:
            return work(lambda sql, params: list(conn.execute(sql, tuple(params)).fetchall()))

    def _lock_licence(self, query: Query, licence_id: str) -> None:
        """Nothing more to take: BEGIN IMMEDIATE already holds the file's write lock until the commit."""

    def _execute_once(self, sql: str, params: Sequence[Any]) -> None:
        with self._connection() as conn:
            conn.execute(sql, tuple(params))


def _enable_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """WAL is a property of the file, set once. Switching needs an exclusive lock and SQLite answers "locked" at
    once, without its busy handler, when another process opens the new file at the same moment: retry here."""
    if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        return
    deadline, pause = time.monotonic() + timeout, 0.002
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL").fetchone()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.05)


@contextmanager
def _translated_errors() -> Iterator[None]:
    """The port speaks StorageError (retry later); a violated constraint is a bug in the caller, not an outage."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        raise ValueError(f"storage constraint violated: {exc}") from exc
    except (sqlite3.Error, OSError) as exc:
        raise StorageError(f"SQLite storage failed: {exc}") from exc
