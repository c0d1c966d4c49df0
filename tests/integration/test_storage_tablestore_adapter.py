"""What only the Tablestore adapter has to get right, beyond the shared conformance suite: failures between its
writes, the SDK's errors, lost answers, its own tables, and reads that stay bounded."""

from __future__ import annotations

import dataclasses

import pytest
import tablestore as ots
import urllib3

from shared.domain.licences import ActivationOutcome, licence_id_for
from shared.domain.orders import OrderStatus
from shared.errors import ConfigError, StorageError
from shared.storage.tablestore import TablestoreStorage
from shared.storage.tablestore_schema import SCHEMA_VERSION
from tests.integration.conftest import T0, make_licence, make_order
from tests.integration.fake_tablestore import FakeOTSClient


@pytest.fixture
def client() -> FakeOTSClient:
    return FakeOTSClient(page_size=2)


@pytest.fixture
def storage(client: FakeOTSClient) -> TablestoreStorage:
    storage = TablestoreStorage(client, table_prefix="t_")
    storage.migrate()
    return storage


# -- failures between two writes, and answers lost on the way ---------------------------------------------


def test_an_order_whose_insert_failed_is_not_in_the_history_and_the_retry_stores_it_once(
    storage: TablestoreStorage, client: FakeOTSClient
) -> None:
    order = make_order(install_hash="mine")
    client.inject("PutRow", table=storage.tables.orders)  # after its history row was written
    with pytest.raises(StorageError):
        storage.insert_order(order)
    assert storage.get_order(order.order_id) is None
    assert storage.orders_for_install("mine", 10) == []
    assert storage.insert_order(order) is True
    assert storage.orders_for_install("mine", 10) == [order]


def test_an_order_insert_whose_answer_was_lost_reads_as_existing_on_retry(
    storage: TablestoreStorage, client: FakeOTSClient
) -> None:
    order = make_order(install_hash="mine")
    client.inject("PutRow", table=storage.tables.orders, applied=True)
    with pytest.raises(StorageError):
        storage.insert_order(order)
    assert storage.insert_order(order) is False
    assert storage.orders_for_install("mine", 10) == [order]


def test_a_licence_interrupted_after_its_claims_is_invisible_and_its_retry_completes_it(
    storage: TablestoreStorage, client: FakeOTSClient
) -> None:
    order = make_order()
    licence = make_licence(order)
    client.inject("PutRow", table=storage.tables.licences)
    with pytest.raises(StorageError):
        storage.insert_licence(licence)
    assert storage.get_licence(licence.licence_id) is None
    assert storage.get_licence_by_key_hash(licence.key_hash) is None
    # The retry may even carry another key (a service that drew a new one): the order's claim is the licence id's.
    again = dataclasses.replace(licence, key_hash="a-new-key-hash")
    assert storage.insert_licence(again) is True
    assert storage.get_licence_by_key_hash("a-new-key-hash") == again
    assert storage.get_licence_by_key_hash(licence.key_hash) is None  # a stale claim is not believed
    assert storage.insert_licence(dataclasses.replace(again, licence_id="L-other", key_hash="k3")) is False


def test_a_licence_id_taken_by_another_order_frees_the_claims_it_made(storage: TablestoreStorage) -> None:
    first, second = make_order(), make_order()
    assert storage.insert_licence(make_licence(first, licence_id="L-shared"))
    assert storage.insert_licence(make_licence(second, licence_id="L-shared", key_hash="k-second")) is False
    assert storage.get_licence_by_key_hash("k-second") is None
    proper = make_licence(second, key_hash="k-second")
    assert storage.insert_licence(proper) is True  # the second order can still be licensed, even with that key
    assert storage.get_licence_by_key_hash("k-second") == proper


def test_a_key_hash_held_by_another_licence_refuses_the_insert_and_the_update(storage: TablestoreStorage) -> None:
    first, second = make_licence(make_order()), make_licence(make_order())
    assert storage.insert_licence(first)
    assert storage.insert_licence(dataclasses.replace(second, key_hash=first.key_hash)) is False
    assert storage.insert_licence(second) is True  # the order kept its claim for its own licence id
    with pytest.raises(ValueError, match="key_hash"):
        storage.update_licence(second.licence_id, {"key_hash": first.key_hash})
    assert storage.update_licence(second.licence_id, {"key_hash": "rotated"}) is True
    assert storage.get_licence_by_key_hash("rotated") == dataclasses.replace(second, key_hash="rotated")
    assert storage.get_licence_by_key_hash(second.key_hash) is None


def test_an_activation_whose_answer_was_lost_is_already_active_on_retry(
    storage: TablestoreStorage, client: FakeOTSClient
) -> None:
    licence = make_licence(make_order())
    storage.activate(licence.licence_id, "install-1", 2, T0)
    client.inject("UpdateRow", table=storage.tables.activations, applied=True)
    with pytest.raises(StorageError):
        storage.activate(licence.licence_id, "install-2", 2, T0 + 1)
    assert storage.activate(licence.licence_id, "install-2", 2, T0 + 2).outcome is ActivationOutcome.ALREADY_ACTIVE
    assert [a.activated_at for a in storage.activations(licence.licence_id)] == [T0, T0 + 1]


# -- orders' history key, NOT NULL -----------------------------------------------------------------------


def test_changing_an_orders_install_moves_it_in_the_history(storage: TablestoreStorage) -> None:
    order = make_order(install_hash="old")
    storage.insert_order(order)
    assert storage.update_order(order.order_id, {"install_hash": "new", "created_at": T0 + 99}) is True
    assert storage.orders_for_install("old", 10) == []
    assert storage.orders_for_install("new", 10) == [dataclasses.replace(order, install_hash="new", created_at=T0 + 99)]
    moved = {"install_hash": "newer"}
    assert storage.update_order(order.order_id, moved, expect_status=[OrderStatus.PAID]) is False
    assert [o.install_hash for o in storage.orders_for_install("new", 10)] == ["new"]


@pytest.mark.parametrize("field", ["currency", "install_hash", "amount_fen"])
def test_a_required_order_field_cannot_be_emptied(storage: TablestoreStorage, field: str) -> None:
    order = make_order()
    storage.insert_order(order)
    with pytest.raises(ValueError, match="cannot be empty"):
        storage.update_order(order.order_id, {field: None})
    assert storage.get_order(order.order_id) == order


def test_a_required_licence_field_cannot_be_emptied(storage: TablestoreStorage) -> None:
    licence = make_licence(make_order())
    storage.insert_licence(licence)
    with pytest.raises(ValueError, match="cannot be empty"):
        storage.update_licence(licence.licence_id, {"max_devices": None})
    assert storage.update_licence(licence.licence_id, {"expires_at": None}) is True  # nullable: perpetual


# -- the SDK's errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        ots.OTSServiceError(503, "OTSServerUnavailable", "Server is busy.", "req-1"),
        ots.OTSServiceError(403, "OTSAuthFailed", "The AccessKeyID LTAI-example is disabled.", "req-2"),
        ots.OTSClientError("Invalid signature in response. HTTP status: 200."),
        urllib3.exceptions.ReadTimeoutError(None, "/GetRow", "Read timed out. (read timeout=5)"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
    ids=["service error", "auth failure", "client error", "read timeout", "socket error"],
)
def test_every_failure_but_a_failed_condition_is_a_storage_error_keeping_its_cause(
    storage: TablestoreStorage, client: FakeOTSClient, error: Exception
) -> None:
    client.inject("GetRow", error=error)
    with pytest.raises(StorageError) as raised:
        storage.get_order("ord_x")
    assert raised.value.__cause__ is error
    assert "LTAI" not in str(raised.value)  # an auth failure's message may name the key: left out


def test_a_batch_row_that_failed_is_read_again_alone(storage: TablestoreStorage, client: FakeOTSClient) -> None:
    orders = [make_order(install_hash="mine", created_at=T0 + n) for n in range(3)]
    for order in orders:
        storage.insert_order(order)
    client.inject("BatchGetRow.row", error=client.service_error(503, "OTSServerBusy", "busy"))
    assert storage.orders_for_install("mine", 10) == orders[::-1]


def test_ping_fails_on_an_instance_without_our_tables() -> None:
    with pytest.raises(StorageError, match="OTSObjectNotExist"):
        TablestoreStorage(FakeOTSClient()).ping()


# -- tables and reads ------------------------------------------------------------------------------------


def test_migrate_creates_each_table_once_keeping_one_version_forever(
    storage: TablestoreStorage, client: FakeOTSClient
) -> None:
    assert storage.migrate() == []
    assert storage.schema_version() == SCHEMA_VERSION == 3
    assert TablestoreStorage(client, table_prefix="other_").schema_version() == 0
    options = client.describe_table(storage.tables.orders).table_options
    assert (options.max_version, options.time_to_live) == (1, -1)


def test_an_instance_with_the_first_table_set_reads_as_unmigrated_until_the_new_tables_are_created(
    storage: TablestoreStorage, client: FakeOTSClient
) -> None:
    for table in (storage.tables.refunds, storage.tables.orders_by_status, storage.tables.job_leases):
        client.delete_table(table)
    assert storage.schema_version() == 0
    assert sorted(storage.migrate()) == sorted(
        [storage.tables.refunds, storage.tables.orders_by_status, storage.tables.job_leases]
    )
    assert storage.schema_version() == SCHEMA_VERSION


def test_migrate_refuses_a_table_of_ours_with_another_key(client: FakeOTSClient) -> None:
    meta = ots.TableMeta("x_orders", [("id", "INTEGER")])
    client.create_table(meta, ots.TableOptions(), ots.ReservedThroughput(ots.CapacityUnit(0, 0)))
    with pytest.raises(ConfigError, match="table_prefix"):
        TablestoreStorage(client, table_prefix="x_").migrate()


@pytest.mark.parametrize("prefix", ["9lives_", "wx-pay_", "a" * 65])
def test_a_table_prefix_tablestore_cannot_name_is_refused(client: FakeOTSClient, prefix: str) -> None:
    with pytest.raises(ConfigError, match="table_prefix"):
        TablestoreStorage(client, table_prefix=prefix)


def test_reads_are_key_lookups_and_bounded_ranges(storage: TablestoreStorage, client: FakeOTSClient) -> None:
    client.page_size = 5000
    for n in range(30):
        storage.insert_order(make_order(install_hash="mine", created_at=T0 + n))
    licence = make_licence(make_order())
    storage.insert_licence(licence)
    client.calls.clear()
    assert len(storage.orders_for_install("mine", 20)) == 20
    storage.activate(licence.licence_id, "install-1", 3, T0)
    storage.get_licence_by_key_hash(licence.key_hash)
    assert client.calls == [
        ("GetRange", storage.tables.orders_by_install),  # 20 history rows
        ("BatchGetRow", None),  # their orders, in one request
        ("GetRow", storage.tables.activations),
        ("PutRow", storage.tables.activations),
        ("GetRow", storage.tables.licence_keys),
        ("GetRow", storage.tables.licences),
    ]


def test_the_licence_id_is_the_orders_so_a_retry_with_a_fresh_object_finds_the_claim(
    storage: TablestoreStorage,
) -> None:
    order = make_order()
    assert storage.insert_licence(make_licence(order))
    assert storage.insert_licence(make_licence(order, max_devices=9)) is False
    stored = storage.get_licence(licence_id_for(order.order_id))
    assert stored is not None and stored.max_devices == 3


def test_an_anomaly_recorded_again_later_is_listed_once_at_its_first_time(
    storage: TablestoreStorage, client: FakeOTSClient
) -> None:
    client.page_size = 5000  # both by-time rows in one page: one batch read, naming the anomaly once
    assert storage.record_anomaly("AMOUNT_MISMATCH", "ord_1", "tx-1", {"n": 1}, T0) is True
    assert storage.record_anomaly("AMOUNT_MISMATCH", "ord_1", "tx-1", {"n": 2}, T0 + 5) is False
    assert storage.anomalies() == [
        {"kind": "AMOUNT_MISMATCH", "order_id": "ord_1", "reference": "tx-1", "details": {"n": 1}, "at": T0}
    ]
