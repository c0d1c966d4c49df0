"""A user's own purchase history, found by the install id it sends in a header (never in a URL)."""

from __future__ import annotations

from typing import Any

from shared import errors
from shared.domain.orders import PAID_STATES
from shared.licensing.install import install_hash, valid_install_id
from shared.services.licences import LicenceService
from shared.storage.port import Storage

HISTORY_LIMIT = 50


class HistoryService:
    def __init__(self, storage: Storage, licences: LicenceService):
        self._storage, self._licences = storage, licences

    def for_install(self, install_id: str | None) -> dict[str, Any]:
        if not install_id or not valid_install_id(install_id):
            raise errors.Unauthorized("send your install id in the X-Install-Id header", code="INVALID_INSTALL_ID")
        orders = self._storage.orders_for_install(install_hash(install_id), HISTORY_LIMIT)
        return {
            "orders": [
                {
                    "order_id": o.order_id,
                    "product_id": o.product_id,
                    "description": o.description,
                    "amount_fen": o.amount_fen,
                    "currency": o.currency,
                    "status": o.status.value,
                    "created_at": o.created_at,
                    "paid_at": o.paid_at,
                    "license_key": self._licences.licence_key(o.order_id) if o.status in PAID_STATES else None,
                }
                for o in orders
            ]
        }
