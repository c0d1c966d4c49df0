"""Injection strings in every field of every public endpoint, over real HTTP: each is a clear 4xx (or the designed
`valid: false`), never a 500, never echoed into a header, never a forged log line, and nothing is written."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest

from tests.security.target import Target, new_install_id
from tests.support.rawhttp import RawAnswer

PAYLOADS: dict[str, Any] = {
    "sql or": "' OR 1=1 --",
    "sql drop": '"; DROP TABLE orders; --',
    "nosql operator as text": '{"$ne": null}',
    "nosql operator as object": {"$ne": None},
    "path traversal": "../../etc/passwd",
    "percent-encoded nul": "%00",
    "nul byte": "\x00",
    "crlf header injection": "x\r\nX-Injected: yes",
    "very long unicode": "長い文字列" * 240,
    "emoji": "🔑💳🧨" * 10,
    "rtl override": "\u202eevil\u202c.exe",
}

Expected = tuple[int, str]  # status, error code (for validate's token: 200 and the refusal reason)


@dataclass(frozen=True)
class Field:
    """One input of one endpoint: how to send a payload in it, and the answer every payload must get."""

    send: Callable[[Target, Any, dict[str, Any]], RawAnswer]
    expected: Expected
    in_json: bool = False  # a JSON body field, so it can also carry a JSON object
    object_expected: Expected | None = None
    needs_order: bool = False


def _header_value(payload: str) -> bytes:
    return payload.encode("utf-8")  # sent as raw UTF-8 bytes, CR/LF included: what a hostile client can do


def _orders(t: Target, body: dict[str, Any], headers: list[tuple[str, bytes]] | None = None) -> RawAnswer:
    return t.post_json("/v1/orders", body, headers or [])


FIELDS: dict[str, Field] = {
    "product_id": Field(
        lambda t, p, _: _orders(t, {"product_id": p, "install_id": new_install_id()}),
        (400, "UNKNOWN_PRODUCT"),
        in_json=True,
        object_expected=(400, "UNKNOWN_PRODUCT"),
    ),
    "install_id": Field(
        lambda t, p, _: _orders(t, {"product_id": "pro-monthly", "install_id": p}),
        (400, "INVALID_INSTALL_ID"),
        in_json=True,
        object_expected=(400, "INVALID_INSTALL_ID"),
    ),
    "Idempotency-Key": Field(
        lambda t, p, _: _orders(
            t, {"product_id": "pro-monthly", "install_id": new_install_id()}, [("Idempotency-Key", _header_value(p))]
        ),
        (400, "INVALID_IDEMPOTENCY_KEY"),
    ),
    "order id in path": Field(
        lambda t, p, o: t.send("GET", "/v1/orders/" + quote(p, safe=""), [Target.bearer(o["poll_token"])]),
        (404, "ORDER_NOT_FOUND"),
        needs_order=True,
    ),
    "poll_token": Field(
        lambda t, p, o: t.send("GET", f"/v1/orders/{o['order_id']}", [Target.bearer(_header_value(p))]),
        (404, "ORDER_NOT_FOUND"),
        needs_order=True,
    ),
    "X-Install-Id": Field(
        lambda t, p, _: t.send("GET", "/v1/history", [("X-Install-Id", _header_value(p))]),
        (401, "INVALID_INSTALL_ID"),
    ),
    "license_key (activate)": Field(
        lambda t, p, _: t.post_json("/v1/licenses/activate", {"license_key": p, "install_id": new_install_id()}),
        (400, "INVALID_LICENSE_KEY"),
        in_json=True,
        object_expected=(400, "MISSING_FIELD"),
    ),
    "install_id (activate)": Field(
        lambda t, p, _: t.post_json("/v1/licenses/activate", {"license_key": "0" * 25, "install_id": p}),
        (400, "INVALID_INSTALL_ID"),
        in_json=True,
        object_expected=(400, "MISSING_FIELD"),
    ),
    "license_key (validate)": Field(
        lambda t, p, _: t.post_json("/v1/licenses/validate", {"license_key": p, "install_id": new_install_id()}),
        (400, "INVALID_LICENSE_KEY"),
        in_json=True,
        object_expected=(400, "MISSING_FIELD"),
    ),
    "license_key (deactivate)": Field(
        lambda t, p, _: t.post_json("/v1/licenses/deactivate", {"license_key": p, "install_id": new_install_id()}),
        (400, "INVALID_LICENSE_KEY"),
        in_json=True,
        object_expected=(400, "MISSING_FIELD"),
    ),
    "install_id (deactivate)": Field(
        lambda t, p, _: t.post_json("/v1/licenses/deactivate", {"license_key": "0" * 25, "install_id": p}),
        (400, "INVALID_INSTALL_ID"),
        in_json=True,
        object_expected=(400, "MISSING_FIELD"),
    ),
    "token (validate)": Field(
        lambda t, p, _: t.post_json("/v1/licenses/validate", {"token": p}),
        (200, "MALFORMED"),
        in_json=True,
        object_expected=(400, "MISSING_FIELD"),  # not a token: read as a licence key and install id, both absent
    ),
}

CASES = [
    pytest.param(field, payload, id=f"{field}: {payload}")
    for field, spec in FIELDS.items()
    for payload, value in PAYLOADS.items()
    if spec.in_json or isinstance(value, str)
]


def _expected(field: Field, payload: Any) -> Expected:
    if not isinstance(payload, str):
        assert field.object_expected is not None
        return field.object_expected
    return field.expected


@pytest.mark.parametrize(("field", "payload"), CASES)
def test_an_injection_string_is_refused_clearly_and_writes_nothing(target: Target, field: str, payload: str) -> None:
    spec, value = FIELDS[field], PAYLOADS[payload]
    order = target.order() if spec.needs_order else {}
    before = target.rows()

    answer = spec.send(target, value, order)

    status, code = _expected(spec, value)
    secret_values = [order["poll_token"], order["install_id"]] if order else []
    if status == 200:
        assert answer.status == 200 and answer.json() == {"valid": False, "status": None, "reason": code}, answer.body
        target.logged(answer)
    elif spec is FIELDS["order id in path"] and isinstance(value, str) and "/" in value:
        # The decoded path has more segments than any route: the gateway itself answers, as the FC domain would.
        assert (answer.status, answer.json()["error"]["code"]) == (404, "NOT_FOUND"), answer.body
    else:
        target.refused(answer, status, code, secret_values=secret_values)
    assert "x-injected" not in answer.header_names()
    assert b"\r\nX-Injected" not in answer.body
    target.unchanged_since(before)
    target.running.log.records()  # every line of the log is still one JSON object: no line was forged


def test_an_injection_in_the_json_keys_is_ignored_and_writes_nothing(target: Target) -> None:
    before = target.rows()
    body = {
        "product_id": "' OR 1=1 --",
        "install_id": new_install_id(),
        "' OR 1=1 --": "x",
        "$where": "1",
        "__proto__": {},
    }

    answer = target.send("POST", "/v1/orders", [("Content-Type", "application/json")], json.dumps(body).encode())

    target.refused(answer, 400, "UNKNOWN_PRODUCT")
    target.unchanged_since(before)
