"""Setting values that name a secret: how they are recognised, resolved lazily once per instance, and never shown."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping

import pytest

from shared import log
from shared.config import AppSettings, LicensingSettings, WeChatPaySettings
from shared.errors import ConfigError
from shared.secrets import clear_cache, is_reference, parse, resolved_env
from shared.secrets import resolve as resolve_module
from shared.secrets.reference import Reference

SECRET = "q" * 40
STORE = {
    ("kms", "prod/app", "stage:ACSCurrent"): '{"server_secret": "' + SECRET + '", "signing_keys": "k1:seed"}',
    ("ssm", "merchant-key", "v3"): "-----BEGIN PRIVATE KEY-----\\nMII\\n-----END PRIVATE KEY-----",
}


@pytest.fixture
def fetched(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, str]]]:
    """The providers replaced by a dict; the list records every fetch."""
    calls: list[tuple[str, str, str]] = []

    def fake(reference: Reference, env: Mapping[str, str], setting: str) -> str:
        calls.append(reference.cache_key)
        try:
            return STORE[reference.cache_key]
        except KeyError:
            raise ConfigError(f"setting {setting}: no such secret") from None

    clear_cache()
    monkeypatch.setattr(resolve_module, "_provider_fetch", fake)
    yield calls
    clear_cache()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("kms://prod/app", ("kms", "prod/app", None, "ACSCurrent", None)),
        ("KMS://prod/app?stage=ACSPrevious#server_secret", ("kms", "prod/app", None, "ACSPrevious", "server_secret")),
        ("kms://prod/app?version=0a1b#k", ("kms", "prod/app", "0a1b", None, "k")),
        ("ssm://merchant-key?version=v3", ("ssm", "merchant-key", "v3", None, None)),
        ("ssm://wxpay?version=SSM_Current#apiv3_key", ("ssm", "wxpay", "SSM_Current", None, "apiv3_key")),
    ],
)
def test_references_are_parsed(value: str, expected: tuple[str | None, ...]) -> None:
    reference = parse(value, "X")
    assert reference is not None
    assert (reference.provider, reference.name, reference.version, reference.stage, reference.field) == expected


@pytest.mark.parametrize(
    "value", ["kms:abc", "kms:AAAA-seed,old:BBBB", "ssm:name", "postgresql://u:p@h/db", "-----BEGIN", "", "plain"]
)
def test_plain_values_are_not_references(value: str) -> None:
    """Among them a licence key list whose key id is `kms`: why references are URL-like, not `kms:<name>`."""
    assert not is_reference(value) and parse(value, "X") is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("kms://?version=1", "a kms:// reference is"),
        ("kms://the-name?region=cn", "a kms:// reference is"),
        ("kms://the-name?version=1&stage=ACSCurrent", "a version or a stage, not both"),
        ("ssm://the-name", "needs ?version="),
        ("ssm://the-name?stage=x&version=1", "a ssm:// reference is"),
    ],
)
def test_malformed_references_name_the_setting_only(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        parse(value, "SERVER_SECRET")
    assert str(raised.value).startswith("setting SERVER_SECRET:")
    assert value not in str(raised.value) and "the-name" not in str(raised.value)


def test_a_secret_is_fetched_once_per_instance_and_fields_are_picked(fetched: list[tuple[str, str, str]]) -> None:
    env = {
        "SERVER_SECRET": "kms://prod/app#server_secret",
        "LICENSE_SIGNING_KEYS": "kms://prod/app#signing_keys",
    }
    assert AppSettings.from_env(env).server_secret == SECRET.encode()
    assert LicensingSettings.from_env(env).signing_keys == "k1:seed"
    assert AppSettings.from_env(env).server_secret == SECRET.encode()
    assert fetched == [("kms", "prod/app", "stage:ACSCurrent")]


def test_only_the_settings_a_function_reads_are_fetched(fetched: list[tuple[str, str, str]]) -> None:
    """The notify function builds inbound settings: the merchant's private key reference is never fetched."""
    env = {
        "WECHATPAY_MCHID": "1900000001",
        "WECHATPAY_APPID": "wx1",
        "WECHATPAY_APIV3_KEY": "a" * 32,
        "WECHATPAY_PUBLIC_KEY": "pem",
        "WECHATPAY_PUBLIC_KEY_ID": "PUB_KEY_ID_1",
        "WECHATPAY_MERCHANT_PRIVATE_KEY": "ssm://merchant-key?version=v3",
    }
    assert WeChatPaySettings.from_env(env, outbound=False).merchant_private_key is None
    assert fetched == []
    env.update(WECHATPAY_NOTIFY_URL="https://pay.example/v1/notify/wechatpay", WECHATPAY_MERCHANT_SERIAL_NO="S1")
    outbound = WeChatPaySettings.from_env(env, outbound=True)
    assert outbound.merchant_private_key == "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----"
    assert "MII" not in repr(outbound)
    assert fetched == [("ssm", "merchant-key", "v3")]


def test_a_failed_fetch_is_retried_by_the_next_instance_not_cached(fetched: list[tuple[str, str, str]]) -> None:
    env = {"SERVER_SECRET": "kms://prod/missing"}
    for _ in range(2):
        with pytest.raises(ConfigError, match="setting SERVER_SECRET: no such secret"):
            AppSettings.from_env(env)
    assert len(fetched) == 2


def test_the_view_is_a_mapping_that_wraps_once() -> None:
    env = resolved_env({"A": "secret-value"})
    assert resolved_env(env) is env and dict(env) == {"A": "secret-value"} and env.get("B", "x") == "x"
    assert "secret-value" not in repr(env)


def test_secret_values_never_reach_the_log(fetched: list[tuple[str, str, str]]) -> None:
    stream = io.StringIO()
    log.configure(level="debug", stream=stream)
    try:
        AppSettings.from_env({"SERVER_SECRET": "kms://prod/app#server_secret"})
        with pytest.raises(ConfigError):
            AppSettings.from_env({"SERVER_SECRET": "kms://prod/app#signing_keys"})  # too short: named, not shown
    finally:
        log.configure(level="info", stream=None)
    assert SECRET not in stream.getvalue() and "k1:seed" not in stream.getvalue()
