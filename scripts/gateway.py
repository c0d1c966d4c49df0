"""The local gateway: routes the v1 API to the same `functions/*/index.py` handlers the clouds run, through the
same event shapes (FC 3.0 HTTP trigger by default, Tencent SCF function URL with --scf).

Handlers run either inline (threads of this process) or in a pool of worker processes that stand in for
function instances: each keeps its modules and composition root warm, as a cloud instance does.
"""

from __future__ import annotations

import argparse
import base64
import importlib
import json
import os
import re
import signal
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing import get_context
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

FUNCTIONS = ("create_order", "payment_notify", "order_status", "license", "admin")
# (method or "*", path pattern, function): as the FC custom domain / SCF function URLs route in the clouds.
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("*", re.compile(r"/v1/products"), "create_order"),
    ("*", re.compile(r"/v1/openapi\.json"), "create_order"),
    ("POST", re.compile(r"/v1/orders"), "create_order"),
    ("*", re.compile(r"/v1/orders/[^/]+"), "order_status"),
    ("*", re.compile(r"/v1/history"), "order_status"),
    ("*", re.compile(r"/v1/notify/wechatpay"), "payment_notify"),
    ("*", re.compile(r"/v1/licenses/.+"), "license"),
    ("*", re.compile(r"/v1/admin/.+"), "admin"),
    ("*", re.compile(r"/admin(/.*)?"), "admin"),  # the dashboard
]
MAX_BODY = 6 * 1024 * 1024  # SCF's synchronous payload limit, the smaller of the two clouds'


def function_for(method: str, path: str) -> str | None:
    for verb, pattern, function in ROUTES:
        if pattern.fullmatch(path) and verb in ("*", method):
            return function
    return None


def invoke(
    function: str, platform: str, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes
) -> dict[str, Any]:
    """Build the platform's event, call the function's handler, return its answer (runs in a worker).

    `headers` are every (name, value) pair as received: the event builders comma-join a repeated name as both
    clouds do, so a function sees a header sent twice (a dict here would keep only the last value)."""
    from shared.http import fc3, scf

    parts = urlsplit(target)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    request_id = str(uuid.uuid4())
    module = importlib.import_module(f"functions.{function}.index")
    context = SimpleNamespace(request_id=request_id, function=SimpleNamespace(name=function), function_name=function)
    if platform == "scf":
        event: Any = scf.build_event(
            method, unquote(parts.path), query=query, headers=headers, body=body, request_id=request_id
        )
        answer: dict[str, Any] = module.main_handler(event, context)
    else:
        event = fc3.build_event(
            method, unquote(parts.path), query=query, headers=headers, body=body, request_id=request_id
        )
        answer = module.handler(event, context)
    return answer


def _warm(env: Mapping[str, str]) -> None:
    os.environ.update(env)


class Gateway(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], *, platform: str = "fc3", workers: int = 0, env: Mapping[str, str] | None = None
    ):
        super().__init__(address, _Handler)
        self.platform = platform
        self.executor: Executor = ThreadPoolExecutor(1)
        self._respawn_lock = threading.Lock()
        self.configure(dict(env or {}), workers=workers)

    def configure(self, env: Mapping[str, str], *, workers: int) -> None:
        """Set the functions' environment and how they run: worker processes, or threads of this one."""
        self.executor.shutdown(wait=True)
        self.env = dict(env)
        self.workers = workers
        if workers > 0:
            self.executor = ProcessPoolExecutor(
                workers, mp_context=get_context("spawn"), initializer=_warm, initargs=(self.env,)
            )
        else:
            os.environ.update(self.env)
            from shared import bootstrap

            bootstrap.reset()
            self.executor = ThreadPoolExecutor(16, thread_name_prefix="instance")

    def respawn(self, broken: Executor) -> None:
        """A worker process died (the pool is then broken for every request): start a fresh pool in its place, as
        the cloud replaces a crashed instance. Called by each request that saw it; only the first one replaces it."""
        with self._respawn_lock:
            if self.executor is not broken or not isinstance(broken, ProcessPoolExecutor):
                return
            self.executor = ProcessPoolExecutor(
                self.workers, mp_context=get_context("spawn"), initializer=_warm, initargs=(self.env,)
            )
        broken.shutdown(wait=False, cancel_futures=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.server_address[0]!s}:{self.server_address[1]}"

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="gateway", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.executor.shutdown(wait=True, cancel_futures=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, the body waits for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    server: Gateway

    def log_message(self, format: str, *args: Any) -> None:  # the functions log structured lines themselves
        pass

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def do_PUT(self) -> None:
        self._route()

    def do_DELETE(self) -> None:
        self._route()

    def do_OPTIONS(self) -> None:  # CORS preflights reach the function, as on the clouds
        self._route()

    def _route(self) -> None:
        path = urlsplit(self.path).path
        if path == "/healthz":
            return self._answer(200, {"Content-Type": "application/json"}, b'{"status":"ok","service":"gateway"}')
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            return self._answer(
                413,
                {"Content-Type": "application/json"},
                b'{"error":{"code":"PAYLOAD_TOO_LARGE","message":"body too large"}}',
            )
        body = self.rfile.read(length) if length else b""
        function = function_for(self.command, path)
        if function is None:
            return self._answer(
                404, {"Content-Type": "application/json"}, b'{"error":{"code":"NOT_FOUND","message":"no such route"}}'
            )
        headers = list(self.headers.items())
        started = time.monotonic()
        executor = self.server.executor
        try:
            answer = executor.submit(
                invoke, function, self.server.platform, self.command, self.path, headers, body
            ).result()
        except Exception as exc:  # the instance itself died (import error, killed worker): the cloud's 502
            if isinstance(exc, BrokenProcessPool):
                self.server.respawn(executor)
            print(json.dumps({"event": "function_crashed", "function": function, "error": type(exc).__name__}))
            return self._answer(
                502,
                {"Content-Type": "application/json"},
                b'{"error":{"code":"FUNCTION_FAILED","message":"the function failed"}}',
            )
        raw = answer.get("body") or ""
        payload = base64.b64decode(raw) if answer.get("isBase64Encoded") else str(raw).encode()
        headers_out = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
        headers_out["X-Gateway-Function"] = function
        headers_out["X-Gateway-Ms"] = f"{(time.monotonic() - started) * 1000:.1f}"
        self._answer(int(answer.get("statusCode", 200)), headers_out, payload)

    def _answer(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument("--scf", action="store_true", help="deliver Tencent SCF function-URL events instead of FC3")
    parser.add_argument("--workers", type=int, default=0, help="worker processes standing in for instances")
    args = parser.parse_args(argv)
    gateway = Gateway(
        ("127.0.0.1", args.port), platform="scf" if args.scf else "fc3", workers=args.workers, env=dict(os.environ)
    )
    print(json.dumps({"event": "gateway_started", "url": gateway.base_url, "platform": gateway.platform}), flush=True)
    # SIGTERM (a supervisor, the bench) ends it like Ctrl-C: the worker processes are shut down, not orphaned.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        gateway.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        gateway.server_close()
        gateway.executor.shutdown(wait=True, cancel_futures=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
