"""Timer events from both clouds, and direct invocations, read into the jobs to run and their options."""

from __future__ import annotations

import pytest

from shared.timer import BadTimerEvent, parse_timer_event
from tests.events import load_event

KNOWN = ("close_expired", "reconcile_pending", "reconcile_refunds", "reconcile_bill", "retention")


def test_an_fc3_timer_event_arrives_as_bytes_and_its_payload_names_the_jobs() -> None:
    event = parse_timer_event(load_event("fc3_timer"), KNOWN)
    assert (event.platform, event.trigger) == ("fc3", "jobs-every-minute")
    assert event.jobs == ("close_expired", "reconcile_pending", "reconcile_refunds") and event.options == {}


def test_an_scf_timer_event_is_a_dict_and_its_message_may_carry_options_as_json() -> None:
    event = parse_timer_event(load_event("scf_timer"), KNOWN)
    assert (event.platform, event.trigger) == ("scf", "jobs-daily")
    assert event.jobs == ("reconcile_bill", "retention") and event.options == {"date": "2026-01-30"}


@pytest.mark.parametrize(
    ("event", "jobs"),
    [
        ({"triggerTime": "t", "triggerName": "n", "payload": "all"}, KNOWN),
        ('{"triggerName": "n", "payload": " retention  close_expired "}', ("retention", "close_expired")),
        ({"Type": "Timer", "TriggerName": "n", "Message": "reconcile_bill"}, ("reconcile_bill",)),
        ({"jobs": ["retention"], "date": "2026-01-01"}, ("retention",)),
        ({"jobs": "all"}, KNOWN),
    ],
)
def test_jobs_are_named_by_list_commas_spaces_or_all(event: object, jobs: tuple[str, ...]) -> None:
    assert parse_timer_event(event, KNOWN).jobs == jobs


@pytest.mark.parametrize(
    "event",
    [
        b"not json",
        b"[1, 2]",
        {"triggerName": "n", "payload": ""},
        {"Type": "Timer", "TriggerName": "n", "Message": "close_expired,drop_tables"},
        {"triggerName": "n", "payload": "{not json"},
        {},
    ],
)
def test_an_event_that_names_no_known_job_is_refused(event: object) -> None:
    with pytest.raises(BadTimerEvent):
        parse_timer_event(event, KNOWN)
