"""Backup settings: where backups go, with which credentials and key; missing ones named, values never shown."""

from __future__ import annotations

import base64

import pytest

from shared.config import BackupSettings
from shared.errors import ConfigError

KEY = bytes(range(32))
ENV = {
    "BACKUP_S3_ENDPOINT": "https://s3.oss-cn-hangzhou-internal.aliyuncs.com/",
    "BACKUP_S3_BUCKET": "shop-backups",
    "BACKUP_S3_REGION": "cn-hangzhou",
    "BACKUP_ACCESS_KEY_ID": "LTAI-test-id",
    "BACKUP_SECRET_ACCESS_KEY": "test-secret-value",
    "BACKUP_ENCRYPTION_KEY": base64.urlsafe_b64encode(KEY).decode().rstrip("="),
    "STORAGE_URL": "postgresql://app:db-password@db.internal/shop",
}


def test_backup_settings_have_safe_defaults_and_hide_every_secret() -> None:
    settings = BackupSettings.from_env(ENV)
    assert settings.endpoint == "https://s3.oss-cn-hangzhou-internal.aliyuncs.com"
    assert (settings.prefix, settings.addressing_style, settings.encryption_key) == ("backups", "virtual", KEY)
    shown = repr(settings)
    for secret in ("test-secret-value", "LTAI-test-id", "db-password", ENV["BACKUP_ENCRYPTION_KEY"]):
        assert secret not in shown


def test_the_key_may_carry_its_padding_and_the_prefix_its_slashes() -> None:
    env = {**ENV, "BACKUP_ENCRYPTION_KEY": base64.urlsafe_b64encode(KEY).decode(), "BACKUP_S3_PREFIX": "/prod/db/"}
    settings = BackupSettings.from_env(env)
    assert (settings.encryption_key, settings.prefix) == (KEY, "prod/db")


@pytest.mark.parametrize(
    "missing", ["BACKUP_S3_ENDPOINT", "BACKUP_S3_BUCKET", "BACKUP_S3_REGION", "BACKUP_ENCRYPTION_KEY"]
)
def test_a_missing_required_backup_setting_is_named(missing: str) -> None:
    with pytest.raises(ConfigError, match=missing):
        BackupSettings.from_env({k: v for k, v in ENV.items() if k != missing})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BACKUP_ENCRYPTION_KEY", base64.urlsafe_b64encode(b"k" * 16).decode()),  # 16 bytes: AES-128, refused
        ("BACKUP_ENCRYPTION_KEY", "not+base64url/" * 3 + "x"),
        ("BACKUP_S3_ENDPOINT", "oss-cn-hangzhou.aliyuncs.com"),
        ("BACKUP_S3_ADDRESSING_STYLE", "dns"),
    ],
)
def test_an_invalid_backup_setting_is_named_without_its_value(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name) as raised:
        BackupSettings.from_env({**ENV, name: value})
    assert value not in str(raised.value)


def test_without_backup_keys_the_function_roles_credentials_are_used() -> None:
    bare = {k: v for k, v in ENV.items() if not k.startswith(("BACKUP_ACCESS", "BACKUP_SECRET"))}
    fc = BackupSettings.from_env(
        {**bare, "ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "sts-secret",
         "ALIBABA_CLOUD_SECURITY_TOKEN": "sts-token"}
    )  # fmt: skip
    assert (fc.access_key_id, fc.secret_access_key, fc.session_token) == ("STS.id", "sts-secret", "sts-token")
    scf = BackupSettings.from_env({**bare, "TENCENTCLOUD_SECRETID": "AKID", "TENCENTCLOUD_SECRETKEY": "k"})
    assert (scf.access_key_id, scf.session_token) == ("AKID", None)
    with pytest.raises(ConfigError, match="BACKUP_ACCESS_KEY_ID"):
        BackupSettings.from_env(bare)


def test_an_access_key_id_without_its_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match="BACKUP_SECRET_ACCESS_KEY"):
        BackupSettings.from_env({k: v for k, v in ENV.items() if k != "BACKUP_SECRET_ACCESS_KEY"})
