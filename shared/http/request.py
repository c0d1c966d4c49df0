"""The one Request/Response model every platform adapter (fc3, scf) converts to and from."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from shared.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
BASE_HEADERS: Mapping[str, str] = MappingProxyType({"Cache-Control": "no-store"})


class Headers(Mapping[str, str]):
    """Immutable, case-insensitive header mapping: first value wins, repeats are remembered.

    Iteration yields lower-case names. `duplicated(name)` tells a verifier that a header occurred more than once,
    which matters for `Wechatpay-*`: two signatures or timestamps must never be resolved by picking one.
    """

    __slots__ = ("_duplicated", "_values")

    def __init__(self, items: Iterable[tuple[str, str]] = (), *, duplicated: Iterable[str] = ()) -> None:
        values: dict[str, str] = {}
        repeated = {name.lower() for name in duplicated}
        for name, value in items:
            key = name.lower()
            if key in values:
                repeated.add(key)
            else:
                values[key] = value
        self._values = values
        self._duplicated = frozenset(repeated)

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def duplicated(self, name: str) -> bool:
        return name.lower() in self._duplicated

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self._values == other._values and self._duplicated == other._duplicated
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        # Names only: a stray repr in a log or an assertion message must not carry Authorization or a signature.
        return f"Headers({sorted(self._values)})"


def media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """`application/json; charset=UTF-8` -> ("application/json", {"charset": "utf-8"}), all lower case."""
    if not content_type:
        return "", {}
    kind, *params = content_type.split(";")
    parsed: dict[str, str] = {}
    for param in params:
        name, _, value = param.partition("=")
        parsed[name.strip().lower()] = value.strip().strip('"').lower()
    return kind.strip().lower(), parsed


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Parsers disagree on which duplicate wins; a signed or priced object must mean one thing only.
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValidationFailed("request body has a duplicate key")
    return obj


def decode_json_object(body: bytes) -> dict[str, Any]:
    """Strict UTF-8 JSON object (no NaN, no duplicate keys); errors name the problem, never echo the body."""
    try:
        text = body.decode("utf-8")  # not json.loads(bytes): that would also accept UTF-16/32
    except UnicodeDecodeError:
        raise ValidationFailed("request body is not UTF-8") from None
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ValidationFailed("request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise ValidationFailed("request body must be a JSON object")
    return value


@dataclass(frozen=True)
class Request:
    """One HTTP request, whichever cloud delivered it. `body` is the exact bytes received (signatures need them)."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Headers
    body: bytes = field(repr=False)
    request_id: str
    source_ip: str | None
    platform: str

    def json(self, *, max_bytes: int = 16384) -> dict[str, Any]:
        """The body as a JSON object: 413 if too large, 415 unless JSON (UTF-8), 400 if malformed."""
        if len(self.body) > max_bytes:
            raise PayloadTooLarge(f"request body is larger than {max_bytes} bytes")
        kind, params = media_type(self.headers.get("content-type"))
        if kind != "application/json" or params.get("charset", "utf-8") not in ("utf-8", "utf8"):
            raise UnsupportedMediaType("Content-Type must be application/json (UTF-8)")
        return decode_json_object(self.body)


def merge_headers(*layers: Mapping[str, str] | None) -> Mapping[str, str]:
    """Later layers replace earlier ones, header names compared case-insensitively (HTTP names are)."""
    merged: dict[str, str] = {}
    for layer in layers:
        for name, value in (layer or {}).items():
            merged = {k: v for k, v in merged.items() if k.lower() != name.lower()}
            merged[name] = value
    return MappingProxyType(merged)


@dataclass(frozen=True)
class Response:
    """Status, exact body bytes and headers. `shared.http.serve` adds X-Request-Id, the security headers and
    `Cache-Control: no-store` unless the response sets its own."""

    status: int
    body: bytes = field(repr=False)
    headers: Mapping[str, str]

    @classmethod
    def json(cls, status: int, obj: Any, headers: Mapping[str, str] | None = None) -> Response:
        body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return cls(status, body, merge_headers(BASE_HEADERS, {"Content-Type": JSON_CONTENT_TYPE}, headers))

    @classmethod
    def empty(cls, status: int = 204, headers: Mapping[str, str] | None = None) -> Response:
        return cls(status, b"", merge_headers(BASE_HEADERS, headers))

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> Response:
        return cls(status, text.encode("utf-8"), merge_headers(BASE_HEADERS, {"Content-Type": content_type}))

    def with_headers(self, headers: Mapping[str, str]) -> Response:
        """A copy with `headers` set, replacing any existing header of the same name in any case."""
        return Response(self.status, self.body, merge_headers(self.headers, headers))
