"""The product catalogue, read from a JSON file: the only source of prices."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from shared.errors import ConfigError

PRODUCT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Product:
    """Something for sale: its price, licence length, device limit and what it unlocks."""

    id: str
    title: str
    price_fen: int
    licence_days: int | None  # None: perpetual
    max_devices: int
    entitlements: tuple[str, ...]
    currency: str = "CNY"

    def public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "price_fen": self.price_fen,
            "currency": self.currency,
            "licence_days": self.licence_days,
            "max_devices": self.max_devices,
        }


class Catalogue:
    def __init__(self, products: list[Product]):
        self._products = {p.id: p for p in products}

    def get(self, product_id: str) -> Product | None:
        return self._products.get(product_id)

    def all(self) -> list[Product]:
        return list(self._products.values())

    @classmethod
    def from_json(cls, text: str) -> Catalogue:
        try:
            data = json.loads(text)
            return cls([_product(item) for item in data["products"]])
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"invalid product catalogue: {exc}") from exc


def _product(item: dict[str, object]) -> Product:
    product_id, title, price = item["id"], item["title"], item["price_fen"]
    days, devices = item.get("licence_days"), item.get("max_devices", 3)
    entitlements = item.get("entitlements", [product_id])
    if not isinstance(product_id, str) or not PRODUCT_ID.match(product_id):
        raise ValueError(f"product id {product_id!r} must match {PRODUCT_ID.pattern}")
    if not isinstance(title, str) or not 1 <= len(title) <= 127:
        raise ValueError(f"product {product_id}: title must be 1-127 characters (WeChat's description)")
    if not isinstance(price, int) or isinstance(price, bool) or price < 1:
        raise ValueError(f"product {product_id}: price_fen must be a positive integer")
    if days is not None and (not isinstance(days, int) or days < 1):
        raise ValueError(f"product {product_id}: licence_days must be a positive integer or null")
    if not isinstance(devices, int) or not 1 <= devices <= 100:
        raise ValueError(f"product {product_id}: max_devices must be 1-100")
    if not isinstance(entitlements, list) or not all(isinstance(e, str) for e in entitlements):
        raise ValueError(f"product {product_id}: entitlements must be a list of strings")
    return Product(product_id, title, price, days, devices, tuple(entitlements))
