"""jobs: the timer-triggered work (FC 3.0 timer triggers, SCF timers, `make dev`): the event names the jobs.

Each job runs under its own lease, so two invocations at once do the work once; one failing job does not stop the
others, and makes the invocation fail afterwards so that the platform's error metrics alert.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared import log
from shared.backup.job import scheduled_backup
from shared.bootstrap import Container, container, now
from shared.services.jobs.runner import Job, run_job
from shared.timer import parse_timer_event

# name -> the job, built from the composition root. Order matters for "all": close before reconciling.
JOBS: dict[str, Callable[[Container], Job]] = {
    "close_expired": lambda c: c.close_expired,
    "reconcile_pending": lambda c: c.reconcile_pending,
    "reconcile_refunds": lambda c: c.reconcile_refunds,
    "reconcile_bill": lambda c: c.reconcile_bill,
    "backup": scheduled_backup,  # before retention purges what it would have kept
    "retention": lambda c: c.retention,
}


class JobsFailed(RuntimeError):
    """At least one job failed (its error was logged); raised after the others ran, with every summary."""

    def __init__(self, answer: dict[str, Any]):
        super().__init__(", ".join(s["job"] for s in answer["jobs"] if s["outcome"] == "FAILED"))
        self.answer = answer


def handler(event: Any, context: Any) -> dict[str, Any]:
    request_id = getattr(context, "request_id", None)
    with log.request_scope(function="jobs", request_id=request_id):
        timer = parse_timer_event(event, JOBS)
        c = container()
        lease = c.lifecycle.job_lease_seconds
        summaries = []
        for name in timer.jobs:
            summary = run_job(name, JOBS[name](c), c.storage, now, lease_seconds=lease, options=timer.options)
            if "duration_ms" in summary:  # a run skipped for the lease did no work to time
                log.metric("job_duration_ms", summary["duration_ms"], job=name, outcome=summary["outcome"])
            summaries.append(summary)
    answer = {"trigger": timer.trigger, "jobs": summaries}
    if any(s["outcome"] == "FAILED" for s in summaries):
        raise JobsFailed(answer)
    return answer


main_handler = handler  # Tencent SCF's default handler name
