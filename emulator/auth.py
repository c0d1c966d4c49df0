"""Checks every API request the way WeChat does: headers, then the `Authorization` signature (reference §1)."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa

from emulator import crypto, exceptions

SCHEME = "WECHATPAY2-SHA256-RSA2048"
MAX_SKEW = 300
_PARAM = re.compile(r'\s*([a-z_]+)="([^"]*)"\s*')
_FORMAT_ERROR = "Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》"


@dataclass(frozen=True)
class Merchant:
    mchid: str
    serial_no: str
    public_key: rsa.RSAPublicKey


@dataclass(frozen=True)
class Authorization:
    mchid: str
    serial_no: str
    timestamp: str
    nonce: str
    signature: str


def check_headers(headers: Mapping[str, str]) -> None:
    """Accept and User-Agent are required on every call (reference §1)."""
    accept = headers.get("accept", "")
    if not accept or not headers.get("user-agent"):
        raise exceptions.InvalidRequest("Http头缺少Accept或User-Agent")
    if "application/json" not in accept and "*/*" not in accept:
        raise exceptions.InvalidRequest("Http头Accept不支持，应为application/json")


def parse(header: str | None) -> Authorization:
    if not header:
        raise exceptions.SignError("Http头缺少Authorization")
    scheme, _, rest = header.partition(" ")
    if scheme != SCHEME:
        raise exceptions.SignError("错误的签名方式，请使用WECHATPAY2-SHA256-RSA2048")
    params: dict[str, str] = {}
    for part in rest.split(","):
        match = _PARAM.fullmatch(part)
        if not match:
            raise exceptions.SignError(_FORMAT_ERROR)
        params[match.group(1)] = match.group(2)
    try:
        return Authorization(
            params["mchid"], params["serial_no"], params["timestamp"], params["nonce_str"], params["signature"]
        )
    except KeyError as exc:
        raise exceptions.SignError(_FORMAT_ERROR) from exc


def verify(merchant: Merchant, headers: Mapping[str, str], method: str, target: str, body: bytes) -> Authorization:
    """The raw request target and the raw body bytes are what was signed: never re-serialise."""
    auth = parse(headers.get("authorization"))
    if auth.mchid != merchant.mchid:
        raise exceptions.MchNotExists("商户号不存在，或签名中的商户号与证书不匹配")
    if auth.serial_no.upper() != merchant.serial_no.upper():
        raise exceptions.SignError("商户证书序列号有误。请使用签名私钥匹配的证书序列号")
    if not auth.timestamp.isdigit() or abs(time.time() - int(auth.timestamp)) > MAX_SKEW:
        raise exceptions.SignError("请求的时间戳与当前时间相差超过5分钟，请检查系统时间")
    message = crypto.request_message(method, target, auth.timestamp, auth.nonce, body)
    if not crypto.verify(merchant.public_key, message, auth.signature):
        raise exceptions.SignError(
            "签名错误，请检查后再试",
            {
                "detail": {"issue": "sign not match"},
                "field": "signature",
                "location": "authorization",
                "sign_information": {
                    "method": method,
                    "sign_message_length": len(message),
                    "truncated_sign_message": message[:64].decode("utf-8", "replace"),
                    "url": target,
                },
            },
        )
    return auth
