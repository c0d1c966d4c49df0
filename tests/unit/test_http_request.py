"""The platform-neutral model: Headers, Request.json and Response constructors."""

from __future__ import annotations

import json

import pytest

from shared.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from shared.http.request import Headers, Request, Response


def make_request(body: bytes, content_type: str | None = "application/json") -> Request:
    headers = Headers([("Content-Type", content_type)] if content_type is not None else [])
    return Request("POST", "/v1/orders", {}, headers, body, "req-1", "203.0.113.9", "fc3")


def test_headers_are_read_case_insensitively_and_iterate_as_lower_case_names() -> None:
    headers = Headers([("Content-Type", "application/json"), ("Wechatpay-Serial", "PUB_KEY_ID_1")])
    assert headers["content-type"] == "application/json"
    assert headers.get("WECHATPAY-SERIAL") == "PUB_KEY_ID_1"
    assert "wechatpay-serial" in headers
    assert list(headers) == ["content-type", "wechatpay-serial"]
    assert headers.get("missing") is None


def test_a_repeated_header_keeps_its_first_value_and_is_known_to_be_duplicated() -> None:
    headers = Headers([("Wechatpay-Signature", "first"), ("wechatpay-signature", "second"), ("Accept", "*/*")])
    assert headers["wechatpay-signature"] == "first"
    assert headers.duplicated("Wechatpay-Signature")
    assert not headers.duplicated("accept")
    assert not headers.duplicated("absent")


def test_headers_cannot_be_changed_and_their_repr_shows_no_values() -> None:
    headers = Headers([("Authorization", "Bearer secret-poll-token")])
    with pytest.raises(TypeError):
        headers["authorization"] = "x"  # type: ignore[index]
    assert "secret-poll-token" not in repr(headers)
    assert "secret-poll-token" not in repr(make_request(b'{"poll_token":"secret-poll-token"}'))


def test_json_reads_an_object_sent_as_json_with_or_without_a_charset() -> None:
    body = '{"product_id":"pro-monthly","note":"课程"}'.encode()
    assert make_request(body).json() == {"product_id": "pro-monthly", "note": "课程"}
    assert make_request(body, "Application/JSON; charset=UTF-8").json()["note"] == "课程"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/jsonx"])
def test_json_refuses_a_body_that_is_not_declared_as_json_with_415(content_type: str | None) -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        make_request(b"{}", content_type).json()
    assert caught.value.status == 415


def test_json_refuses_json_declared_in_another_charset_with_415() -> None:
    with pytest.raises(UnsupportedMediaType):
        make_request(b"{}", "application/json; charset=iso-8859-1").json()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"a": 1', "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b'{"a": "\xff"}', "not UTF-8"),
        ('{"a": 1}'.encode("utf-16"), "not UTF-8"),
        (b'{"amount": NaN}', "not valid JSON"),
        (b'{"amount": 1, "amount": 100}', "duplicate key"),
        (b"[" * 100000 + b"]" * 100000, "not valid JSON"),
    ],
)
def test_json_refuses_a_malformed_body_with_400_saying_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        make_request(body).json(max_bytes=len(body) + 1)
    assert caught.value.status == 400
    assert message in caught.value.message


def test_a_json_error_never_echoes_the_body() -> None:
    with pytest.raises(ValidationFailed) as caught:
        make_request(b'{"install_id": "s3cr3t-install"').json()
    assert "s3cr3t" not in caught.value.message


def test_json_refuses_a_body_over_the_limit_with_413_before_looking_at_its_type() -> None:
    with pytest.raises(PayloadTooLarge) as caught:
        make_request(b"x" * 101, "text/plain").json(max_bytes=100)
    assert caught.value.status == 413
    assert make_request(b'{"a":"' + b"x" * 92 + b'"}').json(max_bytes=100) == {"a": "x" * 92}


def test_a_json_response_is_compact_utf8_not_cached_and_typed() -> None:
    response = Response.json(201, {"order_id": "ord_1", "description": "课程"})
    assert response.status == 201
    assert response.body == '{"order_id":"ord_1","description":"课程"}'.encode()
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert json.loads(response.body) == {"order_id": "ord_1", "description": "课程"}


def test_extra_headers_of_a_json_response_replace_defaults_whatever_their_case() -> None:
    response = Response.json(200, {}, {"content-type": "application/problem+json", "ETag": '"1"'})
    assert dict(response.headers) == {
        "Cache-Control": "no-store",
        "content-type": "application/problem+json",
        "ETag": '"1"',
    }


def test_an_empty_response_is_204_with_no_body_and_no_content_type() -> None:
    response = Response.empty()
    assert (response.status, response.body) == (204, b"")
    assert dict(response.headers) == {"Cache-Control": "no-store"}


def test_a_text_response_carries_its_content_type() -> None:
    response = Response.text(200, "<svg/>", "image/svg+xml")
    assert response.body == b"<svg/>"
    assert response.headers["Content-Type"] == "image/svg+xml"
    assert response.headers["Cache-Control"] == "no-store"


def test_with_headers_returns_a_copy_with_headers_replaced_case_insensitively() -> None:
    original = Response.json(200, {}, {"cache-control": "max-age=60"})
    changed = original.with_headers({"Cache-Control": "no-store", "X-Request-Id": "r1"})
    assert changed.headers["X-Request-Id"] == "r1"
    assert [k for k in changed.headers if k.lower() == "cache-control"] == ["Cache-Control"]
    assert changed.headers["Cache-Control"] == "no-store"
    assert original.headers["cache-control"] == "max-age=60"
