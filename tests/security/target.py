"""The system under attack, as the attack tests see it: raw HTTP to the gateway, the SQLite rows behind it, and the
log lines its function instances wrote for each request."""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from shared.licensing import _b64
from tests.support.emulator import RunningEmulator
from tests.support.logged_stack import LoggedStack, added_rows, table_rows
from tests.support.rawhttp import RawAnswer, send
from tests.support.wechat import genuine_notification, paid_resource, signed

Rows = dict[str, list[tuple[Any, ...]]]
Header = tuple[str | bytes, str | bytes]
JSON_HEADERS: tuple[Header, ...] = (("Content-Type", "application/json"),)


def json_bytes(value: Any) -> bytes:
    """UTF-8 JSON as a careful client sends it (non-ASCII kept as is, so long texts stay under the body limits)."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def new_install_id() -> str:
    return secrets.token_urlsafe(16)


class Target:
    def __init__(self, running: LoggedStack, emulator: RunningEmulator):
        self.running = running
        self.emulator = emulator
        self.base_url = running.base_url

    # -- requests --------------------------------------------------------------------------------------------

    def send(
        self, method: str, target: str | bytes, headers: Iterable[Header] = (), body: bytes = b"", **options: Any
    ) -> RawAnswer:
        return send(self.base_url, method, target, headers, body, **options)

    def post_json(self, path: str, value: Any, headers: Iterable[Header] = ()) -> RawAnswer:
        return self.send("POST", path, (*JSON_HEADERS, *headers), json_bytes(value))

    def order(self, product_id: str = "pro-monthly", install_id: str | None = None) -> dict[str, Any]:
        install_id = install_id or new_install_id()
        answer = self.post_json("/v1/orders", {"product_id": product_id, "install_id": install_id})
        assert answer.status == 201, answer.body
        created: dict[str, Any] = answer.json()
        created["install_id"] = install_id
        return created

    def pay(self, order: dict[str, Any]) -> dict[str, Any]:
        """Pay `order` by a genuine notification, then read its status (with the licence) with its poll token."""
        body = genuine_notification(self.emulator, paid_resource(self.emulator, order["order_id"], order["amount_fen"]))
        assert self.send("POST", "/v1/notify/wechatpay", signed(self.emulator, body).items(), body).status == 204
        status = self.send("GET", f"/v1/orders/{order['order_id']}", [self.bearer(order["poll_token"])])
        assert status.status == 200, status.body
        view: dict[str, Any] = status.json()
        assert view["status"] == "PAID" and view["license"]["token"], view
        return view

    @staticmethod
    def bearer(token: str | bytes) -> Header:
        return ("Authorization", b"Bearer " + (token if isinstance(token, bytes) else token.encode()))

    # -- storage ---------------------------------------------------------------------------------------------

    def rows(self) -> Rows:
        return table_rows(self.running.db_path)

    def table(self, name: str, where: str = "1 = 1", *args: Any) -> list[dict[str, Any]]:
        connection = sqlite3.connect(f"file:{self.running.db_path}?mode=ro", uri=True)
        connection.row_factory = sqlite3.Row
        try:
            rows = connection.execute(f'SELECT * FROM "{name}" WHERE {where}', args).fetchall()  # noqa: S608
        finally:
            connection.close()
        return [dict(row) for row in rows]

    def order_row(self, order_id: str) -> dict[str, Any]:
        rows = self.table("orders", "order_id = ?", order_id)
        assert len(rows) == 1, order_id
        return rows[0]

    def unchanged_since(self, before: Rows) -> None:
        after = self.rows()
        assert after == before, f"rows written: {added_rows(before, after)}; rows changed or gone as well if empty"

    def added_since(self, before: Rows) -> Rows:
        after = self.rows()
        for table, rows in before.items():  # nothing may change or vanish, only be added
            assert all(row in after.get(table, []) for row in rows), f"{table}: a row changed or vanished"
        return added_rows(before, after)

    # -- logs ------------------------------------------------------------------------------------------------

    def stack_secrets(self) -> list[str]:
        """What must never appear in a log line: every secret the functions hold (parts long enough to be unique)."""
        env = self.running.env
        signing_seeds = [part for part in env["LICENSE_SIGNING_KEYS"].replace(",", ":").split(":") if len(part) > 20]
        private_key_lines = [line for line in env["WECHATPAY_MERCHANT_PRIVATE_KEY"].splitlines() if len(line) > 40]
        return [env["SERVER_SECRET"], env["WECHATPAY_APIV3_KEY"], *signing_seeds, *private_key_lines[:3]]

    def logged(self, answer: RawAnswer, *, secret_values: Sequence[str] = ()) -> list[dict[str, Any]]:
        """The request's log lines; none at error level, none holding a secret of the stack or of this request."""
        request_id = answer.header("X-Request-Id")
        assert request_id, "the function answered without a request id"
        records = self.running.log.for_request(request_id)
        request_lines = [r for r in records if r.get("event") == "request"]
        assert len(request_lines) == 1, records
        assert request_lines[0]["status"] == answer.status
        assert all(r["level"] != "error" for r in records), records
        text = "\n".join(json.dumps(r, ensure_ascii=False) for r in records)
        for value in [*self.stack_secrets(), *secret_values]:
            assert value not in text, "a secret reached the log"
        return records

    def refused(
        self,
        answer: RawAnswer,
        status: int,
        code: str,
        *,
        wechat: bool = False,
        secret_values: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """A clear refusal: this status and code in the right error shape, and a log line saying so."""
        assert answer.status == status, (answer.status, answer.body[:500])
        body = answer.json()
        if wechat:
            assert body["code"] == "FAIL" and isinstance(body["message"], str), body
        else:
            assert body["error"]["code"] == code, body
        records = self.logged(answer, secret_values=secret_values)
        request_line = next(r for r in records if r.get("event") == "request")
        assert request_line["outcome"] == "client_error", request_line
        if not wechat:
            assert request_line.get("error_code") == code, request_line
        for value in secret_values:
            assert value not in answer.body.decode("utf-8", "replace"), "a secret was echoed to the client"
        return records


def b64url(data: bytes) -> str:
    return _b64.encode(data)
