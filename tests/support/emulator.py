"""The emulator as a test fixture: a real HTTP server in a thread, on a free port, driven through its control API."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests

from emulator.app import Emulator, Settings
from emulator.server import EmulatorServer

T = TypeVar("T")


class RunningEmulator:
    def __init__(self, data_dir: Path, **overrides: Any):
        settings = Settings(data_dir=data_dir, port=0, **overrides)
        self.server = EmulatorServer(Emulator(settings), ("127.0.0.1", 0))
        self.server.start()
        self.base_url = self.server.base_url
        self.http = requests.Session()
        self.http.trust_env = False
        self.merchant: dict[str, str] = self.control("GET", "/_emulator/merchant")

    @property
    def core(self) -> Emulator:
        return self.server.emulator

    def control(self, method: str, path: str, body: dict[str, Any] | None = None, expect: int = 200) -> Any:
        response = self.http.request(method, self.base_url + path, json=body, timeout=30)
        assert response.status_code == expect, (response.status_code, response.text)
        return response.json()

    def pay(self, out_trade_no: str, **options: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.control("POST", "/_emulator/pay", {"out_trade_no": out_trade_no, **options})
        return result

    def notifications(self, out_trade_no: str | None = None) -> list[dict[str, Any]]:
        query = f"?out_trade_no={out_trade_no}" if out_trade_no else ""
        result: list[dict[str, Any]] = self.control("GET", "/_emulator/notifications" + query)["notifications"]
        return result

    def fault(self, endpoint: str, action: str = "error", **params: Any) -> None:
        self.control("POST", "/_emulator/faults", {"endpoint": endpoint, "action": action, **params}, expect=201)

    def reset(self) -> None:
        self.control("POST", "/_emulator/reset", {})

    def stop(self) -> None:
        self.http.close()
        self.server.stop()


def wait_for(probe: Callable[[], T | None], timeout: float = 10.0, interval: float = 0.02) -> T:
    """Poll until `probe` returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
