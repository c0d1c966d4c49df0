"""HTTP/1.1 requests written byte for byte, for what clients refuse to send: repeated headers, raw CR/LF, non-ASCII
header values, request targets that must not be normalised, a Content-Length that lies."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def header_names(self) -> set[str]:
        return {k.lower() for k, _ in self.headers}

    def json(self) -> Any:
        return json.loads(self.body)


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def send(
    base_url: str,
    method: str,
    target: str | bytes,
    headers: Iterable[tuple[str | bytes, str | bytes]] = (),
    body: bytes = b"",
    *,
    content_length: int | None = None,
    timeout: float = 30,
) -> RawAnswer:
    """Send exactly these bytes (a Host header and Content-Length are added) and read one answer."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    lines = [_bytes(method) + b" " + _bytes(target) + b" HTTP/1.1", f"Host: {host}:{port}".encode()]
    lines += [_bytes(name) + b": " + _bytes(value) for name, value in headers]
    lines.append(f"Content-Length: {len(body) if content_length is None else content_length}".encode())
    lines.append(b"Connection: close")
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        try:
            return RawAnswer(response.status, list(response.getheaders()), response.read())
        finally:
            response.close()
