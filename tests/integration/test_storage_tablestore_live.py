"""The conformance suite, and the adapter's races, against a real Tablestore instance: the one check of the fake
against the service itself. Deselected unless a -m expression selects it, and skipped unless a test instance and
its keys are given:

    TABLESTORE_TEST_URL='tablestore://<instance>?region=cn-hangzhou' \\
    ALIBABA_CLOUD_ACCESS_KEY_ID=... ALIBABA_CLOUD_ACCESS_KEY_SECRET=... \\
    .venv/bin/python -m pytest -m live tests/integration/test_storage_tablestore_live.py

The session creates its own tables under a random prefix, waits until they serve (about a minute), empties them
before each test and deletes them at the end. Use a test instance: it costs a few capacity units.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import tablestore as ots

from shared.storage.tablestore import TablestoreStorage
from shared.storage.tablestore_connect import KEY_ID, KEY_SECRET, open_tablestore
from tests.integration.test_storage_conformance import *  # noqa: F403 - the same tests, on this module's storage
from tests.integration.test_storage_tablestore_concurrency import (  # noqa: F401 - collected here too
    test_duplicate_notifications_pay_once_and_issue_exactly_one_licence,
    test_six_devices_racing_for_three_seats_get_exactly_three,
)

pytestmark = pytest.mark.live
READY_TIMEOUT = 180  # seconds; a new table serves after about a minute


@pytest.fixture(scope="session")
def live_tablestore() -> Iterator[TablestoreStorage]:
    url = os.environ.get("TABLESTORE_TEST_URL", "").strip()
    if not url or not all(os.environ.get(name, "").strip() for name in (KEY_ID, KEY_SECRET)):
        pytest.skip(f"set TABLESTORE_TEST_URL, {KEY_ID} and {KEY_SECRET} to test against a real instance")
    storage = open_tablestore(with_prefix(url, f"t{secrets.token_hex(3)}_"))
    storage.migrate()
    try:
        wait_until_serving(storage)
        yield storage
    finally:
        for name in storage.tables.schemas():
            storage._client.delete_table(name)


@pytest.fixture
def storage(live_tablestore: TablestoreStorage) -> TablestoreStorage:
    for name, schema in live_tablestore.tables.schemas().items():
        for row in every_row(live_tablestore._client, name, schema):
            live_tablestore._client.delete_row(name, ots.Row(row.primary_key), ots.Condition("IGNORE"))
    return live_tablestore


def with_prefix(url: str, prefix: str) -> str:
    parts = urlsplit(url)
    options = [(name, value) for name, value in parse_qsl(parts.query) if name != "table_prefix"]
    return urlunsplit(parts._replace(query=urlencode([*options, ("table_prefix", prefix)])))


def every_row(client: Any, name: str, schema: list[tuple[str, ...]]) -> Iterator[Any]:
    start: Any = [(column[0], ots.INF_MIN) for column in schema]
    end = [(column[0], ots.INF_MAX) for column in schema]
    while start is not None:
        _, start, rows, _ = client.get_range(name, ots.Direction.FORWARD, start, end, max_version=1)
        yield from rows


def wait_until_serving(storage: TablestoreStorage) -> None:
    deadline, waiting = time.monotonic() + READY_TIMEOUT, dict(storage.tables.schemas())
    while waiting:
        for name, schema in list(waiting.items()):
            try:
                next(every_row(storage._client, name, schema), None)
                del waiting[name]
            except ots.OTSServiceError:
                if time.monotonic() > deadline:
                    raise
        time.sleep(5 if waiting else 0)
