"""Fault injection on chosen endpoints: WeChat errors, timeouts, slow answers, dropped connections and answers
whose signature does not verify (the "outcome unknown" cases a client must survive, reference §9, §11)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from emulator.store import Store

ENDPOINTS = (
    "create",
    "query",
    "query_by_id",
    "close",
    "refund",
    "query_refund",
    "certificates",
    "tradebill",
    "download",
    "*",
)
ACTIONS = ("error", "timeout", "slow", "drop", "bad_signature", "unsigned")
# Whether WeChat carried the call out before the fault, unless the fault says otherwise.
EXECUTES_BY_DEFAULT = {
    "error": False,
    "timeout": True,
    "slow": True,
    "drop": True,
    "bad_signature": True,
    "unsigned": True,
}
DEFAULT_ERRORS = {
    429: ("FREQUENCY_LIMITED", "请求频率超过限制"),
    500: ("SYSTEM_ERROR", "系统错误"),
    502: ("SERVICE_UNAVAILABLE", "服务不可用"),
    503: ("SERVICE_UNAVAILABLE", "服务不可用"),
}


@dataclass(frozen=True)
class Fault:
    endpoint: str
    action: str
    status: int
    code: str
    message: str
    delay: float
    execute: bool

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        endpoint, action = data.get("endpoint", "*"), data.get("action", "error")
        if endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint must be one of {ENDPOINTS}")
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}")
        status = int(data.get("status", 500))
        code, message = DEFAULT_ERRORS.get(status, ("SYSTEM_ERROR", "系统错误"))
        return cls(
            endpoint,
            action,
            status,
            str(data.get("code", code)),
            str(data.get("message", message)),
            float(data.get("delay", 30.0 if action == "timeout" else 2.0)),
            bool(data.get("execute", EXECUTES_BY_DEFAULT[action])),
        )

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class FaultBook:
    """Armed faults, each used `count` times, oldest first."""

    def __init__(self, store: Store):
        self._store = store

    def add(self, data: dict[str, Any]) -> dict[str, Any]:
        fault = Fault.from_json(data)
        count = int(data.get("count", 1))
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._store.tx() as db:
            db.execute(
                "INSERT INTO faults(endpoint, action, params, remaining) VALUES (?, ?, ?, ?)",
                (fault.endpoint, fault.action, json.dumps(fault.to_json()), count),
            )
        return {**fault.to_json(), "count": count}

    def take(self, endpoint: str) -> Fault | None:
        with self._store.tx() as db:
            row = db.execute(
                "SELECT seq, params FROM faults WHERE remaining > 0 AND endpoint IN (?, '*') ORDER BY seq LIMIT 1",
                (endpoint,),
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE faults SET remaining = remaining - 1 WHERE seq = ?", (row["seq"],))
            db.execute("DELETE FROM faults WHERE remaining <= 0")
        return Fault(**json.loads(row["params"]))

    def list(self) -> list[dict[str, Any]]:
        return [
            {**json.loads(row["params"]), "count": row["remaining"]}
            for row in self._store.all("SELECT params, remaining FROM faults ORDER BY seq")
        ]

    def clear(self) -> None:
        with self._store.tx() as db:
            db.execute("DELETE FROM faults")
