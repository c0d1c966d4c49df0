"""Every log line of a whole run — `make dev` with worker processes and its timer jobs, a purchase, the licence
used, error paths, a refund from the operator CLI — holds none of the configured secrets, nor a buyer's.

The run happens in child processes writing to one file, so nothing escapes the capture: the gateway, its workers,
the timer jobs and the CLI all log through the same module as the deployed functions.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
MIN_SECRET_CHARS = 12  # shorter fragments would match by chance


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Run:
    """`python -m scripts.dev` in a child process, its output in one file, driven over HTTP."""

    def __init__(self, tmp_path: Path):
        self.data_dir = tmp_path / "data"
        self.log_path = tmp_path / "run.log"
        self.port, self.emulator_port = _free_port(), _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.emulator = f"http://127.0.0.1:{self.emulator_port}"
        self.env = {
            **os.environ,
            "DATA_DIR": str(self.data_dir),
            "PORT": str(self.port),
            "EMULATOR_PORT": str(self.emulator_port),
            "GATEWAY_WORKERS": "2",
            "JOBS_EVERY_SECONDS": "1",
            "ORDER_QUERY_AFTER_SECONDS": "1",
            "ORDER_QUERY_EVERY_SECONDS": "0",
            "PYTHONUNBUFFERED": "1",
        }
        self.http = requests.Session()
        self.http.trust_env = False
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scripts.dev"], cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text(errors="replace")[-2000:]
            try:
                if self.http.get(f"{self.base}/v1/products", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError("make dev did not start")

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, self.base + path, timeout=30, **kwargs)

    def cli(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        """An operator command against this run, its output into the same log."""
        return subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, timeout=120
        )

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    started = Run(tmp_path)
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


def _wait(probe: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def _pem_fragments(pem: str) -> list[str]:
    """The base64 body of a PEM key, and of each of its lines: a key printed whole or in part is found."""
    body = "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))
    return [body, *(line for line in pem.strip().splitlines() if not line.startswith("-----") and len(line) > 40)]


def _secrets_of(run: Run, buyer: dict[str, str]) -> dict[str, str]:
    dev = json.loads((run.data_dir / "dev-secrets.json").read_text())
    merchant = run.http.get(f"{run.emulator}/_emulator/merchant", timeout=10).json()
    found: dict[str, str] = {"SERVER_SECRET": dev["SERVER_SECRET"]}
    for position, entry in enumerate(dev["LICENSE_SIGNING_KEYS"].split(",")):
        seed = entry.partition(":")[2]
        found[f"LICENSE_SIGNING_KEYS[{position}]"] = seed
        found[f"LICENSE_SIGNING_KEYS[{position}] hex"] = base64.urlsafe_b64decode(seed + "=" * (-len(seed) % 4)).hex()
    found["WECHATPAY_APIV3_KEY"] = merchant["apiv3_key"]
    for position, fragment in enumerate(_pem_fragments(merchant["merchant_private_key"])):
        found[f"WECHATPAY_MERCHANT_PRIVATE_KEY[{position}]"] = fragment
    found.update(buyer)
    return {name: value for name, value in found.items() if len(value) >= MIN_SECRET_CHARS}


def _purchase(run: Run) -> dict[str, str]:
    """A whole purchase, the licence used, and the paths that fail: what a busy day logs."""
    install_id = secrets.token_urlsafe(16)
    body = {"product_id": "pro-monthly", "install_id": install_id}
    headers = {"Idempotency-Key": secrets.token_urlsafe(12)}
    created = run.call("POST", "/v1/orders", json=body, headers=headers)
    assert created.status_code == 201, created.text
    order = created.json()
    assert run.call("POST", "/v1/orders", json=body, headers=headers).status_code in (200, 201)  # a replay
    poll = {"Authorization": f"Bearer {order['poll_token']}"}
    assert run.call("GET", f"/v1/orders/{order['order_id']}", headers=poll).json()["status"] == "PENDING"
    paid = run.http.post(f"{run.emulator}/_emulator/pay", json={"out_trade_no": order["order_id"]}, timeout=10)
    assert paid.status_code == 200, paid.text

    def licensed() -> dict[str, Any] | None:
        status: dict[str, Any] = run.call("GET", f"/v1/orders/{order['order_id']}", headers=poll).json()
        return status if status["status"] == "PAID" and status.get("license") else None

    licence = _wait(licensed)["license"]
    key = licence["license_key"]
    activated = run.call("POST", "/v1/licenses/activate", json={"license_key": key, "install_id": install_id})
    assert activated.status_code == 200, activated.text
    token = activated.json()["token"]
    assert run.call("POST", "/v1/licenses/validate", json={"token": token}).status_code == 200
    assert run.call("POST", "/v1/licenses/validate", json={"license_key": key, "install_id": install_id}).ok
    assert run.call("GET", "/v1/history", headers={"X-Install-Id": install_id}).status_code == 200
    assert run.call("POST", "/v1/licenses/deactivate", json={"license_key": key, "install_id": install_id}).ok

    # Failures log too, and must log no more than the successes do.
    wrong_token = {"Authorization": "Bearer " + secrets.token_urlsafe(24)}
    assert run.call("GET", f"/v1/orders/{order['order_id']}", headers=wrong_token).status_code >= 400
    wrong_key = {"license_key": key[:-4] + "AAAA", "install_id": install_id}
    assert run.call("POST", "/v1/licenses/activate", json=wrong_key).status_code >= 400
    not_json = {"Content-Type": "application/json"}
    assert run.call("POST", "/v1/orders", data=b"{not json", headers=not_json).status_code == 400
    forged = run.call(
        "POST",
        "/v1/notify/wechatpay",
        data=json.dumps({"id": "forged", "resource": {}}).encode(),
        headers={
            "Content-Type": "application/json",
            "Wechatpay-Serial": "PUB_KEY_ID_0000000000000000000000",
            "Wechatpay-Signature": base64.b64encode(secrets.token_bytes(256)).decode(),
            "Wechatpay-Timestamp": str(int(time.time())),
            "Wechatpay-Nonce": secrets.token_hex(16),
        },
    )
    assert forged.status_code >= 400
    return {
        "order_id": order["order_id"],
        "buyer install_id": install_id,
        "buyer poll_token": order["poll_token"],
        "buyer licence key": key,
        "buyer licence token": token,
    }


def _log_records(output: str) -> list[dict[str, Any]]:
    """The JSON log lines (the CLI's pretty-printed answers and the banner are not log lines)."""
    records = []
    for line in output.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def test_a_full_run_logs_none_of_the_secrets(run: Run) -> None:
    bought = _purchase(run)
    order_id = bought.pop("order_id")
    refund = run.cli("-m", "scripts.ops", "--local", "refund", order_id, "--reason", "log check")
    assert refund.returncode == 0
    time.sleep(2.5)  # at least two ticks of the timer jobs (every second), whose log lines are checked below
    secrets_ = _secrets_of(run, bought)
    output = run.stop()

    events = [record.get("event") for record in _log_records(output)]
    # The capture saw the run: request lines from the workers, the notification, the timer jobs, the refund.
    assert events.count("request") >= 10, events
    for expected in ("order_paid", "licence_issued", "notify_rejected", "job_summary", "refund_success"):
        assert expected in events, (expected, sorted(set(map(str, events))))
    leaked = sorted(name for name, value in secrets_.items() if value in output)
    assert leaked == [], f"secrets found in the logs: {leaked}"
