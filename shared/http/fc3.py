"""Alibaba Function Compute 3.0 HTTP trigger: event bytes <-> Request, Response -> the trigger's answer dict.

The event is bytes of JSON (serverless-reference §1): `rawPath` (URL-encoded), `body` (str), `isBase64Encoded`,
`headers` and `queryParameters` (repeated values comma-joined, no raw query string), and `requestContext` with
`requestId` and `http.{method, path, protocol, sourceIp, userAgent}`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

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

PLATFORM = "fc3"


def _load(event: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(event, Mapping):
        return event
    try:
        data = json.loads(event.decode("utf-8") if isinstance(event, bytes) else event)
    except (ValueError, AttributeError, TypeError, RecursionError):
        raise bad_event("the event is not UTF-8 JSON") from None
    return as_mapping(data, "the event")


def _path(data: Mapping[str, Any], http: Mapping[str, Any]) -> str:
    raw_path = opt_str(data, "rawPath")
    if raw_path is not None:
        return decode_path(raw_path)
    decoded = opt_str(http, "path")  # already decoded by FC: do not unquote twice
    if decoded is None:
        raise bad_event("no path")
    return decoded if decoded.startswith("/") else "/" + decoded


def parse(event: bytes | str | Mapping[str, Any], context: Any) -> Request:
    """Read an FC 3.0 HTTP trigger event; a shape we cannot read raises ValidationFailed (400)."""
    data = _load(event)
    request_context = as_mapping(data.get("requestContext"), "requestContext")
    http = as_mapping(request_context.get("http"), "requestContext.http")
    return Request(
        method=parse_method(http.get("method")),
        path=_path(data, http),
        query=parse_query(data.get("queryParameters")),
        headers=parse_headers(data.get("headers")),
        body=decode_body(data.get("body"), data.get("isBase64Encoded")),
        request_id=choose_request_id(request_context.get("requestId"), getattr(context, "request_id", None)),
        source_ip=first_address(http.get("sourceIp")),
        platform=PLATFORM,
    )


def render(response: Response) -> dict[str, Any]:
    """The full answer struct FC 3.0 expects (anything else makes it guess)."""
    body, is_base64 = encode_body(response.body)
    return {
        "statusCode": response.status,
        "headers": dict(response.headers),
        "isBase64Encoded": is_base64,
        "body": body,
    }


def _request_context(http: dict[str, str], request_id: str | None) -> dict[str, Any]:
    now_ms = int(time.time() * 1000)
    return {
        "accountId": "1234567890123456",
        "domainName": "local.cn-hangzhou.fcapp.run",
        "domainPrefix": "local",
        "requestId": request_id or choose_request_id(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_ms / 1000)),
        "timeEpoch": str(now_ms),
        "http": http,
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
) -> bytes:
    """The bytes FC 3.0 would deliver for this request: for the local gateway and tests.

    `path` is the path as sent on the wire (percent-escapes are kept, raw non-ASCII is encoded); `headers` may be
    a mapping or (name, value) pairs, repeated names are comma-joined as FC does.
    """
    text, is_base64 = encode_body(body)
    raw_path = encode_path(path)
    joined = join_headers(headers, lower=False)
    http = {
        "method": method.upper(),
        "path": unquote(raw_path),  # FC shows the decoded path here
        "protocol": "HTTP/1.1",
        "sourceIp": source_ip,
        "userAgent": next((v for k, v in joined.items() if k.lower() == "user-agent"), ""),
    }
    event = {
        "version": "v1",
        "rawPath": raw_path,
        "body": text,
        "isBase64Encoded": is_base64,
        "headers": joined,
        "queryParameters": dict(query or {}),
        "requestContext": _request_context(http, request_id),
    }
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
