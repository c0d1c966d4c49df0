"""Every query of the storage port, once for both SQL dialects (placeholders are `%s` in psycopg and PyMySQL).

Insert-if-absent rests on primary and unique keys (the dialect decides how a clash reads as False); transitions
are `UPDATE ... WHERE status IN (...)` and the row count says who won (MySQL connections report matched rows, not
changed rows: see mysql.py). `activate` locks the licence row, so activations of one licence run one at a time
and the device limit holds under any concurrency. Rows map to domain objects through `rows`, whose whitelist is
what makes the column names in the f-strings below safe.
"""

from __future__ import annotations

import json
import time
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar, TypeVar

from shared.domain.licences import Activation, ActivationOutcome, Licence, LicenceStatus
from shared.domain.orders import Order, OrderStatus
from shared.storage import rows
from shared.storage.port import ActivationResult, IdempotencyRecord
from shared.storage.relational import Query
from shared.storage.relational_admin import RelationalAdmin
from shared.storage.sql.schema import SCHEMA_VERSION_TABLE, migrations
from shared.storage.sql.session import Cursor, SqlSession

_ORDER_SELECT = f"SELECT {', '.join(rows.ORDER_COLUMNS)} FROM orders"  # noqa: S608 - column names are constants
_LICENCE_SELECT = f"SELECT {', '.join(rows.LICENCE_COLUMNS)} FROM licences"  # noqa: S608
_IDEMPOTENCY_COLUMNS = ("idempotency_key", "fingerprint", "order_id", "created_at")
T = TypeVar("T")


class SqlStorage(RelationalAdmin, SqlSession):
    """Refunds, the jobs' reads, leases, reports, retention, backups and admin: shared.storage.relational(_admin)."""

    dialect: ClassVar[str]  # the schema module's name for it
    transactional_ddl: ClassVar[bool]  # a migration can run in one transaction
    mark = "%s"
    idempotency_key_column = "idempotency_key"

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

    # -- orders ------------------------------------------------------------------------------------------
    def insert_order(self, order: Order) -> bool:
        return self._insert("orders", rows.ORDER_COLUMNS, rows.order_to_row(order))

    def get_order(self, order_id: str) -> Order | None:
        row = self._one(f"{_ORDER_SELECT} WHERE order_id = %s", (order_id,))
        return None if row is None else rows.order_from_row(row)

    def update_order(
        self, order_id: str, changes: Mapping[str, Any], *, expect_status: Sequence[OrderStatus] | None = None
    ) -> bool:
        expected = None if expect_status is None else rows.status_values(expect_status, OrderStatus)
        return self._update("orders", "order_id", order_id, rows.order_changes(changes), expected)

    def orders_for_install(self, install_hash: str, limit: int) -> list[Order]:
        if limit <= 0:
            return []
        sql = f"{_ORDER_SELECT} WHERE install_hash = %s ORDER BY created_at DESC, order_id DESC LIMIT %s"
        return [rows.order_from_row(row) for row in self._all(sql, (install_hash, limit))]

    # -- licences ----------------------------------------------------------------------------------------
    def insert_licence(self, licence: Licence) -> bool:
        # A clash on licence_id, order_id or key_hash all mean "a licence exists".
        return self._insert("licences", rows.LICENCE_COLUMNS, rows.licence_to_row(licence))

    def get_licence(self, licence_id: str) -> Licence | None:
        row = self._one(f"{_LICENCE_SELECT} WHERE licence_id = %s", (licence_id,))
        return None if row is None else rows.licence_from_row(row)

    def get_licence_by_key_hash(self, key_hash: str) -> Licence | None:
        row = self._one(f"{_LICENCE_SELECT} WHERE key_hash = %s", (key_hash,))
        return None if row is None else rows.licence_from_row(row)

    def update_licence(
        self, licence_id: str, changes: Mapping[str, Any], *, expect_status: Sequence[LicenceStatus] | None = None
    ) -> bool:
        expected = None if expect_status is None else rows.status_values(expect_status, LicenceStatus)
        return self._update("licences", "licence_id", licence_id, rows.licence_changes(changes), expected)

    # -- activations -------------------------------------------------------------------------------------
    def activate(self, licence_id: str, install_hash: str, max_devices: int, now: int) -> ActivationResult:
        def work(cursor: Cursor) -> ActivationResult:
            # The licence row lock serialises activations of this licence: count and insert cannot interleave.
            cursor.execute("SELECT 1 FROM licences WHERE licence_id = %s FOR UPDATE", (licence_id,))
            if cursor.fetchone() is None:
                raise ValueError(f"storage constraint violated: no licence {licence_id!r} to activate")
            current = _activations(cursor, licence_id, locking=True)
            if any(a.install_hash == install_hash for a in current):
                return ActivationResult(ActivationOutcome.ALREADY_ACTIVE, tuple(current))
            if len(current) >= max_devices:
                return ActivationResult(ActivationOutcome.LIMIT_REACHED, tuple(current))
            cursor.execute(
                "INSERT INTO activations (licence_id, install_hash, activated_at) VALUES (%s, %s, %s)",
                (licence_id, install_hash, now),
            )
            return ActivationResult(ActivationOutcome.ACTIVATED, tuple(_activations(cursor, licence_id, locking=True)))

        return self._run(work, transaction=True)

    def deactivate(self, licence_id: str, install_hash: str) -> bool:
        sql = "DELETE FROM activations WHERE licence_id = %s AND install_hash = %s"
        return self._rowcount(sql, (licence_id, install_hash)) == 1

    def activations(self, licence_id: str) -> list[Activation]:
        return self._run(lambda cursor: _activations(cursor, licence_id))

    # -- notifications, idempotency, anomalies -----------------------------------------------------------
    def record_notification(self, notification_id: str, event_type: str, order_id: str | None, at: int) -> bool:
        columns = ("notification_id", "event_type", "order_id", "processed_at")
        return self._insert("notifications", columns, (notification_id, event_type, order_id, at))

    def notification_processed(self, notification_id: str) -> bool:
        sql = "SELECT 1 FROM notifications WHERE notification_id = %s"
        return self._one(sql, (notification_id,)) is not None

    def claim_idempotency_key(self, record: IdempotencyRecord) -> IdempotencyRecord:
        # Two statements, no transaction: once inserted a key is never changed or deleted, so the read that
        # follows the insert-if-absent always finds the first record, whoever wrote it.
        values = (record.key, record.fingerprint, record.order_id, record.created_at)
        self._insert("idempotency_keys", _IDEMPOTENCY_COLUMNS, values)
        sql = f"SELECT {', '.join(_IDEMPOTENCY_COLUMNS)} FROM idempotency_keys WHERE idempotency_key = %s"  # noqa: S608
        stored = self._one(sql, (record.key,))
        if stored is None:
            raise ValueError("storage constraint violated: an idempotency key vanished after its insert")
        key, fingerprint, order_id, created_at = stored
        return IdempotencyRecord(key, fingerprint, order_id, created_at)

    def record_anomaly(
        self, kind: str, order_id: str | None, reference: str, details: Mapping[str, Any], at: int
    ) -> bool:
        columns = ("kind", "reference", "order_id", "details", "at")
        return self._insert("anomalies", columns, (kind, reference, order_id, rows.encode_json(dict(details)), at))

    def anomalies(self, limit: int = 100) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        sql = "SELECT kind, order_id, reference, details, at FROM anomalies ORDER BY at DESC, seq DESC LIMIT %s"
        return [
            {"kind": kind, "order_id": order_id, "reference": reference, "details": json.loads(details), "at": at}
            for kind, order_id, reference, details, at in self._all(sql, (limit,))
        ]

    # -- the order's timeline ----------------------------------------------------------------------------
    def append_order_event(self, order_id: str, kind: str, at: int, details: Mapping[str, Any]) -> None:
        sql = "INSERT INTO order_events (order_id, kind, at, details) VALUES (%s, %s, %s, %s)"
        params = (order_id, kind, at, rows.encode_json(dict(details)))
        # Not idempotent: never run twice (session.py), so one PAID event still means one transition.
        self._run(lambda cursor: cursor.execute(sql, params), replay_safe=False)

    def order_events(self, order_id: str) -> list[dict[str, Any]]:
        sql = "SELECT kind, at, details FROM order_events WHERE order_id = %s ORDER BY seq"
        return [
            {"kind": kind, "at": at, "details": json.loads(details)}
            for kind, at, details in self._all(sql, (order_id,))
        ]

    # -- plumbing ----------------------------------------------------------------------------------------
    def _insert(self, table: str, columns: Sequence[str], values: Sequence[Any]) -> bool:
        return self._run(lambda cursor: self._insert_if_absent(cursor, table, columns, values))

    def _update(
        self, table: str, key: str, key_value: str, changes: Mapping[str, Any], expect: list[str] | None
    ) -> bool:
        if expect is not None and not expect:
            return False
        sql, params = rows.conditional_update(table, key, key_value, changes, expect, "%s")
        return self._rowcount(sql, params) == 1

    def _rowcount(self, sql: str, params: Sequence[Any]) -> int:
        def work(cursor: Cursor) -> int:
            cursor.execute(sql, params)
            return cursor.rowcount

        return self._run(work)

    def _one(self, sql: str, params: Sequence[Any]) -> Sequence[Any] | None:
        def work(cursor: Cursor) -> Sequence[Any] | None:
            cursor.execute(sql, params)
            row: Sequence[Any] | None = cursor.fetchone()
            return row

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


def insert_sql(table: str, columns: Sequence[str]) -> str:
    marks = ", ".join(["%s"] * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 - names are constants


def _version(cursor: Cursor) -> int:
    cursor.execute("SELECT MAX(version) FROM schema_version")
    row = cursor.fetchone()
    return int(row[0] or 0)


def _activations(cursor: Cursor, licence_id: str, *, locking: bool = False) -> list[Activation]:
    # Inside `activate`, a locking read: it sees the latest committed rows whatever the isolation level. Under
    # MySQL's REPEATABLE READ a plain read answers from the transaction's snapshot, which is only as recent as the
    # licence lock if no plain read came before it: true today, but not a property to rest the device limit on.
    sql = (
        "SELECT licence_id, install_hash, activated_at FROM activations WHERE licence_id = %s"
        " ORDER BY activated_at, install_hash"
    )
    cursor.execute(sql + (" FOR UPDATE" if locking else ""), (licence_id,))
    return [Activation(*row) for row in cursor.fetchall()]
