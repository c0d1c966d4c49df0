"""Alibaba FC 3.0 HTTP trigger events <-> Request / Response (serverless-reference §1)."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace
from typing import Any

import pytest

from shared.errors import ValidationFailed
from shared.http import fc3
from shared.http.request import Response
from tests.events import load_event

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"


def event_dict(name: str) -> dict[str, Any]:
    return json.loads(load_event(name))  # type: ignore[no-any-return]


def test_fc_delivers_canned_events_as_bytes() -> None:
    assert isinstance(load_event("fc3_http_post"), bytes)


def test_a_canned_post_parses_into_method_path_headers_exact_body_request_id_and_source_ip() -> None:
    request = fc3.parse(load_event("fc3_http_post"), None)
    assert request.method == "POST"
    assert request.path == "/v1/orders"
    assert dict(request.query) == {}
    assert request.body == b'{"product_id":"pro-monthly","install_id":"q9Vw3kY1Rj2nT8mXb4LzPg"}'
    assert request.request_id == "1-6630a8f2-1a2b3c4d5e6f708192a3b4c5"
    assert request.source_ip == "203.0.113.45"
    assert request.platform == "fc3"
    assert request.json() == {"product_id": "pro-monthly", "install_id": "q9Vw3kY1Rj2nT8mXb4LzPg"}


def test_headers_of_a_canned_event_are_case_insensitive() -> None:
    headers = fc3.parse(load_event("fc3_http_post"), None).headers
    assert headers["idempotency-key"] == headers["Idempotency-Key"] == "7c0e2f4a-9b1d-4e8f-a3c5-6d2b8f0e1a47"
    assert headers.get("USER-AGENT") == UA
    assert all(name == name.lower() for name in headers)


def test_a_canned_get_carries_its_query_parameters_and_authorization() -> None:
    request = fc3.parse(load_event("fc3_http_get_query"), None)
    assert (request.method, request.path) == ("GET", "/v1/orders/ord_20240430_Q7mK2x9Pz")
    assert dict(request.query) == {"wait": "1", "lang": "zh-CN", "q": "课程 进阶"}
    assert request.headers["authorization"] == "Bearer pt_3f9a7c1e5b2d8046a1c9e7f3b5d2a804"
    assert request.body == b""


def test_a_base64_flagged_body_is_decoded_to_the_exact_bytes_sent() -> None:
    event = event_dict("fc3_http_base64")
    request = fc3.parse(load_event("fc3_http_base64"), None)
    assert request.body == base64.b64decode(event["body"])
    assert "支付成功".encode() in request.body
    assert len(request.body) == int(request.headers["content-length"])
    assert request.headers["wechatpay-serial"] == "PUB_KEY_ID_0114232134912410000000000000"
    assert not request.headers.duplicated("wechatpay-signature")


def test_the_same_event_as_bytes_str_or_dict_parses_the_same() -> None:
    raw = load_event("fc3_http_post")
    assert fc3.parse(raw, None) == fc3.parse(raw.decode(), None) == fc3.parse(json.loads(raw), None)


def test_the_url_encoded_raw_path_is_decoded() -> None:
    event = event_dict("fc3_http_get_query")
    event["rawPath"] = "/v1/orders/%E8%AF%BE%E7%A8%8B%20x"
    assert fc3.parse(event, None).path == "/v1/orders/课程 x"


def test_without_a_raw_path_the_already_decoded_http_path_is_used_as_is() -> None:
    event = event_dict("fc3_http_get_query")
    del event["rawPath"]
    event["requestContext"]["http"]["path"] = "/v1/orders/100%25"
    assert fc3.parse(event, None).path == "/v1/orders/100%25"


def test_the_request_id_falls_back_to_the_context_then_to_a_generated_one() -> None:
    event = event_dict("fc3_http_post")
    del event["requestContext"]["requestId"]
    assert fc3.parse(event, SimpleNamespace(request_id="ctx-42")).request_id == "ctx-42"
    generated = {fc3.parse(event, None).request_id for _ in range(3)}
    assert len(generated) == 3


def test_a_request_id_that_could_split_a_header_is_not_trusted() -> None:
    event = event_dict("fc3_http_post")
    event["requestContext"]["requestId"] = "abc\r\nSet-Cookie: x=1"
    request_id = fc3.parse(event, None).request_id
    assert "\n" not in request_id and "Set-Cookie" not in request_id


def test_a_comma_in_a_wechatpay_header_means_it_was_sent_twice() -> None:
    event = event_dict("fc3_http_base64")
    event["headers"]["Wechatpay-Signature"] = "c2lnMQ==,c2lnMg=="
    headers = fc3.parse(event, None).headers
    assert headers.duplicated("wechatpay-signature")
    assert headers["wechatpay-signature"] == "c2lnMQ=="


def test_a_comma_in_an_ordinary_header_is_just_part_of_its_value() -> None:
    headers = fc3.parse(load_event("fc3_http_post"), None).headers
    assert headers["accept-encoding"] == "gzip, deflate, br"
    assert not headers.duplicated("accept-encoding")


def test_render_gives_the_full_fc3_answer_struct() -> None:
    response = Response.json(201, {"order_id": "ord_1", "title": "课程"}, {"X-Request-Id": "r1"})
    assert fc3.render(response) == {
        "statusCode": 201,
        "headers": {
            "Cache-Control": "no-store",
            "Content-Type": "application/json; charset=utf-8",
            "X-Request-Id": "r1",
        },
        "isBase64Encoded": False,
        "body": '{"order_id":"ord_1","title":"课程"}',
    }


def test_render_base64_encodes_a_body_that_is_not_utf8() -> None:
    rendered = fc3.render(Response(200, b"\x89PNG\r\n\x1a\n\xff", {"Content-Type": "image/png"}))
    assert rendered["isBase64Encoded"] is True
    assert base64.b64decode(rendered["body"]) == b"\x89PNG\r\n\x1a\n\xff"


def test_render_of_an_empty_answer_has_an_empty_string_body() -> None:
    assert fc3.render(Response.empty())["body"] == ""


def test_build_event_has_the_fc3_shape_as_bytes_of_json() -> None:
    raw = fc3.build_event("post", "/v1/orders", headers={"User-Agent": "ua"}, body=b"{}", request_id="r-1")
    event = json.loads(raw)
    assert set(event) == {
        "version",
        "rawPath",
        "body",
        "isBase64Encoded",
        "headers",
        "queryParameters",
        "requestContext",
    }
    assert set(event["requestContext"]) >= {"accountId", "domainName", "requestId", "time", "timeEpoch", "http"}
    assert event["requestContext"]["http"] == {
        "method": "POST",
        "path": "/v1/orders",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "ua",
    }
    assert isinstance(event["requestContext"]["timeEpoch"], str)
    assert (event["version"], event["body"], event["isBase64Encoded"]) == ("v1", "{}", False)


@pytest.mark.parametrize(
    ("path", "query", "body"),
    [
        ("/v1/orders", None, b'{"product_id":"pro-monthly"}'),
        ("/v1/orders/ord_1", {"wait": "1", "q": "课程 进阶"}, b""),
        ("/v1/notify/wechatpay", None, '{"summary":"支付成功"}'.encode()),
        ("/v1/blobs", None, bytes(range(256))),
        ("/v1/orders/课程", None, b""),
    ],
)
def test_build_event_then_parse_round_trips(path: str, query: dict[str, str] | None, body: bytes) -> None:
    headers = {"Content-Type": "application/json", "Authorization": "Bearer t"}
    raw = fc3.build_event("POST", path, query=query, headers=headers, body=body, request_id="r-7", source_ip="10.0.0.9")
    request = fc3.parse(raw, None)
    assert (request.method, request.path, request.body) == ("POST", path, body)
    assert dict(request.query) == (query or {})
    assert dict(request.headers) == {"content-type": "application/json", "authorization": "Bearer t"}
    assert (request.request_id, request.source_ip, request.platform) == ("r-7", "10.0.0.9", "fc3")


def test_build_event_base64_encodes_a_body_that_is_not_utf8() -> None:
    event = json.loads(fc3.build_event("POST", "/x", body=b"\xff\xfe"))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\xfe"


def test_build_event_comma_joins_repeated_headers_as_fc_does_so_duplicates_stay_visible() -> None:
    pairs = [("Wechatpay-Timestamp", "1714464965"), ("Wechatpay-Timestamp", "1714464999"), ("Accept", "*/*")]
    raw = fc3.build_event("POST", "/v1/notify/wechatpay", headers=pairs)
    assert json.loads(raw)["headers"]["Wechatpay-Timestamp"] == "1714464965,1714464999"
    headers = fc3.parse(raw, None).headers
    assert headers.duplicated("wechatpay-timestamp")
    assert headers["wechatpay-timestamp"] == "1714464965"


def test_build_event_keeps_percent_escapes_of_a_wire_path() -> None:
    raw = fc3.build_event("GET", "/v1/orders/a%2Fb")
    assert json.loads(raw)["rawPath"] == "/v1/orders/a%2Fb"
    assert fc3.parse(raw, None).path == "/v1/orders/a/b"


def _without_method(event: dict[str, Any]) -> None:
    del event["requestContext"]["http"]["method"]


def _without_any_path(event: dict[str, Any]) -> None:
    del event["rawPath"]
    del event["requestContext"]["http"]["path"]


def _bad_base64(event: dict[str, Any]) -> None:
    event["isBase64Encoded"] = True
    event["body"] = "not base64!"


def _bad_path_escape(event: dict[str, Any]) -> None:
    event["rawPath"] = "/v1/%FF"


def _headers_not_an_object(event: dict[str, Any]) -> None:
    event["headers"] = ["Accept: */*"]


def _body_not_a_string(event: dict[str, Any]) -> None:
    event["body"] = {"product_id": "x"}


@pytest.mark.parametrize(
    "spoil",
    [_without_method, _without_any_path, _bad_base64, _bad_path_escape, _headers_not_an_object, _body_not_a_string],
)
def test_an_event_of_the_wrong_shape_is_refused_as_a_bad_request(spoil: Any) -> None:
    event = event_dict("fc3_http_post")
    spoil(event)
    with pytest.raises(ValidationFailed):
        fc3.parse(json.dumps(event).encode(), None)


@pytest.mark.parametrize("raw", [b"not json", b"\xff\xfe", b"[1, 2]", b"null", b""])
def test_bytes_that_are_not_a_json_object_are_refused_as_a_bad_request(raw: bytes) -> None:
    with pytest.raises(ValidationFailed):
        fc3.parse(raw, None)
