"""Alibaba KMS GetSecretValue through a stub KMS on 127.0.0.1 that checks V3 (ACS3-HMAC-SHA256) signatures the way
KMS does. The official Tea SDK (alibabacloud-kms20160120) passes the stub's check, so the stub is faithful; our
hand-signed call (shared/secrets/kms.py) then passes the same check and is parsed the same way."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

from shared.config import AppSettings, WeChatPaySettings
from shared.errors import ConfigError
from shared.secrets import clear_cache, parse, remember_context
from shared.secrets.kms import KmsConfig, authorization, signed_request
from tests.unit.secrets_stub import loopback_only

KEY_ID, KEY_SECRET, TOKEN = "STS.TESTONLYKEYID", "test-only-key-secret", "test-only-sts-token"
SERVER_SECRET = "x" * 48
MERCHANT = json.dumps({"apiv3_key": "k" * 32, "mchid": "1900000001"})


class StubKms(ThreadingHTTPServer):
    """GetSecretValue only: 200 with the secret, 404 for an unknown one, 400/403 when the signature is wrong."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.secrets: dict[tuple[str, str], tuple[str, str]] = {}  # (name, version or stage) -> (data, type)
        self.calls: list[dict[str, Any]] = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: StubKms

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.calls.append({"query": query, "headers": headers})
        problem = signature_problem(self.command, parts.path, query, headers, body)
        if problem:
            return self._answer(403 if problem == "SignatureDoesNotMatch" else 400, {"Code": problem})
        if headers.get("x-acs-action") != "GetSecretValue" or headers.get("x-acs-version") != "2016-01-20":
            return self._answer(400, {"Code": "InvalidAction.NotFound"})
        selector = query.get("VersionId") or query.get("VersionStage", "ACSCurrent")
        found = self.server.secrets.get((query.get("SecretName", ""), selector))
        if found is None:
            return self._answer(404, {"Code": "Forbidden.ResourceNotFound", "Message": "no such secret"})
        data, kind = found
        self._answer(
            200,
            {
                "RequestId": "stub-request",
                "SecretName": query["SecretName"],
                "SecretData": data,
                "SecretDataType": kind,
                "VersionId": "v1",
                "VersionStages": {"VersionStage": ["ACSCurrent"]},
            },
        )

    def _answer(self, status: int, document: dict[str, Any]) -> None:
        payload = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def signature_problem(method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> str:
    """Alibaba's V3 check, written from the spec: None when the request is signed with KEY_SECRET."""
    algorithm, _, fields = headers.get("authorization", "").partition(" ")
    if algorithm != "ACS3-HMAC-SHA256":
        return "IncompleteSignature"
    parts = dict(field.split("=", 1) for field in fields.split(","))
    signed = parts.get("SignedHeaders", "").split(";")
    if parts.get("Credential") != KEY_ID:
        return "InvalidAccessKeyId.NotFound"
    if "host" not in signed or any(n.startswith("x-acs-") and n not in signed for n in headers):
        return "IncompleteSignature"
    if headers.get("x-acs-content-sha256") != hashlib.sha256(body).hexdigest():
        return "InvalidContentSha256"
    if headers.get("x-acs-security-token") != TOKEN:
        return "InvalidSecurityToken.Missing"
    sent = time.mktime(time.strptime(headers.get("x-acs-date", ""), "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    if abs(sent - time.time()) > 900:
        return "InvalidTimeStamp.Expired"
    canonical = "\n".join(
        [
            method,
            path or "/",
            "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(query.items())),
            "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed),
            ";".join(signed),
            headers["x-acs-content-sha256"],
        ]
    )
    to_sign = f"ACS3-HMAC-SHA256\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    expected = hmac.new(KEY_SECRET.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return "" if hmac.compare_digest(expected, parts.get("Signature", "")) else "SignatureDoesNotMatch"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Overrides the unit tier's guard: loopback only (the stub), never a real KMS."""
    loopback_only(monkeypatch)


@pytest.fixture(scope="module")
def kms_server() -> Iterator[StubKms]:
    server = StubKms()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def kms(kms_server: StubKms) -> Iterator[StubKms]:
    kms_server.calls.clear()
    kms_server.secrets = {
        ("wxpay/server-secret", "ACSCurrent"): (SERVER_SECRET, "text"),
        ("wxpay/merchant", "ACSCurrent"): (MERCHANT, "text"),
        ("wxpay/merchant", "v-old"): (json.dumps({"apiv3_key": "o" * 32}), "text"),
    }
    clear_cache()
    yield kms_server
    clear_cache()


def fc_env(kms: StubKms, **settings: str) -> dict[str, str]:
    """What FC puts in a function's environment (role keys, region) plus our settings."""
    return {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": KEY_SECRET,
        "ALIBABA_CLOUD_SECURITY_TOKEN": TOKEN,
        "FC_REGION": "cn-hangzhou",
        "SECRETS_KMS_ENDPOINT": kms.endpoint,
        "LOCAL_STACK": "1",  # the stub answers plain http://
        **settings,
    }


def test_the_official_kms_sdk_passes_the_stubs_signature_check(kms: StubKms) -> None:
    from alibabacloud_kms20160120 import models
    from alibabacloud_kms20160120.client import Client
    from alibabacloud_tea_openapi import models as openapi

    client = Client(
        openapi.Config(
            access_key_id=KEY_ID,
            access_key_secret=KEY_SECRET,
            security_token=TOKEN,
            endpoint=kms.endpoint.removeprefix("http://"),
            protocol="http",
        )
    )
    answer = client.get_secret_value(models.GetSecretValueRequest(secret_name="wxpay/server-secret"))
    assert answer.body.secret_data == SERVER_SECRET
    assert kms.calls[-1]["query"] == {"SecretName": "wxpay/server-secret"}  # the SDK leaves the stage to KMS


def test_a_forged_signature_is_refused_by_the_stub(kms: StubKms) -> None:
    config = KmsConfig(KEY_ID, "not-the-secret", TOKEN, "http", kms.endpoint.removeprefix("http://"), 3)
    with pytest.raises(ConfigError, match=r"SERVER_SECRET: KMS refused GetSecretValue \(SignatureDoesNotMatch\)"):
        from shared.secrets.kms import fetch_kms

        reference = parse("kms://wxpay/server-secret", "SERVER_SECRET")
        assert reference is not None
        fetch_kms(reference, config, "SERVER_SECRET")


def test_our_authorization_header_is_the_sdks_for_the_same_request() -> None:
    from alibabacloud_tea_openapi.utils import Utils

    reference = parse("kms://wxpay/merchant?version=v-old", "X")
    assert reference is not None
    config = KmsConfig(KEY_ID, KEY_SECRET, TOKEN, "https", "kms.cn-hangzhou.aliyuncs.com", 3)
    target, headers = signed_request(reference, config, now=1_790_000_000)
    signed = {k: v for k, v in headers.items() if k not in ("Authorization", "Accept", "Content-Length")}
    request = SimpleNamespace(
        pathname="/", method="POST", query=dict(parse_qsl(urlsplit(target).query)), headers=signed
    )
    expected = Utils.get_authorization(request, "ACS3-HMAC-SHA256", signed["x-acs-content-sha256"], KEY_ID, KEY_SECRET)
    assert headers["Authorization"] == expected
    assert headers["Authorization"] == authorization("POST", "/", request.query, signed, KEY_ID, KEY_SECRET)
    assert target == "/?SecretName=wxpay%2Fmerchant&VersionId=v-old"


def test_settings_read_kms_secrets_with_the_role_credentials_once_per_instance(kms: StubKms) -> None:
    env = fc_env(
        kms,
        SERVER_SECRET="kms://wxpay/server-secret",
        WECHATPAY_APIV3_KEY="kms://wxpay/merchant#apiv3_key",
        WECHATPAY_MCHID="kms://wxpay/merchant#mchid",
        WECHATPAY_APPID="wx-plain-value",
        WECHATPAY_PUBLIC_KEY="-----BEGIN PUBLIC KEY-----\\nAAA\\n-----END PUBLIC KEY-----",
        WECHATPAY_PUBLIC_KEY_ID="PUB_KEY_ID_0001",
    )
    app = AppSettings.from_env(env)
    inbound = WeChatPaySettings.from_env(env, outbound=False)
    again = WeChatPaySettings.from_env(env, outbound=False)
    assert app.server_secret == SERVER_SECRET.encode()
    assert (inbound.apiv3_key, inbound.mchid, inbound.appid) == ("k" * 32, "1900000001", "wx-plain-value")
    assert again == inbound
    assert [call["query"]["SecretName"] for call in kms.calls] == ["wxpay/server-secret", "wxpay/merchant"]
    assert all(call["query"]["VersionStage"] == "ACSCurrent" for call in kms.calls)


def test_a_pinned_version_is_asked_for_by_id(kms: StubKms) -> None:
    env = fc_env(kms, SERVER_SECRET=SERVER_SECRET, WECHATPAY_APIV3_KEY="kms://wxpay/merchant?version=v-old#apiv3_key")
    env.update(WECHATPAY_MCHID="1", WECHATPAY_APPID="wx", WECHATPAY_PUBLIC_KEY="pem", WECHATPAY_PUBLIC_KEY_ID="PUB")
    assert WeChatPaySettings.from_env(env, outbound=False).apiv3_key == "o" * 32
    assert kms.calls[-1]["query"] == {"SecretName": "wxpay/merchant", "VersionId": "v-old"}


def test_binary_secrets_are_decoded(kms: StubKms) -> None:
    kms.secrets[("wxpay/binary", "ACSCurrent")] = ("eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4", "binary")
    settings = AppSettings.from_env(fc_env(kms, SERVER_SECRET="kms://wxpay/binary"))
    assert settings.server_secret == b"x" * 36


def test_context_credentials_are_used_when_the_environment_has_no_keys(kms: StubKms) -> None:
    env = {
        "FC_REGION": "cn-hangzhou",
        "SECRETS_KMS_ENDPOINT": kms.endpoint,
        "LOCAL_STACK": "1",
        "SERVER_SECRET": "kms://wxpay/server-secret",
    }
    with pytest.raises(ConfigError, match=r"SERVER_SECRET .*ALIBABA_CLOUD_ACCESS_KEY_ID"):
        AppSettings.from_env(env)
    credentials = SimpleNamespace(access_key_id=KEY_ID, access_key_secret=KEY_SECRET, security_token=TOKEN)
    remember_context(SimpleNamespace(request_id="r", credentials=credentials))
    assert AppSettings.from_env(env).server_secret == SERVER_SECRET.encode()


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("kms://wxpay/nothing-here", "setting SERVER_SECRET: KMS refused GetSecretValue (Forbidden.ResourceNotFound)"),
        ("kms://wxpay/server-secret#field", "setting SERVER_SECRET: the secret is not a JSON object"),
        ("kms://wxpay/merchant#missing", "setting SERVER_SECRET: the secret has no string field"),
    ],
)
def test_failures_name_the_setting_never_the_value(kms: StubKms, reference: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        AppSettings.from_env(fc_env(kms, SERVER_SECRET=reference))
    assert str(raised.value).startswith(expected)
    assert "wxpay/" not in str(raised.value) and SERVER_SECRET not in str(raised.value)


def test_an_unreachable_kms_is_a_config_error_naming_the_setting(kms: StubKms) -> None:
    env = fc_env(kms, SERVER_SECRET="kms://wxpay/server-secret", SECRETS_KMS_ENDPOINT="http://127.0.0.1:9")
    with pytest.raises(ConfigError, match=r"SERVER_SECRET: KMS could not be reached \(ConnectionRefusedError\)"):
        AppSettings.from_env(env)


def test_without_an_endpoint_the_regions_public_kms_is_called() -> None:
    env = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": KEY_SECRET,
        "FC_REGION": "cn-shanghai",
    }
    config = KmsConfig.from_env(env, "X")
    assert (config.scheme, config.host, config.token) == ("https", "kms.cn-shanghai.aliyuncs.com", None)
    assert KEY_SECRET not in repr(config)


def test_a_plain_http_endpoint_is_refused_outside_the_local_stack(kms: StubKms) -> None:
    env = fc_env(kms, SERVER_SECRET="kms://wxpay/server-secret", LOCAL_STACK="")
    with pytest.raises(ConfigError, match="SECRETS_KMS_ENDPOINT must be an https:// URL") as refused:
        AppSettings.from_env(env)
    assert kms.endpoint not in str(refused.value) and kms.calls == []
