"""Structured logs: one JSON object per line on stdout, which FC (SLS) and SCF (CLS) collect as they are.

Stable field names, in this order when present: `ts` (RFC 3339 UTC, milliseconds), `level`, `event`, `request_id`,
`function`, `route` (the route template, never the raw path), `order_id`, `outcome`, `status`, `latency_ms`; then the
event's own fields. Fields whose value is None are left out.

Request context lives in a `contextvars.ContextVar`: `shared.http.serve` opens a fresh `request_scope` per request
and code below it calls `bind(order_id=...)`, so every later line of that request carries the field and nothing
leaks into the next request (warm instances serve many requests from the same module globals).

Denylist: a field is dropped, at any depth, when its name contains (case-insensitively) one of `secret`, `token`,
`key`, `password`, `authorization`, `install_id`, `signature`, `private`, `apiv3`, `cookie`, or is exactly `headers`
or `body`. So `install_hash` and `order_id` are logged, `poll_token`, `idempotency_key` and `install_id` never are.
The denylist is a safety net: callers still must not pass headers, bodies or secrets.

Level: `LOG_LEVEL` (debug | info | warning | error, default info) is read once at import; `configure()` overrides
it (and the output stream) from settings or tests.

Metrics are log lines of one shape, `{"event": "metric", "metric": NAME, "value": NUMBER, ...dimensions}` after
the request fields (`metric()`); the log services of both clouds count and sum them (docs/operations.md). They are
written whatever the level threshold: alerts depend on them.
"""

from __future__ import annotations

import enum
import json
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, TextIO

LEVELS: Mapping[str, int] = MappingProxyType({"debug": 10, "info": 20, "warning": 30, "error": 40})
CORE_FIELDS = ("request_id", "function", "route", "order_id", "outcome", "status", "latency_ms")
DENIED_PARTS = (
    "secret",
    "token",
    "key",
    "password",
    "authorization",
    "install_id",
    "signature",
    "private",
    "apiv3",
    "cookie",
)
DENIED_NAMES = frozenset({"headers", "body"})
_RESERVED = frozenset({"ts", "level", "event"})
METRIC_EVENT = "metric"
METRIC_FIELDS = ("metric", "value")

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_context: ContextVar[Mapping[str, Any]] = ContextVar("shared_log_context", default=_EMPTY)


def _level_number(level: str) -> int:
    try:
        return LEVELS[level.strip().lower()]
    except KeyError:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, not {level!r}") from None


def _env_level() -> int:
    # A typo in LOG_LEVEL must not stop a payment function from starting: fall back to info.
    return LEVELS.get(os.environ.get("LOG_LEVEL", "info").strip().lower(), LEVELS["info"])


_threshold = _env_level()
_stream: TextIO | None = None  # None: whatever sys.stdout is when the line is written


class _Keep(enum.Enum):
    KEEP = enum.auto()


def configure(*, level: str | None = None, stream: TextIO | _Keep | None = _Keep.KEEP) -> None:
    """Set the minimum level and/or the output stream; `stream=None` means stdout. Omitted arguments are kept."""
    global _threshold, _stream
    if level is not None:
        _threshold = _level_number(level)
    if not isinstance(stream, _Keep):
        _stream = stream


def level() -> str:
    """The current minimum level's name."""
    return next(name for name, number in LEVELS.items() if number == _threshold)


def is_denied(name: str) -> bool:
    lowered = name.lower()
    return lowered in DENIED_NAMES or any(part in lowered for part in DENIED_PARTS)


def _scrub(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _scrub(v) for k, v in value.items() if not is_denied(str(k))}
    if isinstance(value, (list, tuple)):
        return [_scrub(item) for item in value]
    return value


def bind(**fields: Any) -> None:
    """Add fields to every later line of the current request (or context)."""
    _context.set(MappingProxyType({**_context.get(), **fields}))


def bound() -> Mapping[str, Any]:
    """The fields bound in the current context (read-only)."""
    return _context.get()


@contextmanager
def request_scope(**fields: Any) -> Iterator[None]:
    """A fresh context holding only `fields`; whatever was bound inside is gone on exit."""
    token = _context.set(MappingProxyType(dict(fields)))
    try:
        yield
    finally:
        _context.reset(token)


def _timestamp() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _record(level: str, event: str, fields: Mapping[str, Any], lead: tuple[str, ...] = ()) -> dict[str, Any]:
    merged = {**_context.get(), **fields}
    record: dict[str, Any] = {"ts": _timestamp(), "level": level, "event": event}
    for name in (*CORE_FIELDS, *lead):
        if merged.get(name) is not None:
            record[name] = merged[name]
    for name, value in merged.items():
        if name not in record and name not in _RESERVED and value is not None:
            record[name] = value
    return {name: _scrub(value) for name, value in record.items() if not is_denied(name)}


def log(level: str, event: str, /, **fields: Any) -> None:
    """Write one line if `level` passes the threshold. Never raises: a log failure must not fail a payment."""
    if _level_number(level) < _threshold:
        return
    _write(level, event, fields)


def metric(name: str, /, value: int | float = 1, **dimensions: Any) -> None:
    """One metric line: `metric` and `value` right after the request fields, then the dimensions (low-cardinality
    labels: `reason`, `job`, `product_id`...). Written at level info whatever the threshold; never raises."""
    _write("info", METRIC_EVENT, {**dimensions, "metric": name, "value": value}, METRIC_FIELDS)


def _write(level: str, event: str, fields: Mapping[str, Any], lead: tuple[str, ...] = ()) -> None:
    try:
        record = _record(level, event, fields, lead)
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)
        stream = _stream if _stream is not None else sys.stdout
        stream.write(line + "\n")
        stream.flush()
    except Exception:  # noqa: S110 - nowhere left to report it; the answer to the client matters more
        pass


def debug(event: str, /, **fields: Any) -> None:
    log("debug", event, **fields)


def info(event: str, /, **fields: Any) -> None:
    log("info", event, **fields)


def warning(event: str, /, **fields: Any) -> None:
    log("warning", event, **fields)


def error(event: str, /, **fields: Any) -> None:
    log("error", event, **fields)
