"""`python -m scripts.bench load`: whole purchases through the local gateway for a while, then exactly-once checked.

The emulator runs as its own process (public-key mode, notification retries time-scaled), the gateway in this one
with worker processes standing in for function instances, and a load generator process runs `clients` buyers
that each loop: create an order, pay it at the emulator (which then notifies the gateway), poll its status once.
After the deadline, the emulator is given time to deliver every notification; then, from both sides' state:
every order paid at the emulator is PAID here with exactly one licence and exactly one PAID event, and nothing
is paid here that was not paid there. Loopback only; bounded in clients, orders and time.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from scripts.bench.stats import summary
from scripts.bench.throughput import GatewayProcess, free_port, rate, run_loadgen
from scripts.stack import function_env
from shared.config import CODE_ROOT

MAX_WORKERS = 16
MAX_CLIENTS = 32
MAX_SECONDS = 120
MAX_ORDERS = 20000
DELIVERY_WAIT_SECONDS = 60
PAID_STATES = ("PAID", "REFUNDING", "REFUNDED", "PARTIALLY_REFUNDED")


class EmulatorProcess:
    """`python -m emulator serve` on a free loopback port, its state under `data_dir/emulator`."""

    def __init__(self, data_dir: Path, time_factor: float) -> None:
        env = {
            **os.environ,
            "DATA_DIR": str(data_dir),
            "EMULATOR_HOST": "127.0.0.1",
            "EMULATOR_PORT": "0",
            "EMULATOR_SIGNING_MODE": "public_key",
            "EMULATOR_TIME_FACTOR": str(time_factor),
        }
        self.state = data_dir / "emulator" / "state.sqlite3"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "emulator", "serve"], cwd=CODE_ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        if found is None:
            self.stop()
            raise RuntimeError(f"the emulator did not start: {line!r}")
        self.base_url = found.group(0)

    def merchant(self) -> dict[str, str]:
        with urllib.request.urlopen(self.base_url + "/_emulator/merchant", timeout=10) as answer:  # noqa: S310
            merchant: dict[str, str] = json.load(answer)
        return merchant

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def _wait_for_deliveries(emulator: EmulatorProcess) -> int:
    """Seconds waited until no notification is scheduled or being sent (bounded)."""
    started = time.monotonic()
    while time.monotonic() - started < DELIVERY_WAIT_SECONDS:
        pending = _rows(emulator.state, "SELECT COUNT(*) FROM notifications WHERE state IN ('scheduled', 'sending')")
        if pending[0][0] == 0:
            break
        time.sleep(0.25)
    return round(time.monotonic() - started)


def exactly_once(app_db: Path, emulator_db: Path) -> dict[str, Any]:
    """The invariant, from both sides' state: a list of violations (empty when it holds) and counts."""
    paid_there = {r[0] for r in _rows(emulator_db, "SELECT out_trade_no FROM orders WHERE trade_state = 'SUCCESS'")}
    ours = dict(_rows(app_db, "SELECT order_id, status FROM orders"))
    licences = Counter(r[0] for r in _rows(app_db, "SELECT order_id FROM licences"))
    paid_events = Counter(r[0] for r in _rows(app_db, "SELECT order_id FROM order_events WHERE kind = 'PAID'"))
    violations = []
    for order_id in sorted(paid_there):
        if ours.get(order_id) not in PAID_STATES:
            violations.append(f"{order_id}: paid at WeChat, {ours.get(order_id)} here")
        if licences[order_id] != 1:
            violations.append(f"{order_id}: {licences[order_id]} licences")
        if paid_events[order_id] != 1:
            violations.append(f"{order_id}: {paid_events[order_id]} PAID events")
    for order_id, status in ours.items():
        if status in PAID_STATES and order_id not in paid_there:
            violations.append(f"{order_id}: {status} here, not paid at WeChat")
    extra = [o for o in licences if o not in paid_there]
    violations += [f"{order_id}: a licence without a payment" for order_id in extra]
    return {
        "paid_at_wechat": len(paid_there),
        "orders_here": len(ours),
        "paid_here": sum(1 for s in ours.values() if s in PAID_STATES),
        "licences": sum(licences.values()),
        "violations": violations[:50],
        "violation_count": len(violations),
        "holds": not violations,
    }


def _deliveries(emulator_db: Path, since: float) -> dict[str, Any]:
    """Delivery attempts that started after `since` (the warm-up's are left out), as the emulator recorded them."""
    rows = _rows(emulator_db, "SELECT sent_at, duration_ms, response_status FROM attempts")
    attempts = [(sent - ms / 1000, ms, status) for sent, ms, status in rows if sent - ms / 1000 >= since]
    accepted = [a for a in attempts if a[2] and 200 <= a[2] < 300]
    return {
        "attempts": len(attempts),
        "accepted": len(accepted),
        "failed_attempts": len(attempts) - len(accepted),
        "per_second": rate(accepted),
        "latency_ms": summary([a[1] for a in accepted]),
        "states": dict(Counter(r[0] for r in _rows(emulator_db, "SELECT state FROM notifications"))),
    }


def _operation(samples: list[list[float]], ok: int) -> dict[str, Any]:
    good = [s for s in samples if int(s[2]) == ok]
    return {
        "count": len(samples),
        "errors": len(samples) - len(good),
        "per_second": rate(good),
        "latency_ms": summary([s[1] for s in good]),
    }


def load_run(work: Path, *, workers: int, clients: int, seconds: float, max_orders: int) -> dict[str, Any]:
    workers, clients = max(1, min(workers, MAX_WORKERS)), max(1, min(clients, MAX_CLIENTS))
    seconds, max_orders = min(seconds, MAX_SECONDS), min(max_orders, MAX_ORDERS)
    data_dir = work / "load"
    emulator = EmulatorProcess(data_dir, time_factor=0.05)
    gateway: GatewayProcess | None = None
    try:
        port = free_port()
        env = function_env(data_dir, emulator.merchant(), emulator.base_url, f"http://127.0.0.1:{port}")
        env.pop("WECHATPAY_PLATFORM_CERTIFICATES", None)  # a public-key-mode merchant
        gateway = GatewayProcess(port, env, workers, data_dir / "gateway.log")
        spec = {
            "scenario": "purchase",
            "gateway": gateway.base_url,
            "emulator": emulator.base_url,
            "clients": clients,
            "seconds": seconds,
            "max_orders": max_orders,
            "product_id": "pro-monthly",
        }
        run_loadgen(work, {**spec, "seconds": 30, "max_orders": workers * 3, "clients": workers})  # warm-up
        started, since = time.monotonic(), time.time()
        result = run_loadgen(work, spec)
        elapsed = time.monotonic() - started
        waited = _wait_for_deliveries(emulator)
        app_db = Path(env["STORAGE_URL"].removeprefix("sqlite:///"))
        invariant = exactly_once(app_db, emulator.state)
        deliveries = _deliveries(emulator.state, since)
    finally:
        if gateway is not None:
            gateway.stop()
        emulator.stop()
    samples = result["samples"]
    return {
        "workers": workers,
        "clients": clients,
        "seconds": round(elapsed, 1),
        "orders": _operation(samples.get("create_order", []), 201),
        "payments": _operation(samples.get("pay", []), 200),
        "status_polls": _operation(samples.get("order_status", []), 200),
        "notifications": deliveries,
        "delivery_wait_s": waited,
        "exactly_once": invariant,
    }


def render(report: dict[str, Any]) -> str:
    o, n, s, inv = report["orders"], report["notifications"], report["status_polls"], report["exactly_once"]
    lines = [
        f"Load: {report['workers']} worker processes, {report['clients']} buyers, {report['seconds']} s",
        f"  orders        {o['per_second']:7.1f}/s  {o['count']} created, {o['errors']} errors, "
        f"p50 {o['latency_ms'].get('p50', '-')} ms, p99 {o['latency_ms'].get('p99', '-')} ms",
        f"  notifications {n['per_second']:7.1f}/s  {n['accepted']} accepted of {n['attempts']} attempts, "
        f"p50 {n['latency_ms'].get('p50', '-')} ms, p99 {n['latency_ms'].get('p99', '-')} ms (as WeChat waits)",
        f"  status polls  {s['per_second']:7.1f}/s  {s['count']} polls, {s['errors']} errors, "
        f"p50 {s['latency_ms'].get('p50', '-')} ms, p99 {s['latency_ms'].get('p99', '-')} ms",
        f"  exactly once: {'holds' if inv['holds'] else 'VIOLATED'} — {inv['paid_at_wechat']} paid at WeChat, "
        f"{inv['paid_here']} PAID here, {inv['licences']} licences, {inv['violation_count']} violations",
    ]
    lines += [f"    {v}" for v in inv["violations"][:10]]
    return "\n".join(lines)
