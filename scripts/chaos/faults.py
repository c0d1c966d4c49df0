"""The faults of a chaos run: WeChat's (armed through the emulator's /_emulator/faults), our storage's (the folder that
drives shared/storage/faulty.py in every process), and the count of what really happened, for the report."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from emulator.app import Emulator
from scripts.chaos.world import Api

# The emulator's timeout fault answers nothing and drops the connection after `delay` seconds: the outcome is
# unknown to the caller, as with a read timeout, without making the run wait for one.
TIMEOUT_DELAY = 0.4
WECHAT_KINDS: dict[str, dict[str, Any]] = {
    "429": {"action": "error", "status": 429},
    "500": {"action": "error", "status": 500},
    "timeout": {"action": "timeout", "delay": TIMEOUT_DELAY},
}


class Injector:
    def __init__(self, folder: Path, emulator: Emulator, control: Api):
        self.folder, self._emulator, self._control = folder, emulator, control
        for rule in ("fail", "slow", "kill"):
            (folder / rule).mkdir(parents=True, exist_ok=True)
        self._armed: Counter[str] = Counter()
        self._consumed: Counter[str] = Counter()
        self.driver: Counter[str] = Counter()  # what the run itself did: releases out of order, repeated refunds
        self._lock = threading.Lock()

    # -- storage -----------------------------------------------------------------------------------------
    def storage_failures(self, rate: float, after_write_share: float, seed: int) -> None:
        plan = {"write_failure_rate": rate, "after_write_share": after_write_share, "seed": seed}
        self._write("plan.json", json.dumps(plan))

    def fail_payment(self, order_id: str, times: int) -> None:
        self._write(f"fail/{order_id}", str(times))

    def slow_payment(self, order_id: str, seconds: float) -> None:
        self._write(f"slow/{order_id}", str(seconds))

    def kill_on(self, notification_id: str) -> None:
        self._write(f"kill/{notification_id}", "")

    def _write(self, name: str, text: str) -> None:
        path = self.folder / name
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(text)
        os.replace(temporary, path)

    # -- WeChat ------------------------------------------------------------------------------------------
    def arm(self, endpoint: str, kind: str, count: int) -> None:
        """`count` faults of `kind` on `endpoint`, interleaved with whatever is armed already (first armed, first hit)."""
        for _ in range(count):
            self._control.call(
                "POST", "/_emulator/faults", body={"endpoint": endpoint, **WECHAT_KINDS[kind], "count": 1}
            )
        with self._lock:
            self._armed[f"{endpoint}.{kind}"] += count

    def refund_outcomes(self, status: str, count: int, **delivery: Any) -> None:
        """The next `count` refunds WeChat accepts end `status`; `delivery` shapes their notifications."""
        self._control.call("POST", "/_emulator/refunds/outcome", body={"status": status, "count": count, **delivery})

    def remove_all(self) -> None:
        """Disarm WeChat's faults (counting those that were hit) and every storage fault."""
        remaining: Counter[str] = Counter()
        for fault in self._control.call("GET", "/_emulator/faults")["faults"]:
            kind = "timeout" if fault["action"] == "timeout" else str(fault["status"])
            remaining[f"{fault['endpoint']}.{kind}"] += int(fault["count"])
        self._control.call("DELETE", "/_emulator/faults")
        with self._lock:
            for name, armed in self._armed.items():
                self._consumed[name] += armed - remaining[name]
            self._armed.clear()
        self._write("plan.json", "{}")
        for rule in ("fail", "slow", "kill"):
            shutil.rmtree(self.folder / rule)
            (self.folder / rule).mkdir()

    # -- what happened -----------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Every kind of fault and how often it really happened."""
        counts: Counter[str] = Counter()
        for name, hits in self._consumed.items():
            counts[f"wechat.{name}"] += hits
        log = self.folder / "injected.log"
        if log.exists():
            for line in log.read_text().splitlines():
                counts[f"storage.{line.split(chr(9))[0]}"] += 1
        store = self._emulator.store
        for row in store.all("SELECT kind, response_status, error FROM attempts"):
            if row["kind"] == "duplicate":
                counts["notify.duplicate_deliveries"] += 1
            if row["kind"] == "probe":
                counts["notify.signtest_probes"] += 1
            if row["response_status"] is not None and row["response_status"] >= 500:
                counts["notify.answered_5xx"] += 1
            if row["error"] and "timed out" in row["error"]:
                counts["notify.timed_out"] += 1
        dropped = store.one("SELECT COUNT(*) FROM notifications WHERE state = 'dropped' AND out_refund_no IS NULL")
        counts["notify.never_sent"] = int(dropped[0]) if dropped else 0
        counts["refund.closed_at_wechat"] = _count(store, "SELECT COUNT(*) FROM refunds WHERE status = 'CLOSED'")
        counts["refund.notification_never_sent"] = _count(
            store, "SELECT COUNT(*) FROM notifications WHERE state = 'dropped' AND out_refund_no IS NOT NULL"
        )
        raced = store.one("SELECT COUNT(*) FROM orders WHERE pay_on_close = 1 AND trade_state IN ('SUCCESS', 'REFUND')")
        counts["wechat.paid_during_close"] = int(raced[0]) if raced else 0
        for name, value in self.driver.items():
            counts[name] += value
        return dict(sorted(counts.items()))

    def note(self, name: str, count: int = 1) -> None:
        with self._lock:
            self.driver[name] += count


def _count(store: Any, sql: str) -> int:
    row = store.one(sql)
    return int(row[0]) if row else 0
