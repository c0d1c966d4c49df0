"""Licences and device activations (design §4). Pure rules; tokens are signed in shared.licensing."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from shared.domain.catalogue import Product
from shared.domain.orders import Order, OrderStatus

DAY = 86400
TOKEN_LIFETIME = 7 * DAY  # short-lived and refreshed online, so a revocation reaches offline copies (§4)


class LicenceStatus(str, enum.Enum):
    ACTIVE = "ACTIVE"
    REVOKED = "REVOKED"


@dataclass(frozen=True)
class Licence:
    """The right to use a product, issued once per paid order; found by the hash of its key."""

    licence_id: str
    order_id: str
    product_id: str
    key_hash: str
    status: LicenceStatus
    entitlements: tuple[str, ...]
    max_devices: int
    issued_at: int
    expires_at: int | None  # None: perpetual
    revoked_at: int | None = None
    revoke_reason: str | None = None


@dataclass(frozen=True)
class Activation:
    """One install holding one of a licence's device slots."""

    licence_id: str
    install_hash: str
    activated_at: int


class PartialRefundPolicy(str, enum.Enum):
    """What a partial refund does to the order's licence (setting PARTIAL_REFUND_POLICY); a full refund revokes."""

    KEEP = "keep"
    REVOKE = "revoke"


class ActivationOutcome(str, enum.Enum):
    ACTIVATED = "ACTIVATED"
    ALREADY_ACTIVE = "ALREADY_ACTIVE"
    LIMIT_REACHED = "LIMIT_REACHED"


def licence_id_for(order_id: str) -> str:
    """Exactly one licence per order: its id is derived from the order's."""
    return "L" + order_id


def new_licence(order: Order, product: Product, key_hash: str, now: int) -> Licence:
    expires = None if product.licence_days is None else now + product.licence_days * DAY
    return Licence(
        licence_id=licence_id_for(order.order_id),
        order_id=order.order_id,
        product_id=product.id,
        key_hash=key_hash,
        status=LicenceStatus.ACTIVE,
        entitlements=product.entitlements,
        max_devices=product.max_devices,
        issued_at=now,
        expires_at=expires,
    )


def invalid_reason(licence: Licence, now: int) -> str | None:
    """Why a licence cannot be used now (a stable code for clients), or None."""
    if licence.status is LicenceStatus.REVOKED:
        return "REVOKED"
    if licence.expires_at is not None and now >= licence.expires_at:
        return "EXPIRED"
    return None


def token_expiry(licence: Licence, now: int) -> int:
    """A token lives a few days, never beyond the licence itself."""
    end = now + TOKEN_LIFETIME
    return end if licence.expires_at is None else min(end, licence.expires_at)


def revocation_reason(order_status: OrderStatus, policy: PartialRefundPolicy) -> str | None:
    """Why a refunded order's licence must be revoked, or None while it stays valid (a refund in flight may still
    fail, so only money actually refunded counts)."""
    if order_status is OrderStatus.REFUNDED:
        return "REFUNDED"
    if order_status is OrderStatus.PARTIALLY_REFUNDED and policy is PartialRefundPolicy.REVOKE:
        return "PARTIALLY_REFUNDED"
    return None
