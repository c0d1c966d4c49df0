"""A merchant's notify_url for tests: records every request exactly as received and answers as told."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


Responder = Callable[[Received], tuple[int, bytes]]


class NotifySink(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[Received] = []
        self.responder: Responder = lambda _: (204, b"")
        self.delay = 0.0
        self._lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1/notify/wechatpay"

    def record(self, item: Received) -> tuple[int, bytes]:
        with self._lock:
            self.received.append(item)
        if self.delay:
            time.sleep(self.delay)
        return self.responder(item)

    def answer_with(self, *statuses: int) -> None:
        """Answer the next requests with these statuses in turn; then 204."""
        queue = list(statuses)

        def responder(_: Received) -> tuple[int, bytes]:
            if queue:
                status = queue.pop(0)
                return status, b'{"code":"FAIL","message":"failed"}' if status >= 300 else b""
            return 204, b""

        self.responder = responder

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: NotifySink

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        item = Received(self.path, dict(self.headers.items()), self.rfile.read(length), time.time())
        status, body = self.server.record(item)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if body:
            self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)
