"""The load generator: its own process (`python -m scripts.bench.loadgen SPEC.json`), so that it does not compete
with the gateway for one interpreter lock. Loopback only, a fixed number of client threads, a hard deadline.

Scenarios:
- `replay`: send prepared requests (signed notifications) as fast as `clients` keep-alive connections allow;
- `purchase`: each client loops create order -> pay at the emulator -> one status poll, until the deadline or
  `max_orders`.
"""

from __future__ import annotations

import http.client
import json
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_CLIENTS = 64
MAX_SECONDS = 300


class Connection(http.client.HTTPConnection):
    """http.client sends headers and body in two writes; without TCP_NODELAY the body waits for a delayed ACK."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Client:
    """One keep-alive HTTP/1.1 connection per host, reopened after an error."""

    def __init__(self, timeout: float = 30) -> None:
        self._connections: dict[tuple[str, int], http.client.HTTPConnection] = {}
        self._timeout = timeout

    def call(
        self, url: str, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or 80
        if host not in LOOPBACK:
            raise ValueError(f"the load generator only talks to loopback, not {host!r}")
        connection = self._connections.get((host, port))
        if connection is None:
            connection = self._connections[(host, port)] = Connection(host, port, timeout=self._timeout)
        try:
            connection.request(method, path, body=body or None, headers=headers or {})
            answer = connection.getresponse()
            return answer.status, answer.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            del self._connections[(host, port)]
            raise


class Recorder:
    """Per-operation samples: (started at, latency ms, status; 0 for a transport error)."""

    def __init__(self) -> None:
        self.samples: dict[str, list[tuple[float, float, int]]] = {}
        self._lock = threading.Lock()

    def call(
        self,
        operation: str,
        client: Client,
        url: str,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        started = time.time()
        begin = time.perf_counter()
        try:
            status, answer = client.call(url, method, path, body, headers)
        except (OSError, http.client.HTTPException):
            status, answer = 0, b""
        elapsed = (time.perf_counter() - begin) * 1000
        with self._lock:
            self.samples.setdefault(operation, []).append((started, elapsed, status))
        return status, answer


def replay(spec: dict[str, Any], recorder: Recorder, deadline: float) -> None:
    queue = list(reversed(spec["requests"]))
    lock = threading.Lock()
    target = spec["target"]

    def worker() -> None:
        client = Client()
        while time.monotonic() < deadline:
            with lock:
                if not queue:
                    return
                item = queue.pop()
            operation = item.get("operation", "request")
            recorder.call(
                operation, client, target, item["method"], item["path"], item["body"].encode(), item["headers"]
            )

    _run_clients(spec["clients"], worker)


def purchase(spec: dict[str, Any], recorder: Recorder, deadline: float) -> None:
    gateway, emulator = spec["gateway"], spec["emulator"]
    budget = threading.Semaphore(spec["max_orders"])
    created: list[str] = []
    lock = threading.Lock()
    json_headers = {"Content-Type": "application/json"}

    def worker() -> None:
        client = Client()
        while time.monotonic() < deadline and budget.acquire(blocking=False):
            order = json.dumps({"product_id": spec["product_id"], "install_id": secrets.token_urlsafe(16)}).encode()
            status, body = recorder.call("create_order", client, gateway, "POST", "/v1/orders", order, json_headers)
            if status != 201:
                continue
            answer = json.loads(body)
            with lock:
                created.append(answer["order_id"])
            pay = json.dumps({"out_trade_no": answer["order_id"]}).encode()
            recorder.call("pay", client, emulator, "POST", "/_emulator/pay", pay, json_headers)
            auth = {"Authorization": f"Bearer {answer['poll_token']}"}
            recorder.call("order_status", client, gateway, "GET", f"/v1/orders/{answer['order_id']}", b"", auth)

    _run_clients(spec["clients"], worker)
    spec["created"] = created


def _run_clients(count: int, worker: Callable[[], None]) -> None:
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(min(count, MAX_CLIENTS))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    recorder = Recorder()
    started = time.time()
    deadline = time.monotonic() + min(float(spec["seconds"]), MAX_SECONDS)
    {"replay": replay, "purchase": purchase}[spec["scenario"]](spec, recorder, deadline)
    result = {"started": started, "ended": time.time(), "samples": recorder.samples, "created": spec.get("created")}
    with open(spec["result"], "w", encoding="utf-8") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
