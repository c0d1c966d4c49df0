"""Pieces both platform adapters need: defensive reads of an event dict, bodies, headers, ids, paths, queries."""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from shared.errors import ValidationFailed
from shared.http.request import Headers

HeaderInput = Mapping[str, str] | Iterable[tuple[str, str]] | None

# Ids are echoed in X-Request-Id and logs: nothing that could split a header or forge a log line.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
_METHOD = re.compile(r"[A-Z]{1,16}")
# WeChat's signature, serial, nonce and timestamp never contain a comma, so in a platform that comma-joins repeated
# headers (FC 3.0, and SCF defensively) a comma there means the header was sent twice (wechatpay-v3-reference).
_COMMA_MEANS_REPEATED = "wechatpay-"


def bad_event(what: str) -> ValidationFailed:
    return ValidationFailed(f"the request could not be read: {what}")


def as_mapping(value: object, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise bad_event(f"{where} is not an object")
    return value


def opt_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise bad_event(f"{key} is not a string")
    return value


def decode_body(body: object, flagged: object) -> bytes:
    """The exact bytes the client sent: base64-decoded when the platform flagged it, else the UTF-8 of the string."""
    if body is None:
        return b""
    if not isinstance(body, str):
        raise bad_event("body is not a string")
    if flagged is True:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise bad_event("body is not valid base64") from None
    return body.encode("utf-8")


def encode_body(data: bytes) -> tuple[str, bool]:
    """(text, is_base64): text when the bytes are UTF-8, base64 otherwise (the platforms carry JSON strings)."""
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), True


def _header_values(name: str, value: object) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    text = "" if value is None else str(value)
    if name.lower().startswith(_COMMA_MEANS_REPEATED) and "," in text:
        return [part.strip() for part in text.split(",")]
    return [text]


def parse_headers(raw: object) -> Headers:
    pairs: list[tuple[str, str]] = []
    for name, value in as_mapping(raw, "headers").items():
        pairs.extend((str(name), item) for item in _header_values(str(name), value))
    return Headers(pairs)


def join_headers(headers: HeaderInput, *, lower: bool) -> dict[str, str]:
    """Header pairs as the platforms deliver them: one entry per name, repeated values comma-joined."""
    items = headers.items() if isinstance(headers, Mapping) else (headers or ())
    joined: dict[str, str] = {}
    spelling: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        spelling.setdefault(key, key if lower else name)
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return {spelling[key]: value for key, value in joined.items()}


def parse_query(raw: object) -> Mapping[str, str]:
    """A dict (first value of a list wins) or a raw query string; both platforms have been seen sending either."""
    if isinstance(raw, str):
        pairs = parse_qsl(raw.lstrip("?"), keep_blank_values=True)
    else:
        pairs = []
        for name, value in as_mapping(raw, "query").items():
            values = value if isinstance(value, (list, tuple)) else [value]
            pairs.extend((str(name), "" if item is None else str(item)) for item in values)
    query: dict[str, str] = {}
    for name, value in pairs:
        query.setdefault(name, value)
    return MappingProxyType(query)


def encode_path(path: str) -> str:
    """A path as it travels on the wire: existing %-escapes kept, anything else outside RFC 3986 pchar encoded."""
    return quote(path, safe="/!$&'()*+,;=:@-._~%")


def decode_path(raw: str) -> str:
    try:
        path = unquote(raw.split("?", 1)[0], errors="strict")
    except UnicodeDecodeError:
        raise bad_event("path is not UTF-8") from None
    return path if path.startswith("/") else "/" + path


def parse_method(value: object) -> str:
    method = value.upper() if isinstance(value, str) else ""
    if not _METHOD.fullmatch(method):
        raise bad_event("no valid HTTP method")
    return method


def clean_id(value: object) -> str | None:
    return value if isinstance(value, str) and _SAFE_ID.fullmatch(value) else None


def choose_request_id(*candidates: object) -> str:
    for candidate in candidates:
        if (chosen := clean_id(candidate)) is not None:
            return chosen
    return os.urandom(16).hex()  # not uuid: it imports platform, and a cold start pays for every import


def first_address(*candidates: object) -> str | None:
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return None
