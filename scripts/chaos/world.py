"""The system under chaos: a client of its HTTP APIs that retries as a careful client does, and the operator's side
(timer jobs, refunds) run in this process on a business clock that the run moves forward."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import Any
from unittest import mock

import requests

from shared import bootstrap, errors, log

FREQUENT_JOBS = "close_expired,reconcile_pending,reconcile_refunds"
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


class ApiError(Exception):
    """An answer the client does not retry (4xx), or one still failing after every attempt."""

    def __init__(self, status: int, body: str):
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status, self.body = status, body


class Api:
    """JSON over HTTP to one base URL, one session per thread; 5xx, 429 and dropped connections are retried."""

    def __init__(self, base_url: str, *, attempts: int = 10):
        self.base_url, self._attempts = base_url.rstrip("/"), attempts
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False
        return session

    def call(self, method: str, path: str, *, body: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        delay, failure = 0.05, ""
        for _ in range(self._attempts):
            try:
                response = self._session().request(
                    method, self.base_url + path, json=body, headers=dict(headers or {}), timeout=30
                )
            except requests.RequestException as exc:
                failure = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 400:
                    return response.json() if response.content else None
                if response.status_code not in RETRIED_STATUSES:
                    raise ApiError(response.status_code, response.text)
                failure = f"HTTP {response.status_code}: {response.text[:200]}"
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        raise ApiError(0, f"{method} {path} still failing: {failure}")


class BusinessClock:
    """Our side's time as the timer jobs see it: real time plus the time the run says has passed."""

    def __init__(self) -> None:
        self.skew = 0

    def now(self) -> int:
        return int(time.time()) + self.skew


class Backoffice:
    """The jobs function and the refund service, in this process, with the functions' settings, on `clock`."""

    def __init__(self, env: Mapping[str, str], clock: BusinessClock):
        self._env, self._clock = dict(env), clock
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Backoffice:
        from functions.jobs import index as jobs

        self._stack.enter_context(mock.patch.object(bootstrap, "now", self._clock.now))
        self._stack.enter_context(mock.patch.object(jobs, "now", self._clock.now))
        c = bootstrap.reset(self._env)
        self._stack.callback(bootstrap.reset)
        # Built here, once: the threads that use them must not race to build them.
        for part in ("storage", "refunds", "close_expired", "reconcile_pending", "reconcile_refunds", "reconcile_bill"):
            getattr(c, part)
        c.gateway()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def run_jobs(self, names: str, **options: Any) -> dict[str, dict[str, Any]]:
        """Each job's summary by name; a failed job (an injected fault) is a summary like the others."""
        from functions.jobs import index as jobs

        try:
            answer = jobs.handler({"jobs": names, **options}, SimpleNamespace(request_id="chaos"))
        except jobs.JobsFailed as exc:
            answer = exc.answer
        except errors.StorageError:  # the invocation itself failed (its lease could not be taken): the next one runs
            return {}
        return {s["job"]: s for s in answer["jobs"]}

    def refund(self, order_id: str, amount_fen: int | None, request_key: str, *, attempts: int = 8) -> dict[str, Any]:
        """An operator's refund request, repeated with the same key while storage fails (as the operator would)."""
        for attempt in range(attempts):
            try:
                with log.request_scope(function="chaos"):
                    answer: dict[str, Any] = bootstrap.container().refunds.request(
                        order_id, amount_fen, "chaos refund", request_key, "chaos"
                    )
                return answer
            except errors.StorageError:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")


@contextlib.contextmanager
def output_to(path: os.PathLike[str] | str) -> Iterator[None]:
    """Send this process's stdout and stderr, and those of every process it starts meanwhile (the gateway's workers
    inherit them), to a file: the functions' JSON logs and the injected failures' tracebacks."""
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(target, 1)
    os.dup2(target, 2)
    os.close(target)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
