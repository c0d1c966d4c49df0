"""The jobs function driven in process with the timer events each cloud delivers — an Alibaba FC 3.0 timer trigger
(bytes of JSON, the jobs in `payload`) and a Tencent SCF timer (a dict, the jobs in `Message`) — against the
emulator and SQLite, as a deployed timer would run it."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from functions.jobs import index as jobs_fn
from scripts.stack import function_env
from shared import bootstrap, log
from shared.bootstrap import container
from shared.domain.orders import OrderStatus
from shared.timer import BadTimerEvent
from tests.events import load_event
from tests.support.emulator import RunningEmulator
from tests.support.sink import NotifySink

CONTEXT = SimpleNamespace(request_id="timer-1", function_name="jobs")
CST = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def configured(emulator: RunningEmulator, sink: NotifySink, tmp_path: Path) -> Iterator[None]:
    env = function_env(tmp_path, emulator.merchant, emulator.base_url, "http://unused.invalid")
    env["WECHATPAY_NOTIFY_URL"] = sink.url
    bootstrap.reset(env)
    with log.request_scope():
        yield
    bootstrap.reset()


def new_order(install: str) -> str:
    created = container().purchases.create("pro-monthly", install, None)
    return created.order.order_id


def test_an_fc3_timer_closes_expired_orders_and_settles_paid_ones_whose_notification_was_lost(
    configured: None, emulator: RunningEmulator
) -> None:
    expired, paid = new_order("functional-jobs-install-1"), new_order("functional-jobs-install-2")
    storage = container().storage
    storage.update_order(expired, {"expires_at": 1})
    emulator.pay(paid, mode="drop")
    storage.update_order(paid, {"created_at": bootstrap.now() - 120})  # old enough to be asked about

    answer = jobs_fn.handler(load_event("fc3_timer"), CONTEXT)

    assert answer["trigger"] == "jobs-every-minute"
    summaries = {s["job"]: s for s in answer["jobs"]}
    assert list(summaries) == ["close_expired", "reconcile_pending", "reconcile_refunds"]
    assert all(s["outcome"] == "OK" for s in summaries.values())
    assert (summaries["close_expired"]["closed"], summaries["reconcile_pending"]["paid"]) == (1, 1)
    assert emulator.control("GET", f"/_emulator/orders/{expired}")["trade_state"] == "CLOSED"
    assert storage.get_order(expired).status is OrderStatus.CLOSED  # type: ignore[union-attr]
    assert storage.get_order(paid).status is OrderStatus.PAID  # type: ignore[union-attr]


def test_an_scf_timer_runs_the_jobs_its_message_names_with_their_options(
    configured: None, emulator: RunningEmulator
) -> None:
    day = (dt.datetime.now(CST).date() - dt.timedelta(days=5)).isoformat()
    event = load_event("scf_timer")
    event["Message"] = json.dumps({"jobs": ["reconcile_bill", "retention"], "date": day})

    answer = jobs_fn.main_handler(event, CONTEXT)

    bill, retention = answer["jobs"]
    assert (bill["job"], bill["outcome"], bill["date"], bill["status"]) == ("reconcile_bill", "OK", day, "OK")
    assert (retention["job"], retention["outcome"]) == ("retention", "OK")
    report = container().storage.get_report("reconciliation", day)
    assert report is not None and report["status"] == "OK" and report["totals"]["theirs"]["payments"] == 0


def test_each_job_logs_one_summary_line_and_a_failing_job_fails_the_invocation_after_the_others_ran(
    configured: None,
) -> None:
    out = io.StringIO()
    log.configure(stream=out)
    try:
        with pytest.raises(jobs_fn.JobsFailed, match="reconcile_bill"):
            jobs_fn.handler(
                json.dumps({"triggerName": "t", "payload": '{"jobs": "reconcile_bill,retention", "date": "x"}'}),
                CONTEXT,
            )
    finally:
        log.configure(stream=None)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    summaries = [line for line in lines if line["event"] == "job_summary"]
    assert [(s["job"], s["outcome"]) for s in summaries] == [("reconcile_bill", "FAILED"), ("retention", "OK")]
    assert all(s["function"] == "jobs" and s["request_id"] == "timer-1" for s in summaries)
    assert {"purged_idempotency", "purged_notifications", "duration_ms"} <= set(summaries[1])
    assert [line["level"] for line in lines if line["event"] == "job_failed"] == ["error"]


def test_an_event_naming_no_known_job_runs_nothing(configured: None) -> None:
    with pytest.raises(BadTimerEvent):
        jobs_fn.main_handler({"Type": "Timer", "TriggerName": "t", "Message": "drop_everything"}, CONTEXT)
