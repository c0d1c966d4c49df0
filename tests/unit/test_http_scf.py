"""Tencent SCF function URL events <-> Request / Response (serverless-reference §3)."""

from __future__ import annotations

import base64
import copy
import dataclasses
from types import SimpleNamespace
from typing import Any

import pytest

from shared.errors import ValidationFailed
from shared.http import fc3, scf
from shared.http.request import Request, Response
from tests.events import load_event


def event(name: str) -> dict[str, Any]:
    return copy.deepcopy(load_event(name))


def test_scf_delivers_canned_events_as_dicts_with_the_captured_fields() -> None:
    post = load_event("scf_function_url_post")
    assert isinstance(post, dict)
    assert {"headerParameters", "pathParameters", "queryStringParameters", "requestContext"} <= set(post)


def test_a_canned_post_parses_into_method_path_headers_exact_body_request_id_and_source_ip() -> None:
    request = scf.parse(load_event("scf_function_url_post"), None)
    assert (request.method, request.path) == ("POST", "/v1/orders")
    assert request.body == b'{"product_id":"pro-monthly","install_id":"q9Vw3kY1Rj2nT8mXb4LzPg"}'
    assert request.headers["Content-Type"] == "application/json"
    assert request.request_id == "c3b3a3e4-06cc-11ef-9795-525400d4c756"
    assert request.source_ip == "203.0.113.45"
    assert request.platform == "scf"


def test_a_canned_get_carries_its_query_and_authorization() -> None:
    request = scf.parse(load_event("scf_function_url_get"), None)
    assert (request.method, request.path, request.body) == ("GET", "/v1/orders/ord_20240430_Q7mK2x9Pz", b"")
    assert dict(request.query) == {"wait": "1", "lang": "zh-CN", "q": "课程 进阶"}
    assert request.headers["AUTHORIZATION"] == "Bearer pt_3f9a7c1e5b2d8046a1c9e7f3b5d2a804"


def comparable(request: Request) -> Request:
    """What a handler sees, minus what only the delivering platform knows (its id and its own x-scf-* headers)."""
    headers = [(name, value) for name, value in request.headers.items() if not name.startswith("x-scf-")]
    return dataclasses.replace(request, request_id="-", platform="-", headers=type(request.headers)(headers))


@pytest.mark.parametrize(
    ("fc3_name", "scf_name"),
    [("fc3_http_post", "scf_function_url_post"), ("fc3_http_get_query", "scf_function_url_get")],
)
def test_the_same_request_from_either_cloud_parses_into_the_same_request(fc3_name: str, scf_name: str) -> None:
    from_fc3 = fc3.parse(load_event(fc3_name), None)
    from_scf = scf.parse(load_event(scf_name), None)
    assert comparable(from_fc3) == comparable(from_scf)


def test_a_raw_query_string_is_parsed_too_and_the_first_repeated_value_wins() -> None:
    raw = event("scf_function_url_get")
    raw["queryString"] = "wait=1&lang=zh-CN&q=%E8%AF%BE%E7%A8%8B+%E8%BF%9B%E9%98%B6&wait=2&empty="
    assert dict(scf.parse(raw, None).query) == {"wait": "1", "lang": "zh-CN", "q": "课程 进阶", "empty": ""}


def test_a_query_dict_with_list_values_keeps_the_first() -> None:
    raw = event("scf_function_url_get")
    raw["queryString"] = {"wait": ["1", "2"], "n": 3}
    assert dict(scf.parse(raw, None).query) == {"wait": "1", "n": "3"}


def test_query_string_parameters_are_used_when_query_string_is_empty() -> None:
    raw = event("scf_function_url_get")
    raw["queryString"] = {}
    raw["queryStringParameters"] = {"wait": "1"}
    assert dict(scf.parse(raw, None).query) == {"wait": "1"}


def test_the_request_id_comes_from_the_header_then_request_context_then_context() -> None:
    raw = event("scf_function_url_post")
    raw["requestContext"]["requestId"] = "from-request-context"
    context = SimpleNamespace(request_id="from-context")
    assert scf.parse(raw, context).request_id == "c3b3a3e4-06cc-11ef-9795-525400d4c756"
    del raw["headers"]["x-scf-request-id"]
    assert scf.parse(raw, context).request_id == "from-request-context"
    del raw["requestContext"]["requestId"]
    assert scf.parse(raw, context).request_id == "from-context"
    assert scf.parse(raw, None).request_id  # generated


def test_the_source_ip_comes_from_the_platform_set_request_context_before_the_remote_addr_header() -> None:
    raw = event("scf_function_url_post")
    raw["requestContext"]["sourceIp"] = "198.51.100.7"
    raw["headers"]["x-scf-remote-addr"] = "203.0.113.45"
    assert scf.parse(raw, None).source_ip == "198.51.100.7"
    del raw["requestContext"]
    assert scf.parse(raw, None).source_ip == "203.0.113.45"
    del raw["headers"]["x-scf-remote-addr"]
    assert scf.parse(raw, None).source_ip is None


def test_a_base64_flagged_body_is_decoded_to_the_exact_bytes_sent() -> None:
    raw = event("scf_function_url_post")
    raw["body"] = base64.b64encode(b"\x00\xff binary").decode()
    raw["isBase64Encoded"] = True
    assert scf.parse(raw, None).body == b"\x00\xff binary"


def test_a_missing_body_is_an_empty_body() -> None:
    raw = event("scf_function_url_get")
    del raw["body"]
    assert scf.parse(raw, None).body == b""


def test_a_comma_in_a_wechatpay_header_means_it_was_sent_twice() -> None:
    raw = event("scf_function_url_post")
    raw["headers"]["wechatpay-serial"] = "PUB_KEY_ID_1, PUB_KEY_ID_2"
    headers = scf.parse(raw, None).headers
    assert headers.duplicated("Wechatpay-Serial")
    assert headers["wechatpay-serial"] == "PUB_KEY_ID_1"


def test_render_gives_the_full_function_url_answer_struct() -> None:
    rendered = scf.render(Response.json(409, {"error": {"code": "CONFLICT", "message": "已退款"}}))
    assert rendered == {
        "statusCode": 409,
        "headers": {"Cache-Control": "no-store", "Content-Type": "application/json; charset=utf-8"},
        "body": '{"error":{"code":"CONFLICT","message":"已退款"}}',
        "isBase64Encoded": False,
    }


def test_render_base64_encodes_a_body_that_is_not_utf8() -> None:
    rendered = scf.render(Response(200, b"\xff\x00", {}))
    assert rendered["isBase64Encoded"] is True
    assert base64.b64decode(rendered["body"]) == b"\xff\x00"


def test_build_event_has_the_function_url_shape() -> None:
    built = scf.build_event("get", "/healthz", headers={"User-Agent": "ua"}, request_id="r-1", source_ip="10.1.2.3")
    assert set(built) == {
        "body",
        "headers",
        "httpMethod",
        "path",
        "queryString",
        "headerParameters",
        "isBase64Encoded",
        "pathParameters",
        "queryStringParameters",
        "requestContext",
    }
    assert built["headers"] == {"user-agent": "ua", "x-scf-request-id": "r-1", "x-scf-remote-addr": "10.1.2.3"}
    assert (built["httpMethod"], built["requestContext"]["sourceIp"]) == ("GET", "10.1.2.3")


@pytest.mark.parametrize(
    ("path", "query", "body"),
    [
        ("/v1/orders", None, b'{"product_id":"pro-monthly"}'),
        ("/v1/orders/ord_1", {"wait": "1", "q": "课程 进阶"}, b""),
        ("/v1/blobs", None, bytes(range(256))),
        ("/v1/orders/课程", None, b""),
    ],
)
def test_build_event_then_parse_round_trips(path: str, query: dict[str, str] | None, body: bytes) -> None:
    built = scf.build_event(
        "POST", path, query=query, headers={"Content-Type": "application/json"}, body=body, request_id="r-7"
    )
    request = scf.parse(built, None)
    assert (request.method, request.path, request.body) == ("POST", path, body)
    assert dict(request.query) == (query or {})
    assert request.headers["content-type"] == "application/json"
    assert (request.request_id, request.source_ip, request.platform) == ("r-7", "127.0.0.1", "scf")


def test_build_event_comma_joins_repeated_headers_so_duplicates_stay_visible() -> None:
    built = scf.build_event(
        "POST", "/v1/notify/wechatpay", headers=[("Wechatpay-Nonce", "a"), ("Wechatpay-Nonce", "b")]
    )
    assert scf.parse(built, None).headers.duplicated("wechatpay-nonce")


@pytest.mark.parametrize(
    "spoil",
    [
        lambda e: e.pop("path"),
        lambda e: e.pop("httpMethod"),
        lambda e: e.update(httpMethod="GET /"),
        lambda e: e.update(headers="content-type: x"),
        lambda e: e.update(isBase64Encoded=True, body="***"),
        lambda e: e.update(body=["not", "a", "string"]),
        lambda e: e.update(path=17),
    ],
)
def test_an_event_of_the_wrong_shape_is_refused_as_a_bad_request(spoil: Any) -> None:
    raw = event("scf_function_url_post")
    spoil(raw)
    with pytest.raises(ValidationFailed):
        scf.parse(raw, None)


def test_something_that_is_not_a_dict_is_refused_as_a_bad_request() -> None:
    with pytest.raises(ValidationFailed):
        scf.parse("not a dict", None)  # type: ignore[arg-type]
