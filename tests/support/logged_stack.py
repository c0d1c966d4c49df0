"""The local stack of scripts/stack.py with its function instances' log lines kept in a file, for tests that read
what the functions logged: the same gateway, handlers, event shapes and SQLite storage, only stdout redirected.

Each worker process (a function instance) sends its stdout and stderr to one append-only file; a log line is one
JSON object (shared/log.py), written and flushed before the handler answers, so it is in the file by the time the
HTTP answer reaches the test.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from emulator.server import EmulatorServer
from scripts.gateway import Gateway
from scripts.stack import Stack, function_env


def _warm_with_log(env: Mapping[str, str], log_path: str) -> None:
    os.environ.update(env)
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


class LoggingGateway(Gateway):
    """The local gateway whose worker processes write their stdout and stderr to `log_path`."""

    def __init__(self, address: tuple[str, int], *, log_path: Path, platform: str = "fc3"):
        self.log_path = log_path
        super().__init__(address, platform=platform, workers=0, env={})

    def configure(self, env: Mapping[str, str], *, workers: int) -> None:
        if workers <= 0:
            super().configure(env, workers=workers)
            return
        self.executor.shutdown(wait=True)
        self.env = dict(env)
        self.executor = ProcessPoolExecutor(
            workers,
            mp_context=get_context("spawn"),
            initializer=_warm_with_log,
            initargs=(self.env, str(self.log_path)),
        )


class LogFile:
    """The function instances' log: one JSON object per line, read incrementally (only complete lines)."""

    def __init__(self, path: Path):
        self.path = path
        self._offset = 0
        self._records: list[dict[str, Any]] = []

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8", errors="replace") if self.path.exists() else ""

    def records(self) -> list[dict[str, Any]]:
        """Every line as JSON; a line that is not one JSON object fails the test (a forged or broken log line)."""
        if self.path.exists():
            with self.path.open("rb") as stream:
                stream.seek(self._offset)
                chunk = stream.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]
            self._offset += len(complete)
            for line in complete.decode("utf-8").splitlines():
                record = json.loads(line)
                assert isinstance(record, dict), line
                self._records.append(record)
        return list(self._records)

    def for_request(self, request_id: str) -> list[dict[str, Any]]:
        return [r for r in self.records() if r.get("request_id") == request_id]


@dataclass
class LoggedStack:
    stack: Stack
    log: LogFile

    @property
    def base_url(self) -> str:
        return self.stack.gateway.base_url

    @property
    def env(self) -> dict[str, str]:
        return self.stack.gateway.env

    @property
    def db_path(self) -> Path:
        return Path(self.env["STORAGE_URL"].removeprefix("sqlite:///"))

    def stop(self) -> None:
        self.stack.gateway.stop()


def start_logged_stack(
    data_dir: Path, emulator: EmulatorServer, *, workers: int = 2, extra_env: dict[str, str] | None = None
) -> LoggedStack:
    """Like scripts.stack.start_stack against a running emulator, with the instances' logs in data_dir/functions.log."""
    log_path = data_dir / "functions.log"
    merchant = emulator.emulator.keys.credentials.public_view()
    gateway = LoggingGateway(("127.0.0.1", 0), log_path=log_path)
    env = {**function_env(data_dir, merchant, emulator.base_url, gateway.base_url), **(extra_env or {})}
    gateway.configure(env, workers=workers)
    gateway.start()
    return LoggedStack(Stack(emulator, gateway), LogFile(log_path))


# Security bookkeeping, which a refused request is meant to write (shared/services/security.py, ratelimit.py): the
# security event's audit entry (once a minute per kind and reason) and its counters. Checked by their own tests.
_BOOKKEEPING = {
    "audit_log": "WHERE action NOT LIKE 'security.%'",
    "counters": "WHERE name NOT LIKE 'sec:%' AND name NOT LIKE 'rl:%'",
}


def table_rows(db_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (sqlite_sequence included) but the security bookkeeping, sorted: equal snapshots
    mean nothing was written."""
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        tables = [
            row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        ]
        snapshot = {}
        for table in tables:
            query = f'SELECT * FROM "{table}" {_BOOKKEEPING.get(table, "")}'  # noqa: S608 - our own table names
            snapshot[table] = sorted(connection.execute(query).fetchall(), key=repr)
        return snapshot
    finally:
        connection.close()


def added_rows(
    before: Mapping[str, list[tuple[Any, ...]]], after: Mapping[str, list[tuple[Any, ...]]]
) -> dict[str, list[tuple[Any, ...]]]:
    """Rows present after and not before, by table; tables without changes are left out."""
    added: dict[str, list[tuple[Any, ...]]] = {}
    for table, rows in after.items():
        old = list(before.get(table, []))
        new = []
        for row in rows:
            if row in old:
                old.remove(row)
            else:
                new.append(row)
        if new:
            added[table] = new
    return added
