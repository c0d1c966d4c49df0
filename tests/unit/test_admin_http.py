"""What the admin API needs of the shared HTTP layer: 401 with a Bearer challenge, 429 with Retry-After, and
finishers that put headers on every answer — errors included — without ever turning one into an escaped crash."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import SimpleNamespace

from shared import errors
from shared.http import fc3
from shared.http.app import Router, error_response, serve
from shared.http.request import Request, Response


def test_a_401_of_the_admin_api_carries_a_bearer_challenge_and_other_401s_do_not() -> None:
    assert error_response(errors.Unauthenticated("no key")).headers["WWW-Authenticate"] == "Bearer"
    assert "WWW-Authenticate" not in error_response(errors.Unauthorized("wrong poll token")).headers


def test_a_429_says_when_to_retry_when_it_is_known() -> None:
    limited = error_response(errors.RateLimited("slow down", retry_after=42))
    assert limited.status == 429 and limited.headers["Retry-After"] == "42"
    assert json.loads(limited.body)["error"]["code"] == "RATE_LIMITED"
    assert error_response(errors.RateLimited("slow down", retry_after=0)).headers["Retry-After"] == "1"
    assert "Retry-After" not in error_response(errors.RateLimited("slow down")).headers


def _answer(router: Router, path: str) -> dict[str, object]:
    return serve(fc3.build_event("GET", path), SimpleNamespace(request_id="r"), router, function="t")


def test_a_finisher_sets_headers_on_answers_and_on_errors() -> None:
    router = Router()

    def ok(request: Request, params: Mapping[str, str]) -> Response:
        return Response.json(200, {})

    def refused(request: Request, params: Mapping[str, str]) -> Response:
        raise errors.Forbidden("no")

    router.add("GET", "/ok", ok)
    router.add("GET", "/refused", refused)
    router.add_finisher(lambda request, response: response.with_headers({"X-Frame-Options": "DENY"}))
    for path, status in (("/ok", 200), ("/refused", 403), ("/missing", 404)):
        answer = _answer(router, path)
        assert answer["statusCode"] == status
        assert answer["headers"]["X-Frame-Options"] == "DENY"  # type: ignore[index]


def test_a_failing_finisher_is_a_plain_500() -> None:
    router = Router()
    router.add("GET", "/ok", lambda request, params: Response.json(200, {"secret": "x"}))

    def broken(request: Request, response: Response) -> Response:
        raise RuntimeError("boom")

    router.add_finisher(broken)
    answer = _answer(router, "/ok")
    assert answer["statusCode"] == 500 and "secret" not in str(answer["body"])
