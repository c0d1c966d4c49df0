"""Creating an order: price from the catalogue only, a Native QR from WeChat, a poll token shown once.

An `Idempotency-Key` names the order before anything else is written, so a client's retry — after a timeout,
a 502 or a crash between two writes — converges on the same out_trade_no, which WeChat accepts again with the
same parameters (reference §3), and replays the first answer.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from shared import errors, log
from shared.domain.catalogue import Catalogue, Product
from shared.domain.orders import Order, OrderStatus
from shared.licensing.derive import poll_token_for, token_hash
from shared.licensing.install import install_hash, valid_install_id
from shared.storage.port import IdempotencyRecord, Storage
from shared.wechatpay.errors import GatewayError, GatewayUnknown
from shared.wechatpay.gateway import PayGateway

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class Merchant:
    """Who sells: the ids WeChat knows the merchant by, and where it sends notifications."""

    mchid: str
    appid: str
    notify_url: str


@dataclass(frozen=True)
class CreatedOrder:
    """An order as POST /v1/orders answers it, with its poll token; `replayed` for an Idempotency-Key repeat."""

    order: Order
    poll_token: str
    replayed: bool


def new_order_id() -> str:
    """22 random characters of [A-Za-z0-9_-] after a prefix: a valid out_trade_no (6-32 chars)."""
    return "o" + secrets.token_urlsafe(16)


class PurchaseService:
    def __init__(
        self,
        storage: Storage,
        catalogue: Catalogue,
        gateway: Callable[[], PayGateway],
        merchant: Merchant,
        poll_secret: bytes,
        ttl_seconds: int,
        clock: Callable[[], int],
    ):
        self._storage, self._catalogue, self._gateway = storage, catalogue, gateway
        self._merchant, self._poll_secret, self._ttl, self._clock = merchant, poll_secret, ttl_seconds, clock

    def products(self) -> list[Product]:
        return self._catalogue.all()

    def create(self, product_id: str, install_id: str, idempotency_key: str | None) -> CreatedOrder:
        product = self._catalogue.get(product_id)
        if product is None:
            raise errors.ValidationFailed(f"unknown product {product_id!r}", code="UNKNOWN_PRODUCT")
        if not valid_install_id(install_id):
            raise errors.ValidationFailed(
                "install_id must be 22-64 characters of A-Z a-z 0-9 _ -", code="INVALID_INSTALL_ID"
            )
        device = install_hash(install_id)
        order_id, replayed = self._order_id_for(idempotency_key, device, product.id)
        log.bind(order_id=order_id)
        order = self._storage.get_order(order_id)
        if order is None:
            order = self._new_order(order_id, product, device)
            if self._storage.insert_order(order):  # only the first of racing retries creates it
                self._storage.append_order_event(
                    order_id, "CREATED", order.created_at, {"product_id": product.id, "amount_fen": product.price_fen}
                )
                log.metric("orders_created", product_id=product.id, amount_fen=product.price_fen)
            order = self._storage.get_order(order_id) or order
        if order.code_url is None:
            order = self._ask_wechat(order)
        return CreatedOrder(order, poll_token_for(self._poll_secret, order.order_id), replayed)

    def _order_id_for(self, key: str | None, device: str, product_id: str) -> tuple[str, bool]:
        if key is None:
            return new_order_id(), False
        if not IDEMPOTENCY_KEY.match(key):
            raise errors.ValidationFailed(
                "Idempotency-Key must be 8-64 characters of A-Z a-z 0-9 _ -", code="INVALID_IDEMPOTENCY_KEY"
            )
        scoped = hashlib.sha256(f"{device}:{key}".encode()).hexdigest()  # one install cannot replay another's
        candidate = IdempotencyRecord(scoped, product_id, new_order_id(), self._clock())
        stored = self._storage.claim_idempotency_key(candidate)
        if stored.fingerprint != product_id:
            raise errors.Conflict("this Idempotency-Key was used for another request", code="IDEMPOTENCY_KEY_REUSED")
        return stored.order_id, stored.order_id != candidate.order_id

    def _new_order(self, order_id: str, product: Product, device: str) -> Order:
        now = self._clock()
        return Order(
            order_id=order_id,
            product_id=product.id,
            install_hash=device,
            amount_fen=product.price_fen,
            currency=product.currency,
            description=product.title,
            mchid=self._merchant.mchid,
            appid=self._merchant.appid,
            status=OrderStatus.PENDING,
            created_at=now,
            expires_at=now + self._ttl,
            poll_token_hash=token_hash(poll_token_for(self._poll_secret, order_id)),
            updated_at=now,
        )

    def _ask_wechat(self, order: Order) -> Order:
        try:
            code_url = self._gateway().create_native_order(
                out_trade_no=order.order_id,
                description=order.description,
                amount_total=order.amount_fen,
                time_expire=datetime.fromtimestamp(order.expires_at, timezone.utc),
                notify_url=self._merchant.notify_url,
                attach=order.product_id,
            )
        except GatewayError as exc:
            log.warning("wechat_order_refused", order_id=order.order_id, code=exc.code, status=exc.status)
            raise errors.UpstreamFailed(
                "WeChat Pay refused the order; try again",
                code="WECHATPAY_REFUSED",
                details={"wechatpay_code": exc.code},
            ) from exc
        except GatewayUnknown as exc:
            log.warning("wechat_order_unknown", order_id=order.order_id, error=type(exc.__cause__).__name__)
            raise errors.Unavailable(
                "WeChat Pay did not answer; retry with the same Idempotency-Key", code="WECHATPAY_UNAVAILABLE"
            ) from exc
        self._storage.update_order(order.order_id, {"code_url": code_url, "updated_at": self._clock()})
        log.info("order_created", order_id=order.order_id, product_id=order.product_id, amount_fen=order.amount_fen)
        return self._storage.get_order(order.order_id) or order
