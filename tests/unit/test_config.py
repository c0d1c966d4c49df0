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


# -- https:// only, except in the local stack --------------------------------------------------------------------
NOTIFY = "WECHATPAY_NOTIFY_URL"


@pytest.fixture
def warned(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees the first read of a process: the local-stack warning not yet logged."""
    from shared import config

    monkeypatch.setattr(config, "_warned_local_stack", False)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("http://pay.example.com/v1/notify/wechatpay", "https://"),
        ("HTTP://pay.example.com/v1/notify/wechatpay", "https://"),
        ("pay.example.com/v1/notify/wechatpay", "https://"),
        ("ftp://pay.example.com/notify", "https://"),
        ("https:///v1/notify/wechatpay", "https://"),
        ("https://pay.example.com/v1/notify/wechatpay?shop=1", "no query string"),
        ("https://pay.example.com/v1/notify/wechatpay?", "no query string"),
        ("https://pay.example.com/v1/notify/wechatpay#x", "no query string or fragment"),
        ("https://user:hunter2@pay.example.com/v1/notify/wechatpay", "credentials"),
        ("https://pay.example.com:port/v1/notify", "https://"),
        ("https://pay.example.com/v1/notify wechatpay", "https://"),
        ("https://pay.example.com/" + "n" * 240, "at most 255"),
    ],
)
def test_a_notify_url_wechat_would_refuse_is_refused_naming_the_setting_never_its_value(
    value: str, why: str, warned: None
) -> None:
    with pytest.raises(ConfigError, match=NOTIFY) as raised:
        WeChatPaySettings.from_env({**WECHAT, NOTIFY: value}, outbound=True)
    assert why in str(raised.value)
    assert "hunter2" not in str(raised.value) and "pay.example.com" not in str(raised.value)


def test_the_notify_function_checks_the_notify_url_when_it_is_given_one(warned: None) -> None:
    inbound = {k: v for k, v in WECHAT.items() if "MERCHANT" not in k}
    assert WeChatPaySettings.from_env({**inbound, NOTIFY: ""}, outbound=False).notify_url == ""
    with pytest.raises(ConfigError, match=NOTIFY):
        WeChatPaySettings.from_env({**inbound, NOTIFY: "http://pay.example.com/n"}, outbound=False)


@pytest.mark.parametrize(
    "value",
    ["http://api.mch.weixin.qq.com", "api.mch.weixin.qq.com", "https://u:p@api.mch.weixin.qq.com", "https://h/?a=1"],
)
def test_the_wechat_pay_base_url_must_be_https(value: str, warned: None) -> None:
    with pytest.raises(ConfigError, match="WECHATPAY_BASE_URL") as raised:
        WeChatPaySettings.from_env({**WECHAT, "WECHATPAY_BASE_URL": value}, outbound=True)
    assert value not in str(raised.value)


def test_https_urls_pass_and_the_base_url_defaults_to_wechats(warned: None) -> None:
    settings = WeChatPaySettings.from_env(
        {**WECHAT, NOTIFY: "https://pay.example.com:8443/v1/notify/wechatpay"}, outbound=True
    )
    assert settings.notify_url == "https://pay.example.com:8443/v1/notify/wechatpay"
    assert settings.base_url == "https://api.mch.weixin.qq.com"
    backup = {**WECHAT, "WECHATPAY_BASE_URL": "https://api2.mch.weixin.qq.com/"}
    assert WeChatPaySettings.from_env(backup, outbound=True).base_url == "https://api2.mch.weixin.qq.com"


BACKUP = {
    "BACKUP_S3_BUCKET": "b",
    "BACKUP_S3_REGION": "cn-hangzhou",
    "BACKUP_ACCESS_KEY_ID": "id",
    "BACKUP_SECRET_ACCESS_KEY": "secret",
    "BACKUP_ENCRYPTION_KEY": "A" * 43,
}


@pytest.mark.parametrize(
    "value", ["http://oss-cn-hangzhou.aliyuncs.com", "https://id:secret@oss-cn-hangzhou.aliyuncs.com", "https://"]
)
def test_the_backup_endpoint_must_be_https_without_credentials(value: str, warned: None) -> None:
    from shared.config import BackupSettings

    with pytest.raises(ConfigError, match="BACKUP_S3_ENDPOINT") as raised:
        BackupSettings.from_env({**BACKUP, "BACKUP_S3_ENDPOINT": value})
    assert "secret" not in str(raised.value).replace("BACKUP_SECRET", "")


def test_the_local_stack_allows_http_and_says_so_once(warned: None, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from shared.config import BackupSettings

    local = {
        **WECHAT,
        "LOCAL_STACK": "1",
        "SERVER_SECRET": SECRET,
        NOTIFY: "http://127.0.0.1:8080/v1/notify/wechatpay",
        "WECHATPAY_BASE_URL": "http://127.0.0.1:8090",
    }
    AppSettings.from_env(local)
    settings = WeChatPaySettings.from_env(local, outbound=True)
    assert (settings.notify_url, settings.base_url) == (local[NOTIFY], "http://127.0.0.1:8090")
    backup = BackupSettings.from_env({**BACKUP, "LOCAL_STACK": "1", "BACKUP_S3_ENDPOINT": "http://127.0.0.1:5000"})
    assert backup.endpoint == "http://127.0.0.1:5000"
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["event"], line["level"]) for line in lines] == [("insecure_local_stack", "warning")]
    assert lines[0]["message"] == "http:// allowed: local stack only"
    # The notify URL keeps WeChat's other rules even locally.
    with pytest.raises(ConfigError, match="no query string"):
        WeChatPaySettings.from_env({**local, NOTIFY: "http://127.0.0.1:8080/n?x=1"}, outbound=True)


@pytest.mark.parametrize("flag", ["", "0"])
def test_without_the_local_stack_flag_nothing_is_logged(
    flag: str, warned: None, capsys: pytest.CaptureFixture[str]
) -> None:
    AppSettings.from_env({"SERVER_SECRET": SECRET, "LOCAL_STACK": flag})
    assert capsys.readouterr().out == ""
    with pytest.raises(ConfigError, match="https://"):
        WeChatPaySettings.from_env({**WECHAT, "LOCAL_STACK": flag, NOTIFY: "http://x.example/n"}, outbound=True)


@pytest.mark.parametrize("flag", ["true", "yes", "2"])
def test_a_local_stack_flag_other_than_1_is_refused(flag: str, warned: None) -> None:
    with pytest.raises(ConfigError, match="LOCAL_STACK"):
        AppSettings.from_env({"SERVER_SECRET": SECRET, "LOCAL_STACK": flag})
