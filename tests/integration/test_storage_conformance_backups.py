"""The port's contract for backups (export_rows / import_rows), run once per adapter (see conftest): one row
format for every backend, key order, restore into a fresh storage, restore run twice, restore across backends."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.domain.licences import Licence
from shared.domain.orders import Order, OrderStatus
from shared.domain.refunds import RefundStatus
from shared.storage import datasets
from shared.storage.factory import open_storage
from shared.storage.port import Storage
from tests.integration.conftest import T0, make_licence, make_order, make_refund

Backup = dict[str, list[dict[str, Any]]]


def _populate(storage: Storage) -> tuple[list[Order], list[Licence]]:
    """A little of everything, with Chinese text, empty optional fields, ties in two-column keys."""
    paid = make_order(
        order_id="ord_backup_1",
        status=OrderStatus.PARTIALLY_REFUNDED,
        code_url="weixin://wxpay/bizpayurl?pr=abc",
        transaction_id="4200000000000000001",
        paid_at=T0 + 60,
        payer_hash="payer",
        last_queried_at=T0 + 30,
        updated_at=T0 + 90,
    )
    pending, closed = (
        make_order(order_id="ord_backup_2"),
        make_order(order_id="ord_backup_0", status=OrderStatus.CLOSED),
    )
    orders = [paid, pending, closed]
    licences = [make_licence(paid), make_licence(closed, entitlements=(), expires_at=None, revoke_reason="退款")]
    for order in orders:
        assert storage.insert_order(order)
    for licence in licences:
        assert storage.insert_licence(licence)
    for n, install in enumerate(("install-b", "install-a", "install-c")):
        storage.activate(licences[0].licence_id, install, max_devices=5, now=T0 + n)
    storage.activate(licences[1].licence_id, "install-a", max_devices=5, now=T0)
    storage.insert_refund(make_refund(paid, out_refund_no="R-backup-2"))
    storage.insert_refund(make_refund(paid, out_refund_no="R-backup-1", status=RefundStatus.SUCCESS, success_at=T0 + 5))
    for order in (pending, paid):
        storage.append_order_event(order.order_id, "CREATED", T0, {"amount_fen": order.amount_fen})
    storage.append_order_event(paid.order_id, "PAID", T0 + 60, {"via": "通知 notify", "nested": {"a": [1, 2]}})
    storage.append_order_event(paid.order_id, "QUERIED", T0 + 70, {})
    storage.append_order_event(paid.order_id, "QUERIED", T0 + 70, {})  # the same twice: two events, both kept
    storage.record_anomaly("AMOUNT_MISMATCH", paid.order_id, "tx-2", {"expected": 1990, "说明": "金额"}, T0 + 3)
    storage.record_anomaly("AMOUNT_MISMATCH", None, "tx-1", {}, T0 + 4)
    storage.record_anomaly("UNKNOWN_ORDER", None, "tx-0", {"n": 0}, T0 + 1)
    storage.record_notification("notif-b", "TRANSACTION.SUCCESS", paid.order_id, T0 + 61)
    storage.record_notification("notif-a", "REFUND.SUCCESS", None, T0 + 62)
    return orders, licences


def _backup(storage: Storage) -> Backup:
    return {name: list(storage.export_rows(name)) for name in datasets.DATASETS}


def _restore(storage: Storage, backup: Backup) -> dict[str, int]:
    return {name: storage.import_rows(name, iter(backup[name])) for name in datasets.DATASETS}


def test_every_dataset_exports_its_rows_in_key_order_with_json_values(storage: Storage) -> None:
    orders, licences = _populate(storage)
    backup = _backup(storage)
    assert [row["order_id"] for row in backup["orders"]] == ["ord_backup_0", "ord_backup_1", "ord_backup_2"]
    assert backup["orders"][1] == {**dataclasses.asdict(orders[0]), "status": "PARTIALLY_REFUNDED"}
    perpetual = next(row for row in backup["licences"] if row["order_id"] == "ord_backup_0")
    assert perpetual == {**dataclasses.asdict(licences[1]), "status": "ACTIVE", "entitlements": []}
    assert [row["licence_id"] for row in backup["licences"]] == sorted(licence.licence_id for licence in licences)
    assert [row["out_refund_no"] for row in backup["refunds"]] == ["R-backup-1", "R-backup-2"]
    assert backup["refunds"][0]["status"] == "SUCCESS" and backup["refunds"][0]["success_at"] == T0 + 5
    assert [(row["order_id"], row["kind"]) for row in backup["order_events"]] == [
        ("ord_backup_1", "CREATED"),
        ("ord_backup_1", "PAID"),
        ("ord_backup_1", "QUERIED"),
        ("ord_backup_1", "QUERIED"),
        ("ord_backup_2", "CREATED"),
    ]
    paid_events = [row for row in backup["order_events"] if row["order_id"] == "ord_backup_1"]
    assert paid_events[1]["details"] == {"via": "通知 notify", "nested": {"a": [1, 2]}}
    assert [row["seq"] for row in paid_events] == sorted({row["seq"] for row in paid_events})  # distinct, rising
    assert backup["anomalies"] == [
        {"kind": "AMOUNT_MISMATCH", "reference": "tx-1", "order_id": None, "details": {}, "at": T0 + 4},
        {
            "kind": "AMOUNT_MISMATCH",
            "reference": "tx-2",
            "order_id": "ord_backup_1",
            "details": {"expected": 1990, "说明": "金额"},
            "at": T0 + 3,
        },
        {"kind": "UNKNOWN_ORDER", "reference": "tx-0", "order_id": None, "details": {"n": 0}, "at": T0 + 1},
    ]
    assert backup["notifications"] == [
        {"notification_id": "notif-a", "event_type": "REFUND.SUCCESS", "order_id": None, "processed_at": T0 + 62},
        {
            "notification_id": "notif-b",
            "event_type": "TRANSACTION.SUCCESS",
            "order_id": "ord_backup_1",
            "processed_at": T0 + 61,
        },
    ]


def test_activations_export_by_licence_then_install(storage: Storage) -> None:
    _, licences = _populate(storage)
    rows = list(storage.export_rows("activations"))
    assert [(row["licence_id"], row["install_hash"]) for row in rows] == sorted(
        [(licences[0].licence_id, f"install-{c}") for c in "abc"] + [(licences[1].licence_id, "install-a")]
    )
    assert {
        row["install_hash"]: row["activated_at"] for row in rows if row["licence_id"] == licences[0].licence_id
    } == {
        "install-b": T0,
        "install-a": T0 + 1,
        "install-c": T0 + 2,
    }


def test_a_backup_restored_into_a_fresh_storage_exports_identical_rows(
    storage: Storage, spare_storage: Storage
) -> None:
    orders, licences = _populate(storage)
    backup = _backup(storage)
    assert _restore(spare_storage, backup) == {name: len(rows) for name, rows in backup.items()}
    assert _backup(spare_storage) == backup
    for order in orders:
        assert spare_storage.get_order(order.order_id) == order
        assert spare_storage.order_events(order.order_id) == storage.order_events(order.order_id)
        assert spare_storage.refunds_for_order(order.order_id) == storage.refunds_for_order(order.order_id)
    for licence in licences:
        assert spare_storage.get_licence_by_key_hash(licence.key_hash) == licence
        assert spare_storage.activations(licence.licence_id) == storage.activations(licence.licence_id)
    assert spare_storage.anomalies() == storage.anomalies()
    assert spare_storage.orders_paid_between(T0, T0 + 1000, 10) == [orders[0]]  # derived rows are restored too
    assert spare_storage.notification_processed("notif-a") is True


def test_a_restore_run_twice_inserts_nothing_the_second_time(storage: Storage, spare_storage: Storage) -> None:
    _populate(storage)
    backup = _backup(storage)
    _restore(spare_storage, backup)
    assert _restore(spare_storage, backup) == dict.fromkeys(datasets.DATASETS, 0)
    assert _restore(storage, backup) == dict.fromkeys(datasets.DATASETS, 0)  # into the storage it came from
    assert _backup(spare_storage) == backup
    assert _backup(storage) == backup


def test_restored_events_keep_their_identity_and_new_events_follow_them(
    storage: Storage, spare_storage: Storage
) -> None:
    _populate(storage)
    backup = _backup(storage)
    _restore(spare_storage, backup)
    spare_storage.append_order_event("ord_backup_1", "REFUNDED", T0 + 900, {"amount_fen": 500})
    events = [row for row in spare_storage.export_rows("order_events") if row["order_id"] == "ord_backup_1"]
    assert events[:-1] == [row for row in backup["order_events"] if row["order_id"] == "ord_backup_1"]
    assert events[-1]["kind"] == "REFUNDED" and events[-1]["seq"] not in {row["seq"] for row in events[:-1]}
    assert spare_storage.import_rows("order_events", iter(backup["order_events"])) == 0
    assert [e["kind"] for e in spare_storage.order_events("ord_backup_1")] == [
        "CREATED",
        "PAID",
        "QUERIED",
        "QUERIED",
        "REFUNDED",
    ]


def test_a_backup_of_sqlite_restores_into_every_backend_unchanged(storage: Storage, tmp_path: Path) -> None:
    source = open_storage(f"sqlite:///{tmp_path / 'source.sqlite3'}")
    _populate(source)
    backup = _backup(source)
    assert _restore(storage, backup) == {name: len(rows) for name, rows in backup.items()}
    assert _backup(storage) == backup


def test_export_pages_through_many_rows_sharing_the_first_key_column(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(datasets, "PAGE", 2)
    order = make_order(order_id="ord_many_events")
    storage.insert_order(order)
    licence = make_licence(order)
    storage.insert_licence(licence)
    for n in range(7):
        storage.append_order_event(order.order_id, "QUERIED", T0 + n, {"n": n})
        storage.activate(licence.licence_id, f"install-{n}", max_devices=10, now=T0 + n)
    for n in range(5):
        storage.record_anomaly("SAME_KIND", None, f"ref-{n}", {}, T0 + n)
        storage.insert_order(make_order(order_id=f"ord_page_{n}"))
    assert [row["details"]["n"] for row in storage.export_rows("order_events")] == list(range(7))
    assert [row["install_hash"] for row in storage.export_rows("activations")] == [f"install-{n}" for n in range(7)]
    assert [row["reference"] for row in storage.export_rows("anomalies")] == [f"ref-{n}" for n in range(5)]
    assert [row["order_id"] for row in storage.export_rows("orders")] == sorted(
        ["ord_many_events", *(f"ord_page_{n}" for n in range(5))]
    )


def test_an_unknown_dataset_or_a_malformed_row_is_refused(storage: Storage) -> None:
    with pytest.raises(ValueError, match="dataset"):
        storage.export_rows("payments")  # at the call, not at the first read
    with pytest.raises(ValueError, match="dataset"):
        storage.import_rows("payments", iter([]))
    row = {**dataclasses.asdict(make_order()), "status": "PENDING"}
    with pytest.raises(ValueError, match="columns"):
        storage.import_rows("orders", iter([{**row, "colour": "red"}]))
    with pytest.raises(ValueError, match="columns"):
        storage.import_rows("orders", iter([{k: v for k, v in row.items() if k != "amount_fen"}]))
    assert storage.get_order(row["order_id"]) is None


def test_an_empty_storage_exports_nothing(storage: Storage) -> None:
    exported: dict[str, Iterator[dict[str, Any]]] = {name: storage.export_rows(name) for name in datasets.DATASETS}
    assert all(list(rows) == [] for rows in exported.values())
