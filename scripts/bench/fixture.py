"""The bench's world: a temporary data directory, the emulator in public-key mode, the functions' settings, orders
seeded through the storage port, and notifications signed with the emulator's WeChat Pay key and encrypted with
the merchant's APIv3 key — exactly what WeChat would send (as tests/support/wechat.py builds them).
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator import crypto
from emulator.app import Emulator, Settings
from emulator.server import EmulatorServer
from scripts.stack import function_env
from shared import log
from shared.bootstrap import Container
from shared.domain.orders import Order, OrderStatus
from shared.http import fc3
from shared.licensing.derive import poll_token_for, token_hash
from shared.licensing.install import install_hash
from shared.services.purchase import new_order_id
from shared.storage.port import Storage

NOTIFY_PATH = "/v1/notify/wechatpay"
ADMIN_ORDERS_PATH = "/v1/admin/orders"
ADMIN_PAGE = 50  # the admin's measured request reads one page of this many orders, newest first
UNUSED_NOTIFY_URL = "http://127.0.0.1:9/v1/notify/wechatpay"  # orders created here are paid by forged notifications


def new_install_id() -> str:
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class PaidOrder:
    order_id: str
    poll_token: str
    licence_key: str


class World:
    """Owns the data directory and the emulator; `close()` removes both."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self._own_dir = data_dir is None
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="wxpay-bench-"))
        settings = Settings(data_dir=self.data_dir / "emulator", port=0, signing_mode="public_key")
        self.emulator = EmulatorServer(Emulator(settings), ("127.0.0.1", 0))
        self.emulator.start()
        self.keys = self.emulator.emulator.keys
        self.merchant = self.keys.credentials.public_view()
        env = function_env(self.data_dir, self.merchant, self.emulator.base_url, "http://127.0.0.1:9")
        # A merchant in public-key mode (every merchant since late 2024) has no platform certificates.
        env.pop("WECHATPAY_PLATFORM_CERTIFICATES", None)
        env["WECHATPAY_NOTIFY_URL"] = UNUSED_NOTIFY_URL
        env["LOG_LEVEL"] = "info"
        self.env: dict[str, str] = env
        self.container = Container(env)
        self.storage: Storage = self.container.storage
        self.server_secret = env["SERVER_SECRET"].encode()
        self._admin_key: str | None = None

    def close(self) -> None:
        self.emulator.stop()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # -- orders --------------------------------------------------------------------------------------------
    def pending_order(self, product_id: str = "pro-monthly", install_id: str | None = None) -> Order:
        """A PENDING order as create_order stores it, written through the storage port."""
        product = self.container.catalogue.get(product_id)
        assert product is not None, product_id
        now = int(time.time())
        order_id = new_order_id()
        order = Order(
            order_id=order_id,
            product_id=product.id,
            install_hash=install_hash(install_id or new_install_id()),
            amount_fen=product.price_fen,
            currency=product.currency,
            description=product.title,
            mchid=self.merchant["mchid"],
            appid=self.merchant["appid"],
            status=OrderStatus.PENDING,
            created_at=now,
            expires_at=now + 900,
            poll_token_hash=token_hash(self.poll_token(order_id)),
            code_url=f"weixin://wxpay/bizpayurl?pr={secrets.token_urlsafe(8)}",
            updated_at=now,
        )
        assert self.storage.insert_order(order)
        return order

    def poll_token(self, order_id: str) -> str:
        return poll_token_for(self.server_secret, order_id)

    def paid_order(self, product_id: str = "pro-monthly") -> PaidOrder:
        """A PAID order with its licence, paid by a genuine notification through the notification service."""
        order = self.pending_order(product_id)
        headers, body = self.notification(order)
        with log.request_scope(function="bench-seed"):  # what the service binds stays inside this "request"
            outcome = self.container.notifications.handle(headers, body)
        assert outcome == "PAID", outcome
        return PaidOrder(order.order_id, self.poll_token(order.order_id), self.licence_key(order.order_id))

    def licence_key(self, order_id: str) -> str:
        return self.container.licences.licence_key(order_id)

    # -- operators -----------------------------------------------------------------------------------------
    def admin_key(self) -> str:
        """An operator's admin key, made once as `python -m scripts.admin keys create` makes it (audited)."""
        if self._admin_key is None:
            created = self.container.admin.keys.create("bench", "bench operator", "operator")
            self._admin_key = str(created["key"])
        return self._admin_key

    # -- what WeChat sends ---------------------------------------------------------------------------------
    def notification(self, order: Order) -> tuple[dict[str, str], bytes]:
        """TRANSACTION.SUCCESS for `order`, signed now with the WeChat Pay public key's private half."""
        resource = {
            "appid": order.appid,
            "mchid": order.mchid,
            "out_trade_no": order.order_id,
            "trade_state": "SUCCESS",
            "trade_state_desc": "支付成功",
            "trade_type": "NATIVE",
            "transaction_id": "42000" + "".join(secrets.choice("0123456789") for _ in range(23)),
            "success_time": "2026-11-30T10:00:00+08:00",
            "payer": {"openid": "o-bench-" + secrets.token_hex(8)},
            "bank_type": "OTHERS",
            "amount": {
                "total": order.amount_fen,
                "payer_total": order.amount_fen,
                "currency": "CNY",
                "payer_currency": "CNY",
            },
        }
        plaintext = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode()
        envelope = {
            "id": crypto.random_token(36),
            "create_time": "2026-11-30T10:00:00+08:00",
            "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS",
            "summary": "支付成功",
            "resource": {
                "original_type": "transaction",
                **crypto.encrypt_resource(self.merchant["apiv3_key"], plaintext, "transaction"),
            },
        }
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        return self.signed_headers(body), body

    def signed_headers(self, body: bytes) -> dict[str, str]:
        timestamp, nonce = str(int(time.time())), crypto.random_token(32)
        signature = crypto.sign(self.keys.wechatpay_private, crypto.answer_message(timestamp, nonce, body))
        return {
            "Content-Type": "application/json",
            "User-Agent": "Mozilla/4.0",
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": signature,
            "Wechatpay-Serial": self.merchant["wechatpay_public_key_id"],
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }

    # -- FC 3.0 events of each function's first request ----------------------------------------------------
    def notify_event(self, order: Order) -> bytes:
        headers, body = self.notification(order)
        return fc3.build_event("POST", NOTIFY_PATH, headers=headers, body=body)

    def create_event(self, product_id: str = "pro-monthly") -> bytes:
        body = json.dumps({"product_id": product_id, "install_id": new_install_id()}).encode()
        return fc3.build_event("POST", "/v1/orders", headers=_json_headers(), body=body)

    def status_event(self, paid: PaidOrder) -> bytes:
        headers = {"Authorization": f"Bearer {paid.poll_token}", "User-Agent": "bench"}
        return fc3.build_event("GET", f"/v1/orders/{paid.order_id}", headers=headers)

    def activate_event(self, paid: PaidOrder, install_id: str | None = None) -> bytes:
        body = json.dumps({"license_key": paid.licence_key, "install_id": install_id or new_install_id()}).encode()
        return fc3.build_event("POST", "/v1/licenses/activate", headers=_json_headers(), body=body)

    def admin_orders_event(self, key: str) -> bytes:
        """`GET /v1/admin/orders?limit=50` as an operator's dashboard or script sends it."""
        headers = {"Authorization": f"Bearer {key}", "Accept": "application/json", "User-Agent": "bench"}
        return fc3.build_event("GET", ADMIN_ORDERS_PATH, query={"limit": str(ADMIN_PAGE)}, headers=headers)


def _json_headers() -> Mapping[str, str]:
    return {"Content-Type": "application/json", "User-Agent": "bench"}


def answer_status(answer: Mapping[str, Any]) -> int:
    return int(answer["statusCode"])
