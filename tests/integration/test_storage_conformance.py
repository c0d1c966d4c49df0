"""What every storage adapter must do (the port's contract), run once per adapter by the `storage` fixture."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from shared.domain.licences import Activation, ActivationOutcome, Licence, LicenceStatus
from shared.domain.orders import Order, OrderStatus
from shared.storage.port import IdempotencyRecord, Storage
from tests.integration.conftest import T0

MakeOrder = Callable[..., Order]
MakeLicence = Callable[..., Licence]


@pytest.fixture
def order(storage: Storage, make_order: MakeOrder) -> Order:
    stored = make_order()
    assert storage.insert_order(stored)
    return stored


@pytest.fixture
def licence(storage: Storage, order: Order, make_licence: MakeLicence) -> Licence:
    stored = make_licence(order)
    assert storage.insert_licence(stored)
    return stored


# -- orders ----------------------------------------------------------------------------------------------


def test_inserting_an_order_twice_keeps_the_first_and_reports_false(storage: Storage, make_order: MakeOrder) -> None:
    first = make_order()
    assert storage.insert_order(first) is True
    assert storage.insert_order(dataclasses.replace(first, amount_fen=1, status=OrderStatus.PAID)) is False
    assert storage.get_order(first.order_id) == first


def test_an_order_round_trips_every_field_when_optional_fields_are_empty(
    storage: Storage, make_order: MakeOrder
) -> None:
    order = make_order()
    storage.insert_order(order)
    assert storage.get_order(order.order_id) == order


def test_an_order_round_trips_every_field_when_all_are_set(storage: Storage, make_order: MakeOrder) -> None:
    order = make_order(
        status=OrderStatus.PARTIALLY_REFUNDED,
        code_url="weixin://wxpay/bizpayurl?pr=abc123",
        transaction_id="4200000000202601010000000001",
        paid_at=T0 + 60,
        payer_hash="payer-hash",
        last_queried_at=T0 + 30,
        closed_at=T0 + 40,
        updated_at=T0 + 90,
    )
    storage.insert_order(order)
    stored = storage.get_order(order.order_id)
    assert stored == order
    assert stored is not None and stored.status is OrderStatus.PARTIALLY_REFUNDED
    assert type(stored.amount_fen) is int and type(stored.paid_at) is int


def test_a_missing_order_is_none(storage: Storage) -> None:
    assert storage.get_order("ord_nobody") is None


def test_an_order_moves_when_its_status_is_one_of_the_expected(storage: Storage, order: Order) -> None:
    changed = storage.update_order(
        order.order_id,
        {"status": OrderStatus.PAID, "paid_at": T0 + 5, "transaction_id": "tx1"},
        expect_status=[OrderStatus.PENDING, OrderStatus.CLOSED],
    )
    assert changed is True
    assert storage.get_order(order.order_id) == dataclasses.replace(
        order, status=OrderStatus.PAID, paid_at=T0 + 5, transaction_id="tx1"
    )


def test_an_order_in_another_status_is_left_exactly_as_it_was(storage: Storage, order: Order) -> None:
    changed = storage.update_order(
        order.order_id, {"status": OrderStatus.REFUNDED, "updated_at": T0 + 9}, expect_status=[OrderStatus.PAID]
    )
    assert changed is False
    assert storage.get_order(order.order_id) == order


def test_the_second_of_two_identical_transitions_fails(storage: Storage, order: Order) -> None:
    move = {"status": OrderStatus.PAID, "transaction_id": "tx1"}
    assert storage.update_order(order.order_id, move, expect_status=[OrderStatus.PENDING]) is True
    again = {"status": OrderStatus.PAID, "transaction_id": "tx2"}
    assert storage.update_order(order.order_id, again, expect_status=[OrderStatus.PENDING]) is False
    stored = storage.get_order(order.order_id)
    assert stored is not None and stored.transaction_id == "tx1"


def test_updating_a_missing_order_returns_false(storage: Storage) -> None:
    assert storage.update_order("ord_nobody", {"updated_at": T0}) is False
    assert storage.update_order("ord_nobody", {"updated_at": T0}, expect_status=[OrderStatus.PENDING]) is False
    assert storage.get_order("ord_nobody") is None


def test_an_unconditional_update_applies_whatever_the_status(storage: Storage, order: Order) -> None:
    assert storage.update_order(order.order_id, {"last_queried_at": T0 + 7, "code_url": None}) is True
    assert storage.get_order(order.order_id) == dataclasses.replace(order, last_queried_at=T0 + 7)


def test_an_empty_list_of_expected_statuses_matches_nothing(storage: Storage, order: Order) -> None:
    assert storage.update_order(order.order_id, {"status": OrderStatus.CLOSED}, expect_status=[]) is False
    assert storage.get_order(order.order_id) == order


@pytest.mark.parametrize(
    "changes",
    [
        {"no_such_field": 1},
        {"status": OrderStatus.PAID, "amount_fen = 0, status": 1},
        {"order_id": "ord_other"},
        {},
    ],
    ids=["unknown field", "injection attempt", "primary key", "nothing"],
)
def test_an_order_update_with_a_field_that_cannot_change_raises_and_changes_nothing(
    storage: Storage, order: Order, changes: dict[str, object]
) -> None:
    with pytest.raises(ValueError):
        storage.update_order(order.order_id, changes)
    assert storage.get_order(order.order_id) == order


def test_an_order_status_that_does_not_exist_is_refused(storage: Storage, order: Order) -> None:
    with pytest.raises(ValueError):
        storage.update_order(order.order_id, {"status": "SHIPPED"})
    assert storage.get_order(order.order_id) == order


def test_an_installs_orders_come_newest_first_limited_and_only_its_own(storage: Storage, make_order: MakeOrder) -> None:
    mine = [make_order(install_hash="mine", created_at=T0 + t) for t in (30, 10, 50, 20)]
    for order in [*mine, make_order(install_hash="theirs", created_at=T0 + 40)]:
        storage.insert_order(order)
    newest_three = storage.orders_for_install("mine", limit=3)
    assert [o.created_at for o in newest_three] == [T0 + 50, T0 + 30, T0 + 20]
    assert len(storage.orders_for_install("mine", limit=10)) == 4
    assert storage.orders_for_install("mine", limit=0) == []
    assert storage.orders_for_install("nobody", limit=10) == []


# -- licences --------------------------------------------------------------------------------------------


def test_inserting_a_licence_twice_keeps_the_first(storage: Storage, licence: Licence) -> None:
    assert storage.insert_licence(dataclasses.replace(licence, max_devices=99)) is False
    assert storage.get_licence(licence.licence_id) == licence


def test_a_second_licence_for_the_same_order_is_refused(storage: Storage, licence: Licence) -> None:
    other = dataclasses.replace(licence, licence_id="L-another", key_hash="another-key-hash")
    assert storage.insert_licence(other) is False
    assert storage.get_licence("L-another") is None
    assert storage.get_licence_by_key_hash("another-key-hash") is None
    assert storage.get_licence(licence.licence_id) == licence


def test_a_licence_is_found_by_id_and_by_key_hash(storage: Storage, licence: Licence) -> None:
    found = storage.get_licence(licence.licence_id)
    assert found == licence
    assert found is not None and found.status is LicenceStatus.ACTIVE and found.entitlements == ("pro", "sync")
    assert storage.get_licence_by_key_hash(licence.key_hash) == licence
    assert storage.get_licence("L-nobody") is None
    assert storage.get_licence_by_key_hash("no-such-hash") is None


def test_a_perpetual_revoked_licence_round_trips(
    storage: Storage, make_order: MakeOrder, make_licence: MakeLicence
) -> None:
    order = make_order()
    storage.insert_order(order)
    licence = make_licence(
        order,
        status=LicenceStatus.REVOKED,
        expires_at=None,
        revoked_at=T0 + 500,
        revoke_reason="退款 refunded",
        entitlements=(),
    )
    assert storage.insert_licence(licence)
    assert storage.get_licence(licence.licence_id) == licence


def test_a_licence_is_revoked_once_by_compare_and_set(storage: Storage, licence: Licence) -> None:
    revoke = {"status": LicenceStatus.REVOKED, "revoked_at": T0 + 9, "revoke_reason": "refund"}
    assert storage.update_licence(licence.licence_id, revoke, expect_status=[LicenceStatus.ACTIVE]) is True
    again = {**revoke, "revoke_reason": "chargeback"}
    assert storage.update_licence(licence.licence_id, again, expect_status=[LicenceStatus.ACTIVE]) is False
    assert storage.get_licence(licence.licence_id) == dataclasses.replace(
        licence, status=LicenceStatus.REVOKED, revoked_at=T0 + 9, revoke_reason="refund"
    )
    assert storage.update_licence("L-nobody", revoke) is False


def test_a_licences_entitlements_and_limit_can_be_updated(storage: Storage, licence: Licence) -> None:
    assert storage.update_licence(licence.licence_id, {"entitlements": ("pro",), "max_devices": 5}) is True
    assert storage.get_licence(licence.licence_id) == dataclasses.replace(licence, entitlements=("pro",), max_devices=5)


@pytest.mark.parametrize(
    "changes",
    [{"colour": "red"}, {"licence_id": "L-other"}, {"order_id": "ord_other"}, {"status": "EXPIRED"}],
    ids=["unknown field", "primary key", "order", "unknown status"],
)
def test_a_licence_update_with_a_field_that_cannot_change_raises_and_changes_nothing(
    storage: Storage, licence: Licence, changes: dict[str, object]
) -> None:
    with pytest.raises(ValueError):
        storage.update_licence(licence.licence_id, changes)
    assert storage.get_licence(licence.licence_id) == licence


# -- activations -----------------------------------------------------------------------------------------


def test_the_first_activation_binds_the_install(storage: Storage, licence: Licence) -> None:
    result = storage.activate(licence.licence_id, "install-1", max_devices=2, now=T0 + 1)
    assert result.outcome is ActivationOutcome.ACTIVATED
    assert result.activations == (Activation(licence.licence_id, "install-1", T0 + 1),)
    assert storage.activations(licence.licence_id) == [Activation(licence.licence_id, "install-1", T0 + 1)]


def test_activating_a_bound_install_again_changes_nothing(storage: Storage, licence: Licence) -> None:
    storage.activate(licence.licence_id, "install-1", max_devices=1, now=T0 + 1)
    result = storage.activate(licence.licence_id, "install-1", max_devices=1, now=T0 + 2)
    assert result.outcome is ActivationOutcome.ALREADY_ACTIVE
    assert result.activations == (Activation(licence.licence_id, "install-1", T0 + 1),)


def test_an_install_beyond_the_device_limit_is_refused(storage: Storage, licence: Licence) -> None:
    for n in (1, 2):
        storage.activate(licence.licence_id, f"install-{n}", max_devices=2, now=T0 + n)
    result = storage.activate(licence.licence_id, "install-3", max_devices=2, now=T0 + 3)
    assert result.outcome is ActivationOutcome.LIMIT_REACHED
    assert [a.install_hash for a in result.activations] == ["install-1", "install-2"]
    assert [a.install_hash for a in storage.activations(licence.licence_id)] == ["install-1", "install-2"]


def test_a_bound_install_stays_active_when_the_limit_is_lowered(storage: Storage, licence: Licence) -> None:
    for n in (1, 2):
        storage.activate(licence.licence_id, f"install-{n}", max_devices=2, now=T0 + n)
    result = storage.activate(licence.licence_id, "install-2", max_devices=1, now=T0 + 3)
    assert result.outcome is ActivationOutcome.ALREADY_ACTIVE


def test_deactivating_frees_a_slot_for_another_install(storage: Storage, licence: Licence) -> None:
    storage.activate(licence.licence_id, "install-1", max_devices=1, now=T0 + 1)
    assert storage.deactivate(licence.licence_id, "install-1") is True
    assert storage.activations(licence.licence_id) == []
    result = storage.activate(licence.licence_id, "install-2", max_devices=1, now=T0 + 2)
    assert result.outcome is ActivationOutcome.ACTIVATED


def test_a_deactivated_install_can_activate_again(storage: Storage, licence: Licence) -> None:
    storage.activate(licence.licence_id, "install-1", max_devices=1, now=T0 + 1)
    storage.deactivate(licence.licence_id, "install-1")
    result = storage.activate(licence.licence_id, "install-1", max_devices=1, now=T0 + 5)
    assert result.outcome is ActivationOutcome.ACTIVATED
    assert result.activations == (Activation(licence.licence_id, "install-1", T0 + 5),)


def test_deactivating_an_install_without_a_slot_returns_false(storage: Storage, licence: Licence) -> None:
    assert storage.deactivate(licence.licence_id, "install-1") is False
    storage.activate(licence.licence_id, "install-1", max_devices=1, now=T0 + 1)
    storage.deactivate(licence.licence_id, "install-1")
    assert storage.deactivate(licence.licence_id, "install-1") is False


def test_each_licence_counts_its_own_devices(
    storage: Storage, licence: Licence, make_order: MakeOrder, make_licence: MakeLicence
) -> None:
    other_order = make_order()
    storage.insert_order(other_order)
    other = make_licence(other_order)
    storage.insert_licence(other)
    storage.activate(licence.licence_id, "install-1", max_devices=1, now=T0 + 1)
    result = storage.activate(other.licence_id, "install-1", max_devices=1, now=T0 + 2)
    assert result.outcome is ActivationOutcome.ACTIVATED
    assert result.activations == (Activation(other.licence_id, "install-1", T0 + 2),)
    assert storage.deactivate(other.licence_id, "install-1") is True
    assert [a.install_hash for a in storage.activations(licence.licence_id)] == ["install-1"]


# -- notifications, idempotency keys, anomalies ----------------------------------------------------------


def test_a_notification_is_recorded_once(storage: Storage) -> None:
    assert storage.notification_processed("notif-1") is False
    assert storage.record_notification("notif-1", "TRANSACTION.SUCCESS", "ord_1", T0) is True
    assert storage.record_notification("notif-1", "TRANSACTION.SUCCESS", "ord_1", T0 + 1) is False
    assert storage.record_notification("notif-2", "REFUND.SUCCESS", None, T0 + 2) is True
    assert storage.notification_processed("notif-1") is True
    assert storage.notification_processed("notif-2") is True
    assert storage.notification_processed("notif-3") is False


def test_an_idempotency_key_always_answers_with_its_first_record(storage: Storage) -> None:
    first = IdempotencyRecord(key="idem-1", fingerprint="fp-a", order_id="ord_a", created_at=T0)
    assert storage.claim_idempotency_key(first) == first
    later = IdempotencyRecord(key="idem-1", fingerprint="fp-b", order_id="ord_b", created_at=T0 + 1)
    assert storage.claim_idempotency_key(later) == first
    other = IdempotencyRecord(key="idem-2", fingerprint="fp-b", order_id="ord_b", created_at=T0 + 2)
    assert storage.claim_idempotency_key(other) == other


def test_an_anomaly_is_recorded_once_per_kind_and_reference(storage: Storage) -> None:
    details = {"expected": 1990, "reported": 1, "message": "金额不符"}
    assert storage.record_anomaly("AMOUNT_MISMATCH", "ord_1", "tx-1", details, T0) is True
    assert storage.record_anomaly("AMOUNT_MISMATCH", "ord_1", "tx-1", {"other": True}, T0 + 1) is False
    assert storage.record_anomaly("PAID_AFTER_CLOSE", "ord_1", "tx-1", {}, T0 + 2) is True
    assert storage.anomalies() == [
        {"kind": "PAID_AFTER_CLOSE", "order_id": "ord_1", "reference": "tx-1", "details": {}, "at": T0 + 2},
        {"kind": "AMOUNT_MISMATCH", "order_id": "ord_1", "reference": "tx-1", "details": details, "at": T0},
    ]


def test_anomalies_are_listed_newest_first_and_limited(storage: Storage) -> None:
    for at in (20, 10, 40, 30):
        storage.record_anomaly("UNKNOWN_ORDER", None, f"ref-{at}", {"n": at}, T0 + at)
    newest = storage.anomalies(limit=3)
    assert [a["reference"] for a in newest] == ["ref-40", "ref-30", "ref-20"]
    assert newest[0] == {
        "kind": "UNKNOWN_ORDER",
        "order_id": None,
        "reference": "ref-40",
        "details": {"n": 40},
        "at": T0 + 40,
    }
    assert len(storage.anomalies()) == 4
    assert storage.anomalies(limit=0) == []


def test_fresh_storage_has_no_anomalies(storage: Storage) -> None:
    assert storage.anomalies() == []


def test_a_reachable_storage_answers_ping(storage: Storage) -> None:
    storage.ping()


def test_the_order_timeline_keeps_every_appended_event_in_order(storage: Storage, order: Order) -> None:
    storage.append_order_event(order.order_id, "CREATED", T0, {"amount_fen": 990})
    storage.append_order_event(order.order_id, "PAID", T0 + 5, {"via": "notify"})
    storage.append_order_event("another-order", "CREATED", T0, {})
    assert storage.order_events(order.order_id) == [
        {"kind": "CREATED", "at": T0, "details": {"amount_fen": 990}},
        {"kind": "PAID", "at": T0 + 5, "details": {"via": "notify"}},
    ]
    assert storage.order_events("no-such-order") == []
