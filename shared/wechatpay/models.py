"""Typed results shared by notifications and API answers: transactions and refunds (reference §4, §6, §7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.wechatpay._fields import (
    as_object,
    opt_int,
    opt_object,
    opt_str,
    opt_time,
    req_int,
    req_str,
)


@dataclass(frozen=True)
class Transaction:
    """A payment order as WeChat sees it: the query answer, also the payment notification's resource."""

    appid: str
    mchid: str
    out_trade_no: str
    trade_state: str
    amount_total: int
    transaction_id: str | None = None
    trade_type: str | None = None
    trade_state_desc: str | None = None
    bank_type: str | None = None
    attach: str | None = None
    success_time: datetime | None = None
    payer_openid: str | None = None
    payer_total: int | None = None
    currency: str | None = None
    payer_currency: str | None = None


@dataclass(frozen=True)
class RefundResult:
    """A refund notification's resource; WeChat names its state `refund_status` here."""

    mchid: str
    transaction_id: str
    out_trade_no: str
    refund_id: str
    out_refund_no: str
    refund_status: str
    amount_total: int
    amount_refund: int
    success_time: datetime | None = None
    user_received_account: str | None = None
    payer_total: int | None = None
    payer_refund: int | None = None


@dataclass(frozen=True)
class Refund:
    """A refund as the refund and refund-query APIs answer it; the state is `status` there."""

    refund_id: str
    out_refund_no: str
    transaction_id: str
    out_trade_no: str
    status: str
    amount_total: int
    amount_refund: int
    channel: str | None = None
    user_received_account: str | None = None
    success_time: datetime | None = None
    create_time: datetime | None = None
    funds_account: str | None = None
    payer_total: int | None = None
    payer_refund: int | None = None
    currency: str | None = None


def parse_transaction(obj: Any) -> Transaction:
    """A Transaction from a decoded query answer or payment resource; raises MalformedPayload."""
    obj = as_object(obj, "transaction")
    amount = as_object(obj.get("amount"), "field 'amount'")
    return Transaction(
        appid=req_str(obj, "appid"),
        mchid=req_str(obj, "mchid"),
        out_trade_no=req_str(obj, "out_trade_no"),
        trade_state=req_str(obj, "trade_state"),
        amount_total=req_int(amount, "total"),
        transaction_id=opt_str(obj, "transaction_id"),
        trade_type=opt_str(obj, "trade_type"),
        trade_state_desc=opt_str(obj, "trade_state_desc"),
        bank_type=opt_str(obj, "bank_type"),
        attach=opt_str(obj, "attach"),
        success_time=opt_time(obj, "success_time"),
        payer_openid=opt_str(opt_object(obj, "payer"), "openid"),
        payer_total=opt_int(amount, "payer_total"),
        currency=opt_str(amount, "currency"),
        payer_currency=opt_str(amount, "payer_currency"),
    )


def parse_refund_result(obj: Any) -> RefundResult:
    """A RefundResult from a decoded refund notification resource; raises MalformedPayload."""
    obj = as_object(obj, "refund")
    amount = as_object(obj.get("amount"), "field 'amount'")
    return RefundResult(
        mchid=req_str(obj, "mchid"),
        transaction_id=req_str(obj, "transaction_id"),
        out_trade_no=req_str(obj, "out_trade_no"),
        refund_id=req_str(obj, "refund_id"),
        out_refund_no=req_str(obj, "out_refund_no"),
        refund_status=req_str(obj, "refund_status"),
        amount_total=req_int(amount, "total"),
        amount_refund=req_int(amount, "refund"),
        success_time=opt_time(obj, "success_time"),
        user_received_account=opt_str(obj, "user_received_account"),
        payer_total=opt_int(amount, "payer_total"),
        payer_refund=opt_int(amount, "payer_refund"),
    )


def parse_refund(obj: Any) -> Refund:
    """A Refund from a decoded refund or refund-query answer; raises MalformedPayload."""
    obj = as_object(obj, "refund")
    amount = as_object(obj.get("amount"), "field 'amount'")
    return Refund(
        refund_id=req_str(obj, "refund_id"),
        out_refund_no=req_str(obj, "out_refund_no"),
        transaction_id=req_str(obj, "transaction_id"),
        out_trade_no=req_str(obj, "out_trade_no"),
        status=req_str(obj, "status"),
        amount_total=req_int(amount, "total"),
        amount_refund=req_int(amount, "refund"),
        channel=opt_str(obj, "channel"),
        user_received_account=opt_str(obj, "user_received_account"),
        success_time=opt_time(obj, "success_time"),
        create_time=opt_time(obj, "create_time"),
        funds_account=opt_str(obj, "funds_account"),
        payer_total=opt_int(amount, "payer_total"),
        payer_refund=opt_int(amount, "payer_refund"),
        currency=opt_str(amount, "currency"),
    )


def epoch(moment: datetime | None) -> int | None:
    """A WeChat Pay time as the Unix seconds the storage keeps; None (no time given) stays None."""
    return int(moment.timestamp()) if moment is not None else None
