"""Everything that reaches into wechatpayv3's private parts, in one module (reference §11).

The SDK hard-codes its gateway in `Core.__init__` and calls `requests.get/post/...` without a Session,
returning only `(status, body)`: we override the gateway on the instance, and hand its core module a
stand-in for `requests` that behaves the same but remembers the last response's headers, so that errors
can carry WeChat's Request-ID. Its `Core.__init__` also loads the merchant key with OpenSSL's RSA consistency
check, ~35 ms of every cold start that calls WeChat: `trust_merchant_key()` hands it our loader instead.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import requests
import wechatpayv3.core
from requests.adapters import BaseAdapter

from shared.wechatpay.signing import load_private_key


class RecordingTransport:
    """Stands in for the `requests` module inside wechatpayv3.core: same calls, same behaviour."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._adapters: dict[str, BaseAdapter] = {}

    def mount(self, prefix: str, adapter: BaseAdapter) -> None:
        """Route URLs starting with `prefix` through `adapter` (like `requests.Session.mount`)."""
        self._adapters[prefix] = adapter

    def unmount(self, prefix: str) -> None:
        """Undo `mount`."""
        self._adapters.pop(prefix, None)

    def clear(self) -> None:
        """Forget the last response, before a new call."""
        self._local.headers = {}

    def last_headers(self) -> Mapping[str, str]:
        """Headers of the last response received on this thread (empty if none since `clear`)."""
        headers: Mapping[str, str] = getattr(self._local, "headers", {})
        return headers

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send like `requests.request`, remembering the response headers."""
        self.clear()
        # A fresh session per call, exactly like requests.get: a pooled connection silently dropped while a
        # serverless instance was frozen would cost a full read timeout on the next call.
        with requests.Session() as session:
            for prefix, adapter in self._adapters.items():
                session.mount(prefix, adapter)
            response = session.request(method, url, **kwargs)
        self._local.headers = response.headers
        return response

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", url, **kwargs)

    def __getattr__(self, name: str) -> Any:
        # Anything else the SDK might use from `requests` (exceptions, helpers) stays the real thing.
        return getattr(requests, name)


TRANSPORT = RecordingTransport()


def _load_trusted_private_key(private_key: str | None) -> Any:
    """wechatpayv3.utils.load_private_key, minus the RSA consistency check (signing.load_private_key says why
    skipping it is safe for our own key); the SDK's own error when the key cannot be read."""
    if not private_key:
        return None
    try:
        return load_private_key(private_key)
    except (ValueError, TypeError, UnicodeError) as exc:
        raise Exception("failed to load private key.") from exc  # the SDK's own exception and message


def trust_merchant_key() -> None:
    """Make `wechatpayv3.Core.__init__` load the merchant key with our loader: call before constructing it."""
    wechatpayv3.core.load_private_key = _load_trusted_private_key


def bind_sdk(client: Any, base_url: str) -> RecordingTransport:
    """Point a constructed `wechatpayv3.WeChatPay` at `base_url` and route its HTTP through TRANSPORT."""
    client._core._gate_way = base_url
    wechatpayv3.core.requests = TRANSPORT
    return TRANSPORT
