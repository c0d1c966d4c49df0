"""PayGateway over the wechatpayv3 SDK (design §9): timeouts, bounded retries, errors mapped to our family.

Construction never talks to WeChat's hard-coded host: public-key mode needs no network, and in certificate
mode we fetch the certificates from the configured base URL ourselves, check them, and seed the SDK's
cert_dir before constructing it (otherwise its constructor would call api.mch.weixin.qq.com, reference §11).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from functools import partial
from typing import Any, TypeAlias, TypeVar
from urllib.parse import urlsplit

import requests
from cryptography import x509
from wechatpayv3 import WeChatPay, WeChatPayType

from shared.wechatpay._fields import as_object, parse_json, req_str
from shared.wechatpay._sdk_transport import TRANSPORT, bind_sdk, trust_merchant_key
from shared.wechatpay.aead import apiv3_key_bytes
from shared.wechatpay.bills import parse_trade_bill, unpack_bill
from shared.wechatpay.certificates import (
    certificates_from_answer,
    certificates_request_headers,
    read_cert_dir,
    write_cert_dir,
)
from shared.wechatpay.constants import (
    BILL_TAR_TYPE_GZIP,
    BILL_TYPES,
    CURRENCY_CNY,
    HEADER_REQUEST_ID,
    PATH_CERTIFICATES,
    TIME_EXPIRE_UTC_OFFSET_HOURS,
)
from shared.wechatpay.errors import GatewayError, GatewayUnknown, MalformedPayload, WeChatPayError
from shared.wechatpay.gateway import Refund, TradeBill, Transaction
from shared.wechatpay.models import parse_refund, parse_transaction
from shared.wechatpay.sdk_config import GatewayConfig
from shared.wechatpay.signing import load_private_key

__all__ = ["GatewayConfig", "SdkPayGateway", "format_time_expire"]

T = TypeVar("T")
Answer: TypeAlias = tuple[int, str | bytes]

# Our ids use [A-Za-z0-9_-] only: the SDK signs path params unencoded while requests encodes `|` (reference §11).
_OUT_TRADE_NO = re.compile(r"[A-Za-z0-9_-]{6,32}")
_OUT_REFUND_NO = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TRANSACTION_ID = re.compile(r"[0-9]{1,32}")
_RETRIED_TRANSPORT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
_CST = timezone(timedelta(hours=TIME_EXPIRE_UTC_OFFSET_HOURS))


def format_time_expire(moment: datetime) -> str:
    """RFC 3339 in China Standard Time, as WeChat expects `time_expire` (reference §3)."""
    if moment.tzinfo is None:
        raise ValueError("time_expire must be timezone-aware")
    return moment.astimezone(_CST).strftime("%Y-%m-%dT%H:%M:%S+08:00")


def _check_id(value: str, pattern: re.Pattern[str], name: str) -> None:
    if not pattern.fullmatch(value):
        raise ValueError(f"{name} {value!r} must match {pattern.pattern}")


def _gateway_error(status: int, body: str | bytes, request_id: str | None) -> GatewayError:
    try:
        obj = json.loads(body)
        code, message = str(obj["code"]), str(obj.get("message", ""))
    except (ValueError, TypeError, KeyError, AttributeError):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        code, message = f"HTTP_{status}", text[:200]
    return GatewayError(status, code, message, request_id)


def _is_retryable(status: int) -> bool:
    return status == 429 or status >= 500


class SdkPayGateway:
    """The PayGateway port implemented with wechatpayv3. Build once per cold start, not per request."""

    def __init__(self, config: GatewayConfig, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._config = config
        self._sleep = sleep
        self._transport = TRANSPORT
        if not config.public_key_mode:
            self._seed_certificates(int(time.time()))
        self._client = self._new_client()
        bind_sdk(self._client, config.base_url)

    def _new_client(self) -> Any:
        config = self._config
        trust_merchant_key()
        # No logger on purpose: the SDK's DEBUG lines print Authorization headers (reference §11).
        return WeChatPay(
            wechatpay_type=WeChatPayType.NATIVE,
            mchid=config.mchid,
            private_key=config.private_key_pem,
            cert_serial_no=config.merchant_serial_no,
            appid=config.appid,
            apiv3_key=config.apiv3_key,
            notify_url=config.notify_url,
            cert_dir=None if config.public_key_mode else config.certificate_dir(),
            timeout=config.timeout,
            public_key=config.public_key_pem,
            public_key_id=config.public_key_id,
        )

    def _seed_certificates(self, now: int) -> None:
        cert_dir = self._config.certificate_dir()
        try:
            certificates = self._fetch_certificates(now)
        except WeChatPayError:
            if read_cert_dir(cert_dir, now):
                return  # a previous start of this instance left verified certificates: use them
            raise
        write_cert_dir(cert_dir, certificates)

    def _fetch_certificates(self, now: int) -> list[x509.Certificate]:
        config = self._config
        headers = certificates_request_headers(
            mchid=config.mchid,
            serial_no=config.merchant_serial_no,
            private_key=load_private_key(config.private_key_pem),
            now=now,
        )
        url = config.base_url + PATH_CERTIFICATES

        def fetch() -> Answer:
            response = self._transport.get(url, headers=headers, timeout=config.timeout)
            return response.status_code, response.content

        _, body = self._call("certificates", fetch)
        raw = body if isinstance(body, bytes) else body.encode()
        return certificates_from_answer(apiv3_key_bytes(config.apiv3_key), self._transport.last_headers(), raw, now)

    def _call(self, operation: str, send: Callable[[], Answer]) -> Answer:
        """Send with bounded retries on transport errors, 5xx and 429; the caller reuses its ids (reference §9)."""
        last: Exception | None = None
        for attempt in range(1, self._config.max_attempts + 1):
            if attempt > 1:
                self._sleep(self._config.backoff_seconds * 2 ** (attempt - 2))
            self._transport.clear()
            try:
                status, body = send()
            except _RETRIED_TRANSPORT_ERRORS as exc:
                last = exc
                continue
            except Exception as exc:
                # The SDK raises bare Exceptions for unverifiable answers; WeChat may still have acted.
                raise GatewayUnknown(f"{operation}: answer not verified ({exc})") from exc
            if 200 <= status < 300:
                return status, body
            error = _gateway_error(status, body, self._transport.last_headers().get(HEADER_REQUEST_ID))
            if not _is_retryable(status):
                raise error
            last = error
        raise GatewayUnknown(f"{operation}: no definite answer after {self._config.max_attempts} attempts") from last

    def _parsed(self, operation: str, send: Callable[[], Answer], parse: Callable[[Any], T]) -> T:
        _, body = self._call(operation, send)
        try:
            return parse(parse_json(body, "answer"))
        except MalformedPayload as exc:
            raise GatewayUnknown(f"{operation}: malformed answer ({exc})") from exc

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
        _check_id(out_trade_no, _OUT_TRADE_NO, "out_trade_no")
        if not 1 <= len(description) <= 127 or (attach is not None and len(attach) > 128):
            raise ValueError("description must have 1-127 characters and attach at most 128")
        if amount_total < 1:
            raise ValueError("amount_total must be at least 1 fen")
        expire = format_time_expire(time_expire)
        amount = {"total": amount_total, "currency": CURRENCY_CNY}

        send = partial(
            self._client.pay,
            description=description,
            out_trade_no=out_trade_no,
            amount=amount,
            time_expire=expire,
            attach=attach,
            notify_url=notify_url,
        )
        return self._parsed("create_native_order", send, _code_url)

    def query_by_out_trade_no(self, out_trade_no: str) -> Transaction:
        _check_id(out_trade_no, _OUT_TRADE_NO, "out_trade_no")
        send = partial(self._client.query, out_trade_no=out_trade_no)
        return self._parsed("query", send, parse_transaction)

    def query_by_transaction_id(self, transaction_id: str) -> Transaction:
        _check_id(transaction_id, _TRANSACTION_ID, "transaction_id")
        send = partial(self._client.query, transaction_id=transaction_id)
        return self._parsed("query", send, parse_transaction)

    def close(self, out_trade_no: str) -> None:
        _check_id(out_trade_no, _OUT_TRADE_NO, "out_trade_no")
        self._call("close", partial(self._client.close, out_trade_no))

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
        _check_id(out_refund_no, _OUT_REFUND_NO, "out_refund_no")
        if out_trade_no is not None and transaction_id is None:
            _check_id(out_trade_no, _OUT_TRADE_NO, "out_trade_no")
        elif transaction_id is not None and out_trade_no is None:
            _check_id(transaction_id, _TRANSACTION_ID, "transaction_id")
        else:
            raise ValueError("give exactly one of out_trade_no and transaction_id")
        if not 1 <= amount_refund <= amount_total:
            raise ValueError("amount_refund must be between 1 fen and amount_total")
        if reason is not None and len(reason) > 80:
            raise ValueError("reason must have at most 80 characters")
        # notify_url=None lets the SDK use the configured one: payments and refunds share one endpoint.
        send = partial(
            self._client.refund,
            out_refund_no=out_refund_no,
            amount={"refund": amount_refund, "total": amount_total, "currency": CURRENCY_CNY},
            transaction_id=transaction_id,
            out_trade_no=out_trade_no,
            reason=reason,
            notify_url=notify_url,
        )
        return self._parsed("refund", send, parse_refund)

    def query_refund(self, out_refund_no: str) -> Refund:
        _check_id(out_refund_no, _OUT_REFUND_NO, "out_refund_no")
        return self._parsed("query_refund", partial(self._client.query_refund, out_refund_no), parse_refund)

    def trade_bill(self, bill_date: date, bill_type: str = "ALL") -> TradeBill:
        if bill_type not in BILL_TYPES:
            raise ValueError(f"bill_type must be one of {sorted(BILL_TYPES)}")
        send = partial(self._client.trade_bill, bill_date.isoformat(), bill_type, BILL_TAR_TYPE_GZIP)
        return self._parsed("trade_bill", send, parse_trade_bill)

    def download_bill(self, bill: TradeBill) -> bytes:
        # Always fetched from our base URL: the signed GET must not go to a host named in an answer, and the
        # SDK only strips its own gateway prefix from the URL (reference §8, §11).
        parts = urlsplit(bill.download_url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        _, body = self._call("download_bill", partial(self._client.download_bill, path))
        return unpack_bill(bill, body if isinstance(body, bytes) else body.encode())


def _code_url(obj: Any) -> str:
    return req_str(as_object(obj, "order answer"), "code_url")
