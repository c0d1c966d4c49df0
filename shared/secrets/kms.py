"""Alibaba Cloud KMS `GetSecretValue` (API 2016-01-20), one V3-signed (ACS3-HMAC-SHA256) HTTPS call.

Signed by hand on the standard library rather than through the `alibabacloud-kms20160120` Tea SDK: that SDK and
what it pulls in (aiohttp, APScheduler, darabonba, ...) is ~35 MB installed and ~300 ms / 900 modules to import
(serverless-reference §6, measured again here), against ~2 ms for this module. It would more than double the notify
function's cold start, and this is its only call. The tests run the official SDK against the same stub endpoint
(which checks real V3 signatures) and compare our Authorization header with the SDK's for one request.

Credentials: the function role's STS keys, from ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / ALIBABA_CLOUD_SECURITY_TOKEN
(every FC 3.0 runtime), else FC's `context.credentials` (Python <= 3.10) remembered by `remember_context`.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import secrets
import time
from base64 import b64decode
from collections.abc import Mapping
from urllib.parse import quote

from shared.errors import ConfigError
from shared.secrets.reference import Reference
from shared.secrets.resolve import endpoint as endpoint_parts
from shared.secrets.resolve import require

KEY_ID = "ALIBABA_CLOUD_ACCESS_KEY_ID"
KEY_SECRET = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"  # noqa: S105 (the variable's name, not its value)
TOKEN = "ALIBABA_CLOUD_SECURITY_TOKEN"  # noqa: S105 (the variable's name, not its value)
REGION = "FC_REGION"  # set by FC in every function's environment
ENDPOINT = "SECRETS_KMS_ENDPOINT"  # optional: https://kms-vpc.<region>.aliyuncs.com from a VPC, or a test stub
TIMEOUT = "SECRETS_TIMEOUT_SECONDS"
ALGORITHM = "ACS3-HMAC-SHA256"
ACTION, API_VERSION = "GetSecretValue", "2016-01-20"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class KmsConfig:
    """Where to call and with which keys; built from the environment by `from_env`."""

    __slots__ = ("host", "key_id", "key_secret", "scheme", "timeout", "token")

    def __init__(self, key_id: str, key_secret: str, token: str | None, scheme: str, host: str, timeout: float) -> None:
        self.key_id, self.key_secret, self.token = key_id, key_secret, token
        self.scheme, self.host, self.timeout = scheme, host, timeout

    def __repr__(self) -> str:
        return f"KmsConfig({self.scheme}://{self.host})"

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], setting: str, context_credentials: tuple[str, str, str | None] | None = None
    ) -> KmsConfig:
        if env.get(KEY_ID, "").strip() and env.get(KEY_SECRET, "").strip():
            key_id, key_secret = env[KEY_ID].strip(), env[KEY_SECRET].strip()
            token: str | None = env.get(TOKEN, "").strip() or None
        elif context_credentials is not None:
            key_id, key_secret, token = context_credentials
        else:
            raise ConfigError(
                f"setting {setting} is a kms:// reference, which needs {KEY_ID} (give the function a role with "
                "secret-read permission)"
            )
        endpoint = env.get(ENDPOINT, "").strip()
        if not endpoint:
            endpoint = f"https://kms.{require(env, REGION, setting, 'kms://')}.aliyuncs.com"
        parts = endpoint_parts(env, ENDPOINT, endpoint)
        try:
            timeout = float(env.get(TIMEOUT, "").strip() or 3)
        except ValueError:
            raise ConfigError(f"setting {TIMEOUT} must be a number of seconds") from None
        return cls(key_id, key_secret, token, parts.scheme, parts.netloc, timeout)


def canonical_query(query: Mapping[str, str]) -> str:
    return "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(query.items()))


def authorization(
    method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], key_id: str, key_secret: str
) -> str:
    """The V3 `Authorization` header over every header given (names lower-case, payload hash in the headers)."""
    lowered = {name.lower(): value.strip() for name, value in headers.items()}
    signed = sorted(lowered)
    canonical = "\n".join(
        [
            method,
            path,
            canonical_query(query),
            "".join(f"{name}:{lowered[name]}\n" for name in signed),
            ";".join(signed),
            lowered["x-acs-content-sha256"],
        ]
    )
    to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = hmac.new(key_secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{ALGORITHM} Credential={key_id},SignedHeaders={';'.join(signed)},Signature={signature}"


def signed_request(reference: Reference, config: KmsConfig, now: float | None = None) -> tuple[str, dict[str, str]]:
    """(target, headers) of the GetSecretValue call: query in the URL, empty body."""
    query = {"SecretName": reference.name}
    if reference.version:
        query["VersionId"] = reference.version
    else:
        query["VersionStage"] = reference.stage or "ACSCurrent"
    headers = {
        "host": config.host,
        "x-acs-action": ACTION,
        "x-acs-version": API_VERSION,
        "x-acs-date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "x-acs-signature-nonce": secrets.token_hex(16),
        "x-acs-content-sha256": EMPTY_SHA256,
    }
    if config.token:
        headers["x-acs-security-token"] = config.token
    headers["Authorization"] = authorization("POST", "/", query, headers, config.key_id, config.key_secret)
    headers["Accept"] = "application/json"
    headers["Content-Length"] = "0"
    return f"/?{canonical_query(query)}", headers


def fetch_kms(reference: Reference, config: KmsConfig, setting: str) -> str:
    target, headers = signed_request(reference, config)
    connection_type = http.client.HTTPSConnection if config.scheme == "https" else http.client.HTTPConnection
    connection = connection_type(config.host, timeout=config.timeout)
    try:
        connection.request("POST", target, body=b"", headers=headers)
        response = connection.getresponse()
        status, body = response.status, response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise ConfigError(f"setting {setting}: KMS could not be reached ({type(exc).__name__})") from exc
    finally:
        connection.close()
    try:
        answer = json.loads(body)
    except ValueError:
        answer = {}
    if status != 200 or not isinstance(answer, dict) or not isinstance(answer.get("SecretData"), str):
        code = answer.get("Code", f"HTTP {status}") if isinstance(answer, dict) else f"HTTP {status}"
        raise ConfigError(f"setting {setting}: KMS refused GetSecretValue ({code})")
    data: str = answer["SecretData"]
    if str(answer.get("SecretDataType", "text")).lower() == "binary":
        return b64decode(data).decode("utf-8")
    return data
