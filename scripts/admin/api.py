"""The admin HTTP API as the command line reaches it: the URL and key checks, the client, its two errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import requests

DEFAULT_URL = "http://127.0.0.1:8080"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class UsageError(Exception):
    """The command line or its environment is wrong (exit 2)."""


class ApiError(Exception):
    """The admin API answered with an error, or not at all (exit 1)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}" if status else f"{code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details

    def as_json(self) -> dict[str, Any]:
        error = {"status": self.status, "code": self.code, "message": self.message}
        return {"error": {**error, **({"details": self.details} if self.details is not None else {})}}


def checked_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--url must be an http(s) URL, not {url!r}")
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        raise UsageError("the admin key would cross the network in clear text: use an https:// URL")
    return url.rstrip("/")


def api_key(env: Mapping[str, str]) -> str:
    key = env.get("ADMIN_API_KEY", "").strip()
    if not key:
        raise UsageError(
            "set ADMIN_API_KEY in the environment (read it from your secret store, e.g. "
            "`read -rs ADMIN_API_KEY && export ADMIN_API_KEY`); it is never an argument, which would land in "
            "the shell history"
        )
    return key


def path_id(value: str) -> str:
    return quote(value, safe="")


class AdminApi:
    def __init__(self, url: str, key: str, session: requests.Session | None = None, timeout: float = 30) -> None:
        self.url, self._timeout = url, timeout
        self._session = session or requests.Session()
        self._session.headers["Authorization"] = f"Bearer {key}"

    def get(self, path: str, **params: Any) -> Any:
        return self._call("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        return self._call("POST", path, json={k: v for k, v in body.items() if v is not None})

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._session.request(method, self.url + path, timeout=self._timeout, **kwargs)
        except requests.RequestException as exc:
            raise ApiError(0, "UNREACHABLE", f"{self.url} did not answer ({type(exc).__name__})") from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.ok and answer is not None:
            return answer
        error = answer.get("error") if isinstance(answer, dict) else None
        if not isinstance(error, dict):
            text = " ".join(response.text.split())[:200] or response.reason
            raise ApiError(response.status_code, f"HTTP_{response.status_code}", text)
        message = str(error.get("message", ""))
        if response.headers.get("Retry-After"):
            message += f" (retry after {response.headers['Retry-After']} s)"
        raise ApiError(response.status_code, str(error.get("code", "ERROR")), message, error.get("details"))
