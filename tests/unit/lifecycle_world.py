"""The services of an order's life after purchase, wired as the composition root does, over the in-memory
storage and the scripted gateway, with a clock the test moves."""

from __future__ import annotations

import json
from typing import Any

from shared.domain.catalogue import Catalogue
from shared.domain.licences import PartialRefundPolicy, licence_id_for
from shared.domain.orders import Order, OrderStatus
from shared.licensing.keys import SigningKeys, generate_entry
from shared.services.licences import LicenceService
from shared.services.notifications import report_of
from shared.services.payments import PaymentService
from shared.services.refund_ledger import RefundLedger
from shared.services.refunds import RefundService
from tests.unit.fake_gateway import APPID, MCHID, FakeGateway
from tests.unit.fake_storage import FakeStorage

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
NOTIFY_URL = "https://shop.example/v1/notify/wechatpay"
CATALOGUE = Catalogue.from_json(
    json.dumps(
        {
            "products": [
                {"id": "pro-monthly", "title": "Pro", "price_fen": 990, "licence_days": 30, "entitlements": ["pro"]},
            ]
        }
    )
)
KEYS = SigningKeys.parse(generate_entry("unit-1"))


class World:
    def __init__(self, policy: PartialRefundPolicy = PartialRefundPolicy.KEEP):
        self.now = NOW
        self.storage = FakeStorage()
        self.gateway = FakeGateway()
        self.licences = LicenceService(self.storage, CATALOGUE, KEYS, b"k" * 32, self.clock, policy)
        self.payments = PaymentService(self.storage, self.licences, self.clock)
        self.ledger = RefundLedger(self.storage, self.licences, self.clock)
        self.refunds = RefundService(self.storage, self.ledger, lambda: self.gateway, NOTIFY_URL, self.clock)
        self._serial = 0

    def clock(self) -> int:
        return self.now

    def pending_order(self, amount: int = 990, *, age: int = 0, at_wechat: bool = True) -> Order:
        self._serial += 1
        created = self.now - age
        order = Order(
            order_id=f"oUNIT{self._serial:018d}",
            product_id="pro-monthly",
            install_hash="install-hash",
            amount_fen=amount,
            currency="CNY",
            description="Pro",
            mchid=MCHID,
            appid=APPID,
            status=OrderStatus.PENDING,
            created_at=created,
            expires_at=created + 900,
            poll_token_hash="x",
        )
        self.storage.insert_order(order)
        if at_wechat:
            self.gateway.create_native_order(out_trade_no=order.order_id, amount_total=amount)
        return order

    def paid_order(self, amount: int = 990) -> Order:
        order = self.pending_order(amount)
        self.gateway.trade_states[order.order_id] = "SUCCESS"
        self.payments.apply(report_of(self.gateway.transaction(order.order_id)), reference="notify:paid")
        return self.order(order.order_id)

    def order(self, order_id: str) -> Order:
        order = self.storage.get_order(order_id)
        assert order is not None
        return order

    def licence_status(self, order_id: str) -> str:
        licence = self.storage.get_licence(licence_id_for(order_id))
        assert licence is not None
        return licence.status.value

    def refund(self, order_id: str, amount: int | None = None, key: str = "ticket-1", **kwargs: Any) -> dict[str, Any]:
        return self.refunds.request(order_id, amount, kwargs.get("reason", "asked by the user"), key, "ops@example")
