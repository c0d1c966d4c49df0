"""The admin function's handlers fed FC 3.0 and SCF events: the dashboard's files with their headers, every API
route behind its key, parameters refused with clear 400s (never a 500), CORS closed unless an origin is named."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from functions.admin import index as admin
from functions.create_order import index as create_order
from scripts.stack import function_env
from shared import bootstrap
from shared.http import fc3, scf
from tests.support.emulator import RunningEmulator
from tests.support.sink import NotifySink

PLATFORMS = pytest.mark.parametrize("platform", ["fc3", "scf"])
STATIC = Path(admin.__file__).parent / "static"
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
ALLOWED = "https://ops.example.com"
STATIC_FILE_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


class Answer:
    def __init__(self, raw: dict[str, Any]):
        self.status: int = raw["statusCode"]
        self.headers: dict[str, str] = raw["headers"]
        body = raw["body"]
        self.bytes = base64.b64decode(body) if raw.get("isBase64Encoded") else body.encode()

    def json(self) -> Any:
        return json.loads(self.bytes)

    @property
    def code(self) -> str:
        return str(self.json()["error"]["code"])

    def cors(self) -> dict[str, str]:
        return {k: v for k, v in self.headers.items() if k.lower().startswith("access-control-")}


def call(
    method: str,
    path: str,
    *,
    platform: str = "fc3",
    key: str | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    module: Any = admin,
) -> Answer:
    data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
    sent = {"Content-Type": "application/json"} if data else {}
    sent.update({"Authorization": f"Bearer {key}"} if key else {})
    sent.update(headers or {})
    context = SimpleNamespace(request_id="req-admin-functional", function_name="admin")
    if platform == "fc3":
        raw = module.handler(fc3.build_event(method, path, query=query, headers=sent, body=data), context)
    else:
        raw = module.main_handler(scf.build_event(method, path, query=query, headers=sent, body=data), context)
    return Answer(raw)


@pytest.fixture
def env(emulator: RunningEmulator, sink: NotifySink, tmp_path: Path) -> dict[str, str]:
    settings = function_env(tmp_path, emulator.merchant, emulator.base_url, "http://unused.invalid")
    settings["WECHATPAY_NOTIFY_URL"] = sink.url  # notifications are captured, never applied: only the API acts
    return settings


@pytest.fixture
def configured(env: dict[str, str]) -> Iterator[dict[str, str]]:
    bootstrap.reset(env)
    keys = bootstrap.container().admin.keys
    yield {role: keys.create("functional", f"{role}-key", role)["key"] for role in ("viewer", "operator")}
    bootstrap.reset()


@PLATFORMS
def test_healthz_and_me_answer_on_both_clouds(configured: dict[str, str], platform: str) -> None:
    health = call("GET", "/healthz", platform=platform)
    assert health.status == 200 and health.json() == {"status": "ok", "function": "admin"}
    me = call("GET", "/v1/admin/me", platform=platform, key=configured["viewer"])
    assert me.status == 200 and me.json()["name"] == "viewer-key" and me.json()["role"] == "viewer"
    assert configured["viewer"].split("_")[1] == me.json()["key_id"]


@PLATFORMS
def test_the_dashboard_is_served_with_its_type_and_a_strict_content_security_policy(
    configured: dict[str, str], platform: str
) -> None:
    moved = call("GET", "/admin", platform=platform)
    assert moved.status == 301 and moved.headers["Location"] == "/admin/"
    page = call("GET", "/admin/", platform=platform)
    assert page.status == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.bytes == (STATIC / "index.html").read_bytes()
    for answer in (page, moved, call("GET", "/v1/admin/me", platform=platform)):
        assert answer.headers["Content-Security-Policy"] == CSP
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
    for name in ("../index.py", "index.py", "secrets.txt"):
        assert call("GET", f"/admin/{name}", platform=platform).status == 404


@pytest.mark.parametrize("name", sorted(p.name for p in STATIC.iterdir() if p.is_file() and p.name != "index.html"))
def test_each_of_the_dashboard_s_scripts_and_its_style_is_served_with_its_type(
    configured: dict[str, str], name: str
) -> None:
    answer = call("GET", f"/admin/{name}")
    assert answer.status == 200 and answer.headers["Content-Type"] == STATIC_FILE_TYPES[Path(name).suffix]
    assert answer.bytes == (STATIC / name).read_bytes()


@PLATFORMS
def test_without_a_valid_key_every_api_route_is_401_with_a_bearer_challenge(
    configured: dict[str, str], platform: str
) -> None:
    for method, template, _ in admin.API:
        path = template.replace("{order_id}", "o1").replace("{licence_id}", "L1").replace("{date}", "2026-01-01")
        answer = call(method, path, platform=platform, body={} if method == "POST" else None)
        assert (answer.status, answer.code) == (401, "UNAUTHENTICATED"), path
        assert answer.headers["WWW-Authenticate"] == "Bearer"
    missing = call("GET", "/v1/admin/me", platform=platform)
    wrong = call("GET", "/v1/admin/me", platform=platform, key=configured["viewer"][:-2] + "xx")
    assert (wrong.status, wrong.code) == (401, "UNAUTHENTICATED")
    # No key and a wrong key are one answer: the message never says which.
    assert (wrong.bytes, wrong.headers["WWW-Authenticate"]) == (missing.bytes, missing.headers["WWW-Authenticate"])


def test_a_viewer_key_reads_but_its_changes_are_403_and_audited(configured: dict[str, str]) -> None:
    assert call("GET", "/v1/admin/orders", key=configured["viewer"]).status == 200
    refused = call("POST", "/v1/admin/orders/o1/refund", key=configured["viewer"], body={"reason": "x"})
    assert (refused.status, refused.code) == (403, "FORBIDDEN")
    entries = call("GET", "/v1/admin/audit", key=configured["viewer"], query={"target": "order:o1"}).json()["entries"]
    assert [(e["action"], e["outcome"], e["target"]) for e in entries] == [("order.refund", "FORBIDDEN", "order:o1")]
    assert entries[0]["request_id"] == refused.headers["X-Request-Id"] and entries[0]["source_ip"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("path", "query", "code"),
    [
        ("/v1/admin/orders", {"status": "WHATEVER"}, "INVALID_STATUS"),
        ("/v1/admin/orders", {"from": "01/02/2026"}, "INVALID_DATE"),
        ("/v1/admin/orders", {"limit": "1000"}, "INVALID_LIMIT"),
        ("/v1/admin/orders", {"cursor": "not-a-cursor"}, "INVALID_CURSOR"),
        ("/v1/admin/orders", {"sort": "amount"}, "UNKNOWN_PARAMETER"),
        ("/v1/admin/orders/o1", {"x": "1"}, "UNKNOWN_PARAMETER"),
        ("/v1/admin/stats", {"from": "2020-01-01", "to": "2026-01-01"}, "RANGE_TOO_LONG"),
        ("/v1/admin/stats", {"to": "2026-13-01"}, "INVALID_DATE"),
        ("/v1/admin/reports", {"limit": "x"}, "INVALID_LIMIT"),
        ("/v1/admin/reports/last-monday", {}, "INVALID_DATE"),
        ("/v1/admin/anomalies", {"limit": "0"}, "INVALID_LIMIT"),
        ("/v1/admin/audit", {"before": "yesterday"}, "INVALID_BEFORE"),
    ],
)
def test_a_bad_parameter_is_a_clear_400_never_a_500(
    configured: dict[str, str], path: str, query: dict[str, str], code: str
) -> None:
    answer = call("GET", path, key=configured["viewer"], query=query)
    assert (answer.status, answer.code) == (400, code), answer.json()
    assert answer.json()["error"]["message"]


def test_a_malformed_body_is_refused_and_audited(configured: dict[str, str]) -> None:
    operator = configured["operator"]
    not_json = call("POST", "/v1/admin/licences/L1/revoke", key=operator, body=b"{reason", headers={})
    assert (not_json.status, not_json.code) == (400, "VALIDATION_FAILED")
    as_text = call(
        "POST", "/v1/admin/licences/L1/revoke", key=operator, body=b"x", headers={"Content-Type": "text/plain"}
    )
    assert as_text.status == 415
    missing = call("POST", "/v1/admin/licences/L1/revoke", key=operator, body={"reason": "x"})
    assert (missing.status, missing.code) == (404, "LICENSE_NOT_FOUND")
    audit = call("GET", "/v1/admin/audit", key=operator, query={"target": "licence:L1"}).json()
    outcomes = [e["outcome"] for e in audit["entries"]]
    assert sorted(outcomes) == sorted(["VALIDATION_FAILED", "UNSUPPORTED_MEDIA_TYPE", "LICENSE_NOT_FOUND"])


@PLATFORMS
def test_an_order_is_found_and_confirmed_paid_from_wechat_s_answer(
    configured: dict[str, str], platform: str, emulator: RunningEmulator
) -> None:
    created = call(
        "POST",
        "/v1/orders",
        module=create_order,
        body={"product_id": "pro-monthly", "install_id": "functional-admin-install-01"},
    ).json()
    order_id, viewer, operator = created["order_id"], configured["viewer"], configured["operator"]
    found = call("GET", "/v1/admin/orders", platform=platform, key=viewer, query={"status": "PENDING"}).json()
    assert [o["order_id"] for o in found["orders"]] == [order_id] and found["next_cursor"] is None
    assert "poll_token_hash" not in found["orders"][0]

    emulator.pay(order_id)  # the notification goes to the sink: this system never hears of it
    confirmed = call("POST", f"/v1/admin/orders/{order_id}/confirm-paid", platform=platform, key=operator)
    assert confirmed.status == 200 and confirmed.json()["outcome"] == "PAID"
    detail = call("GET", f"/v1/admin/orders/{order_id}", platform=platform, key=viewer).json()
    assert detail["order"]["status"] == "PAID" and detail["licence"]["status"] == "ACTIVE"
    assert "PAID" in [e["kind"] for e in detail["events"]]
    by_transaction = call(
        "GET", "/v1/admin/orders", key=viewer, query={"transaction_id": detail["order"]["transaction_id"]}
    ).json()
    assert [o["order_id"] for o in by_transaction["orders"]] == [order_id]


def test_cors_is_closed_by_default_even_for_a_preflight(configured: dict[str, str]) -> None:
    origin = {"Origin": ALLOWED}
    answer = call("GET", "/v1/admin/me", key=configured["viewer"], headers=origin)
    assert answer.status == 200 and answer.cors() == {} and "Vary" not in answer.headers
    preflight = call("OPTIONS", "/v1/admin/me", headers={**origin, "Access-Control-Request-Method": "GET"})
    assert (preflight.status, preflight.code) == (403, "CORS_ORIGIN_NOT_ALLOWED") and preflight.cors() == {}


def test_cors_opens_to_a_named_https_origin_only(env: dict[str, str]) -> None:
    bootstrap.reset({**env, "ADMIN_ALLOWED_ORIGINS": f"{ALLOWED}, https://other.example.org"})
    try:
        key = bootstrap.container().admin.keys.create("functional", "viewer", "viewer")["key"]
        allowed = call("GET", "/v1/admin/me", key=key, headers={"Origin": ALLOWED})
        assert allowed.cors()["Access-Control-Allow-Origin"] == ALLOWED and allowed.headers["Vary"] == "Origin"
        assert "Access-Control-Allow-Credentials" not in allowed.cors()
        denied = call("GET", "/v1/admin/me", key=key, headers={"Origin": "https://evil.example"})
        assert denied.status == 200 and denied.cors() == {}
        unauthenticated = call("GET", "/v1/admin/me", headers={"Origin": ALLOWED})
        assert unauthenticated.status == 401 and unauthenticated.cors()["Access-Control-Allow-Origin"] == ALLOWED
        preflight = call(
            "OPTIONS",
            "/v1/admin/orders/o1/refund",
            headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status == 204
        assert preflight.cors()["Access-Control-Allow-Methods"] == "POST"
        assert preflight.cors()["Access-Control-Allow-Headers"] == "Authorization, Content-Type"
        wrong_method = call(
            "OPTIONS", "/v1/admin/me", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "DELETE"}
        )
        assert (wrong_method.status, wrong_method.code) == (403, "CORS_METHOD_NOT_ALLOWED")
        other = call(
            "OPTIONS",
            "/v1/admin/me",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert other.status == 403 and other.cors() == {}
    finally:
        bootstrap.reset()


def test_an_http_origin_in_the_setting_stops_the_function_without_saying_more_to_the_client(
    env: dict[str, str],
) -> None:
    bootstrap.reset({**env, "ADMIN_ALLOWED_ORIGINS": "http://ops.example.com"})
    try:
        answer = call("GET", "/v1/admin/me")
        assert answer.status == 500 and "ADMIN_ALLOWED_ORIGINS" not in answer.bytes.decode()
    finally:
        bootstrap.reset()
