"""WeChat's side of a notification, for tests: signed with the emulator's WeChat Pay key, encrypted with the
merchant's APIv3 key — so a test can send what WeChat would, or a forgery of it."""

from __future__ import annotations

import json
import time
from typing import Any

from emulator import crypto
from tests.support.emulator import RunningEmulator


def signed(
    emulator: RunningEmulator, body: bytes, *, timestamp: int | None = None, key: Any = None, serial: str | None = None
) -> dict[str, str]:
    """Headers as WeChat signs a notification, using the emulator's WeChat Pay key unless told otherwise."""
    keys = emulator.core.keys
    ts, nonce = str(timestamp or int(time.time())), crypto.random_token(32)
    signature = crypto.sign(key or keys.wechatpay_private, crypto.answer_message(ts, nonce, body))
    return {
        "Wechatpay-Timestamp": ts,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": signature,
        "Wechatpay-Serial": serial or keys.credentials.wechatpay_public_key_id,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        "Content-Type": "application/json",
    }


def genuine_notification(emulator: RunningEmulator, resource: dict[str, Any]) -> bytes:
    """A notification as WeChat would send it, for a payment WeChat really reports (signed, encrypted)."""
    sealed = crypto.encrypt_resource(emulator.merchant["apiv3_key"], json.dumps(resource).encode(), "transaction")
    envelope = {
        "id": crypto.random_token(36),
        "create_time": "2026-11-30T10:00:00+08:00",
        "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS",
        "summary": "支付成功",
        "resource": {"original_type": "transaction", **sealed},
    }
    return json.dumps(envelope, ensure_ascii=False).encode()


def paid_resource(emulator: RunningEmulator, out_trade_no: str, total: int, **changes: Any) -> dict[str, Any]:
    m = emulator.merchant
    return {
        "appid": m["appid"],
        "mchid": m["mchid"],
        "out_trade_no": out_trade_no,
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "trade_type": "NATIVE",
        "transaction_id": "4200000000202611300000000001",
        "success_time": "2026-11-30T10:00:00+08:00",
        "payer": {"openid": "o-test"},
        "bank_type": "OTHERS",
        "amount": {"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"},
        **changes,
    }
