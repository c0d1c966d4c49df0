"""A hand-rolled APIv3 caller for requests the SDK would never send: stale timestamps, wrong keys, missing headers.

It signs with the third-party SDK's own primitive, so it shares no code with the emulator or `shared.wechatpay`.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import requests
from urllib3.util import SKIP_HEADER
from wechatpayv3.utils import load_private_key, rsa_sign


class RawClient:
    def __init__(self, base_url: str, merchant: dict[str, str]):
        self.base_url = base_url
        self.merchant = merchant
        self.http = requests.Session()
        self.http.trust_env = False

    def authorization(self, method: str, target: str, body: bytes, **override: Any) -> str:
        m = self.merchant
        mchid = override.get("mchid", m["mchid"])
        serial = override.get("serial_no", m["merchant_serial_no"])
        timestamp = str(override.get("timestamp", int(time.time())))
        nonce = override.get("nonce", uuid.uuid4().hex.upper())
        key = load_private_key(override.get("private_key", m["merchant_private_key"]))
        message = f"{method}\n{override.get('signed_target', target)}\n{timestamp}\n{nonce}\n{body.decode()}\n"
        signature = override.get("signature", rsa_sign(key, message))
        return (
            f'WECHATPAY2-SHA256-RSA2048 mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
            f'timestamp="{timestamp}",serial_no="{serial}"'
        )

    def call(
        self,
        method: str,
        target: str,
        payload: Any = None,
        *,
        headers: dict[str, str | None] | None = None,
        raw_body: bytes | None = None,
        **override: Any,
    ) -> requests.Response:
        body = raw_body if raw_body is not None else (json.dumps(payload).encode() if payload is not None else b"")
        sent: dict[str, str | None] = {
            "Accept": "application/json",
            "User-Agent": "raw-test-client/1.0",
            "Content-Type": "application/json",
            "Authorization": self.authorization(method, target, body, **override),
        }
        sent.update(headers or {})
        if "User-Agent" in sent and sent["User-Agent"] is None:
            sent["User-Agent"] = SKIP_HEADER  # else urllib3 adds its own
        return self.http.request(method, self.base_url + target, data=body, headers=sent, timeout=10)

    def native_order(self, out_trade_no: str, **fields: Any) -> dict[str, Any]:
        order = {
            "appid": self.merchant["appid"],
            "mchid": self.merchant["mchid"],
            "description": "Course",
            "out_trade_no": out_trade_no,
            "notify_url": "https://merchant.example/v1/notify/wechatpay",
            "amount": {"total": 100, "currency": "CNY"},
        }
        order.update(fields)
        return order
