"""Settings come from the environment only; a missing required one is named, its value never shown."""

from __future__ import annotations

import pytest

from shared.config import AppSettings, LicensingSettings, WeChatPaySettings
from shared.errors import ConfigError

SECRET = "s" * 40
WECHAT = {
    "WECHATPAY_MCHID": "1900000001",
    "WECHATPAY_APPID": "wx1",
    "WECHATPAY_APIV3_KEY": "k" * 32,
    "WECHATPAY_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\\nAAA\\n-----END PUBLIC KEY-----",
    "WECHATPAY_PUBLIC_KEY_ID": "PUB_KEY_ID_01",
    "WECHATPAY_NOTIFY_URL": "https://x.example/v1/notify/wechatpay",
    "WECHATPAY_MERCHANT_SERIAL_NO": "ABC",
    "WECHATPAY_MERCHANT_PRIVATE_KEY": "pem",
}


def test_app_settings_have_safe_defaults() -> None:
    settings = AppSettings.from_env({"SERVER_SECRET": SECRET, "DATA_DIR": "/srv/data"})
    assert settings.storage_url == "sqlite:////srv/data/app.sqlite3"
    assert (settings.order_ttl_seconds, settings.query_after_seconds) == (900, 10)
    assert SECRET not in repr(settings)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "SERVER_SECRET"),
        ({"SERVER_SECRET": "short"}, "SERVER_SECRET"),
        ({"SERVER_SECRET": SECRET, "ORDER_TTL_SECONDS": "10"}, "ORDER_TTL_SECONDS"),
        ({"SERVER_SECRET": SECRET, "ORDER_TTL_SECONDS": "soon"}, "ORDER_TTL_SECONDS"),
    ],
)
def test_a_missing_or_invalid_app_setting_is_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named) as raised:
        AppSettings.from_env(env)
    assert "short" not in str(raised.value)


@pytest.mark.parametrize(
    "missing", ["WECHATPAY_MCHID", "WECHATPAY_APIV3_KEY", "WECHATPAY_NOTIFY_URL", "WECHATPAY_MERCHANT_PRIVATE_KEY"]
)
def test_an_outbound_function_needs_the_merchant_signing_settings(missing: str) -> None:
    env = {k: v for k, v in WECHAT.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        WeChatPaySettings.from_env(env, outbound=True)


def test_the_notify_function_needs_no_merchant_private_key_but_a_wechatpay_key() -> None:
    inbound = {k: v for k, v in WECHAT.items() if "MERCHANT" not in k}
    settings = WeChatPaySettings.from_env(inbound, outbound=False)
    assert settings.merchant_private_key is None and settings.public_key_pem and "\n" in settings.public_key_pem
    without_keys = {k: v for k, v in inbound.items() if not k.startswith("WECHATPAY_PUBLIC")}
    with pytest.raises(ConfigError, match="WECHATPAY_PUBLIC_KEY"):
        WeChatPaySettings.from_env(without_keys, outbound=False)


def test_a_wrong_length_apiv3_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as raised:
        WeChatPaySettings.from_env({**WECHAT, "WECHATPAY_APIV3_KEY": "tooshortsecret"}, outbound=True)
    assert "tooshortsecret" not in str(raised.value)
    assert "k" * 32 not in repr(WeChatPaySettings.from_env(WECHAT, outbound=True))


def test_licensing_needs_its_signing_keys() -> None:
    with pytest.raises(ConfigError, match="LICENSE_SIGNING_KEYS"):
        LicensingSettings.from_env({})
