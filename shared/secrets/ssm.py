"""Tencent Cloud SSM `GetSecretValue` through `tencentcloud-sdk-python-common` + `-ssm` (never the full SDK:
~400 MB, design §9), imported only when a setting is an `ssm://` reference.

SCF puts the function role's temporary keys in TENCENTCLOUD_SECRETID / TENCENTCLOUD_SECRETKEY /
TENCENTCLOUD_SESSIONTOKEN, which the SDK's own environment provider does not read (it expects
TENCENTCLOUD_SECRET_ID / _KEY and no token): the credential is built explicitly from SCF's names.
"""

from __future__ import annotations

from base64 import b64decode
from collections.abc import Mapping

from shared.errors import ConfigError
from shared.secrets.reference import Reference
from shared.secrets.resolve import endpoint as endpoint_parts
from shared.secrets.resolve import require

SECRET_ID = "TENCENTCLOUD_SECRETID"  # noqa: S105 (the variable's name, not its value)
SECRET_KEY = "TENCENTCLOUD_SECRETKEY"  # noqa: S105 (the variable's name, not its value)
SESSION_TOKEN = "TENCENTCLOUD_SESSIONTOKEN"  # noqa: S105 (the variable's name, not its value)
REGION = "SECRETS_SSM_REGION"  # e.g. ap-guangzhou; templates set it to the deployment's region
PLATFORM_REGION = "TENCENTCLOUD_REGION"  # used when set by the platform and SECRETS_SSM_REGION is not
ENDPOINT = "SECRETS_SSM_ENDPOINT"  # optional: another host (a test stub), default ssm.tencentcloudapi.com
TIMEOUT = "SECRETS_TIMEOUT_SECONDS"


class SsmConfig:
    """Keys, region and endpoint of the SSM call."""

    __slots__ = ("endpoint", "region", "scheme", "secret_id", "secret_key", "timeout", "token")

    def __init__(
        self, secret_id: str, secret_key: str, token: str | None, region: str, scheme: str, endpoint: str, timeout: int
    ) -> None:
        self.secret_id, self.secret_key, self.token = secret_id, secret_key, token
        self.region, self.scheme, self.endpoint, self.timeout = region, scheme, endpoint, timeout

    def __repr__(self) -> str:
        return f"SsmConfig({self.region}, {self.scheme}://{self.endpoint})"

    @classmethod
    def from_env(cls, env: Mapping[str, str], setting: str) -> SsmConfig:
        why = "ssm:// (give the function a role with ssm:GetSecretValue)"
        secret_id, secret_key = require(env, SECRET_ID, setting, why), require(env, SECRET_KEY, setting, why)
        region = env.get(REGION, "").strip() or env.get(PLATFORM_REGION, "").strip()
        if not region:
            require(env, REGION, setting, "ssm://")
        endpoint = env.get(ENDPOINT, "").strip() or "https://ssm.tencentcloudapi.com"
        parts = endpoint_parts(env, ENDPOINT, endpoint)
        try:
            timeout = max(1, round(float(env.get(TIMEOUT, "").strip() or 3)))
        except ValueError:
            raise ConfigError(f"setting {TIMEOUT} must be a number of seconds") from None
        token = env.get(SESSION_TOKEN, "").strip() or None
        return cls(secret_id, secret_key, token, region, parts.scheme, parts.netloc, timeout)


def fetch_ssm(reference: Reference, config: SsmConfig, setting: str) -> str:
    from tencentcloud.common import credential  # type: ignore[import-untyped]
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException  # type: ignore[import-untyped]
    from tencentcloud.common.profile.client_profile import ClientProfile  # type: ignore[import-untyped]
    from tencentcloud.common.profile.http_profile import HttpProfile  # type: ignore[import-untyped]
    from tencentcloud.ssm.v20190923 import models, ssm_client  # type: ignore[import-untyped]

    http_profile = HttpProfile(protocol=config.scheme, endpoint=config.endpoint, reqTimeout=config.timeout)
    try:
        client = ssm_client.SsmClient(
            credential.Credential(config.secret_id, config.secret_key, config.token),
            config.region,
            ClientProfile(httpProfile=http_profile),
        )
        request = models.GetSecretValueRequest()
        request.SecretName = reference.name
        request.VersionId = reference.version
        response = client.GetSecretValue(request)
    except TencentCloudSDKException as exc:
        raise ConfigError(f"setting {setting}: SSM refused GetSecretValue ({exc.get_code()})") from exc
    text, binary = response.SecretString, response.SecretBinary
    if isinstance(text, str) and text:
        return text
    if isinstance(binary, str) and binary:
        return b64decode(binary).decode("utf-8")
    raise ConfigError(f"setting {setting}: the SSM secret version is empty")
