"""A scripted PayGateway for unit tests of the services: answers as WeChat would, records every call, and raises
what it is told to (a refusal, or an unknown outcome) for the next calls of an operation."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timezone
from typing import Any

from shared.wechatpay.errors import GatewayError, GatewayUnknown
from shared.wechatpay.gateway import TradeBill
from shared.wechatpay.models import Refund, Transaction

MCHID, APPID = "1900000001", "wx1"


class FakeGateway:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.trade_states: dict[str, str] = {}  # out_trade_no -> NOTPAY | SUCCESS | CLOSED | REFUND
        self.amounts: dict[str, int] = {}
        self.refunds: dict[str, Refund] = {}
        self.refund_status = "PROCESSING"  # what a new refund answers
        self.failures: dict[str, list[Exception]] = defaultdict(list)
        self.bill_csv = b""
        self.success_time = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def fail(self, operation: str, error: Exception, times: int = 1) -> None:
        self.failures[operation].extend([error] * times)

    def _call(self, operation: str, argument: Any) -> None:
        self.calls.append((operation, argument))
        if self.failures[operation]:
            raise self.failures[operation].pop(0)

    def count(self, operation: str) -> int:
        return sum(1 for name, _ in self.calls if name == operation)

    def create_native_order(self, **kwargs: Any) -> str:
        self._call("create", kwargs["out_trade_no"])
        self.trade_states.setdefault(kwargs["out_trade_no"], "NOTPAY")
        self.amounts[kwargs["out_trade_no"]] = kwargs["amount_total"]
        return "weixin://wxpay/bizpayurl?pr=fake"

    def query_by_out_trade_no(self, out_trade_no: str) -> Transaction:
        self._call("query", out_trade_no)
        if out_trade_no not in self.trade_states:
            raise GatewayError(404, "ORDER_NOT_EXIST", "订单不存在")
        return self.transaction(out_trade_no)

    def transaction(self, out_trade_no: str) -> Transaction:
        state = self.trade_states[out_trade_no]
        paid = state in ("SUCCESS", "REFUND")
        return Transaction(
            appid=APPID,
            mchid=MCHID,
            out_trade_no=out_trade_no,
            trade_state=state,
            amount_total=self.amounts.get(out_trade_no, 990),
            transaction_id="4200000000000000000000000001" if paid else None,
            success_time=self.success_time if paid else None,
            payer_openid="o-payer" if paid else None,
            currency="CNY" if paid else None,
        )

    def query_by_transaction_id(self, transaction_id: str) -> Transaction:
        raise NotImplementedError

    def close(self, out_trade_no: str) -> None:
        self._call("close", out_trade_no)
        if self.trade_states.get(out_trade_no) in ("SUCCESS", "REFUND"):
            raise GatewayError(400, "ORDER_PAID", "订单已支付")
        if out_trade_no in self.trade_states:
            self.trade_states[out_trade_no] = "CLOSED"

    def refund(self, **kwargs: Any) -> Refund:
        self._call("refund", kwargs)
        no = kwargs["out_refund_no"]
        if no not in self.refunds:
            self.refunds[no] = Refund(
                refund_id="50300000000000000000000000001",
                out_refund_no=no,
                transaction_id="4200000000000000000000000001",
                out_trade_no=kwargs["out_trade_no"],
                status=self.refund_status,
                amount_total=kwargs["amount_total"],
                amount_refund=kwargs["amount_refund"],
                success_time=self.success_time if self.refund_status == "SUCCESS" else None,
            )
        return self.refunds[no]

    def settle(self, out_refund_no: str, status: str = "SUCCESS") -> Refund:
        """WeChat finishes a refund (what a notification or the next query then reports)."""
        import dataclasses

        success = self.success_time if status == "SUCCESS" else None
        self.refunds[out_refund_no] = dataclasses.replace(
            self.refunds[out_refund_no], status=status, success_time=success
        )
        return self.refunds[out_refund_no]

    def query_refund(self, out_refund_no: str) -> Refund:
        self._call("query_refund", out_refund_no)
        if out_refund_no not in self.refunds:
            raise GatewayError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return self.refunds[out_refund_no]

    def trade_bill(self, bill_date: date, bill_type: str = "ALL") -> TradeBill:
        self._call("trade_bill", bill_date)
        return TradeBill("SHA1", "0" * 40, "https://fake/v3/billdownload/file?token=t")

    def download_bill(self, bill: TradeBill) -> bytes:
        self._call("download_bill", bill.download_url)
        return self.bill_csv


UNKNOWN = GatewayUnknown("no definite answer")
