"""The admin API's storage types: what an order search filters on, a page of results, a day's figures.

Apart from shared/storage/port.py so that the functions that never search (every public one) do not build them at
cold start.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.orders import Order, OrderStatus


@dataclass(frozen=True)
class OrderQuery:
    """What the admin order search filters on; every field optional, all given fields must match."""

    status: OrderStatus | None = None
    created_from: int | None = None  # inclusive
    created_to: int | None = None  # exclusive
    order_id: str | None = None  # WeChat's out_trade_no
    transaction_id: str | None = None
    product_id: str | None = None


@dataclass(frozen=True)
class OrderPage:
    """One page of a search, newest first (created_at, then order_id, descending). `next_cursor` is opaque (an
    adapter's own encoding of the last row's sort key), None on the last page."""

    orders: list[Order]
    next_cursor: str | None


@dataclass(frozen=True)
class DayTotals:
    """One day's figures. Days start `offset` seconds after UTC midnight: China Standard Time's midnight is 16:00 UTC
    the day before, so its offset is 57600 (86400 - 8 h), and a day start is always `offset + k * 86400`."""

    day: int  # the day's start, Unix seconds
    orders_created: int
    orders_paid: int  # orders created that day that were ever paid (status PAID, REFUNDING, REFUNDED, PARTIALLY_...)
    revenue_fen: int  # amount of orders whose paid_at falls that day
    payments: int  # how many orders have paid_at that day
    refunded_fen: int  # refunds whose success_at falls that day
