"""Open Tablestore storage from a STORAGE_URL:

    tablestore://<instance>?endpoint=https://<instance>.<region>.ots.aliyuncs.com&region=cn-hangzhou&table_prefix=wxpay_

`endpoint` may be left out when `region` is given (the public endpoint is assumed; a VPC-bound function names its
VPC endpoint). `region` switches the SDK to V4 signing. Optional: `table_prefix` (default wxpay_) and
`socket_timeout` (seconds, default 5).

Credentials never appear in the URL. They come from the environment that FC fills for the function's role:
ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET and, for role (STS) credentials,
ALIBABA_CLOUD_SECURITY_TOKEN. They are read again for every request, so rotated STS credentials keep working
(with SDKs before `credentials_provider`, such as FC's built-in 5.4.1, they are read once). Messages name the
variables, never their values.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from shared.errors import ConfigError, StorageError
from shared.storage.tablestore import TablestoreStorage
from shared.storage.tablestore_ops import load_sdk

KEY_ID, KEY_SECRET, TOKEN = (
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_SECURITY_TOKEN",
)
OPTIONS = ("endpoint", "region", "table_prefix", "socket_timeout")
SOCKET_TIMEOUT = 5.0  # seconds; the SDK's default is 50, far beyond a function's patience (WeChat waits 5 s)
RETRIES, RETRY_DELAY_MAX = 3, 0.5  # the SDK's default is 20 retries of up to 3 s each
_INSTANCE = re.compile(r"[A-Za-z][A-Za-z0-9-]{1,30}[A-Za-z0-9]")
_REGION = re.compile(r"[a-z]{2,}(?:-[a-z0-9]+)+")


def open_tablestore(url: str, *, environ: Mapping[str, str] | None = None) -> TablestoreStorage:
    env = os.environ if environ is None else environ
    instance, options = parse_url(url)
    for name in (KEY_ID, KEY_SECRET):
        if not env.get(name, "").strip():
            raise ConfigError(f"Tablestore storage needs the environment variable {name} (the function role's keys)")
    sdk = load_sdk()
    client = sdk.OTSClient(
        options["endpoint"],
        instance_name=instance,
        socket_timeout=float(options["socket_timeout"]),
        retry_policy=_retry_policy(sdk),
        **_signing(sdk, env, options.get("region")),
    )
    return TablestoreStorage(client, table_prefix=options["table_prefix"])


def parse_url(url: str) -> tuple[str, dict[str, str]]:
    """(instance, options with defaults); ConfigError naming what is wrong, never echoing the URL."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "tablestore":
        raise ConfigError("a Tablestore storage URL starts with tablestore://")
    if "@" in parts.netloc:
        raise ConfigError(f"a tablestore:// URL carries no credentials: they come from {KEY_ID} and {KEY_SECRET}")
    instance = parts.netloc
    if not _INSTANCE.fullmatch(instance) or parts.path not in ("", "/") or parts.fragment:
        raise ConfigError("a Tablestore storage URL is tablestore://<instance>?endpoint=https://...&region=...")
    found = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(found) - set(OPTIONS))
    if unknown:
        raise ConfigError(f"unknown tablestore storage option(s) {unknown}; known: {list(OPTIONS)}")
    options = {name: values[-1].strip() for name, values in found.items()}
    region = options.get("region", "")
    if region and not _REGION.fullmatch(region):
        raise ConfigError("tablestore storage option region must look like cn-hangzhou")
    if not options.get("endpoint"):
        if not region:
            raise ConfigError("tablestore storage needs option endpoint (or region, for the public endpoint)")
        options["endpoint"] = f"https://{instance}.{region}.ots.aliyuncs.com"
    endpoint = urlsplit(options["endpoint"])
    if endpoint.scheme not in ("https", "http") or not endpoint.hostname or endpoint.username or endpoint.query:
        raise ConfigError("tablestore storage option endpoint must be https://<instance>.<region>.ots.aliyuncs.com")
    options.setdefault("table_prefix", "wxpay_")
    timeout = options.setdefault("socket_timeout", str(SOCKET_TIMEOUT))
    if not re.fullmatch(r"\d+(?:\.\d+)?", timeout) or not 0 < float(timeout) <= 60:
        raise ConfigError("tablestore storage option socket_timeout must be a number of seconds, up to 60")
    return instance, options


def _signing(sdk: Any, env: Mapping[str, str], region: str | None) -> dict[str, Any]:
    parameters = inspect.signature(sdk.OTSClient.__init__).parameters
    if region and "region" not in parameters:
        raise ConfigError(f"tablestore {sdk.__version__} cannot sign for a region (V4): drop option region")
    signing: dict[str, Any] = {"region": region} if region else {}
    if "credentials_provider" in parameters:
        return {**signing, "credentials_provider": environment_credentials(sdk, env)}
    # An SDK without providers takes keys once; rotated STS credentials then need a new client (a new instance).
    token = env.get(TOKEN, "").strip() or None
    return {
        **signing,
        "access_key_id": env[KEY_ID].strip(),
        "access_key_secret": env[KEY_SECRET].strip(),
        "sts_token": token,
    }


def environment_credentials(sdk: Any, env: Mapping[str, str]) -> Any:
    """A CredentialsProvider (the SDK calls it once per request) reading the function role's keys each time."""

    class EnvironmentCredentials(sdk.CredentialsProvider):  # type: ignore[misc]
        def get_credentials(self) -> Any:
            key_id, secret = env.get(KEY_ID, "").strip(), env.get(KEY_SECRET, "").strip()
            if not key_id or not secret:
                raise StorageError(f"the environment lost {KEY_ID} or {KEY_SECRET}")
            return sdk.Credentials(key_id, secret, env.get(TOKEN, "").strip() or None)

        def __repr__(self) -> str:
            return "EnvironmentCredentials()"  # never the keys

    return EnvironmentCredentials()


def _retry_policy(sdk: Any) -> Any:
    """The SDK's own rules (throttling on any call; 5xx and timeouts only on reads, so a conditional write is
    never repeated blindly), with fewer and shorter waits: a function has seconds, not minutes."""

    class ServerlessRetryPolicy(sdk.DefaultRetryPolicy):  # type: ignore[misc]
        max_retry_times = RETRIES
        max_retry_delay = RETRY_DELAY_MAX

    return ServerlessRetryPolicy()
