"""The PayGateway port: what the services need from WeChat Pay, independent of any SDK (design §9)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from shared.wechatpay.models import Refund, Transaction

__all__ = ["PayGateway", "Refund", "TradeBill", "Transaction"]


@dataclass(frozen=True)
class TradeBill:
    """Where to download a trade bill, and the hash of its uncompressed bytes (reference §8)."""

    hash_type: str
    hash_value: str
    download_url: str


class PayGateway(Protocol):
    """Outbound WeChat Pay calls.

    Raises GatewayError when WeChat refused the call, GatewayUnknown when the outcome is unknown (the caller
    queries before concluding). Retries reuse the same out_trade_no / out_refund_no (reference §9).
    """

    def create_native_order(
        self,
        *,
        out_trade_no: str,
        description: str,
        amount_total: int,
        time_expire: datetime,
        notify_url: str,
        attach: str | None = None,
    ) -> str:
        """Place a Native order and return its `code_url` (to be shown as a QR code)."""
        ...

    def query_by_out_trade_no(self, out_trade_no: str) -> Transaction:
        """The order's current state by our order number (works before payment)."""
        ...

    def query_by_transaction_id(self, transaction_id: str) -> Transaction:
        """The order's current state by WeChat's transaction id (exists only after payment)."""
        ...

    def close(self, out_trade_no: str) -> None:
        """Close an unpaid order so its QR code can no longer be paid (re-entrant)."""
        ...

    def refund(
        self,
        *,
        out_refund_no: str,
        amount_refund: int,
        amount_total: int,
        out_trade_no: str | None = None,
        transaction_id: str | None = None,
        reason: str | None = None,
        notify_url: str | None = None,
    ) -> Refund:
        """Ask for a refund of a paid order (given by exactly one of out_trade_no, transaction_id)."""
        ...

    def query_refund(self, out_refund_no: str) -> Refund:
        """The refund's current state."""
        ...

    def trade_bill(self, bill_date: date, bill_type: str = "ALL") -> TradeBill:
        """Ask for the trade bill of one day (ALL, SUCCESS or REFUND)."""
        ...

    def download_bill(self, bill: TradeBill) -> bytes:
        """The bill's uncompressed CSV bytes, checked against `bill.hash_value`."""
        ...
