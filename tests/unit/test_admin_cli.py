"""scripts.admin without a running system: its output (tables on a terminal, tab-separated lines when piped, JSON),
the API's errors turned into messages and exit codes, paging, and admin keys made and revoked in SQLite storage."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from scripts import admin
from scripts.admin import keys as admin_keys
from shared.domain.admin import key_hash
from shared.storage.sqlite import SqliteStorage

KEY = "wxak_0123456789ab_" + "k" * 43
Route = Callable[[str, dict[str, Any]], requests.Response]


def answer(status: int, body: Any, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code, response.reason = status, "Reason"
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response.headers.update(headers)
    return response


class FakeApi:
    """Stands in for the admin API at requests' boundary: answers by (method, path), records every call."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.calls: list[tuple[str, str, dict[str, Any], str]] = []
        api = self

        def request(session: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
            path = url.removeprefix("http://127.0.0.1:8080")
            api.calls.append((method, path, kwargs, str(session.headers.get("Authorization", ""))))
            route = api.routes.get((method, path))
            return route(path, kwargs) if route else answer(404, {"error": {"code": "NOT_FOUND", "message": "no"}})

        monkeypatch.setattr(requests.Session, "request", request)

    def on(self, method: str, path: str, route: Route | Any) -> None:
        self.routes[(method, path)] = route if callable(route) else (lambda _p, _k: answer(200, route))


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> FakeApi:
    return FakeApi(monkeypatch)


def run(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = admin.main(list(argv), env={"ADMIN_API_KEY": KEY} if env is None else env, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


ORDER = {
    "order_id": "oUNIT000000000000000001",
    "status": "PAID",
    "product_id": "pro-monthly",
    "description": "Pro\t30 天",
    "amount_fen": 990,
    "currency": "CNY",
    "created_at": 1_767_225_600,
    "paid_at": 1_767_225_660,
    "closed_at": None,
    "expires_at": 1_767_226_500,
    "transaction_id": "4200000000000000000000000001",
    "payer_hash": "ph",
    "mchid": "1900000001",
    "appid": "wx1",
}


# -- output ------------------------------------------------------------------------------------------------------------


def test_money_is_shown_in_yuan_and_times_in_china_time() -> None:
    assert [admin.yuan(v) for v in (990, 5, 0, -150, None)] == ["9.90", "0.05", "0.00", "-1.50", ""]
    assert admin.when(1_767_225_600) == "2026-01-01 08:00:00"
    assert admin.when(None) == ""


def test_a_table_piped_elsewhere_is_tab_separated_lines_one_per_row(api: FakeApi) -> None:
    api.on("GET", "/v1/admin/orders", {"orders": [ORDER], "next_cursor": "c2"})
    code, out, err = run("orders", "--status", "PAID")
    header, row = out.splitlines()
    assert code == 0
    assert header.split("\t") == list(admin.ORDER_COLUMNS)
    assert row.split("\t")[:4] == ["oUNIT000000000000000001", "PAID", "pro-monthly", "9.90"]
    assert "more: --cursor c2" in err  # hints go to stderr, the rows stay parseable
    assert api.calls[0][2]["params"] == {"status": "PAID"}


def test_on_a_terminal_tables_are_drawn_and_values_are_never_read_as_markup() -> None:
    out = io.StringIO()
    output = admin.Output(out, io.StringIO(), fancy=True)
    output.table("Admin keys", ("key_id", "name"), [["abc", "[bold]Mallory[/bold]"]])
    text = out.getvalue()
    assert "Admin keys" in text and "┃" in text and "[bold]Mallory[/bold]" in text


def test_a_value_with_tabs_or_newlines_cannot_break_a_row() -> None:
    out = io.StringIO()
    admin.Output(out, io.StringIO(), fancy=False).table("t", ("a", "b"), [["x\ty", "line\nbreak"]])
    assert out.getvalue().splitlines() == ["a\tb", "x y\tline break"]


def test_json_prints_the_apis_answer_as_is(api: FakeApi) -> None:
    page = {"orders": [ORDER], "next_cursor": None}
    api.on("GET", "/v1/admin/orders", page)
    code, out, _ = run("--json", "orders")
    assert code == 0 and json.loads(out) == page


def test_the_json_option_is_accepted_after_the_command_too(api: FakeApi) -> None:
    api.on("GET", "/v1/admin/stats", {"days": [], "totals": {}, "pending": 0})
    code, out, _ = run("stats", "--json")
    assert code == 0 and json.loads(out)["pending"] == 0


def test_stats_show_each_day_then_the_totals(api: FakeApi) -> None:
    day = {"orders_created": 4, "orders_paid": 3, "payments": 3, "revenue_fen": 2970, "refunded_fen": 990}
    totals = {**day, "conversion": 0.75}
    api.on(
        "GET",
        "/v1/admin/stats",
        {
            "from": "2026-01-01",
            "to": "2026-01-01",
            "days": [{"date": "2026-01-01", **day}],
            "totals": totals,
            "pending": 2,
        },
    )
    code, out, _ = run("stats", "--from", "2026-01-01", "--to", "2026-01-01")
    assert code == 0
    assert out.splitlines()[:2] == [
        "day\tcreated\tpaid\tpayments\trevenue ¥\trefunded ¥",
        "2026-01-01\t4\t3\t3\t29.70\t9.90",
    ]
    assert "conversion\t75.0%" in out.splitlines() and "pending now\t2" in out.splitlines()
    assert api.calls[0][2]["params"] == {"from": "2026-01-01", "to": "2026-01-01"}


def test_anomalies_are_listed_with_their_details_on_one_line(api: FakeApi) -> None:
    anomaly = {
        "kind": "PAYMENT_MISMATCH",
        "order_id": "o1",
        "reference": "notify:n1",
        "details": {"fields": ["amount"]},
    }
    api.on("GET", "/v1/admin/anomalies", {"anomalies": [{**anomaly, "at": 1_767_225_600}]})
    code, out, _ = run("anomalies", "--limit", "5")
    assert code == 0
    assert out.splitlines()[1].split("\t") == [
        "2026-01-01 08:00:00",
        "PAYMENT_MISMATCH",
        "o1",
        "notify:n1",
        '{"fields":["amount"]}',
    ]
    assert api.calls[0][2]["params"] == {"limit": 5}


# -- errors and exit codes ----------------------------------------------------------------------------------------------


def test_an_api_error_is_shown_from_its_error_json_and_exits_1(api: FakeApi) -> None:
    api.on(
        "POST",
        "/v1/admin/licences/Lx/revoke",
        lambda _p, _k: answer(
            409, {"error": {"code": "LICENSE_REVOKED", "message": "already revoked", "details": {"at": 1}}}
        ),
    )
    code, out, err = run("revoke", "Lx", "--reason", "fraud")
    assert (code, out) == (1, "")
    assert err.splitlines() == ["error: 409 LICENSE_REVOKED: already revoked", 'details: {"at":1}']


def test_with_json_the_error_is_json_on_stderr(api: FakeApi) -> None:
    api.on(
        "GET",
        "/v1/admin/orders/o1",
        lambda _p, _k: answer(404, {"error": {"code": "ORDER_NOT_FOUND", "message": "no such order"}}),
    )
    code, _, err = run("--json", "order", "o1")
    assert code == 1
    assert json.loads(err) == {"error": {"status": 404, "code": "ORDER_NOT_FOUND", "message": "no such order"}}


def test_a_lockout_says_when_to_retry_and_a_proxy_page_is_reported_plainly(api: FakeApi) -> None:
    limited = {"error": {"code": "RATE_LIMITED", "message": "too many failed attempts"}}
    api.on("GET", "/v1/admin/audit", lambda _p, _k: answer(429, limited, **{"Retry-After": "120"}))
    api.on("GET", "/v1/admin/reports", lambda _p, _k: answer(502, b"<html>\n<b>Bad Gateway</b></html>"))
    assert run("audit")[2] == "error: 429 RATE_LIMITED: too many failed attempts (retry after 120 s)\n"
    code, _, err = run("reports")
    assert code == 1 and err == "error: 502 HTTP_502: <html> <b>Bad Gateway</b></html>\n"


def test_the_key_comes_from_the_environment_and_goes_only_in_the_authorization_header(api: FakeApi) -> None:
    api.on("POST", "/v1/admin/orders/o%2F1/refund", {"out_refund_no": "r1", "amount_fen": 100, "status": "PROCESSING"})
    assert run("refund", "o/1", "--amount", "100", "--reason", "退款")[0] == 0
    method, path, kwargs, authorization = api.calls[0]
    assert (method, path, authorization) == ("POST", "/v1/admin/orders/o%2F1/refund", f"Bearer {KEY}")
    assert kwargs["json"] == {"amount_fen": 100, "reason": "退款"}
    assert KEY not in json.dumps(kwargs)


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["orders"], {}, "ADMIN_API_KEY"),
        (["orders", "--api-key", KEY], {"ADMIN_API_KEY": KEY}, "unrecognized arguments"),
        (["--url", "http://admin.example.com", "orders"], {"ADMIN_API_KEY": KEY}, "https"),
        (["stats", "--from", "2026-02-30"], {"ADMIN_API_KEY": KEY}, "YYYY-MM-DD"),
        (["refund", "o1"], {"ADMIN_API_KEY": KEY}, "--reason"),
        ([], {"ADMIN_API_KEY": KEY}, "COMMAND"),
    ],
)
def test_usage_errors_exit_2_before_any_call_with_the_message_on_stderr(
    api: FakeApi, argv: list[str], env: dict[str, str], message: str
) -> None:
    code, out, err = run(*argv, env=env)
    assert (code, out, api.calls) == (2, "", [])
    assert err.startswith("usage error: ") and message in err


def test_confirm_paid_goes_on_after_a_failed_order_and_exits_1(api: FakeApi) -> None:
    api.on("POST", "/v1/admin/orders/o1/confirm-paid", {"order": {"status": "PAID"}, "outcome": "PAID"})
    api.on("POST", "/v1/admin/orders/o3/confirm-paid", {"order": {"status": "PENDING"}, "outcome": "NOT_PAID"})
    code, out, _ = run("confirm-paid", "o1", "o2", "o3")
    assert code == 1
    assert out.splitlines() == [
        "order_id\toutcome\tstatus",
        "o1\tPAID\tPAID",
        "o2\tNOT_FOUND\tno",
        "o3\tNOT_PAID\tPENDING",
    ]


def test_confirm_paid_stops_at_once_when_the_key_is_refused(api: FakeApi) -> None:
    refused = {"error": {"code": "FORBIDDEN", "message": "an operator key is needed"}}
    api.on("POST", "/v1/admin/orders/o1/confirm-paid", lambda _p, _k: answer(403, refused))
    code, _, err = run("confirm-paid", "o1", "o2")
    assert code == 1 and len(api.calls) == 1 and "403 FORBIDDEN" in err


# -- export ----------------------------------------------------------------------------------------------------------


def test_export_pages_through_every_order_into_a_csv(api: FakeApi, tmp_path: Path) -> None:
    second = {**ORDER, "order_id": "oUNIT000000000000000002", "status": "PENDING", "paid_at": None}
    pages = {None: {"orders": [ORDER], "next_cursor": "c2"}, "c2": {"orders": [second], "next_cursor": None}}
    api.on("GET", "/v1/admin/orders", lambda _p, k: answer(200, pages[k["params"].get("cursor")]))
    target = tmp_path / "orders.csv"
    code, out, _ = run("export-orders", "--from", "2026-01-01", "--to", "2026-01-31", "--out", str(target))
    assert code == 0 and out.splitlines() == [f"file\t{target}", "orders\t2"]
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: spreadsheets read the Chinese
    with target.open(encoding="utf-8-sig", newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert [r["order_id"] for r in exported] == [ORDER["order_id"], second["order_id"]]
    assert exported[0]["paid_at"] == "2026-01-01T08:01:00+08:00" and exported[1]["paid_at"] == ""
    assert exported[0]["description"] == "Pro\t30 天" and exported[0]["amount_fen"] == "990"
    searches = [k["params"] for m, p, k, _ in api.calls if p == "/v1/admin/orders"]
    assert searches == [
        {"from": "2026-01-01", "to": "2026-01-31", "limit": 200},
        {"from": "2026-01-01", "to": "2026-01-31", "cursor": "c2", "limit": 200},
    ]


def test_a_failed_export_leaves_no_file_and_an_existing_one_is_kept(api: FakeApi, tmp_path: Path) -> None:
    broken = {"error": {"code": "INTERNAL", "message": "internal error"}}
    api.on(
        "GET",
        "/v1/admin/orders",
        lambda _p, k: (
            answer(200, {"orders": [ORDER], "next_cursor": "c2"})
            if not k["params"].get("cursor")
            else answer(500, broken)
        ),
    )
    target = tmp_path / "orders.csv"
    assert run("export-orders", "--from", "2026-01-01", "--to", "2026-01-01", "--out", str(target))[0] == 1
    assert list(tmp_path.iterdir()) == []
    target.write_text("keep me")
    code, _, err = run("export-orders", "--from", "2026-01-01", "--to", "2026-01-01", "--out", str(target))
    assert code == 2 and "exists" in err and target.read_text() == "keep me"


# -- admin keys: storage -----------------------------------------------------------------------------------------------


@pytest.fixture
def storage_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    yield {"SERVER_SECRET": "s" * 48, "STORAGE_URL": f"sqlite:///{tmp_path / 'app.sqlite3'}"}


def test_a_key_is_made_in_storage_shown_once_and_only_its_hash_kept(
    storage_env: dict[str, str], tmp_path: Path
) -> None:
    code, out, err = run("--json", "keys", "create", "--name", "Alice", "--role", "operator", env=storage_env)
    assert code == 0
    created = json.loads(out)
    assert "shown once" in err and "never as an argument" in err
    stored = SqliteStorage(str(tmp_path / "app.sqlite3")).get_admin_key(created["key_id"])
    assert stored is not None and stored.key_hash == key_hash(created["key"]) and stored.role.value == "operator"
    assert created["key"] not in json.dumps(run("--json", "keys", "list", env=storage_env)[1])


def test_keys_are_listed_revoked_once_and_every_change_is_audited_as_the_cli_user(
    storage_env: dict[str, str], tmp_path: Path
) -> None:
    key_id = json.loads(run("--json", "keys", "create", "--name", "Bob", "--role", "viewer", env=storage_env)[1])[
        "key_id"
    ]
    code, out, _ = run("keys", "list", env=storage_env)
    assert code == 0 and out.splitlines()[1].split("\t")[:3] == [key_id, "Bob", "viewer"]
    assert run("keys", "revoke", key_id, env=storage_env)[0] == 0
    code, _, err = run("keys", "revoke", key_id, env=storage_env)
    assert code == 1 and "KEY_REVOKED" in err
    assert run("keys", "create", "--name", "Eve", "--role", "admin", env=storage_env)[0] == 2
    entries = SqliteStorage(str(tmp_path / "app.sqlite3")).audit_entries(None, 10)
    assert sorted((e.action, e.outcome) for e in entries) == [
        ("admin_key.create", "ok"),
        ("admin_key.revoke", "KEY_REVOKED"),
        ("admin_key.revoke", "ok"),
    ]
    assert {e.actor for e in entries} == {f"cli:{admin_keys.user()}"}
