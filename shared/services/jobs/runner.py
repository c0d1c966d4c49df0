"""Running one job: a lease so that two runs at once do the work once, a JSON summary line, never an exception
that stops the jobs after it."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from shared import log
from shared.storage.port import Storage

T = TypeVar("T")


class Job(Protocol):
    def __call__(self, options: Mapping[str, Any]) -> Mapping[str, Any]:
        """Do one bounded batch of work; return counts for the summary line."""
        ...


def run_job(
    name: str,
    job: Job,
    storage: Storage,
    clock: Callable[[], int],
    *,
    lease_seconds: int,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Run `job` under the lease `job:<name>`; returns (and logs) its summary: `job`, `outcome` (OK, SKIPPED —
    another run holds the lease —, or FAILED), the job's counts and `duration_ms`."""
    started = time.monotonic()
    owner = uuid.uuid4().hex
    lease = f"job:{name}"
    with log.request_scope(**{**log.bound(), "job": name}):
        if not storage.acquire_lease(lease, owner, clock(), lease_seconds):
            summary: dict[str, Any] = {"job": name, "outcome": "SKIPPED", "reason": "another run holds the lease"}
            log.info("job_skipped", **summary)
            return summary
        try:
            counts = dict(job(options or {}))
            outcome = "FAILED" if counts.get("error") else "OK"
        except Exception as exc:  # one failed job must not stop the others; the error line alerts
            log.error("job_failed", job=name, error=type(exc).__name__, message=str(exc)[:300])
            counts, outcome = {"error": type(exc).__name__}, "FAILED"
        finally:
            _release(storage, lease, owner)
        summary = {"job": name, "outcome": outcome, **counts, "duration_ms": round((time.monotonic() - started) * 1000)}
        log.info("job_summary", **summary)
        return summary


def each(items: Iterable[T], step: Callable[[T], str], scope: Callable[[T], Mapping[str, Any]]) -> Counter[str]:
    """Run `step` on every item of a batch, counting its outcomes. Each item has its own log scope (services bind
    order_id), and one that raises is logged and counted as `error` while the batch goes on: one bad order must
    not hold up the others (the job then ends FAILED, so the error alerts)."""
    outcomes: Counter[str] = Counter()
    for item in items:
        with item_scope(**scope(item)):
            try:
                outcomes[step(item)] += 1
            except Exception as exc:
                log.error("job_item_failed", error=type(exc).__name__, message=str(exc)[:300])
                outcomes["error"] += 1
    return outcomes


@contextmanager
def item_scope(**fields: Any) -> Iterator[None]:
    """Log fields for one item of a batch (an order, a refund), gone before the next: services bind order_id."""
    with log.request_scope(**{**log.bound(), **fields}):
        yield


def _release(storage: Storage, lease: str, owner: str) -> None:
    try:
        storage.release_lease(lease, owner)
    except Exception as exc:  # the lease expires on its own; the next run waits for it
        log.warning("job_lease_not_released", lease=lease, error=type(exc).__name__)
