"""Tablestore's admin part beyond the conformance suite: orders stored before schema version 3 enter the admin
search's indexes through `python -m scripts.storage reindex`, and the counter's compare-and-set gives up loudly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scripts import storage as storage_command
from shared.errors import StorageError
from shared.storage.search import OrderQuery
from shared.storage.tablestore import TablestoreStorage
from tests.integration.conftest import make_order
from tests.integration.fake_tablestore import FakeOTSClient, empty_tablestore


@pytest.fixture
def storage() -> Iterator[TablestoreStorage]:
    yield from empty_tablestore(page_size=3)


def test_reindex_puts_orders_stored_before_version_3_into_the_search(
    storage: TablestoreStorage, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = [make_order(transaction_id=f"42000000{n}") for n in range(3)]
    for order in orders:
        assert storage.insert_order(order)
    client: FakeOTSClient = storage._client
    for table in (storage.tables.orders_by_created, storage.tables.orders_by_transaction):
        client._tables[table].rows.clear()  # as a version 2 instance left them: the tables are new
    assert storage.search_orders(OrderQuery(), None, 10).orders == []
    assert storage.search_orders(OrderQuery(transaction_id="420000001"), None, 10).orders == []
    monkeypatch.setattr(storage_command, "open_storage", lambda url: storage)
    assert storage_command.main(["reindex"], {"STORAGE_URL": "tablestore://fake"}) == 0
    assert capsys.readouterr().out.strip() == "index rows written: 6"
    assert storage.search_orders(OrderQuery(), None, 10).orders == list(reversed(orders))
    assert storage.search_orders(OrderQuery(transaction_id="420000001"), None, 10).orders == [orders[1]]
    assert storage_command.main(["reindex"], {"STORAGE_URL": "tablestore://fake"}) == 0
    assert capsys.readouterr().out.strip() == "index rows written: 0"


def test_a_counter_that_keeps_losing_its_compare_and_set_raises(storage: TablestoreStorage) -> None:
    assert storage.hit_counter("auth:x", 1, 100) == 1
    storage._client.inject(  # type: ignore[attr-defined]
        "UpdateRow", table=storage.tables.counters, error=_condition_failed(storage), times=1000
    )
    with pytest.raises(StorageError, match="kept moving"):
        storage.hit_counter("auth:x", 1, 100)


def _condition_failed(storage: TablestoreStorage) -> Exception:
    return storage._client.service_error(403, "OTSConditionCheckFail", "Condition check failed.")  # type: ignore[attr-defined,no-any-return]
