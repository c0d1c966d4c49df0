"""Guessing and borrowing credentials of the public API over real HTTP (design §3, §4): poll tokens, install ids,
licence keys and licence tokens. Each guess is refused without saying whether what it aimed at exists, writes
nothing, and leaves no credential in the log."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.licensing.install import install_hash
from shared.licensing.licence_keys import licence_key_for
from tests.security.target import Header, Target, b64url, new_install_id
from tests.support.rawhttp import RawAnswer

# -- poll tokens: no existence oracle ---------------------------------------------------------------------------------

Order = dict[str, Any]
PollGuess = Callable[[Order, Order], tuple[str, list[Header]]]


def _path(order: Order, suffix: str = "") -> str:
    return f"/v1/orders/{order['order_id']}{suffix}"


def _one_char_changed(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


POLL_GUESSES: dict[str, PollGuess] = {
    "no Authorization header": lambda o, other: (_path(o), []),
    "empty bearer token": lambda o, other: (_path(o), [("Authorization", "Bearer ")]),
    "random token": lambda o, other: (_path(o), [Target.bearer(secrets.token_urlsafe(32))]),
    "another order's token": lambda o, other: (_path(o), [Target.bearer(other["poll_token"])]),
    "token with one character changed": lambda o, other: (
        _path(o),
        [Target.bearer(_one_char_changed(o["poll_token"]))],
    ),
    "token with its case swapped": lambda o, other: (_path(o), [Target.bearer(o["poll_token"].swapcase())]),
    "token truncated": lambda o, other: (_path(o), [Target.bearer(o["poll_token"][:-2])]),
    "token extended": lambda o, other: (_path(o), [Target.bearer(o["poll_token"] + "A")]),
    "the order id as token": lambda o, other: (_path(o), [Target.bearer(o["order_id"])]),
    "the install id as token": lambda o, other: (_path(o), [Target.bearer(o["install_id"])]),
    "right token, Basic scheme": lambda o, other: (_path(o), [("Authorization", "Basic " + o["poll_token"])]),
    "right token, no scheme": lambda o, other: (_path(o), [("Authorization", o["poll_token"])]),
    "right token, in the query string": lambda o, other: (_path(o, "?poll_token=" + o["poll_token"]), []),
    "right token, in another header": lambda o, other: (_path(o), [("X-Poll-Token", o["poll_token"])]),
    "SQL injection as token": lambda o, other: (_path(o), [Target.bearer("' OR 1=1 --")]),
}


def comparable(answer: RawAnswer) -> tuple[int, bytes, list[tuple[str, str]]]:
    """An answer without what differs by request: its id, the time, the gateway's timing."""
    varying = {"date", "x-request-id", "x-gateway-ms"}
    return answer.status, answer.body, sorted((k.lower(), v) for k, v in answer.headers if k.lower() not in varying)


@pytest.mark.parametrize("guess", list(POLL_GUESSES))
def test_a_wrong_poll_token_is_answered_exactly_as_an_unknown_order(target: Target, guess: str) -> None:
    order, other = target.order(), target.order()
    path, headers = POLL_GUESSES[guess](order, other)
    unknown_path = "/v1/orders/o" + secrets.token_urlsafe(16) + path[len(_path(order)) :]
    before = target.rows()

    answer = target.send("GET", path, headers)
    unknown = target.send("GET", unknown_path, headers)

    assert comparable(answer) == comparable(unknown)
    for each in (answer, unknown):
        target.refused(each, 404, "ORDER_NOT_FOUND", secret_values=[order["poll_token"], order["install_id"]])
    assert answer.json() == {"error": {"code": "ORDER_NOT_FOUND", "message": "no such order"}}
    target.unchanged_since(before)


def test_the_right_poll_token_still_reads_the_order(target: Target) -> None:
    order = target.order()
    answer = target.send("GET", _path(order), [("Authorization", "bearer " + order["poll_token"])])
    assert answer.status == 200 and answer.json()["order_id"] == order["order_id"]


# -- history: only the install that asks ------------------------------------------------------------------------------

HistoryProbe = Callable[[Order], tuple[str, list[Header]]]
EMPTY: tuple[int, str | None] = (200, None)
REFUSED: tuple[int, str | None] = (401, "INVALID_INSTALL_ID")

HISTORY_PROBES: dict[str, tuple[HistoryProbe, tuple[int, str | None]]] = {
    "another install's id": (lambda o: ("/v1/history", [("X-Install-Id", new_install_id())]), EMPTY),
    "the install hash a token carries": (
        lambda o: ("/v1/history", [("X-Install-Id", install_hash(o["install_id"]))]),
        EMPTY,
    ),
    "the install id with its case swapped": (
        lambda o: ("/v1/history", [("X-Install-Id", o["install_id"].swapcase())]),
        EMPTY,
    ),
    "the install id truncated": (lambda o: ("/v1/history", [("X-Install-Id", o["install_id"][:-1])]), EMPTY),
    "the install id extended": (lambda o: ("/v1/history", [("X-Install-Id", o["install_id"] + "A")]), EMPTY),
    "the order id": (lambda o: ("/v1/history", [("X-Install-Id", o["order_id"])]), EMPTY),
    "the poll token": (lambda o: ("/v1/history", [("X-Install-Id", o["poll_token"])]), EMPTY),
    "no install id": (lambda o: ("/v1/history", []), REFUSED),
    "the install id in the query string": (lambda o: ("/v1/history?install_id=" + o["install_id"], []), REFUSED),
    "the install id as a bearer token": (lambda o: ("/v1/history", [Target.bearer(o["install_id"])]), REFUSED),
    "SQL injection": (lambda o: ("/v1/history", [("X-Install-Id", "' OR '1'='1' --------------")]), REFUSED),
    "SQL wildcard": (lambda o: ("/v1/history", [("X-Install-Id", "%" * 30)]), REFUSED),
}


@pytest.mark.parametrize("probe", list(HISTORY_PROBES))
def test_no_one_reads_another_installs_history(target: Target, probe: str) -> None:
    make, (status, code) = HISTORY_PROBES[probe]
    owner = new_install_id() + "abcdefghij"  # 32 characters: truncated it is still a well-formed id
    order = target.order(install_id=owner)
    path, headers = make(order)
    before = target.rows()

    answer = target.send("GET", path, headers)

    secret_values = [owner, order["poll_token"]]
    if code is None:
        assert answer.status == status and answer.json() == {"orders": []}, answer.body
        target.logged(answer, secret_values=secret_values)
    else:
        target.refused(answer, status, code, secret_values=secret_values)
    target.unchanged_since(before)
    mine = target.send("GET", "/v1/history", [("X-Install-Id", owner)]).json()["orders"]
    assert [o["order_id"] for o in mine] == [order["order_id"]]


# -- licence keys and tokens ------------------------------------------------------------------------------------------

KeyForgery = Callable[[dict[str, Any]], str]
KEY_FORGERIES: dict[str, tuple[KeyForgery, int, str]] = {
    "random key of the right shape": (
        lambda v: "-".join(secrets.token_hex(3).upper()[:5] for _ in range(5)).replace("I", "J"),
        404,
        "LICENSE_NOT_FOUND",
    ),
    "this order's key under another server secret": (
        lambda v: licence_key_for(secrets.token_bytes(32), v["order_id"]),
        404,
        "LICENSE_NOT_FOUND",
    ),
    "the real key with one character changed": (
        lambda v: v["license"]["license_key"][:-1] + ("0" if v["license"]["license_key"][-1] != "0" else "1"),
        404,
        "LICENSE_NOT_FOUND",
    ),
    "the licence id": (lambda v: v["license"]["license_id"], 400, "INVALID_LICENSE_KEY"),
    "the key's SHA-256": (lambda v: secrets.token_hex(32), 400, "INVALID_LICENSE_KEY"),
    "the real key twice": (lambda v: v["license"]["license_key"] * 2, 400, "INVALID_LICENSE_KEY"),
}
LICENCE_CALLS = ("activate", "validate", "deactivate")


@pytest.fixture
def paid_view(target: Target) -> dict[str, Any]:
    order = target.order()
    view = target.pay(order)
    view["install_id"] = order["install_id"]
    return view


@pytest.mark.parametrize("call", LICENCE_CALLS)
@pytest.mark.parametrize("forgery", list(KEY_FORGERIES))
def test_a_forged_licence_key_unlocks_nothing(
    target: Target, paid_view: dict[str, Any], forgery: str, call: str
) -> None:
    make, status, code = KEY_FORGERIES[forgery]
    forged = make(paid_view)
    before = target.rows()

    answer = target.post_json(f"/v1/licenses/{call}", {"license_key": forged, "install_id": new_install_id()})

    real_key = paid_view["license"]["license_key"]
    target.refused(answer, status, code, secret_values=[real_key, paid_view["install_id"]])
    target.unchanged_since(before)


def _token_parts(view: dict[str, Any]) -> tuple[dict[str, Any], str]:
    first, signature = view["license"]["token"].split(".")
    return json.loads(base64.urlsafe_b64decode(first + "=" * (-len(first) % 4))), signature


def _signed_by_stranger(payload: dict[str, Any]) -> str:
    first = b64url(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    return first + "." + b64url(Ed25519PrivateKey.generate().sign(first.encode()))


def _altered(change: dict[str, Any]) -> Callable[[dict[str, Any]], str]:
    def make(view: dict[str, Any]) -> str:
        payload, signature = _token_parts(view)
        first = b64url(json.dumps({**payload, **change}, separators=(",", ":"), sort_keys=True).encode())
        return first + "." + signature

    return make


TOKEN_FORGERIES: dict[str, tuple[Callable[[dict[str, Any]], str], str]] = {
    "signed by another key under our kid": (lambda v: _signed_by_stranger(_token_parts(v)[0]), "BAD_SIGNATURE"),
    "signed by another key under its own kid": (
        lambda v: _signed_by_stranger({**_token_parts(v)[0], "kid": "attacker-1"}),
        "UNKNOWN_KEY",
    ),
    "payload moved to another install": (_altered({"ins": install_hash(new_install_id())}), "BAD_SIGNATURE"),
    "payload's expiry extended": (_altered({"exp": 4102444800}), "BAD_SIGNATURE"),
    "payload's product upgraded": (_altered({"sub": "pro-lifetime", "ent": ["*"]}), "BAD_SIGNATURE"),
    "signature removed": (lambda v: v["license"]["token"].split(".")[0] + ".", "MALFORMED"),
    "three parts, empty signature": (lambda v: v["license"]["token"].split(".")[0] + "..", "MALFORMED"),
    "signature of another token": (
        lambda v: _altered({"iat": 0})(v).split(".")[0] + "." + b64url(bytes(64)),
        "BAD_SIGNATURE",
    ),
}


@pytest.mark.parametrize("forgery", list(TOKEN_FORGERIES))
def test_a_forged_licence_token_is_not_valid_and_is_not_refreshed(
    target: Target, paid_view: dict[str, Any], forgery: str
) -> None:
    make, reason = TOKEN_FORGERIES[forgery]
    forged = make(paid_view)
    before = target.rows()

    answer = target.post_json("/v1/licenses/validate", {"token": forged})

    assert answer.status == 200 and answer.json() == {"valid": False, "status": None, "reason": reason}, answer.body
    target.logged(answer, secret_values=[forged, paid_view["license"]["token"], paid_view["license"]["license_key"]])
    target.unchanged_since(before)


def test_a_licence_key_in_a_url_is_not_read(target: Target, paid_view: dict[str, Any]) -> None:
    key = paid_view["license"]["license_key"]
    before = target.rows()

    answer = target.send(
        "POST",
        "/v1/licenses/activate?license_key=" + quote(key) + "&install_id=" + new_install_id(),
        [("Content-Type", "application/json")],
        b"{}",
    )

    target.refused(answer, 400, "MISSING_FIELD", secret_values=[key])
    target.unchanged_since(before)
