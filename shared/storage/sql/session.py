"""One connection per warm function instance: opened on first use, kept while warm, replaced after it breaks.

A serverless instance serves one request at a time and may be frozen for minutes between two; the server or a
proxy may close an idle connection meanwhile. So a unit of work (one statement, or one transaction) that fails
because the connection is gone is run once more on a new connection when that cannot apply a write twice:

* If the connection died before our statement reached the server (the usual case: it died while idle),
  nothing was applied and running again is what the caller asked for.
* If it died after the server received the statement, the write may or may not have been applied (a commit whose
  answer was lost). Running it again is still safe for every write of the port except the timeline append,
  because each is insert-if-absent or compare-and-set: applied once, a second run finds the row present or the
  status moved and changes nothing. The only cost is the answer (False: "someone else did it"), which every
  caller already handles by reading the current state, as it must when it loses a race to another instance.
* A unit the server rolled back on a deadlock applied nothing, whatever it was.

The timeline append (`replay_safe=False`) is not idempotent, so it is never run twice; instead a connection idle
for longer than `idle_probe_after` seconds is probed with `SELECT 1` first, which catches the dead idle
connection before the append is sent. A failure to connect is not retried: the server is unreachable, and the
caller answers 5xx so that the request is retried later.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any, ClassVar, Protocol, TypeVar

from shared.errors import StorageError
from shared.storage.sql.url import SqlUrl

T = TypeVar("T")
MIGRATE_HINT = "run `python -m scripts.storage migrate` with this STORAGE_URL"


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    @property
    def description(self) -> Any: ...  # None after a statement that returns no rows

    def execute(self, query: str, params: Sequence[Any] = ..., /) -> object: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> Any: ...

    def close(self) -> None: ...


class Connection(Protocol):
    def cursor(self) -> Cursor: ...

    def close(self) -> None: ...


class SqlSession(ABC):
    label: ClassVar[str]  # the server's name in messages

    def __init__(self, url: SqlUrl, *, idle_probe_after: float = 5.0):
        self.url = url
        self.idle_probe_after = idle_probe_after
        self._lock = threading.RLock()  # one unit of work at a time on the one connection
        self._conn: Connection | None = None
        self._last_used = 0.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url.host}:{self.url.port}/{self.url.database})"

    def close(self) -> None:
        with self._lock:
            self._discard()

    # -- dialect hooks -----------------------------------------------------------------------------------
    @abstractmethod
    def _connect(self) -> Connection:
        """A new autocommit connection with the URL's timeouts; raises the driver's error."""

    @abstractmethod
    def _is_driver_error(self, exc: BaseException) -> bool: ...

    @abstractmethod
    def _is_lost(self, conn: Connection, exc: BaseException) -> bool:
        """The connection is unusable after `exc` (closed by the server, network gone)."""

    @abstractmethod
    def _is_deadlock(self, exc: BaseException) -> bool:
        """The server rolled the whole unit back to break a deadlock."""

    @abstractmethod
    def _is_constraint(self, exc: BaseException) -> bool:
        """A constraint or data error: a bug in the caller, not an outage."""

    @abstractmethod
    def _is_missing_table(self, exc: BaseException) -> bool: ...

    # -- running units of work ---------------------------------------------------------------------------
    def _run(self, work: Callable[[Cursor], T], *, transaction: bool = False, replay_safe: bool = True) -> T:
        """Run `work` (in one transaction when asked), once more on a new connection when that is safe (above)."""
        with self._lock:
            if not replay_safe:
                self._probe_if_idle()
            for attempt in (1, 2):
                try:
                    return self._attempt(work, transaction)
                except Exception as exc:
                    if not self._is_driver_error(exc):
                        raise
                    lost = self._forget_if_lost(exc)
                    if attempt == 1 and (self._is_deadlock(exc) or (lost and replay_safe)):
                        continue
                    raise self._translate(exc) from exc
            raise AssertionError("unreachable: the second attempt returns or raises")

    def _attempt(self, work: Callable[[Cursor], T], transaction: bool) -> T:
        cursor = self._connection().cursor()
        try:
            if transaction:
                cursor.execute("BEGIN")
            result = work(cursor)
            if transaction:
                cursor.execute("COMMIT")
            return result
        except BaseException:
            if transaction:
                self._rollback_quietly(cursor)
            raise
        finally:
            self._last_used = time.monotonic()
            _close_quietly(cursor)

    def _connection(self) -> Connection:
        if self._conn is None:
            try:
                self._conn = self._connect()
            except Exception as exc:
                if not self._is_driver_error(exc):
                    raise
                where = f"{self.url.host}:{self.url.port}/{self.url.database}"
                message = f"cannot connect to {self.label} at {where}: {self.url.scrub(str(exc))}"
                raise StorageError(message) from exc
        return self._conn

    def _probe_if_idle(self) -> None:
        if self._conn is None or time.monotonic() - self._last_used <= self.idle_probe_after:
            return
        try:
            self._attempt(lambda cursor: cursor.execute("SELECT 1"), transaction=False)
        except Exception as exc:
            if not self._is_driver_error(exc):
                raise
            if not self._forget_if_lost(exc):
                raise self._translate(exc) from exc

    def _rollback_quietly(self, cursor: Cursor) -> None:
        try:
            cursor.execute("ROLLBACK")
        except Exception:  # the connection is broken: the server rolls back when it closes
            self._discard()

    def _forget_if_lost(self, exc: BaseException) -> bool:
        if self._conn is None:
            return True  # already discarded (a failed rollback)
        if self._is_lost(self._conn, exc):
            self._discard()
            return True
        return False

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            _close_quietly(conn)

    def _translate(self, exc: Exception) -> Exception:
        """The port speaks StorageError (retry later); a violated constraint is a caller's bug (ValueError)."""
        message = self.url.scrub(str(exc))
        if self._is_constraint(exc):
            return ValueError(f"storage constraint violated: {message}")
        if self._is_missing_table(exc):
            return StorageError(f"{self.label} storage has no schema or an older one ({MIGRATE_HINT}): {message}")
        return StorageError(f"{self.label} storage failed: {type(exc).__name__}: {message}")


def _close_quietly(closable: Cursor | Connection) -> None:
    with suppress(Exception):  # closing a broken connection or its cursor may fail; it is gone either way
        closable.close()
