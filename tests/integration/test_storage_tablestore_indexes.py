"""The Tablestore adapter's index tables (shared.storage.tablestore_index), beyond the conformance suite: they
follow the rows they point to, failures between the writes leave nothing wrong to a reader, a race never loses the
index row of the current state, rows written by the previous version move too, and reads stay bounded."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shared.domain.orders import OrderStatus
from shared.errors import StorageError
from shared.storage.port import IdempotencyRecord
from shared.storage.tablestore import TablestoreStorage
from shared.storage.tablestore_index import SHARDS, shard_of
from tests.integration.conftest import T0, make_order
from tests.integration.fake_tablestore import FakeOTSClient

PAY = {"status": OrderStatus.PAID, "paid_at": T0 + 60, "transaction_id": "4200000000000001"}
FAR = T0 + 10**6


@pytest.fixture
def client() -> FakeOTSClient:
    return FakeOTSClient(page_size=2)


@pytest.fixture
def storage(client: FakeOTSClient) -> TablestoreStorage:
    storage = TablestoreStorage(client, table_prefix="ix_")
    storage.migrate()
    return storage


def _index_rows(storage: TablestoreStorage, table: str) -> list[tuple[Any, ...]]:
    """Every row's key in an index table, read behind the adapter's back."""
    names = [column[0] for column in storage.tables.schemas()[table]]
    low, high = storage._ops.sdk.INF_MIN, storage._ops.sdk.INF_MAX
    pages = storage._ops.scan(table, [(n, low) for n in names], [(n, high) for n in names])
    return [tuple(row[n] for n in names) for page in pages for row in page]


def _order_indexes(storage: TablestoreStorage) -> dict[str, list[tuple[Any, ...]]]:
    t = storage.tables
    tables = {"status": t.orders_by_status, "expiry": t.orders_by_expiry, "paid": t.orders_by_paid}
    return {name: _index_rows(storage, table) for name, table in tables.items()}


def test_an_order_leaving_a_state_takes_its_index_rows_with_it(storage: TablestoreStorage) -> None:
    order = make_order()
    storage.insert_order(order)
    shard = shard_of(order.order_id)
    assert _order_indexes(storage) == {
        "status": [(shard, "PENDING", order.created_at, order.order_id)],
        "expiry": [(shard, order.expires_at, order.order_id)],
        "paid": [],
    }
    assert storage.update_order(order.order_id, PAY, expect_status=[OrderStatus.PENDING])
    assert _order_indexes(storage) == {
        "status": [(shard, "PAID", order.created_at, order.order_id)],
        "expiry": [],
        "paid": [(shard, T0 + 60, order.order_id)],
    }


def test_a_payment_costs_three_reads_and_six_writes(storage: TablestoreStorage, client: FakeOTSClient) -> None:
    order = make_order()
    storage.insert_order(order)
    client.calls.clear()
    assert storage.update_order(order.order_id, PAY, expect_status=[OrderStatus.PENDING])
    t = storage.tables
    assert sorted(client.calls) == sorted(
        [
            ("GetRow", t.orders),  # the order: which index rows it leaves and enters
            ("GetRow", t.orders_by_status),  # the tokens of the rows it leaves
            ("GetRow", t.orders_by_expiry),
            ("PutRow", t.orders_by_status),  # the rows it enters
            ("PutRow", t.orders_by_paid),
            ("PutRow", t.orders_by_transaction),
            ("UpdateRow", t.orders),  # the compare-and-set
            ("DeleteRow", t.orders_by_status),  # the rows it left
            ("DeleteRow", t.orders_by_expiry),
        ]
    )
    client.calls.clear()
    assert storage.update_order(order.order_id, {"last_queried_at": T0 + 70}) is True
    assert client.calls == [("UpdateRow", t.orders)]  # no index column: the plain compare-and-set


def test_a_stale_index_row_left_by_a_failed_delete_is_skipped_and_the_update_still_succeeds(
    storage: TablestoreStorage, client: FakeOTSClient
) -> None:
    order = make_order()
    storage.insert_order(order)
    client.inject("DeleteRow", times=5)
    assert storage.update_order(order.order_id, PAY, expect_status=[OrderStatus.PENDING]) is True
    assert len(_order_indexes(storage)["expiry"]) == 1  # left behind
    assert storage.orders_expired(FAR, 10) == []
    assert storage.orders_in_status(OrderStatus.PENDING, FAR, 10) == []
    assert storage.orders_in_status(OrderStatus.PAID, FAR, 10) == [storage.get_order(order.order_id)]


def test_a_payment_whose_answer_was_lost_is_listed_as_paid_and_not_as_pending(
    storage: TablestoreStorage, client: FakeOTSClient
) -> None:
    order = make_order()
    storage.insert_order(order)
    client.inject("UpdateRow", table=storage.tables.orders, applied=True)
    with pytest.raises(StorageError):
        storage.update_order(order.order_id, PAY, expect_status=[OrderStatus.PENDING])
    assert storage.update_order(order.order_id, PAY, expect_status=[OrderStatus.PENDING]) is False
    assert storage.orders_in_status(OrderStatus.PENDING, FAR, 10) == []
    assert storage.orders_expired(FAR, 10) == []
    assert [o.order_id for o in storage.orders_paid_between(T0, FAR, 10)] == [order.order_id]


def test_an_order_whose_insert_failed_is_in_no_job_list_and_its_retry_is_in_all(
    storage: TablestoreStorage, client: FakeOTSClient
) -> None:
    order = make_order()
    client.inject("PutRow", table=storage.tables.orders)  # after its index rows were written
    with pytest.raises(StorageError):
        storage.insert_order(order)
    assert storage.orders_in_status(OrderStatus.PENDING, FAR, 10) == []
    assert storage.orders_expired(FAR, 10) == []
    assert storage.insert_order(order) is True
    assert storage.orders_in_status(OrderStatus.PENDING, FAR, 10) == [order]
    assert storage.orders_expired(FAR, 10) == [order]


def test_an_order_written_by_the_previous_version_moves_and_its_old_history_row_goes(
    storage: TablestoreStorage,
) -> None:
    order = make_order(install_hash="old")
    ops, t = storage._ops, storage.tables
    # As the first version wrote it: a history row without a token, an order without `gen`, no other index.
    ops.put(
        t.orders_by_install,
        [("install_hash", "old"), ("created_at", order.created_at), ("order_id", order.order_id)],
        {},
    )
    values = {name: getattr(order, name) for name in ("product_id", "install_hash", "amount_fen", "currency")}
    values |= {"description": order.description, "mchid": order.mchid, "appid": order.appid, "status": "PENDING"}
    values |= {"created_at": order.created_at, "expires_at": order.expires_at, "poll_token_hash": order.poll_token_hash}
    assert ops.insert(t.orders, [("order_id", order.order_id)], values)
    assert storage.get_order(order.order_id) == order
    assert storage.update_order(order.order_id, {"install_hash": "new"}) is True
    assert _index_rows(storage, t.orders_by_install) == [("new", order.created_at, order.order_id)]
    assert storage.update_order(order.order_id, PAY, expect_status=[OrderStatus.PENDING]) is True
    assert [o.order_id for o in storage.orders_in_status(OrderStatus.PAID, FAR, 10)] == [order.order_id]


def test_reindexing_puts_orders_of_the_previous_version_into_the_job_lists_once(storage: TablestoreStorage) -> None:
    order, ops, t = make_order(), storage._ops, storage.tables
    values = {name: value for name, value in order.__dict__.items() if name != "order_id"} | {"status": "PENDING"}
    assert ops.insert(t.orders, [("order_id", order.order_id)], values)  # no index rows, no `gen`
    assert storage.orders_expired(FAR, 10) == []
    assert storage.reindex() == 4  # its history, status, expiry and by-creation rows
    assert storage.orders_expired(FAR, 10) == [order]
    assert storage.orders_in_status(OrderStatus.PENDING, FAR, 10) == [order]
    assert storage.reindex() == 0
    assert storage.update_order(order.order_id, PAY, expect_status=[OrderStatus.PENDING]) is True
    assert storage.orders_expired(FAR, 10) == []


def test_racing_status_changes_never_lose_the_index_rows_of_the_state_the_order_ends_in() -> None:
    storage = TablestoreStorage(FakeOTSClient(page_size=2, latency=0.002), table_prefix="flip_")
    storage.migrate()
    order = make_order(status=OrderStatus.PAID, paid_at=T0 + 60)
    storage.insert_order(order)
    barrier = threading.Barrier(8)

    def flip(worker: int) -> None:
        barrier.wait(10)
        for round_ in range(6):
            if (worker + round_) % 2:
                storage.update_order(
                    order.order_id, {"status": OrderStatus.REFUNDING}, expect_status=[OrderStatus.PAID]
                )
            else:
                storage.update_order(
                    order.order_id, {"status": OrderStatus.PAID}, expect_status=[OrderStatus.REFUNDING]
                )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(flip, range(8)))
    final = storage.get_order(order.order_id)
    assert final is not None
    other = OrderStatus.PAID if final.status is OrderStatus.REFUNDING else OrderStatus.REFUNDING
    assert storage.orders_in_status(final.status, FAR, 10) == [final]
    assert storage.orders_in_status(other, FAR, 10) == []
    assert storage.orders_paid_between(T0, FAR, 10) == [final]


def test_a_job_read_asks_each_shard_for_one_page_and_reads_its_orders_in_one_batch(
    storage: TablestoreStorage, client: FakeOTSClient
) -> None:
    client.page_size = 5000
    orders = [make_order(expires_at=T0 + n) for n in range(20)]
    for order in orders:
        storage.insert_order(order)
    client.calls.clear()
    assert storage.orders_expired(T0 + 100, limit=5) == orders[:5]
    ranges = [call for call in client.calls if call[0] == "GetRange"]
    assert ranges == [("GetRange", storage.tables.orders_by_expiry)] * SHARDS
    assert client.calls.count(("BatchGetRow", None)) == 1


def test_a_claim_retried_later_and_a_purge_leave_no_time_rows_behind(storage: TablestoreStorage) -> None:
    first = IdempotencyRecord("idem-1", "fp", "ord-1", T0)
    storage.claim_idempotency_key(first)
    assert storage.claim_idempotency_key(IdempotencyRecord("idem-1", "fp", "ord-1", T0 + 30)) == first
    storage.record_notification("notif-1", "TRANSACTION.SUCCESS", "ord-1", T0)
    storage.record_notification("notif-1", "TRANSACTION.SUCCESS", "ord-1", T0 + 30)
    t = storage.tables
    assert (
        len(_index_rows(storage, t.idempotency_keys_by_time)) == len(_index_rows(storage, t.notifications_by_time)) == 1
    )
    assert storage.purge("idempotency_keys", T0 + 1, 10) == storage.purge("notifications", T0 + 1, 10) == 1
    assert _index_rows(storage, t.idempotency_keys_by_time) == _index_rows(storage, t.notifications_by_time) == []
