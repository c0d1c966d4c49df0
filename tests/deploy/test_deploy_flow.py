"""What scripts/deploy does before a cloud tool runs: the values checked (never printed), the secret SDKs chosen per
function, SCF's serverless.yml files rendered from template.yaml without a single value in them."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
import yaml

from scripts.deploy import __main__ as deploy
from scripts.deploy.settings import DEFAULTS, FUNCTIONS, LITERALS

ROOT = Path(__file__).resolve().parents[2]
# A 2048-bit merchant key is ~1.7 KB of PEM, a platform certificate ~1.4 KB: both beside the rest pass 4 KB.
PEM = "-----BEGIN PRIVATE KEY-----\\n" + "A" * 1700 + "\\n-----END PRIVATE KEY-----"
CERTIFICATE = "-----BEGIN CERTIFICATE-----\\n" + "B" * 1450 + "\\n-----END CERTIFICATE-----"
PUBLIC_KEY = "-----BEGIN PUBLIC KEY-----\\n" + "C" * 392 + "\\n-----END PUBLIC KEY-----"


def complete(**changes: str) -> dict[str, str]:
    env = {
        "SERVER_SECRET": "s" * 48,
        "LICENSE_SIGNING_KEYS": "k1:seed",
        "STORAGE_URL": "mysql://app:pw@10.0.0.5:3306/wxpay",
        "WECHATPAY_MCHID": "1900000001",
        "WECHATPAY_APPID": "wx0123456789",
        "WECHATPAY_APIV3_KEY": "a" * 32,
        "WECHATPAY_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\\nAAA\\n-----END PUBLIC KEY-----",
        "WECHATPAY_PUBLIC_KEY_ID": "PUB_KEY_ID_0001",
        "WECHATPAY_MERCHANT_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\\nAAA\\n-----END PRIVATE KEY-----",
        "WECHATPAY_MERCHANT_SERIAL_NO": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
        "WECHATPAY_NOTIFY_URL": "https://pay.example.com/v1/notify/wechatpay",
    }
    env.update(changes)
    return env


def test_a_complete_environment_passes_and_needs_no_secrets_sdk() -> None:
    env = deploy.deploy_environment("fc", "staging", complete())
    assert env["DEPLOY_STAGE"] == "staging" and env["DEPLOY_REGION"] == "cn-hangzhou"
    assert deploy.preflight("fc", env) == {f: [] for f in FUNCTIONS}


def test_missing_settings_are_named_per_function_and_values_never_shown() -> None:
    env = complete()
    del env["WECHATPAY_NOTIFY_URL"], env["SERVER_SECRET"]
    with pytest.raises(deploy.DeployError) as raised:
        deploy.preflight("fc", deploy.deploy_environment("fc", None, env))
    message = str(raised.value)
    assert "create_order: set SERVER_SECRET, WECHATPAY_NOTIFY_URL" in message
    assert "license: set SERVER_SECRET in the deploying environment" in message
    assert "mysql://" not in message and "a" * 32 not in message


def test_references_choose_the_sdk_per_function_and_must_match_the_cloud() -> None:
    env = deploy.deploy_environment(
        "scf",
        None,
        complete(
            WECHATPAY_MERCHANT_PRIVATE_KEY="ssm://wxpay-merchant?version=v1#private_key",
            SERVER_SECRET="ssm://wxpay-app?version=v1#server_secret",
        ),
    )
    providers = deploy.preflight("scf", env)
    assert providers["payment_notify"] == ["ssm"] and providers["create_order"] == ["ssm"]
    with pytest.raises(deploy.DeployError, match="SERVER_SECRET is a ssm:// reference; on fc use kms://"):
        deploy.preflight("fc", env)


def test_an_environment_over_4_kb_is_refused_before_the_cloud_refuses_it() -> None:
    env = complete(
        WECHATPAY_MERCHANT_PRIVATE_KEY=PEM, WECHATPAY_PLATFORM_CERTIFICATES=CERTIFICATE, WECHATPAY_PUBLIC_KEY=PUBLIC_KEY
    )
    with pytest.raises(deploy.DeployError) as raised:
        deploy.preflight("fc", deploy.deploy_environment("fc", None, env))
    assert "create_order: its environment is" in str(raised.value) and "kms:// references" in str(raised.value)
    assert "payment_notify" not in str(raised.value)  # it never receives the private key


@pytest.mark.parametrize(
    ("name", "value", "why"),
    [
        ("WECHATPAY_NOTIFY_URL", "http://pay.example.com/v1/notify/wechatpay", "https://"),
        ("WECHATPAY_NOTIFY_URL", "https://pay.example.com/v1/notify/wechatpay?shop=1", "no query string"),
        ("WECHATPAY_BASE_URL", "http://emulator.example.com", "https://"),
        ("BACKUP_S3_ENDPOINT", "http://oss-cn-hangzhou.aliyuncs.com", "https://"),
    ],
)
def test_an_http_url_is_refused_before_the_tool_runs_even_with_the_local_flag(name: str, value: str, why: str) -> None:
    env = deploy.deploy_environment("fc", None, complete(**{name: value, "LOCAL_STACK": "1"}))
    with pytest.raises(deploy.DeployError) as raised:
        deploy.preflight("fc", env)
    message = str(raised.value)
    assert f"{name} must" in message and why in message and value not in message


def test_an_https_notify_url_reference_is_checked_when_read_not_before() -> None:
    env = complete(WECHATPAY_NOTIFY_URL="kms://wxpay/urls#notify")
    assert deploy.preflight("fc", deploy.deploy_environment("fc", None, env))["create_order"] == ["kms"]


def test_scf_gets_the_defaults_s_yaml_writes_inline() -> None:
    env = deploy.deploy_environment("scf", "prod", {"DEPLOY_REGION": "ap-shanghai"})
    assert env["SECRETS_SSM_REGION"] == "ap-shanghai" and env["DEPLOY_STAGE"] == "prod"
    assert all(env[name] == value for name, value in DEFAULTS.items())


def test_scf_rendering_writes_one_serverless_yml_per_function_without_values(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy2(ROOT / "template.yaml", root / "template.yaml")
    for function in FUNCTIONS:
        zip_path = root / "build" / "packages" / f"{function}.zip"
        zip_path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(zip_path, "w") as archive:
            archive.writestr("index.py", "def handler(e, c): return {}\nmain_handler = handler\n")
    env = deploy.deploy_environment("scf", "dev", complete())
    written = deploy.render_scf(env, tmp_path / "out", root=root)
    assert sorted(p.parent.name for p in written) == sorted(FUNCTIONS)
    for path in written:
        text = path.read_text()
        rendered = yaml.safe_load(text)
        assert rendered["app"] == "wxpay-licensing" and rendered["stage"] == "${env:DEPLOY_STAGE}"
        assert rendered["component"] == "scf" and rendered["inputs"]["src"] == "./code"
        assert (path.parent / "code" / "index.py").is_file()
        variables = rendered["inputs"]["environment"]["variables"]
        assert all(v.startswith("${env:") or v == LITERALS.get(k) for k, v in variables.items())
        assert "WECHATPAY_PLATFORM_CERTIFICATES" not in variables  # empty in this environment: left out
        for value in complete().values():
            assert value not in text


def test_boto3_is_bundled_into_jobs_only_when_backups_are_on() -> None:
    from scripts import package

    assert "boto3" in package.requirements_for("jobs", "sqlite", backups=True)
    assert "boto3" not in package.requirements_for("jobs", "sqlite")
    assert "boto3" not in package.requirements_for("create_order", "sqlite", backups=True)
    assert package.requirements_for("payment_notify", "postgresql", ["ssm"]) == [
        "cryptography",
        "psycopg",
        "psycopg-binary",
        "tencentcloud-sdk-python-ssm",
    ]
