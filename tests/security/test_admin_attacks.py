"""Attacks on the admin API's mutating routes over real HTTP (docs/admin.md): no key, a malformed, unknown, wrong or
revoked key, and a viewer's key. A 401 never says which of those it was and writes nothing but the address's
failure counter; a viewer's 403 is audited, as every mutating call by an authenticated key is; nothing else moves."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest

from shared.services.admin.audit import Auditor
from shared.services.admin.auth import REFUSED
from shared.services.admin.keys import KeyManagement
from shared.storage.sqlite import SqliteStorage
from tests.security.target import Target
from tests.security.test_injection import PAYLOADS
from tests.support.emulator import RunningEmulator
from tests.support.logged_stack import LoggedStack
from tests.support.rawhttp import RawAnswer


@dataclass(frozen=True)
class World:
    operator: str
    viewer: str
    viewer_id: str
    revoked: str
    order_id: str
    licence_id: str


@pytest.fixture(scope="module")
def world(attacked_stack: LoggedStack, emulator_server: RunningEmulator) -> Iterator[World]:
    storage = SqliteStorage(str(attacked_stack.db_path))
    clock: Callable[[], int] = lambda: int(time.time())  # noqa: E731
    keys = KeyManagement(storage, Auditor(storage, clock), clock)
    operator = keys.create("security-suite", "operator under test", "operator")
    viewer = keys.create("security-suite", "viewer under test", "viewer")
    revoked = keys.create("security-suite", "revoked under test", "operator")
    keys.revoke("security-suite", revoked["key_id"])
    setup = Target(attacked_stack, emulator_server)
    view = setup.pay(setup.order())
    yield World(
        operator["key"],
        viewer["key"],
        viewer["key_id"],
        revoked["key"],
        view["order_id"],
        view["license"]["license_id"],
    )


MUTATING: dict[str, Callable[[World], tuple[str, dict[str, Any]]]] = {
    "refund": lambda w: (f"/v1/admin/orders/{w.order_id}/refund", {"reason": "security suite", "amount_fen": 1}),
    "confirm-paid": lambda w: (f"/v1/admin/orders/{w.order_id}/confirm-paid", {}),
    "revoke": lambda w: (f"/v1/admin/licences/{w.licence_id}/revoke", {"reason": "security suite"}),
    "reinstate": lambda w: (f"/v1/admin/licences/{w.licence_id}/reinstate", {"reason": "security suite"}),
    "reset-devices": lambda w: (f"/v1/admin/licences/{w.licence_id}/reset-devices", {}),
}


def _swap_last(key: str) -> str:
    return key[:-1] + ("A" if key[-1] != "A" else "B")


# Credentials that authenticate no one: every one is the same 401.
BAD_KEYS: dict[str, Callable[[World], str]] = {
    "wrong secret for a real key id": lambda w: "Bearer " + _swap_last(w.operator),
    "unknown key id": lambda w: "Bearer wxak_0123456789ab_" + w.operator.rsplit("_", 1)[1],
    "revoked key": lambda w: "Bearer " + w.revoked,
    "malformed: no prefix": lambda w: "Bearer " + w.operator.removeprefix("wxak_"),
    "malformed: truncated": lambda w: "Bearer " + w.operator[:-5],
    "malformed: upper-cased": lambda w: "Bearer " + w.operator.upper(),
    "malformed: SQL injection": lambda w: "Bearer ' OR 1=1 --",
    "malformed: empty bearer": lambda w: "Bearer ",
    "right key, Basic scheme": lambda w: "Basic " + w.operator,
    "right key, no scheme": lambda w: w.operator,
    "right key twice": lambda w: f"Bearer {w.operator} {w.operator}",
}


def _post(target: Target, world: World, route: str, authorization: str | None) -> RawAnswer:
    path, body = MUTATING[route](world)
    headers = [("Content-Type", "application/json")]
    if authorization is not None:
        headers.append(("Authorization", authorization))
    return target.post_json(path, body, headers[1:])


def _comparable(answer: RawAnswer) -> tuple[int, bytes, str | None]:
    return answer.status, answer.body, answer.header("WWW-Authenticate")


def _failures(rows: dict[str, list[tuple[Any, ...]]]) -> int:
    """Failed admin authentications counted for 127.0.0.1 in the current windows (counters: name, window, hits)."""
    return sum(row[2] for row in rows["counters"] if row[0] == "admin_auth_failures:127.0.0.1")


def _secrets(world: World) -> list[str]:
    return [world.operator, world.viewer, world.revoked, world.operator.rsplit("_", 1)[1]]


@pytest.mark.parametrize("credential", list(BAD_KEYS))
@pytest.mark.parametrize("route", list(MUTATING))
def test_a_bad_admin_key_is_one_401_that_writes_only_the_failure_counter(
    target: Target, world: World, route: str, credential: str
) -> None:
    before = target.rows()

    answer = _post(target, world, route, BAD_KEYS[credential](world))
    reference = _post(target, world, route, "Bearer wxak_ffffffffffff_" + "A" * 43)  # a plain unknown key

    assert _comparable(answer) == _comparable(reference)
    assert answer.header("WWW-Authenticate") == "Bearer"
    assert answer.json() == {"error": {"code": "UNAUTHENTICATED", "message": REFUSED}}
    records = target.refused(answer, 401, "UNAUTHENTICATED", secret_values=_secrets(world))
    assert [r["event"] for r in records if r["event"].startswith("admin_")] == ["admin_auth_failed"]
    after = target.rows()
    assert {t: r for t, r in after.items() if t != "counters"} == {t: r for t, r in before.items() if t != "counters"}
    assert _failures(after) == _failures(before) + 2  # this attempt and the reference one, counted for the address


@pytest.mark.parametrize("route", list(MUTATING))
def test_no_admin_key_is_401_and_not_even_counted(target: Target, world: World, route: str) -> None:
    before = target.rows()

    answer = _post(target, world, route, None)

    target.refused(answer, 401, "UNAUTHENTICATED", secret_values=_secrets(world))
    assert answer.header("WWW-Authenticate") == "Bearer"
    target.unchanged_since(before)
    reference = _post(target, world, route, "Bearer wxak_ffffffffffff_" + "A" * 43)  # a plain unknown key
    assert _comparable(answer) == _comparable(reference)  # no key is not told apart from a wrong one


@pytest.mark.parametrize("route", list(MUTATING))
def test_a_viewer_key_on_a_mutating_route_is_403_and_audited(target: Target, world: World, route: str) -> None:
    before = target.rows()

    answer = _post(target, world, route, "Bearer " + world.viewer)

    target.refused(answer, 403, "FORBIDDEN", secret_values=_secrets(world))
    added = target.added_since(before)
    assert set(added) == {"audit_log"} and len(added["audit_log"]) == 1, added
    entry = target.table("audit_log", "outcome = 'FORBIDDEN' AND actor = ?", world.viewer_id)[-1]
    path, _ = MUTATING[route](world)
    assert (entry["role"], entry["outcome"], entry["request_id"]) == (
        "viewer",
        "FORBIDDEN",
        answer.header("X-Request-Id"),
    )
    assert entry["target"].split(":", 1)[1] in path
    assert entry["state_before"] in (None, "null") and entry["state_after"] in (None, "null")


def test_the_operator_key_does_change_things_and_is_audited(target: Target, world: World) -> None:
    before = target.rows()
    answer = _post(target, world, "reset-devices", "Bearer " + world.operator)
    assert answer.status == 200, answer.body
    entries = [row for row in target.rows()["audit_log"] if row not in before["audit_log"]]
    assert [(e[5], e[7]) for e in entries] == [("licence.reset_devices", "ok")]  # (action, outcome)
    assert target.table("activations", "licence_id = ?", world.licence_id) == []
    target.logged(answer, secret_values=_secrets(world))


# Injection strings in every admin query parameter and path segment, with a valid viewer key: a clear 400 (or an
# empty answer, or 404 for a path naming nothing), never a 5xx, nothing written, nothing secret logged.
ADMIN_READS: dict[str, Callable[[str], str]] = {
    "orders ?status": lambda v: f"/v1/admin/orders?status={quote(v)}",
    "orders ?from": lambda v: f"/v1/admin/orders?from={quote(v)}",
    "orders ?to": lambda v: f"/v1/admin/orders?to={quote(v)}",
    "orders ?order_id": lambda v: f"/v1/admin/orders?order_id={quote(v)}",
    "orders ?transaction_id": lambda v: f"/v1/admin/orders?transaction_id={quote(v)}",
    "orders ?product_id": lambda v: f"/v1/admin/orders?product_id={quote(v)}",
    "orders ?cursor": lambda v: f"/v1/admin/orders?cursor={quote(v)}",
    "orders ?limit": lambda v: f"/v1/admin/orders?limit={quote(v)}",
    "order path": lambda v: f"/v1/admin/orders/{quote(v, safe='')}",
    "stats ?from": lambda v: f"/v1/admin/stats?from={quote(v)}",
    "reports path": lambda v: f"/v1/admin/reports/{quote(v, safe='')}",
    "audit ?before": lambda v: f"/v1/admin/audit?before={quote(v)}",
    "audit ?target": lambda v: f"/v1/admin/audit?target={quote(v)}",
    "anomalies ?limit": lambda v: f"/v1/admin/anomalies?limit={quote(v)}",
}


@pytest.mark.parametrize("payload", [name for name, value in PAYLOADS.items() if isinstance(value, str)])
@pytest.mark.parametrize("where", list(ADMIN_READS))
def test_injection_strings_in_admin_reads_are_clear_answers_that_write_nothing(
    target: Target, world: World, where: str, payload: str
) -> None:
    before = target.rows()
    answer = target.send("GET", ADMIN_READS[where](PAYLOADS[payload]), [("Authorization", f"Bearer {world.viewer}")])

    assert answer.status in (200, 400, 404), (answer.status, answer.body[:300])
    body = answer.json()
    if answer.status == 200:  # a filter that matches nothing, or text searched for as text
        assert body.get("orders", body.get("entries", body.get("anomalies", []))) == [], body
    else:
        assert set(body) == {"error"} and body["error"]["code"], body
    target.logged(answer, secret_values=_secrets(world))
    target.unchanged_since(before)
