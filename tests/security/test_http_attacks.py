"""Hostile HTTP against every public endpoint, over real HTTP (design §3): bodies too large, not JSON, JSON that
could mean two things, the wrong media type, the wrong method, paths that do not exist. Each is a clear 4xx in the
endpoint's error shape, never a 500, and nothing is written."""

from __future__ import annotations

import pytest

from tests.security.target import Target, json_bytes, new_install_id

JSON = "application/json"
# (path, largest body the route accepts, a valid body) for every public endpoint that reads a JSON body.
BODY_ENDPOINTS: dict[str, tuple[str, int]] = {
    "create order": ("/v1/orders", 4096),
    "activate": ("/v1/licenses/activate", 4096),
    "validate": ("/v1/licenses/validate", 8192),
    "deactivate": ("/v1/licenses/deactivate", 4096),
}

BAD_BODIES: dict[str, bytes] = {
    "empty body": b"",
    "whitespace only": b"  \n ",
    "truncated JSON": b'{"product_id": "pro-monthly", "install_id": ',
    "single quotes": b"{'product_id': 'pro-monthly'}",
    "trailing comma": b'{"product_id": "pro-monthly",}',
    "duplicate keys": b'{"product_id": "pro-monthly", "product_id": "pro-lifetime", "license_key": "a", "license_key": "b"}',
    "duplicate keys, nested": b'{"x": {"a": 1, "a": 2}}',
    "JSON array": b'[{"product_id": "pro-monthly"}]',
    "JSON string": b'"pro-monthly"',
    "JSON number": b"42",
    "JSON null": b"null",
    "JSON true": b"true",
    "NaN": b'{"product_id": NaN}',
    "Infinity": b'{"product_id": -Infinity}',
    "invalid UTF-8": b'{"product_id": "\xff\xfe"}',
    "UTF-16 JSON": '{"product_id": "pro-monthly"}'.encode("utf-16"),
    "UTF-8 BOM": b'\xef\xbb\xbf{"product_id": "pro-monthly"}',
    "nested 1500 deep": b"[" * 1500 + b"]" * 1500,
    "two JSON objects": b'{"product_id": "a"}{"product_id": "b"}',
}


@pytest.mark.parametrize("body", list(BAD_BODIES))
@pytest.mark.parametrize("endpoint", list(BODY_ENDPOINTS))
def test_a_body_that_is_not_one_json_object_is_400(target: Target, endpoint: str, body: str) -> None:
    path, _ = BODY_ENDPOINTS[endpoint]
    before = target.rows()

    answer = target.send("POST", path, [("Content-Type", JSON)], BAD_BODIES[body])

    target.refused(answer, 400, "VALIDATION_FAILED")
    target.unchanged_since(before)


CONTENT_TYPES: dict[str, str | None] = {
    "no Content-Type": None,
    "text/plain": "text/plain",
    "form": "application/x-www-form-urlencoded",
    "multipart": "multipart/form-data; boundary=x",
    "JSON in Latin-1": "application/json; charset=iso-8859-1",
    "JSON in UTF-16": "application/json; charset=utf-16",
    "a JSON look-alike": "application/jsonp",
    "JSON patch": "application/json-patch+json",
    "XML": "application/xml",
}


@pytest.mark.parametrize("content_type", list(CONTENT_TYPES))
@pytest.mark.parametrize("endpoint", list(BODY_ENDPOINTS))
def test_a_body_of_another_media_type_is_415(target: Target, endpoint: str, content_type: str) -> None:
    path, _ = BODY_ENDPOINTS[endpoint]
    value = CONTENT_TYPES[content_type]
    headers = [("Content-Type", value)] if value else []
    before = target.rows()

    answer = target.send(
        "POST", path, headers, json_bytes({"product_id": "pro-monthly", "install_id": new_install_id()})
    )

    target.refused(answer, 415, "UNSUPPORTED_MEDIA_TYPE")
    target.unchanged_since(before)


@pytest.mark.parametrize("endpoint", list(BODY_ENDPOINTS))
def test_a_body_one_byte_over_the_routes_limit_is_413(target: Target, endpoint: str) -> None:
    path, limit = BODY_ENDPOINTS[endpoint]
    body = b'{"pad": "' + b"x" * (limit - 10) + b'"}'
    assert len(body) == limit + 1
    before = target.rows()

    answer = target.send("POST", path, [("Content-Type", JSON)], body)

    target.refused(answer, 413, "PAYLOAD_TOO_LARGE")
    target.unchanged_since(before)


def test_an_oversized_notification_is_413_in_wechats_shape(target: Target) -> None:
    before = target.rows()
    answer = target.send("POST", "/v1/notify/wechatpay", [("Content-Type", JSON)], b'{"id": "' + b"x" * 65536 + b'"}')
    records = target.refused(answer, 413, "FAIL", wechat=True)
    assert next(r for r in records if r["event"] == "request")["error_code"] == "PAYLOAD_TOO_LARGE"
    target.unchanged_since(before)


@pytest.mark.parametrize("path", ["/v1/orders", "/v1/notify/wechatpay", "/v1/licenses/activate"])
def test_a_body_announced_larger_than_any_function_takes_is_413_before_it_is_read(target: Target, path: str) -> None:
    before = target.rows()
    answer = target.send("POST", path, [("Content-Type", JSON)], b"{}", content_length=64 * 1024 * 1024)
    assert (answer.status, answer.json()["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")
    target.unchanged_since(before)


# (method, path) -> the methods the path allows. Routed to the function by the gateway, answered by its router.
WRONG_METHODS: dict[str, tuple[str, str, str]] = {
    "POST products": ("POST", "/v1/products", "GET"),
    "DELETE products": ("DELETE", "/v1/products", "GET"),
    "POST an order": ("POST", "/v1/orders/oAbcdefghijklmnopqrstuv", "GET"),
    "PUT an order": ("PUT", "/v1/orders/oAbcdefghijklmnopqrstuv", "GET"),
    "DELETE an order": ("DELETE", "/v1/orders/oAbcdefghijklmnopqrstuv", "GET"),
    "POST history": ("POST", "/v1/history", "GET"),
    "DELETE history": ("DELETE", "/v1/history", "GET"),
    "GET activate": ("GET", "/v1/licenses/activate", "POST"),
    "PUT validate": ("PUT", "/v1/licenses/validate", "POST"),
    "DELETE deactivate": ("DELETE", "/v1/licenses/deactivate", "POST"),
    "POST keys": ("POST", "/v1/licenses/keys", "GET"),
}


@pytest.mark.parametrize("case", list(WRONG_METHODS))
def test_a_wrong_method_is_405_with_allow(target: Target, case: str) -> None:
    method, path, allow = WRONG_METHODS[case]
    before = target.rows()

    answer = target.send(method, path, [("Content-Type", JSON)], b"{}" if method != "GET" else b"")

    target.refused(answer, 405, "METHOD_NOT_ALLOWED")
    assert answer.header("Allow") == allow
    target.unchanged_since(before)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_wrong_method_on_the_notify_url_is_405_with_allow(target: Target, method: str) -> None:
    # No route was chosen, so the answer has the API's error shape, not WeChat's: only WeChat calls here, by POST.
    before = target.rows()
    answer = target.send(method, "/v1/notify/wechatpay")
    target.refused(answer, 405, "METHOD_NOT_ALLOWED")
    assert answer.header("Allow") == "POST"
    target.unchanged_since(before)


# Paths no function serves: the gateway answers (as the FC custom domain's routes would) ...
UNROUTED = [
    "/",
    "/v1",
    "/v1/order",
    "/v1/orders/",
    "/v1/orders/a/b",
    "/v2/orders",
    "/v1/notify/alipay",
    "/.env",
    "/etc/passwd",
    "/v1/orders/..%2F..%2Fetc%2Fpasswd",
    "/v1/../../etc/passwd",
    "/V1/PRODUCTS",
]
# ... or the function that owns the prefix answers with its router's 404.
UNKNOWN_IN_FUNCTION = ["/v1/licenses/unknown", "/v1/licenses/activate/extra", "/v1/licenses/..%2Fkeys"]


@pytest.mark.parametrize("path", UNROUTED)
def test_an_unknown_path_is_404_from_the_gateway(target: Target, path: str) -> None:
    before = target.rows()
    answer = target.send("GET", path)
    assert (answer.status, answer.json()["error"]["code"]) == (404, "NOT_FOUND"), answer.body
    target.unchanged_since(before)


@pytest.mark.parametrize("path", UNKNOWN_IN_FUNCTION)
def test_an_unknown_path_under_a_function_is_404(target: Target, path: str) -> None:
    before = target.rows()
    target.refused(target.send("GET", path), 404, "NOT_FOUND")
    target.unchanged_since(before)
