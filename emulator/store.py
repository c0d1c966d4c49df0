"""The emulator's state in SQLite: it survives a restart and can be reset."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    out_trade_no TEXT PRIMARY KEY, appid TEXT NOT NULL, mchid TEXT NOT NULL, description TEXT NOT NULL,
    attach TEXT, notify_url TEXT NOT NULL, amount_total INTEGER NOT NULL, currency TEXT NOT NULL,
    time_expire REAL NOT NULL, created_at REAL NOT NULL, fingerprint TEXT NOT NULL, trade_state TEXT NOT NULL,
    transaction_id TEXT UNIQUE, success_time REAL, payer_openid TEXT, bank_type TEXT, closed_at REAL,
    pay_on_close INTEGER NOT NULL DEFAULT 0, last_refund_at REAL);
CREATE TABLE IF NOT EXISTS code_urls (
    code_url TEXT PRIMARY KEY, out_trade_no TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS refunds (
    out_refund_no TEXT PRIMARY KEY, refund_id TEXT NOT NULL UNIQUE, out_trade_no TEXT NOT NULL,
    transaction_id TEXT NOT NULL, amount_refund INTEGER NOT NULL, amount_total INTEGER NOT NULL, reason TEXT,
    notify_url TEXT, status TEXT NOT NULL, create_time REAL NOT NULL, success_time REAL,
    fingerprint TEXT NOT NULL, outcome TEXT NOT NULL, settle_at REAL, delivery TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS notifications (
    id TEXT PRIMARY KEY, event_type TEXT NOT NULL, out_trade_no TEXT, out_refund_no TEXT,
    notify_url TEXT NOT NULL, body BLOB NOT NULL, created_at REAL NOT NULL, next_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL, signtest_pending INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS attempts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, notification_id TEXT NOT NULL, attempt INTEGER NOT NULL,
    kind TEXT NOT NULL, sent_at REAL NOT NULL, url TEXT NOT NULL, request_headers TEXT NOT NULL,
    request_body TEXT NOT NULL, response_status INTEGER, response_body TEXT, error TEXT, duration_ms REAL);
CREATE TABLE IF NOT EXISTS faults (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, endpoint TEXT NOT NULL, action TEXT NOT NULL,
    params TEXT NOT NULL, remaining INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS refund_outcomes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, status TEXT NOT NULL, delivery TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS bill_tokens (
    token TEXT PRIMARY KEY, content BLOB NOT NULL, gzip INTEGER NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, method TEXT NOT NULL, target TEXT NOT NULL,
    endpoint TEXT, status INTEGER NOT NULL, code TEXT, body TEXT);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# (table, column, declaration) added after the first release of the schema above.
ADDED_COLUMNS = (
    ("refunds", "delivery", "TEXT NOT NULL DEFAULT '{}'"),
    ("refund_outcomes", "delivery", "TEXT NOT NULL DEFAULT '{}'"),
)

TABLES = (
    "orders",
    "code_urls",
    "refunds",
    "notifications",
    "attempts",
    "faults",
    "refund_outcomes",
    "bill_tokens",
    "requests",
    "kv",
)


class Store:
    """One connection shared by the server's threads, serialised by a lock (the emulator is not a hot path)."""

    def __init__(self, path: Path | str):
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._add_missing_columns()
        self._lock = threading.RLock()

    def _add_missing_columns(self) -> None:
        """State files from before a column existed (DATA_DIR survives upgrades) get it added."""
        for table, column, declaration in ADDED_COLUMNS:
            names = {row["name"] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in names:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: every read-modify-write of the emulator's state runs inside one."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(sql, args).fetchone()
            return row

    def all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())

    def reset(self) -> None:
        with self.tx() as db:
            for table in TABLES:
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    def get_kv(self, key: str, default: str) -> str:
        row = self.one("SELECT value FROM kv WHERE key = ?", key)
        return str(row["value"]) if row else default

    def set_kv(self, key: str, value: str) -> None:
        with self.tx() as db:
            db.execute(
                "INSERT INTO kv(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = ?", (key, value, value)
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()
