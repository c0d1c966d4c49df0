"""Tencent SCF function URL: event dict <-> Request, Response -> the function URL's answer dict.

Documented event (serverless-reference §3): `body`, `headers` (lower-case names, client IP in `x-scf-remote-addr`),
`httpMethod`, `path`, `queryString`. Captured events also carry `headerParameters`, `isBase64Encoded`,
`pathParameters`, `queryStringParameters`, `requestContext.sourceIp` and `x-scf-request-id`, so every field is
read defensively and `queryString` may be a dict or a raw string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.http._events import (
    HeaderInput,
    as_mapping,
    bad_event,
    choose_request_id,
    decode_body,
    decode_path,
    encode_body,
    encode_path,
    first_address,
    join_headers,
    opt_str,
    parse_headers,
    parse_method,
    parse_query,
)
from shared.http.request import Request, Response

PLATFORM = "scf"


def parse(event: Mapping[str, Any], context: Any) -> Request:
    """Read an SCF function URL event; a shape we cannot read raises ValidationFailed (400)."""
    data = as_mapping(event, "the event")
    request_context = as_mapping(data.get("requestContext"), "requestContext")
    headers = parse_headers(data.get("headers"))
    path = opt_str(data, "path")
    if path is None:
        raise bad_event("no path")
    query = data.get("queryString") or data.get("queryStringParameters")
    return Request(
        method=parse_method(data.get("httpMethod") or request_context.get("httpMethod")),
        path=decode_path(path),
        query=parse_query(query),
        headers=headers,
        body=decode_body(data.get("body"), data.get("isBase64Encoded")),
        request_id=choose_request_id(
            headers.get("x-scf-request-id"), request_context.get("requestId"), getattr(context, "request_id", None)
        ),
        # requestContext is set by the platform, never by the client: prefer it to a header.
        source_ip=first_address(request_context.get("sourceIp"), headers.get("x-scf-remote-addr")),
        platform=PLATFORM,
    )


def render(response: Response) -> dict[str, Any]:
    """Always the full struct: without `statusCode` SCF would answer 200 with our dict as the body."""
    body, is_base64 = encode_body(response.body)
    return {
        "statusCode": response.status,
        "headers": dict(response.headers),
        "body": body,
        "isBase64Encoded": is_base64,
    }


def build_event(
    method: str,
    path: str,
    *,
    query: Mapping[str, str] | None = None,
    headers: HeaderInput = None,
    body: bytes = b"",
    request_id: str | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """The dict an SCF function URL would deliver for this request: for the local gateway and tests.

    `path` is the path as sent on the wire; `headers` a mapping or (name, value) pairs (repeats comma-joined).
    """
    text, is_base64 = encode_body(body)
    chosen_id = request_id or choose_request_id()
    joined = join_headers(headers, lower=True)
    joined.update({"x-scf-request-id": chosen_id, "x-scf-remote-addr": source_ip})
    return {
        "body": text,
        "headers": joined,
        "httpMethod": method.upper(),
        "path": encode_path(path),
        "queryString": dict(query or {}),
        "headerParameters": {},
        "isBase64Encoded": is_base64,
        "pathParameters": {},
        "queryStringParameters": {},
        "requestContext": {"sourceIp": source_ip, "requestId": chosen_id},
    }
