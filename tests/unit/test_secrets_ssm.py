"""Tencent SSM GetSecretValue through the real SDK (tencentcloud-sdk-python-common + -ssm), pointed at a stub SSM
on 127.0.0.1 that checks TC3-HMAC-SHA256 signatures as Tencent Cloud API 3.0 does, with the credentials SCF puts in
TENCENTCLOUD_SECRETID / TENCENTCLOUD_SECRETKEY / TENCENTCLOUD_SESSIONTOKEN (names the SDK's own provider ignores)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shared.config import AppSettings, LicensingSettings
from shared.errors import ConfigError
from shared.secrets import clear_cache
from tests.unit.secrets_stub import loopback_only

SECRET_ID, SECRET_KEY, TOKEN = "AKIDTESTONLY", "test-only-secret-key", "test-only-session-token"
SERVER_SECRET = "y" * 48


class StubSsm(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.secrets: dict[tuple[str, str], dict[str, str]] = {}
        self.calls: list[dict[str, Any]] = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: StubSsm

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        params = json.loads(body or b"{}")
        self.server.calls.append({"headers": headers, "params": params})
        problem = tc3_problem(self.command, self.path, headers, body)
        if problem:
            return self._answer({"Error": {"Code": problem, "Message": "signature check failed"}})
        if (headers.get("x-tc-action"), headers.get("x-tc-version")) != ("GetSecretValue", "2019-09-23"):
            return self._answer({"Error": {"Code": "InvalidAction", "Message": "stub knows one action"}})
        found = self.server.secrets.get((params.get("SecretName"), params.get("VersionId")))
        if found is None:
            return self._answer({"Error": {"Code": "ResourceNotFound", "Message": "no such secret version"}})
        self._answer({"SecretName": params["SecretName"], "VersionId": params["VersionId"], **found})

    def _answer(self, response: dict[str, Any]) -> None:
        payload = json.dumps({"Response": {**response, "RequestId": "stub-request"}}).encode()
        self.send_response(200)  # Tencent Cloud API answers errors with 200 and Response.Error
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def tc3_problem(method: str, path: str, headers: dict[str, str], body: bytes) -> str:
    """Tencent Cloud API 3.0 signature v3 (TC3-HMAC-SHA256), written from the spec: '' when signed by SECRET_KEY."""
    algorithm, _, fields = headers.get("authorization", "").partition(" ")
    if algorithm != "TC3-HMAC-SHA256":
        return "AuthFailure.SignatureFailure"
    parts = dict(field.strip().split("=", 1) for field in fields.split(","))
    secret_id, date, service, terminator = parts.get("Credential", "").split("/")
    signed = parts.get("SignedHeaders", "").split(";")
    if secret_id != SECRET_ID:
        return "AuthFailure.SecretIdNotFound"
    if headers.get("x-tc-token") != TOKEN:
        return "AuthFailure.TokenFailure"
    timestamp = int(headers.get("x-tc-timestamp", "0"))
    if abs(timestamp - time.time()) > 300 or date != datetime.fromtimestamp(timestamp, timezone.utc).strftime(
        "%Y-%m-%d"
    ):
        return "AuthFailure.SignatureExpire"
    if service != "ssm" or terminator != "tc3_request" or not {"content-type", "host"} <= set(signed):
        return "AuthFailure.SignatureFailure"
    canonical = "\n".join(
        [
            method,
            path.split("?")[0],
            path.partition("?")[2],
            "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed),
            ";".join(signed),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = ("TC3" + SECRET_KEY).encode()
    for part in (date, service, "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return "" if hmac.compare_digest(expected, parts.get("Signature", "")) else "AuthFailure.SignatureFailure"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Overrides the unit tier's guard: loopback only (the stub), never a real SSM."""
    loopback_only(monkeypatch)


@pytest.fixture(scope="module")
def ssm_server() -> Iterator[StubSsm]:
    server = StubSsm()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def ssm(ssm_server: StubSsm) -> Iterator[StubSsm]:
    ssm_server.calls.clear()
    ssm_server.secrets = {
        ("wxpay-server-secret", "v1"): {"SecretString": SERVER_SECRET, "SecretBinary": ""},
        ("wxpay-licensing", "v2"): {"SecretString": json.dumps({"signing_keys": "k2:seed2,k1:seed1"})},
        ("wxpay-binary", "v1"): {"SecretString": "", "SecretBinary": base64.b64encode(b"z" * 40).decode()},
    }
    clear_cache()
    yield ssm_server
    clear_cache()


def scf_env(ssm: StubSsm, **settings: str) -> dict[str, str]:
    """What SCF puts in a function's environment (the role's temporary keys), plus our settings."""
    return {
        "TENCENTCLOUD_SECRETID": SECRET_ID,
        "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
        "TENCENTCLOUD_SESSIONTOKEN": TOKEN,
        "SECRETS_SSM_REGION": "ap-guangzhou",
        "SECRETS_SSM_ENDPOINT": ssm.endpoint,
        "LOCAL_STACK": "1",  # the stub answers plain http://
        **settings,
    }


def test_settings_read_ssm_secrets_through_the_sdk_with_scfs_credentials(ssm: StubSsm) -> None:
    env = scf_env(
        ssm,
        SERVER_SECRET="ssm://wxpay-server-secret?version=v1",
        LICENSE_SIGNING_KEYS="ssm://wxpay-licensing?version=v2#signing_keys",
    )
    assert AppSettings.from_env(env).server_secret == SERVER_SECRET.encode()
    assert LicensingSettings.from_env(env).signing_keys == "k2:seed2,k1:seed1"
    AppSettings.from_env(env)  # cached for the instance: no third call
    assert [c["params"] for c in ssm.calls] == [
        {"SecretName": "wxpay-server-secret", "VersionId": "v1"},
        {"SecretName": "wxpay-licensing", "VersionId": "v2"},
    ]
    headers = ssm.calls[0]["headers"]
    assert headers["x-tc-region"] == "ap-guangzhou" and headers["x-tc-token"] == TOKEN


def test_binary_secrets_are_decoded(ssm: StubSsm) -> None:
    assert AppSettings.from_env(scf_env(ssm, SERVER_SECRET="ssm://wxpay-binary?version=v1")).server_secret == b"z" * 40


def test_the_sdks_own_environment_names_are_not_needed(ssm: StubSsm, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    env = scf_env(ssm, SERVER_SECRET="ssm://wxpay-server-secret?version=v1")
    assert AppSettings.from_env(env).server_secret == SERVER_SECRET.encode()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"SERVER_SECRET": "ssm://wxpay-server-secret?version=v9"}, "SSM refused GetSecretValue (ResourceNotFound)"),
        ({"TENCENTCLOUD_SECRETKEY": "wrong"}, "SSM refused GetSecretValue (AuthFailure.SignatureFailure)"),
        ({"TENCENTCLOUD_SESSIONTOKEN": ""}, "SSM refused GetSecretValue (AuthFailure.TokenFailure)"),
        ({"TENCENTCLOUD_SECRETID": ""}, "needs TENCENTCLOUD_SECRETID"),
        ({"SECRETS_SSM_REGION": ""}, "needs SECRETS_SSM_REGION"),
        ({"SERVER_SECRET": "ssm://wxpay-server-secret"}, "an ssm:// reference needs ?version="),
    ],
)
def test_failures_name_the_setting_never_the_value(ssm: StubSsm, changes: dict[str, str], expected: str) -> None:
    env = {**scf_env(ssm, SERVER_SECRET="ssm://wxpay-server-secret?version=v1"), **changes}
    with pytest.raises(ConfigError, match="SERVER_SECRET") as raised:
        AppSettings.from_env(env)
    assert expected in str(raised.value)
    assert "wxpay-server-secret" not in str(raised.value) and SECRET_KEY not in str(raised.value)


def test_a_plain_http_endpoint_is_refused_outside_the_local_stack(ssm: StubSsm) -> None:
    env = scf_env(ssm, SERVER_SECRET="ssm://wxpay-server-secret?version=v1", LOCAL_STACK="")
    with pytest.raises(ConfigError, match="SECRETS_SSM_ENDPOINT must be an https:// URL") as refused:
        AppSettings.from_env(env)
    assert ssm.endpoint not in str(refused.value) and ssm.calls == []
