"""The pure domain: the order state machine, payment checks, licence rules and the catalogue."""

from __future__ import annotations

import dataclasses
import json

import pytest

from shared.domain.catalogue import Catalogue
from shared.domain.licences import DAY, TOKEN_LIFETIME, LicenceStatus, invalid_reason, new_licence, token_expiry
from shared.domain.orders import (
    Order,
    OrderStatus,
    PaymentReport,
    can_transition,
    is_overdue_for_query,
    payment_mismatches,
    sources_of,
)
from shared.errors import ConfigError

NOW = 1_780_000_000
ORDER = Order(
    order_id="oTEST000000000000000001",
    product_id="pro-monthly",
    install_hash="h",
    amount_fen=990,
    currency="CNY",
    description="Pro",
    mchid="1900000001",
    appid="wx1",
    status=OrderStatus.PENDING,
    created_at=NOW,
    expires_at=NOW + 900,
    poll_token_hash="x",
)
REPORT = PaymentReport(
    out_trade_no=ORDER.order_id,
    trade_state="SUCCESS",
    mchid="1900000001",
    appid="wx1",
    amount_total=990,
    currency="CNY",
    transaction_id="4200",
    success_time=NOW,
    payer_openid="o",
)
CATALOGUE = Catalogue.from_json(
    json.dumps(
        {
            "products": [
                {
                    "id": "pro-monthly",
                    "title": "Pro",
                    "price_fen": 990,
                    "licence_days": 30,
                    "max_devices": 3,
                    "entitlements": ["pro"],
                },
                {"id": "pro-lifetime", "title": "Pro forever", "price_fen": 9900, "licence_days": None},
            ]
        }
    )
)


def test_orders_move_forward_only() -> None:
    assert can_transition(OrderStatus.PENDING, OrderStatus.PAID)
    assert can_transition(OrderStatus.CLOSED, OrderStatus.PAID), "the close/pay race is honoured"
    assert not can_transition(OrderStatus.PAID, OrderStatus.PENDING)
    assert not can_transition(OrderStatus.PAID, OrderStatus.CLOSED)
    assert not can_transition(OrderStatus.REFUNDED, OrderStatus.PAID)
    assert set(sources_of(OrderStatus.PAID)) == {OrderStatus.PENDING, OrderStatus.CLOSED, OrderStatus.REFUNDING}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount_total": 1}, "amount_total"),
        ({"mchid": "1900000002"}, "mchid"),
        ({"appid": "wx2"}, "appid"),
        ({"out_trade_no": "other"}, "out_trade_no"),
        ({"currency": "USD"}, "currency"),
    ],
)
def test_a_payment_report_that_disagrees_with_the_order_is_a_mismatch(change: dict[str, object], field: str) -> None:
    assert payment_mismatches(ORDER, dataclasses.replace(REPORT, **change)) == [field]  # type: ignore[arg-type]
    assert payment_mismatches(ORDER, REPORT) == []


def test_a_pending_order_is_queried_after_the_threshold_and_not_more_often_than_asked() -> None:
    assert not is_overdue_for_query(ORDER, NOW + 5, after_seconds=10, every_seconds=5)
    assert is_overdue_for_query(ORDER, NOW + 10, after_seconds=10, every_seconds=5)
    queried = dataclasses.replace(ORDER, last_queried_at=NOW + 10)
    assert not is_overdue_for_query(queried, NOW + 12, after_seconds=10, every_seconds=5)
    assert not is_overdue_for_query(dataclasses.replace(ORDER, status=OrderStatus.PAID), NOW + 60, 10, 5)


def test_licences_last_the_products_days_or_for_ever_and_tokens_never_outlive_them() -> None:
    monthly = new_licence(ORDER, CATALOGUE.get("pro-monthly"), "kh", NOW)  # type: ignore[arg-type]
    lifetime = new_licence(ORDER, CATALOGUE.get("pro-lifetime"), "kh", NOW)  # type: ignore[arg-type]
    assert monthly.expires_at == NOW + 30 * DAY and lifetime.expires_at is None
    assert token_expiry(lifetime, NOW) == NOW + TOKEN_LIFETIME
    assert token_expiry(monthly, NOW + 29 * DAY) == monthly.expires_at
    assert invalid_reason(monthly, NOW) is None and invalid_reason(monthly, NOW + 30 * DAY) == "EXPIRED"
    revoked = dataclasses.replace(monthly, status=LicenceStatus.REVOKED)
    assert invalid_reason(revoked, NOW) == "REVOKED"


def test_the_catalogue_defaults_devices_and_entitlements_and_lists_public_fields() -> None:
    lifetime = CATALOGUE.get("pro-lifetime")
    assert lifetime is not None and (lifetime.max_devices, lifetime.entitlements) == (3, ("pro-lifetime",))
    assert set(lifetime.public()) == {"id", "title", "price_fen", "currency", "licence_days", "max_devices"}
    assert CATALOGUE.get("missing") is None


@pytest.mark.parametrize(
    "product",
    [
        {"id": "Bad Id", "title": "x", "price_fen": 1},
        {"id": "p", "title": "", "price_fen": 1},
        {"id": "p", "title": "x", "price_fen": 0},
        {"id": "p", "title": "x", "price_fen": 1.5},
        {"id": "p", "title": "x", "price_fen": 1, "licence_days": 0},
        {"id": "p", "title": "x", "price_fen": 1, "max_devices": 0},
        {"id": "p", "title": "x" * 128, "price_fen": 1},
        {"title": "x", "price_fen": 1},
    ],
)
def test_an_invalid_catalogue_stops_start_up(product: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        Catalogue.from_json(json.dumps({"products": [product]}))


def test_the_shipped_catalogue_is_valid() -> None:
    from shared.config import CODE_ROOT

    assert Catalogue.from_json((CODE_ROOT / "config" / "products.json").read_text()).all()
