"""HTTP for the emulator: the APIv3 endpoints (checked and signed like WeChat's), the control API and the phone page."""

from __future__ import annotations

import json
import secrets
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from emulator import auth, control, exceptions, responses
from emulator.app import Emulator
from emulator.faults import Fault

MAX_BODY = 1 << 20


def request_id(platform_code: int | None = None) -> str:
    rid = secrets.token_hex(16).upper()
    return f"{rid}-{platform_code}" if platform_code else rid


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, emulator: Emulator, address: tuple[str, int]):
        super().__init__(address, _Handler)
        self.emulator = emulator

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> threading.Thread:
        self.emulator.start_worker()
        thread = threading.Thread(target=self.serve_forever, name="emulator-http", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.emulator.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    server: EmulatorServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # requests are kept in the `requests` table instead (`GET /_emulator/requests`)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._reply(413 if length > MAX_BODY else 400, {"code": "PARAM_ERROR", "message": "请求体长度错误"}, {})
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        call = responses.Call(self.command, self.path, headers, body)
        try:
            if call.path.startswith("/v3/"):
                self._api(call)
            else:
                status, payload, content_type = control.handle(self.server.emulator, call)
                self._send(status, payload, {"Content-Type": content_type})
        except Exception:  # a bug in the emulator: answer like WeChat's own failures, and say so on stderr
            traceback.print_exc()
            self._reply(500, {"code": "SYSTEM_ERROR", "message": "系统错误"}, {"Request-ID": request_id()})

    # -- APIv3 -------------------------------------------------------------------------------------------

    def _api(self, call: responses.Call) -> None:
        emulator = self.server.emulator
        found = responses.route(call.method, call.path)
        authenticated = False
        endpoint = found[0] if found else None
        fault: Fault | None = None
        try:
            auth.check_headers(call.headers)
            auth.verify(emulator.merchant, call.headers, call.method, call.target, call.body)
            authenticated = True
            if found is None:
                raise exceptions.NotFound("请求的资源不存在")
            endpoint, handler, match = found
            fault = emulator.faults.take(endpoint)
            if fault is not None and not fault.execute and fault.action == "error":
                raise exceptions.WeChatError(fault.message, code=fault.code).with_status(fault.status)
            if fault is not None and not fault.execute:
                return self._fault_without_answer(fault)
            answer = handler(emulator, call, match)
        except exceptions.WeChatError as error:
            self._log(call, endpoint, error.status, error.code)
            return self._error(error, call, signed=authenticated)
        self._log(call, endpoint, answer.status, None)
        self._answer(answer, call, fault)

    def _fault_without_answer(self, fault: Fault) -> None:
        time.sleep(fault.delay if fault.action in ("timeout", "slow") else 0)
        self.close_connection = True

    def _answer(self, answer: responses.Answer, call: responses.Call, fault: Fault | None) -> None:
        if fault is not None:
            if fault.action == "error":
                error = exceptions.WeChatError(fault.message, code=fault.code).with_status(fault.status)
                return self._error(error, call, signed=True)
            if fault.action in ("timeout", "drop"):
                return self._fault_without_answer(fault)
            if fault.action == "slow":
                time.sleep(fault.delay)
        body = _encode(answer.body)
        extra = {"Request-ID": request_id()}
        if answer.body is not None:
            extra["Content-Type"] = answer.content_type
        if answer.signed and not (fault is not None and fault.action == "unsigned"):
            serial, key = self.server.emulator.signer.answer_key(call.headers.get("wechatpay-serial"))
            corrupt = fault is not None and fault.action == "bad_signature"
            extra.update(self.server.emulator.signer.headers(body, serial, key, corrupt=corrupt))
        self._send(answer.status, body, extra)

    def _error(self, error: exceptions.WeChatError, call: responses.Call, *, signed: bool) -> None:
        """Errors to authenticated requests are signed like any answer; the others are not (reference §2)."""
        body = _encode(error.body())
        extra = {"Request-ID": request_id(error.platform_code), "Content-Type": "application/json; charset=utf-8"}
        if signed:
            serial, key = self.server.emulator.signer.answer_key(call.headers.get("wechatpay-serial"))
            extra.update(self.server.emulator.signer.headers(body, serial, key))
        self._send(error.status, body, extra)

    def _log(self, call: responses.Call, endpoint: str | None, status: int, code: str | None) -> None:
        with self.server.emulator.store.tx() as db:
            db.execute(
                "INSERT INTO requests(at, method, target, endpoint, status, code, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    time.time(),
                    call.method,
                    call.target,
                    endpoint,
                    status,
                    code,
                    call.body.decode("utf-8", "replace")[:4096],
                ),
            )

    # -- bytes on the wire -------------------------------------------------------------------------------

    def _reply(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
        self._send(status, _encode(payload), {"Content-Type": "application/json; charset=utf-8", **headers})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _encode(body: dict[str, Any] | bytes | None) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
