"""Notifications per second through the local gateway, worker processes standing in for function instances.

The gateway runs as its own process (`python -m scripts.gateway --workers N`, its log in a file) and routes each
POST /v1/notify/wechatpay to a pool of worker processes that keep their modules and composition root warm, as
instances do; a load generator process replays signed notifications, each paying its own PENDING order, over a few
keep-alive connections. Everything stays on loopback.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scripts.bench.fixture import NOTIFY_PATH, World
from scripts.bench.stats import summary
from shared.config import CODE_ROOT

LOADGEN_TIMEOUT_SECONDS = 600
START_TIMEOUT_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class GatewayProcess:
    """The local gateway with `workers` worker processes, on a loopback port; its output goes to `log`."""

    def __init__(self, port: int, env: Mapping[str, str], workers: int, log: Path) -> None:
        self.base_url = f"http://127.0.0.1:{port}"
        self._log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "scripts.gateway", "--port", str(port), "--workers", str(workers)],
            cwd=CODE_ROOT,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the gateway did not start; see {log}")
            time.sleep(0.05)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.base_url + "/healthz", timeout=1) as answer:  # noqa: S310 - loopback
                return bool(answer.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def run_loadgen(work: Path, spec: dict[str, Any]) -> dict[str, Any]:
    """Run the load generator to completion and return what it recorded."""
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        spec = {**spec, "result": str(Path(tmp) / "result.json")}
        (Path(tmp) / "spec.json").write_text(json.dumps(spec))
        subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "scripts.bench.loadgen", str(Path(tmp) / "spec.json")],
            cwd=CODE_ROOT,
            check=True,
            timeout=LOADGEN_TIMEOUT_SECONDS,
        )
        result: dict[str, Any] = json.loads((Path(tmp) / "result.json").read_text())
    return result


def rate(samples: Sequence[Sequence[float]]) -> float:
    """Completions per second over the window from the first start to the last completion."""
    if not samples:
        return 0.0
    first = min(s[0] for s in samples)
    last = max(s[0] + s[1] / 1000 for s in samples)
    return round(len(samples) / max(last - first, 1e-9), 1)


def _notifications(world: World, count: int) -> list[dict[str, Any]]:
    requests = []
    for _ in range(count):
        headers, body = world.notification(world.pending_order())
        requests.append(
            {"operation": "notify", "method": "POST", "path": NOTIFY_PATH, "headers": headers, "body": body.decode()}
        )
    return requests


def notification_throughput(
    world: World, work: Path, *, workers: int, clients: int, count: int, seconds: float
) -> dict[str, Any]:
    gateway = GatewayProcess(free_port(), world.env, workers, work / "gateway-throughput.log")
    try:
        # Warm-up: every worker imports the handler and builds its container before the clock starts.
        run_loadgen(
            work,
            {
                "scenario": "replay",
                "target": gateway.base_url,
                "clients": workers,
                "seconds": 60,
                "requests": _notifications(world, workers * 3),
            },
        )
        result = run_loadgen(
            work,
            {
                "scenario": "replay",
                "target": gateway.base_url,
                "clients": clients,
                "seconds": seconds,
                "requests": _notifications(world, count),
            },
        )
    finally:
        gateway.stop()
    samples = result["samples"].get("notify", [])
    errors = sum(1 for s in samples if s[2] != 204)
    return {
        "workers": workers,
        "clients": clients,
        "notifications": len(samples),
        "errors": errors,
        "per_second": rate(samples),
        "latency_ms": summary([s[1] for s in samples]),
    }
