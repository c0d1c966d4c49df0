"""The SQLite adapter of the storage port: the embedded default for local use and tests.

Safe from several threads (one connection behind a lock) and from several processes on one file on one host:
WAL lets readers proceed beside a writer, and every read-modify-write runs in `BEGIN IMMEDIATE`, which takes the
write lock up front (a deferred transaction that later upgrades can fail with SQLITE_BUSY without waiting).
Single-statement writes are atomic on their own: insert-if-absent is `ON CONFLICT DO NOTHING`, compare-and-set is
`UPDATE ... WHERE status IN (...)`, and the row count says who won. Not for network file systems (NAS): WAL
needs shared memory between the processes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from shared.domain.licences import Activation, ActivationOutcome, Licence, LicenceStatus
from shared.domain.orders import Order, OrderStatus
from shared.errors import StorageError
from shared.storage import rows
from shared.storage.port import ActivationResult, IdempotencyRecord
from shared.storage.relational import Query
from shared.storage.relational_admin import RelationalAdmin
from shared.storage.schema_sqlite import LATEST_VERSION, MIGRATIONS

T = TypeVar("T")

_MIN_SQLITE = (3, 24, 0)  # ON CONFLICT DO NOTHING
_ORDER_SELECT = f"SELECT {', '.join(rows.ORDER_COLUMNS)} FROM orders"  # noqa: S608 - column names are constants
_LICENCE_SELECT = f"SELECT {', '.join(rows.LICENCE_COLUMNS)} FROM licences"  # noqa: S608


class SqliteStorage(RelationalAdmin):
    """Refunds, the timer jobs' reads, leases, reports, backups (shared.storage.relational) and the admin part
    (shared.storage.relational_admin)."""

    mark = "?"
    idempotency_key_column = "key"

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

    # -- orders ------------------------------------------------------------------------------------------
    def insert_order(self, order: Order) -> bool:
        return self._insert("orders", rows.ORDER_COLUMNS, rows.order_to_row(order))

    def get_order(self, order_id: str) -> Order | None:
        with self._connection() as conn:
            row = conn.execute(f"{_ORDER_SELECT} WHERE order_id = ?", (order_id,)).fetchone()
        return None if row is None else rows.order_from_row(row)

    def update_order(
        self, order_id: str, changes: Mapping[str, Any], *, expect_status: Sequence[OrderStatus] | None = None
    ) -> bool:
        expected = None if expect_status is None else rows.status_values(expect_status, OrderStatus)
        return self._update("orders", "order_id", order_id, rows.order_changes(changes), expected)

    def orders_for_install(self, install_hash: str, limit: int) -> list[Order]:
        if limit <= 0:  # SQLite reads LIMIT -1 as "no limit"
            return []
        with self._connection() as conn:
            found = conn.execute(
                f"{_ORDER_SELECT} WHERE install_hash = ? ORDER BY created_at DESC, order_id DESC LIMIT ?",
                (install_hash, limit),
            ).fetchall()
        return [rows.order_from_row(row) for row in found]

    # -- licences ----------------------------------------------------------------------------------------
    def insert_licence(self, licence: Licence) -> bool:
        # No conflict target: a clash on licence_id, order_id or key_hash all mean "a licence exists".
        return self._insert("licences", rows.LICENCE_COLUMNS, rows.licence_to_row(licence))

    def get_licence(self, licence_id: str) -> Licence | None:
        return self._licence_where("licence_id", licence_id)

    def get_licence_by_key_hash(self, key_hash: str) -> Licence | None:
        return self._licence_where("key_hash", key_hash)

    def update_licence(
        self, licence_id: str, changes: Mapping[str, Any], *, expect_status: Sequence[LicenceStatus] | None = None
    ) -> bool:
        expected = None if expect_status is None else rows.status_values(expect_status, LicenceStatus)
        return self._update("licences", "licence_id", licence_id, rows.licence_changes(changes), expected)

    # -- activations -------------------------------------------------------------------------------------
    def activate(self, licence_id: str, install_hash: str, max_devices: int, now: int) -> ActivationResult:
        with self._transaction() as conn:
            current = _activations(conn, licence_id)
            if any(a.install_hash == install_hash for a in current):
                outcome = ActivationOutcome.ALREADY_ACTIVE
            elif len(current) >= max_devices:
                outcome = ActivationOutcome.LIMIT_REACHED
            else:
                conn.execute("INSERT INTO activations VALUES (?, ?, ?)", (licence_id, install_hash, now))
                outcome, current = ActivationOutcome.ACTIVATED, _activations(conn, licence_id)
        return ActivationResult(outcome, tuple(current))

    def deactivate(self, licence_id: str, install_hash: str) -> bool:
        with self._connection() as conn:
            cursor = conn.execute(
                "DELETE FROM activations WHERE licence_id = ? AND install_hash = ?", (licence_id, install_hash)
            )
        return cursor.rowcount == 1

    def activations(self, licence_id: str) -> list[Activation]:
        with self._connection() as conn:
            return _activations(conn, licence_id)

    # -- notifications, idempotency, anomalies -----------------------------------------------------------
    def record_notification(self, notification_id: str, event_type: str, order_id: str | None, at: int) -> bool:
        columns = ("notification_id", "event_type", "order_id", "processed_at")
        return self._insert("notifications", columns, (notification_id, event_type, order_id, at))

    def notification_processed(self, notification_id: str) -> bool:
        with self._connection() as conn:
            found = conn.execute("SELECT 1 FROM notifications WHERE notification_id = ?", (notification_id,))
            return found.fetchone() is not None

    def claim_idempotency_key(self, record: IdempotencyRecord) -> IdempotencyRecord:
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

    def record_anomaly(
        self, kind: str, order_id: str | None, reference: str, details: Mapping[str, Any], at: int
    ) -> bool:
        columns = ("kind", "reference", "order_id", "details", "at")
        return self._insert("anomalies", columns, (kind, reference, order_id, rows.encode_json(dict(details)), at))

    def anomalies(self, limit: int = 100) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        with self._connection() as conn:
            found = conn.execute(
                "SELECT kind, order_id, reference, details, at FROM anomalies ORDER BY at DESC, rowid DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            {"kind": kind, "order_id": order_id, "reference": reference, "details": json.loads(details), "at": at}
            for kind, order_id, reference, details, at in found
        ]

    def append_order_event(self, order_id: str, kind: str, at: int, details: Mapping[str, Any]) -> None:
        with self._connection() as conn:
            conn.execute(
                "INSERT INTO order_events (order_id, kind, at, details) VALUES (?, ?, ?, ?)",
                (order_id, kind, at, rows.encode_json(dict(details))),
            )

    def order_events(self, order_id: str) -> list[dict[str, Any]]:
        with self._connection() as conn:
            found = conn.execute(
                "SELECT kind, at, details FROM order_events WHERE order_id = ? ORDER BY seq", (order_id,)
            ).fetchall()
        return [{"kind": kind, "at": at, "details": json.loads(details)} for kind, at, details in found]

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

    def _update(
        self, table: str, key: str, key_value: str, changes: Mapping[str, Any], expect: list[str] | None
    ) -> bool:
        if expect is not None and not expect:
            return False
        sql, params = rows.conditional_update(table, key, key_value, changes, expect, "?")
        with self._connection() as conn:
            return conn.execute(sql, params).rowcount == 1

    def _all(self, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        with self._connection() as conn:
            return list(conn.execute(sql, tuple(params)).fetchall())

    def _rowcount(self, sql: str, params: Sequence[Any]) -> int:
        with self._connection() as conn:
            return int(conn.execute(sql, tuple(params)).rowcount)

    def _atomically(self, work: Callable[[Query], T]) -> T:
        with self._transaction() as conn:
            return work(lambda sql, params: list(conn.execute(sql, tuple(params)).fetchall()))

    def _licence_where(self, column: str, value: str) -> Licence | None:
        with self._connection() as conn:
            row = conn.execute(f"{_LICENCE_SELECT} WHERE {column} = ?", (value,)).fetchone()
        return None if row is None else rows.licence_from_row(row)


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


def _activations(conn: sqlite3.Connection, licence_id: str) -> list[Activation]:
    found = conn.execute(
        "SELECT licence_id, install_hash, activated_at FROM activations WHERE licence_id = ?"
        " ORDER BY activated_at, install_hash",
        (licence_id,),
    )
    return [Activation(*row) for row in found.fetchall()]


@contextmanager
def _translated_errors() -> Iterator[None]:
    """The port speaks StorageError (retry later); a violated constraint is a bug in the caller, not an outage."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        raise ValueError(f"storage constraint violated: {exc}") from exc
    except (sqlite3.Error, OSError) as exc:
        raise StorageError(f"SQLite storage failed: {exc}") from exc
