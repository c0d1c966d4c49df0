"""The operator's side of the local system for end-to-end tests: the ops CLI (refunds, reports) and the jobs
function, run as a deployment runs them — the jobs in their own processes (function instances) fired with FC 3.0
timer events, each with the functions' environment."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from types import SimpleNamespace
from typing import Any

from scripts import ops
from scripts.stack import Stack
from shared import bootstrap, log


class Backoffice:
    def __init__(self, stack: Stack, **env: str):
        self.env = {**stack.gateway.env, **env}
        self._instances: ProcessPoolExecutor | None = None

    # -- the ops CLI ---------------------------------------------------------------------------------------
    def ops(self, *argv: str) -> tuple[int, Any]:
        """Run `python -m scripts.ops ARGV` in this process; returns its exit code and the JSON it printed."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), log.request_scope():
            code = ops.main(list(argv), env=self.env)
        return code, _printed(out.getvalue() + err.getvalue())

    def refund(self, order_id: str, amount: int | None = None, *, reason: str = "e2e refund", key: str = "") -> Any:
        argv = ["refund", order_id, "--reason", reason, "--operator", "e2e"]
        argv += ["--amount", str(amount)] if amount is not None else []
        argv += ["--request-key", key] if key else []
        code, printed = self.ops(*argv)
        assert code == 0, printed
        return printed

    # -- the jobs function ---------------------------------------------------------------------------------
    def start_instances(self, count: int = 2) -> None:
        """Warm function instances of the jobs function (fresh processes), ready to be fired at the same moment."""
        self._instances = ProcessPoolExecutor(
            count, mp_context=get_context("spawn"), initializer=_warm, initargs=(self.env,)
        )
        for ready in [self._instances.submit(_fire, "retention", {}) for _ in range(count)]:
            ready.result(timeout=60)

    def fire(self, jobs: str, **options: Any) -> Future[dict[str, Any]]:
        """A timer fires the jobs function on one instance (FC 3.0 timer event)."""
        if self._instances is None:
            self.start_instances(1)
        assert self._instances is not None
        return self._instances.submit(_fire, jobs, options)

    def run_jobs(self, jobs: str, **options: Any) -> dict[str, dict[str, Any]]:
        """Fire and wait: each job's summary by name."""
        return {s["job"]: s for s in self.fire(jobs, **options).result(timeout=120)["jobs"]}

    def run_jobs_here(self, jobs: str, **options: Any) -> dict[str, dict[str, Any]]:
        """The same in this process (its log lines reach pytest's capture)."""
        with configured(self.env):
            return {s["job"]: s for s in _fire(jobs, options)["jobs"]}

    def stop(self) -> None:
        if self._instances is not None:
            self._instances.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def configured(env: Mapping[str, str]) -> Iterator[None]:
    bootstrap.reset(env)
    try:
        with log.request_scope():
            yield
    finally:
        bootstrap.reset()


def _warm(env: Mapping[str, str]) -> None:
    os.environ.update(env)


def _fire(jobs: str, options: dict[str, Any]) -> dict[str, Any]:
    from functions.jobs import index

    payload = json.dumps({"jobs": jobs, **options})
    event = json.dumps({"triggerTime": "2026-01-01T00:00:00Z", "triggerName": "e2e", "payload": payload}).encode()
    answer: dict[str, Any] = index.handler(event, SimpleNamespace(request_id="e2e-timer"))
    return answer


def _printed(text: str) -> Any:
    """The JSON document the CLI printed (indented), among the one-line JSON logs of the services."""
    if text.startswith("{\n"):
        return json.JSONDecoder().raw_decode(text)[0]
    start = text.find("\n{\n")
    assert start >= 0, text
    return json.JSONDecoder().raw_decode(text[start + 1 :])[0]
