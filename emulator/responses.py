"""The APIv3 endpoints: parse the request, call the backend, serialise (thin, as in moto's responses.py)."""

from __future__ import annotations

import base64
import gzip
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from emulator import bills, crypto, exceptions, validation
from emulator.app import Emulator

BILL_URL_LIFETIME = 300


@dataclass(frozen=True)
class Call:
    """One request as received: the raw target and body are kept for signature checks."""

    method: str
    target: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    @property
    def base_url(self) -> str:
        return "http://" + self.headers.get("host", "127.0.0.1")


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any] | bytes | None = None
    content_type: str = "application/json; charset=utf-8"
    signed: bool = True


Handler = Callable[[Emulator, Call, "re.Match[str]"], Answer]


def _require_mchid(emulator: Emulator, call: Call) -> None:
    mchid = call.param("mchid")
    if not mchid:
        raise exceptions.ParamError(
            "输入源“/query/mchid”映射到值字段“直连商户号”必填性规则校验失败，此字段为必填项",
            {"field": "mchid", "location": "query"},
        )
    if mchid != emulator.merchant.mchid:
        raise exceptions.InvalidRequest("mchid不匹配", {"field": "mchid", "location": "query"})


def create_native(emulator: Emulator, call: Call, match: re.Match[str]) -> Answer:
    raw = validation.parse_json(call.body)
    order = validation.native_order(raw)
    return Answer(200, {"code_url": emulator.backend.create_native(order, raw)})


def query_by_out_trade_no(emulator: Emulator, call: Call, match: re.Match[str]) -> Answer:
    _require_mchid(emulator, call)
    return Answer(200, emulator.backend.query(out_trade_no=unquote(match["out_trade_no"])))


def query_by_id(emulator: Emulator, call: Call, match: re.Match[str]) -> Answer:
    _require_mchid(emulator, call)
    return Answer(200, emulator.backend.query(transaction_id=unquote(match["transaction_id"])))


def close(emulator: Emulator, call: Call, match: re.Match[str]) -> Answer:
    body = validation.parse_json(call.body)
    mchid = validation.text(body, "mchid", 32)
    assert mchid is not None
    emulator.backend.close(unquote(match["out_trade_no"]), mchid)
    return Answer(204)


def refund(emulator: Emulator, call: Call, match: re.Match[str]) -> Answer:
    raw = validation.parse_json(call.body)
    return Answer(200, emulator.backend.refund(validation.refund_request(raw), raw))


def query_refund(emulator: Emulator, call: Call, match: re.Match[str]) -> Answer:
    return Answer(200, emulator.backend.query_refund(unquote(match["out_refund_no"])))


def certificates(emulator: Emulator, call: Call, match: re.Match[str]) -> Answer:
    if not emulator.signer.certificates_available:
        raise exceptions.ResourceNotExists("无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥。")
    credentials = emulator.keys.credentials
    cert = crypto.certificate_from_pem(credentials.platform_certificate)
    return Answer(
        200,
        {
            "data": [
                {
                    "effective_time": crypto.cst_rfc3339(cert.not_valid_before_utc),
                    "encrypt_certificate": crypto.encrypt_resource(
                        credentials.apiv3_key, credentials.platform_certificate.encode(), "certificate"
                    ),
                    "expire_time": crypto.cst_rfc3339(cert.not_valid_after_utc),
                    "serial_no": credentials.platform_serial_no,
                }
            ]
        },
    )


def trade_bill(emulator: Emulator, call: Call, match: re.Match[str]) -> Answer:
    bill_date = call.param("bill_date")
    if not bill_date:
        raise exceptions.ParamError("bill_date为必填项", {"field": "bill_date", "location": "query"})
    bill_type = call.param("bill_type") or "ALL"
    if bill_type not in ("ALL", "SUCCESS", "REFUND"):
        raise exceptions.ParamError("bill_type取值错误", {"field": "bill_type", "location": "query"})
    tar_type = call.param("tar_type")
    if tar_type not in (None, "GZIP"):
        raise exceptions.ParamError("tar_type取值错误", {"field": "tar_type", "location": "query"})
    day = bills.check_date(bill_date, emulator.clock.now())
    content = bills.trade_bill(emulator.store, day, bill_type)
    token = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")
    with emulator.store.tx() as db:
        db.execute(
            "INSERT INTO bill_tokens(token, content, gzip, expires_at) VALUES (?, ?, ?, ?)",
            (token, content, tar_type == "GZIP", time.time() + BILL_URL_LIFETIME),
        )
    return Answer(
        200,
        {
            "download_url": f"{call.base_url}/v3/billdownload/file?token={token}",
            "hash_type": "SHA1",
            "hash_value": crypto.sha1_hex(content),
        },
    )


def download(emulator: Emulator, call: Call, match: re.Match[str]) -> Answer:
    """The file itself is not signed: clients skip verification and compare the SHA1 instead (reference §8)."""
    row = emulator.store.one("SELECT * FROM bill_tokens WHERE token = ?", call.param("token") or "")
    if row is None or row["expires_at"] < time.time():
        raise exceptions.InvalidRequest("下载链接已失效，请重新申请")
    content: bytes = row["content"]
    if row["gzip"]:
        return Answer(200, gzip.compress(content, mtime=0), "application/x-gzip", signed=False)
    return Answer(200, content, "text/plain; charset=utf-8", signed=False)


ROUTES: list[tuple[str, re.Pattern[str], str, Handler]] = [
    ("POST", re.compile(r"/v3/pay/transactions/native"), "create", create_native),
    ("GET", re.compile(r"/v3/pay/transactions/out-trade-no/(?P<out_trade_no>[^/]+)"), "query", query_by_out_trade_no),
    ("GET", re.compile(r"/v3/pay/transactions/id/(?P<transaction_id>[^/]+)"), "query_by_id", query_by_id),
    ("POST", re.compile(r"/v3/pay/transactions/out-trade-no/(?P<out_trade_no>[^/]+)/close"), "close", close),
    ("POST", re.compile(r"/v3/refund/domestic/refunds"), "refund", refund),
    ("GET", re.compile(r"/v3/refund/domestic/refunds/(?P<out_refund_no>[^/]+)"), "query_refund", query_refund),
    ("GET", re.compile(r"/v3/certificates"), "certificates", certificates),
    ("GET", re.compile(r"/v3/bill/tradebill"), "tradebill", trade_bill),
    ("GET", re.compile(r"/v3/billdownload/file"), "download", download),
]


def route(method: str, path: str) -> tuple[str, Handler, re.Match[str]] | None:
    """The endpoint for a path; a known path with another method is answered like an unknown one."""
    for verb, pattern, endpoint, handler in ROUTES:
        match = pattern.fullmatch(path)
        if match and verb == method:
            return endpoint, handler, match
    return None
