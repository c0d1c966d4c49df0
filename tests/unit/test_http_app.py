"""Routing, serve() on both clouds, and the one place errors are rendered."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any

import pytest

from shared import log
from shared.errors import Conflict, NotFound, Unavailable, ValidationFailed
from shared.http import fc3, scf
from shared.http.app import Router, platform_of, serve
from shared.http.request import Request, Response
from tests.events import load_event

Logs = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def logs(capsys: pytest.CaptureFixture[str]) -> Logs:
    """The JSON log lines written to stdout so far (each must be one JSON object)."""
    return lambda: [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def ok(request: Request, params: Mapping[str, str]) -> Response:
    return Response.json(200, {"params": dict(params), "path": request.path})


def boom(_request: Request, _params: Mapping[str, str]) -> Response:
    raise RuntimeError("db password=hunter2 at 10.0.0.5")


def answer_json(answer: dict[str, Any]) -> Any:
    return json.loads(answer["body"])


def test_a_template_parameter_matches_one_non_empty_segment() -> None:
    router = Router()
    router.add("GET", "/v1/orders/{order_id}", ok)
    route, params = router.resolve("GET", "/v1/orders/ord_1")
    assert (route.template, params) == ("/v1/orders/{order_id}", {"order_id": "ord_1"})
    for path in ("/v1/orders/", "/v1/orders/a/b", "/v1/orders", "/v1/orders/ord_1/"):
        with pytest.raises(NotFound):
            router.resolve("GET", path)


def test_a_literal_route_wins_over_a_parameter_whatever_the_order_of_registration() -> None:
    router = Router()
    router.add("GET", "/v1/admin/{section}", ok)
    router.add("GET", "/v1/admin/stats", ok, name="stats")
    assert router.resolve("GET", "/v1/admin/stats")[0].name == "stats"
    assert router.resolve("GET", "/v1/admin/orders")[1] == {"section": "orders"}


def test_an_unknown_path_is_404_in_the_error_format() -> None:
    router = Router()
    router.add("GET", "/v1/products", ok)
    answer = serve(fc3.build_event("GET", "/v1/nope"), None, router, function="create_order")
    assert answer["statusCode"] == 404
    assert answer_json(answer) == {"error": {"code": "NOT_FOUND", "message": "no such resource"}}


def test_a_known_path_with_another_method_is_405_with_an_allow_header() -> None:
    router = Router()
    router.add("GET", "/v1/orders/{order_id}", ok)
    router.add("DELETE", "/v1/orders/{order_id}", ok)
    answer = serve(fc3.build_event("POST", "/v1/orders/ord_1"), None, router, function="order_status")
    assert answer["statusCode"] == 405
    assert answer["headers"]["Allow"] == "DELETE, GET"
    assert answer_json(answer)["error"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize("template", ["v1/orders", "/v1/{", "/v1/{a}/{a}", "/v1/{bad-name}"])
def test_a_malformed_template_is_refused_when_the_route_is_added(template: str) -> None:
    with pytest.raises(ValueError):
        Router().add("GET", template, ok)


def test_the_same_method_and_template_cannot_be_added_twice() -> None:
    router = Router()
    router.add("GET", "/v1/products", ok)
    with pytest.raises(ValueError):
        router.add("get", "/v1/products", ok)


def test_serve_answers_an_fc3_event_in_the_fc3_shape_with_path_params() -> None:
    router = Router()
    router.add("GET", "/v1/orders/{order_id}", ok)
    answer = serve(load_event("fc3_http_get_query"), None, router, function="order_status")
    assert set(answer) == {"statusCode", "headers", "isBase64Encoded", "body"}
    assert answer["statusCode"] == 200
    assert answer_json(answer)["params"] == {"order_id": "ord_20240430_Q7mK2x9Pz"}


def test_serve_answers_an_scf_event_in_the_scf_shape() -> None:
    router = Router()
    router.add("GET", "/v1/orders/{order_id}", ok)
    answer = serve(load_event("scf_function_url_get"), None, router, function="order_status")
    assert set(answer) == {"statusCode", "headers", "body", "isBase64Encoded"}
    assert answer_json(answer)["params"] == {"order_id": "ord_20240430_Q7mK2x9Pz"}


def test_every_answer_carries_the_request_id_and_is_not_cached_unless_it_says_so() -> None:
    router = Router()
    router.add("GET", "/cached", lambda r, p: Response.json(200, {}, {"cache-control": "public, max-age=300"}))
    router.add("GET", "/plain", lambda r, p: Response(200, b"x", {"Content-Type": "text/plain"}))
    expected = {"/cached": "public, max-age=300", "/plain": "no-store", "/x": "no-store"}
    for path, cache in expected.items():
        headers = serve(fc3.build_event("GET", path, request_id="r-1"), None, router, function="f")["headers"]
        assert headers["X-Request-Id"] == "r-1"
        assert [v for k, v in headers.items() if k.lower() == "cache-control"] == [cache]


SECURITY = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
JSON_CSP = "default-src 'none'; frame-ancestors 'none'"


def security_router() -> Router:
    def conflict(_r: Request, _p: Mapping[str, str]) -> Response:
        raise Conflict("order is already refunded")

    router = Router()
    router.add("GET", "/ok", ok)
    router.add("POST", "/conflict", conflict)
    router.add("GET", "/crash", boom)
    router.add("GET", "/empty", lambda r, p: Response.empty(204))
    return router


def build(platform: str, method: str, path: str) -> Any:
    return (fc3 if platform == "fc3" else scf).build_event(method, path, request_id="r-1")


@pytest.mark.parametrize("platform", ["fc3", "scf"])
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/ok", 200),
        ("POST", "/conflict", 409),
        ("GET", "/crash", 500),
        ("GET", "/nowhere", 404),
        ("POST", "/ok", 405),
    ],
)
def test_every_json_answer_success_or_error_carries_the_security_headers_once(
    platform: str, method: str, path: str, status: int
) -> None:
    answer = serve(build(platform, method, path), None, security_router(), function="f")
    headers = answer["headers"]
    assert answer["statusCode"] == status
    assert {k: v for k, v in headers.items() if k in SECURITY} == SECURITY
    assert headers["Content-Security-Policy"] == JSON_CSP
    lowered = [k.lower() for k in headers]
    assert len(lowered) == len(set(lowered))  # no header twice, whatever its case


@pytest.mark.parametrize("event", [b"not json", {"httpMethod": "GET"}])
def test_an_unreadable_event_is_answered_with_the_security_headers_too(event: Any) -> None:
    headers = serve(event, None, Router(), function="f")["headers"]
    assert {k: v for k, v in headers.items() if k in SECURITY} == SECURITY
    assert headers["Content-Security-Policy"] == JSON_CSP and headers["Cache-Control"] == "no-store"


def test_an_answer_that_is_not_json_has_no_json_policy_but_the_other_headers() -> None:
    headers = serve(build("fc3", "GET", "/empty"), None, security_router(), function="f")["headers"]
    assert {k: v for k, v in headers.items() if k in SECURITY} == SECURITY
    assert "Content-Security-Policy" not in headers


def test_an_answers_own_content_security_policy_wins_and_the_others_are_not_duplicated() -> None:
    page_csp = "default-src 'self'; frame-ancestors 'none'"

    def page(_r: Request, _p: Mapping[str, str]) -> Response:
        return Response(200, b"<!doctype html>", {"Content-Type": "text/html; charset=utf-8"})

    router = Router()
    router.add("GET", "/page", page)
    router.add("GET", "/api", ok)
    router.add_finisher(
        lambda r, response: response.with_headers(
            {"content-security-policy": page_csp, "x-content-type-options": "nosniff", "Referrer-Policy": "no-referrer"}
        )
    )
    for path in ("/page", "/api", "/nowhere"):
        headers = serve(build("scf", "GET", path), None, router, function="admin")["headers"]
        assert [v for k, v in headers.items() if k.lower() == "content-security-policy"] == [page_csp]
        assert [k for k in headers if k.lower() == "x-content-type-options"] == ["X-Content-Type-Options"]
        assert [k for k in headers if k.lower() == "referrer-policy"] == ["Referrer-Policy"]


def test_the_request_line_always_has_a_route_unmatched_when_none_matched(logs: Logs) -> None:
    router = security_router()
    for event in (build("fc3", "GET", "/nowhere"), build("scf", "POST", "/ok"), b"not json"):
        serve(event, None, router, function="f")
    serve(build("fc3", "GET", "/ok"), None, router, function="f")
    lines = [line for line in logs() if line["event"] == "request"]
    assert [(line["route"], line["status"]) for line in lines] == [
        ("unmatched", 404),
        ("unmatched", 405),
        ("unmatched", 400),
        ("/ok", 200),
    ]


def test_an_app_error_is_rendered_with_its_status_code_message_and_details() -> None:
    def conflict(_r: Request, _p: Mapping[str, str]) -> Response:
        raise Conflict("order is already refunded", details={"status": "REFUNDED"})

    router = Router()
    router.add("POST", "/v1/orders", conflict)
    answer = serve(load_event("scf_function_url_post"), None, router, function="create_order")
    assert answer["statusCode"] == 409
    assert answer_json(answer) == {
        "error": {"code": "CONFLICT", "message": "order is already refunded", "details": {"status": "REFUNDED"}}
    }


def test_an_unexpected_exception_is_a_bare_500_but_its_type_and_traceback_are_logged(logs: Logs) -> None:
    router = Router()
    router.add("POST", "/v1/orders", boom)
    answer = serve(load_event("fc3_http_post"), None, router, function="create_order")
    assert answer["statusCode"] == 500
    assert answer_json(answer) == {"error": {"code": "INTERNAL", "message": "internal error"}}
    assert "hunter2" not in json.dumps(answer) and "Traceback" not in json.dumps(answer)
    crash = next(line for line in logs() if line["event"] == "unhandled_exception")
    assert crash["error_type"] == "RuntimeError"
    assert "Traceback" in crash["traceback"] and "in boom" in crash["traceback"]
    assert crash["request_id"] == "1-6630a8f2-1a2b3c4d5e6f708192a3b4c5"


def test_a_handler_that_returns_something_else_than_a_response_is_a_500() -> None:
    router = Router()
    router.add("GET", "/v1/products", lambda r, p: {"products": []})  # type: ignore[arg-type,return-value]
    assert serve(fc3.build_event("GET", "/v1/products"), None, router, function="f")["statusCode"] == 500


def test_a_wechat_route_renders_errors_in_wechats_notification_answer_format() -> None:
    def refuse(_r: Request, _p: Mapping[str, str]) -> Response:
        raise Unavailable("storage unavailable, retry later")

    router = Router()
    router.add("POST", "/v1/notify/wechatpay", refuse, wechat_errors=True)
    router.add("POST", "/v1/notify/crash", boom, wechat_errors=True)
    answer = serve(load_event("fc3_http_base64"), None, router, function="payment_notify")
    assert answer["statusCode"] == 503
    assert answer_json(answer) == {"code": "FAIL", "message": "storage unavailable, retry later"}
    crashed = serve(fc3.build_event("POST", "/v1/notify/crash"), None, router, function="payment_notify")
    assert (crashed["statusCode"], answer_json(crashed)) == (500, {"code": "FAIL", "message": "internal error"})


def test_a_body_over_the_routes_limit_is_413_before_the_handler_runs() -> None:
    calls: list[Request] = []

    def record(request: Request, _p: Mapping[str, str]) -> Response:
        calls.append(request)
        return Response.empty()

    router = Router()
    router.add("POST", "/v1/notify/wechatpay", record, max_body=64, wechat_errors=True)
    too_big = serve(scf.build_event("POST", "/v1/notify/wechatpay", body=b"x" * 65), None, router, function="f")
    assert too_big["statusCode"] == 413
    assert answer_json(too_big)["code"] == "FAIL"
    assert calls == []
    fits = serve(scf.build_event("POST", "/v1/notify/wechatpay", body=b"x" * 64), None, router, function="f")
    assert (fits["statusCode"], len(calls)) == (204, 1)


@pytest.mark.parametrize("event", [b"not json", b"[]", "", None, 42, {"hello": "world"}, {"rawPath": "/v1/orders"}])
def test_an_event_that_cannot_be_read_is_answered_400_in_the_fc3_shape(event: Any) -> None:
    router = Router()
    router.add("POST", "/v1/orders", ok)
    answer = serve(event, SimpleNamespace(request_id="ctx-1"), router, function="create_order")
    assert set(answer) == {"statusCode", "headers", "isBase64Encoded", "body"}
    assert answer["statusCode"] == 400
    assert answer["headers"]["X-Request-Id"] == "ctx-1"
    assert answer_json(answer)["error"]["code"] == "VALIDATION_FAILED"


def test_a_broken_scf_event_is_answered_400_in_the_scf_shape() -> None:
    router = Router()
    answer = serve({"httpMethod": "GET"}, None, router, function="create_order")
    assert set(answer) == {"statusCode", "headers", "body", "isBase64Encoded"}
    assert answer["statusCode"] == 400


@pytest.mark.parametrize(
    ("event", "platform"),
    [
        (b"{}", "fc3"),
        ("{}", "fc3"),
        ({"rawPath": "/", "requestContext": {}}, "fc3"),
        ({"requestContext": {"http": {"method": "GET"}}}, "fc3"),
        ({"httpMethod": "GET", "path": "/"}, "scf"),
        ({"something": "else"}, "fc3"),
    ],
)
def test_the_platform_is_recognised_from_the_events_shape(event: Any, platform: str) -> None:
    assert platform_of(event) == platform


def test_one_request_line_is_logged_with_route_template_status_latency_and_outcome(logs: Logs) -> None:
    def paid(_r: Request, params: Mapping[str, str]) -> Response:
        log.bind(order_id=params["order_id"])
        return Response.json(200, {"status": "PAID"})

    router = Router()
    router.add("GET", "/v1/orders/{order_id}", paid)
    serve(load_event("scf_function_url_get"), None, router, function="order_status")
    (line,) = logs()
    assert line["event"] == "request"
    assert line["level"] == "info"
    assert line["function"] == "order_status"
    assert line["route"] == "/v1/orders/{order_id}"
    assert line["order_id"] == "ord_20240430_Q7mK2x9Pz"
    assert line["request_id"] == "5d672784-06cc-11ef-b5d6-5254005cb48d"
    assert (line["method"], line["status"], line["outcome"]) == ("GET", 200, "ok")
    assert isinstance(line["latency_ms"], (int, float)) and line["latency_ms"] >= 0
    assert "authorization" not in json.dumps(line).lower() and "pt_3f9a" not in json.dumps(line)


def test_a_client_error_is_logged_with_its_code_and_a_server_error_at_error_level(logs: Logs) -> None:
    def invalid(_r: Request, _p: Mapping[str, str]) -> Response:
        raise ValidationFailed("product_id is required")

    router = Router()
    router.add("POST", "/v1/orders", invalid)
    router.add("POST", "/v1/crash", boom)
    serve(fc3.build_event("POST", "/v1/orders"), None, router, function="create_order")
    serve(fc3.build_event("POST", "/v1/crash"), None, router, function="create_order")
    requests = [line for line in logs() if line["event"] == "request"]
    assert [(r["status"], r["outcome"], r["error_code"], r["level"]) for r in requests] == [
        (400, "client_error", "VALIDATION_FAILED", "info"),
        (500, "server_error", "INTERNAL", "error"),
    ]


def test_fields_bound_in_one_request_do_not_leak_into_the_next(logs: Logs) -> None:
    def bind_order(_r: Request, _p: Mapping[str, str]) -> Response:
        log.bind(order_id="ord_first")
        return Response.empty()

    router = Router()
    router.add("POST", "/bind", bind_order)
    router.add("GET", "/plain", ok)
    serve(fc3.build_event("POST", "/bind"), None, router, function="f")
    serve(fc3.build_event("GET", "/plain"), None, router, function="f")
    first, second = logs()
    assert first["order_id"] == "ord_first"
    assert "order_id" not in second
    assert log.bound() == {}


def test_healthz_answers_200_with_the_function_name_when_the_check_passes() -> None:
    router = Router()
    router.add_health(lambda: None)
    answer = serve(scf.build_event("GET", "/healthz"), None, router, function="payment_notify")
    assert answer["statusCode"] == 200
    assert answer_json(answer) == {"status": "ok", "function": "payment_notify"}


def test_healthz_answers_503_without_details_when_the_check_fails(logs: Logs) -> None:
    def unreachable() -> None:
        raise ConnectionError("could not connect to mysql://admin:hunter2@10.0.0.5")

    router = Router()
    router.add_health(unreachable)
    answer = serve(fc3.build_event("GET", "/healthz"), None, router, function="license")
    assert answer["statusCode"] == 503
    assert answer_json(answer) == {"status": "unavailable"}
    failed = next(line for line in logs() if line["event"] == "health_check_failed")
    assert failed["error_type"] == "ConnectionError"
    assert "hunter2" not in json.dumps(failed)
