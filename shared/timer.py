"""Timer events as each cloud delivers them, read into which jobs to run (design §2: functions stay thin).

- Alibaba FC 3.0 timer trigger: bytes of JSON `{"triggerTime", "triggerName", "payload"}`; `payload` is the
  trigger's configured text.
- Tencent SCF timer trigger: a dict `{"Type": "Timer", "TriggerName", "Time", "Message"}`; `Message` is the text.
- A direct invocation (`s invoke`, the console's test event, scripts/ops.py): the payload object itself.

The text names the jobs: `"close_expired"`, `"close_expired,reconcile_pending"`, `"all"`, or a JSON object
`{"jobs": "reconcile_bill", "date": "2026-01-31"}` whose other fields are the jobs' options.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

_SEPARATORS = re.compile(r"[\s,]+")


class BadTimerEvent(ValueError):
    """The event is not a timer event, or names no job this function knows."""


@dataclass(frozen=True)
class TimerEvent:
    platform: str  # fc3 | scf | direct
    trigger: str
    jobs: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)


def parse_timer_event(event: Any, known: Collection[str]) -> TimerEvent:
    """Which of the `known` jobs the event asks for ("all": every one, in the order of `known`)."""
    obj = _object(event)
    if obj.get("Type") == "Timer":
        platform, trigger, payload = "scf", str(obj.get("TriggerName") or ""), obj.get("Message")
    elif "triggerTime" in obj or "triggerName" in obj:
        platform, trigger, payload = "fc3", str(obj.get("triggerName") or ""), obj.get("payload")
    else:
        platform, trigger, payload = "direct", "", obj
    names, options = _request(payload)
    jobs = tuple(known) if names == ["all"] else tuple(names)
    unknown = [name for name in jobs if name not in known]
    if not jobs or unknown:
        raise BadTimerEvent(f"name the jobs to run, from {', '.join(known)} or all (unknown: {unknown})")
    return TimerEvent(platform, trigger, jobs, options)


def _object(event: Any) -> dict[str, Any]:
    if isinstance(event, (bytes, bytearray, str)):
        try:
            event = json.loads(event or b"{}")
        except ValueError as exc:
            raise BadTimerEvent("the event is not JSON") from exc
    if not isinstance(event, dict):
        raise BadTimerEvent("the event must be a JSON object")
    return event


def _request(payload: Any) -> tuple[list[str], dict[str, Any]]:
    if isinstance(payload, str) and payload.strip().startswith("{"):
        try:
            payload = json.loads(payload)
        except ValueError as exc:
            raise BadTimerEvent("the payload is not valid JSON") from exc
    if isinstance(payload, dict):
        options = {k: v for k, v in payload.items() if k != "jobs"}
        jobs = payload.get("jobs")
        names = [str(j) for j in jobs] if isinstance(jobs, list) else _names(jobs)
        return names, options
    return _names(payload), {}


def _names(text: Any) -> list[str]:
    return [name for name in _SEPARATORS.split(str(text or "").strip()) if name]
