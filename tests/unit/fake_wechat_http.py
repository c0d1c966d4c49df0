"""A scripted WeChat Pay host inside `requests`: a transport adapter that answers without any network.

Answers are signed like WeChat's (raw `cryptography`, see wechat_double), so the real wechatpayv3 SDK
verifies them as it would verify the real host's.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from tests.fixtures import keys
from tests.unit.wechat_double import NONCE, wechat_sign

BASE_URL = "http://wechatpay.test"


@dataclass
class Reply:
    """One scripted answer; `key=None` leaves it unsigned."""

    status: int = 200
    body: Any = None
    key: str | None = "wechatpay"
    serial: str = keys.PUBLIC_KEY_ID
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    request_id: str = "08F78BB5AF0610D302A1B8B12B0A-268435456"

    def raw_body(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode()

    def response_headers(self, body: bytes) -> dict[str, str]:
        headers = {"Content-Type": self.content_type, "Request-ID": self.request_id}
        if self.key is not None:
            timestamp = str(int(time.time()))
            headers |= {
                "Wechatpay-Timestamp": timestamp,
                "Wechatpay-Nonce": NONCE,
                "Wechatpay-Signature": wechat_sign(keys.private_key(self.key), timestamp, NONCE, body),
                "Wechatpay-Serial": self.serial,
                "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
            }
        return headers | self.headers


class FakeWeChatHost(BaseAdapter):
    """Answers each request with the next scripted Reply (or raises the next scripted exception)."""

    def __init__(self) -> None:
        super().__init__()
        self.script: list[Reply | Exception] = []
        self.requests: list[requests.PreparedRequest] = []
        self.timeouts: list[Any] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.requests.append(request)
        self.timeouts.append(kwargs.get("timeout"))
        if not self.script:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        body = item.raw_body()
        response = requests.Response()
        response.status_code = item.status
        response._content = body
        response.headers = CaseInsensitiveDict(item.response_headers(body))
        response.encoding = "utf-8"
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass

    def paths(self) -> list[str]:
        return [request.path_url for request in self.requests]
