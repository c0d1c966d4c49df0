"""tablestore:// URLs: what they may say, where the keys come from (the environment, read per request, never
echoed), the client's timeout and retries, and the SDK imported only when this backend is chosen."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.errors import ConfigError, StorageError
from shared.storage.factory import open_storage
from shared.storage.tablestore import TablestoreStorage
from shared.storage.tablestore_connect import KEY_ID, KEY_SECRET, TOKEN, _signing, open_tablestore, parse_url

SECRET = "s3cret-never-shown"
ENV = {KEY_ID: "LTAI-test-id", KEY_SECRET: SECRET, TOKEN: "sts-token-1"}
URL = "tablestore://wxpay-prod?endpoint=https://wxpay-prod.cn-hangzhou.ots.aliyuncs.com&region=cn-hangzhou"
ROOT = Path(__file__).resolve().parents[2]


def test_a_full_url_names_instance_endpoint_region_and_defaults_the_rest() -> None:
    assert parse_url(URL) == (
        "wxpay-prod",
        {
            "endpoint": "https://wxpay-prod.cn-hangzhou.ots.aliyuncs.com",
            "region": "cn-hangzhou",
            "table_prefix": "wxpay_",
            "socket_timeout": "5.0",
        },
    )


def test_a_region_alone_means_the_public_endpoint() -> None:
    _, options = parse_url("tablestore://inst?region=cn-shanghai&table_prefix=t_&socket_timeout=2.5")
    assert options["endpoint"] == "https://inst.cn-shanghai.ots.aliyuncs.com"
    assert (options["table_prefix"], options["socket_timeout"]) == ("t_", "2.5")


@pytest.mark.parametrize(
    ("url", "names"),
    [
        (f"tablestore://LTAI-test-id:{SECRET}@wxpay-prod?region=cn-hangzhou", "ALIBABA_CLOUD_ACCESS_KEY_ID"),
        ("tablestore://wxpay-prod?region=cn-hangzhou&password=x", "unknown"),
        ("tablestore://wxpay-prod", "endpoint"),
        ("tablestore://wxpay-prod?endpoint=ftp://host", "endpoint"),
        (f"tablestore://wxpay-prod?endpoint=https://id:{SECRET}@host", "endpoint"),
        ("tablestore://wxpay-prod?region=Hangzhou", "region"),
        ("tablestore://wxpay-prod?region=cn-hangzhou&socket_timeout=forever", "socket_timeout"),
        ("tablestore://x?region=cn-hangzhou", "tablestore://<instance>"),
        ("tablestore://wxpay-prod/tables?region=cn-hangzhou", "tablestore://<instance>"),
    ],
    ids=[
        "keys in the URL",
        "unknown option",
        "no endpoint",
        "not http",
        "keys in the endpoint",
        "bad region",
        "bad timeout",
        "bad instance",
        "a path",
    ],
)
def test_a_wrong_url_is_refused_naming_the_problem_never_the_secret(url: str, names: str) -> None:
    with pytest.raises(ConfigError, match=names) as raised:
        open_tablestore(url, environ=ENV)
    assert SECRET not in str(raised.value)


@pytest.mark.parametrize("missing", [KEY_ID, KEY_SECRET])
def test_missing_keys_stop_start_up_naming_the_variable(missing: str) -> None:
    with pytest.raises(ConfigError, match=missing) as raised:
        open_tablestore(URL, environ={**ENV, missing: " "})
    assert SECRET not in str(raised.value)


def test_the_client_has_a_short_socket_timeout_few_retries_and_v4_signing() -> None:
    storage = open_tablestore(URL + "&table_prefix=shop_", environ=ENV)
    client: Any = storage._client
    assert client.socket_timeout == 5.0
    assert (client.retry_policy.max_retry_times, client.retry_policy.max_retry_delay) == (3, 0.5)
    assert type(client._signer).__name__ == "SignV4"
    assert storage.tables.orders == "shop_orders"


def test_the_keys_are_read_again_for_every_request_so_rotated_sts_tokens_work() -> None:
    env = dict(ENV)
    provider = open_tablestore(URL, environ=env)._client.credentials_provider  # type: ignore[attr-defined]
    first = provider.get_credentials()
    assert (first.get_access_key_id(), first.get_access_key_secret(), first.get_security_token()) == (
        "LTAI-test-id",
        SECRET,
        "sts-token-1",
    )
    env.update({KEY_ID: "LTAI-rotated", TOKEN: "sts-token-2"})
    assert provider.get_credentials().get_security_token() == "sts-token-2"
    del env[TOKEN]  # long-term keys: no token
    assert provider.get_credentials().get_security_token() is None
    assert SECRET not in repr(provider)
    env[KEY_SECRET] = ""
    with pytest.raises(StorageError, match=KEY_SECRET) as raised:
        provider.get_credentials()
    assert SECRET not in str(raised.value)


def test_an_sdk_without_credential_providers_gets_the_keys_once() -> None:
    class OldClient:
        def __init__(self, end_point: str, access_key_id: str, access_key_secret: str, instance_name: str, **kw: Any):
            pass

    class OldSdk:
        OTSClient, __version__ = OldClient, "5.4.1"

    assert _signing(OldSdk, ENV, None) == {
        "access_key_id": "LTAI-test-id",
        "access_key_secret": SECRET,
        "sts_token": "sts-token-1",
    }
    with pytest.raises(ConfigError, match="region"):
        _signing(OldSdk, ENV, "cn-hangzhou")


def test_the_factory_opens_tablestore_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    assert isinstance(open_storage(URL), TablestoreStorage)


# -- through the real client: network failures are StorageError, within the socket timeout ----------------


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_a_server_that_never_answers_is_a_storage_error_after_the_socket_timeout(silent_server: int) -> None:
    url = f"tablestore://wxpay-prod?endpoint=http://127.0.0.1:{silent_server}&socket_timeout=0.3"
    storage = open_tablestore(url, environ=ENV)
    started = time.monotonic()
    with pytest.raises(StorageError, match="GetRow") as raised:
        storage.get_order("ord_x")
    assert time.monotonic() - started < 3
    assert SECRET not in str(raised.value)


def test_a_refused_connection_is_a_storage_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening: connections are refused
        storage = open_tablestore(f"tablestore://wxpay-prod?endpoint=http://127.0.0.1:{port}", environ=ENV)
        with pytest.raises(StorageError, match="PutRow"):
            storage.record_notification("n-1", "TRANSACTION.SUCCESS", None, 0)


# -- cold start --------------------------------------------------------------------------------------------


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)


def test_the_adapter_imports_without_the_sdk_which_loads_only_when_a_storage_is_opened() -> None:
    probe = (
        "import sys\n"
        "sys.modules['tablestore'] = None  # as if not installed\n"
        "import shared.storage.factory, shared.storage.tablestore, shared.storage.tablestore_connect\n"
        "from shared.errors import ConfigError\n"
        "try:\n"
        "    shared.storage.tablestore_connect.open_tablestore('tablestore://inst?region=cn-hangzhou',"
        " environ={'ALIBABA_CLOUD_ACCESS_KEY_ID': 'a', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET': 'b'})\n"
        "except ConfigError as exc:\n"
        "    print(exc)\n"
    )
    done = run_python(probe)
    assert done.returncode == 0, done.stderr
    assert "needs the tablestore package" in done.stdout
    loaded = run_python("import sys, shared.storage.tablestore_connect; print('tablestore' in sys.modules)")
    assert loaded.stdout.strip() == "False"
