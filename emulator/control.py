"""The control API (design.md §7): what a test or a person does to the emulator that WeChat's users would do
to WeChat — pay, fail a refund, replay a notification — plus faults, the clock and a reset."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from emulator import exceptions, phone
from emulator.app import Emulator
from emulator.responses import Call
from emulator.signer import MODES

Result = tuple[int, Any]
Control = Callable[[Emulator, Call, "re.Match[str]", dict[str, Any]], Result]
JSON = "application/json; charset=utf-8"
REFUND_OUTCOMES = ("SUCCESS", "ABNORMAL", "CLOSED")


class BadControl(Exception):
    """A control request that cannot be carried out."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _merchant(emulator: Emulator, call: Call, match: re.Match[str], body: dict[str, Any]) -> Result:
    return 200, {
        **emulator.keys.credentials.public_view(),
        "base_url": call.base_url,
        "signing_mode": emulator.signer.mode,
    }


def _pay(emulator: Emulator, call: Call, match: re.Match[str], body: dict[str, Any]) -> Result:
    out_trade_no = body.get("out_trade_no")
    if not out_trade_no and body.get("code_url"):
        out_trade_no = emulator.backend.resolve_code_url(str(body["code_url"]))
    if not out_trade_no:
        raise BadControl(400, "INVALID_REQUEST", "give out_trade_no or code_url")
    delivery = _delivery(body)
    return 200, emulator.backend.pay(
        out_trade_no=str(out_trade_no),
        openid=body.get("openid"),
        bank_type=str(body.get("bank_type", "OTHERS")),
        delivery=delivery,
    )


def _pay_on_close(emulator: Emulator, call: Call, match: re.Match[str], body: dict[str, Any]) -> Result:
    emulator.backend.arm_pay_on_close(match["id"])
    return 200, {"armed": True, "out_trade_no": match["id"]}


def _orders(emulator: Emulator, call: Call, match: re.Match[str], body: dict[str, Any]) -> Result:
    rows = emulator.store.all("SELECT * FROM orders ORDER BY created_at DESC LIMIT 200")
    return 200, {"orders": [{**dict(row), "fingerprint": None} for row in rows]}


def _order(emulator: Emulator, call: Call, match: re.Match[str], body: dict[str, Any]) -> Result:
    return 200, emulator.backend.query(out_trade_no=match["id"])


def _notifications(emulator: Emulator, call: Call, match: re.Match[str], body: dict[str, Any]) -> Result:
    return 200, {"notifications": emulator.notifier.list(call.param("out_trade_no"))}


def _notification(emulator: Emulator, call: Call, match: re.Match[str], body: dict[str, Any]) -> Result:
    found = [n for n in emulator.notifier.list() if n["id"] == match["id"]]
    if not found:
        raise BadControl(404, "NOT_FOUND", "no such notification")
    return 200, found[0]


def _resend(emulator: Emulator, call: Call, match: re.Match[str], body: dict[str, Any]) -> Result:
    return 200, emulator.notifier.send(_known(emulator, match["id"]), "manual")


def _signtest(emulator: Emulator, call: Call, match: re.Match[str], body: dict[str, Any]) -> Result:
    return 200, emulator.notifier.send(_known(emulator, match["id"]), "probe")


def _duplicate(emulator: Emulator, call: Call, match: re.Match[str], body: dict[str, Any]) -> Result:
    count = int(body.get("count", 2))
    return 200, {"attempts": emulator.notifier.duplicate(_known(emulator, match["id"]), count)}


def _release(emulator: Emulator, call: Call, match: re.Match[str], body: dict[str, Any]) -> Result:
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids:
        raise BadControl(400, "INVALID_REQUEST", "give ids: the notifications to deliver, in delivery order")
    return 200, {"attempts": emulator.notifier.release([_known(emulator, str(i)) for i in ids])}


def _refunds(emulator: Emulator, call: Call, match: re.Match[str], body: dict[str, Any]) -> Result:
    rows = emulator.store.all("SELECT * FROM refunds ORDER BY create_time DESC LIMIT 200")
    return 200, {"refunds": [{**dict(row), "fingerprint": None} for row in rows]}


def _refund_outcome(emulator: Emulator, call: Call, match: re.Match[str], body: dict[str, Any]) -> Result:
    status = str(body.get("status", "ABNORMAL"))
    if status not in REFUND_OUTCOMES:
        raise BadControl(400, "INVALID_REQUEST", f"status must be one of {REFUND_OUTCOMES}")
    delivery = _delivery(body)
    emulator.backend.queue_refund_outcome(status, int(body.get("count", 1)), delivery)
    return 200, {"queued": status, "count": int(body.get("count", 1)), "delivery": delivery}


def _settle(emulator: Emulator, call: Call, match: re.Match[str], body: dict[str, Any]) -> Result:
    status = body.get("status")
    if status is not None and status not in REFUND_OUTCOMES:
        raise BadControl(400, "INVALID_REQUEST", f"status must be one of {REFUND_OUTCOMES}")
    delivery = _delivery(body)
    return 200, emulator.backend.settle_refund(match["id"], status, delivery)


def _faults(emulator: Emulator, call: Call, match: re.Match[str], body: dict[str, Any]) -> Result:
    if call.method == "POST":
        try:
            return 201, emulator.faults.add(body)
        except (ValueError, TypeError) as exc:
            raise BadControl(400, "INVALID_REQUEST", str(exc)) from exc
    if call.method == "DELETE":
        emulator.faults.clear()
    return 200, {"faults": emulator.faults.list()}


def _clock(emulator: Emulator, call: Call, match: re.Match[str], body: dict[str, Any]) -> Result:
    if call.method == "POST":
        emulator.clock.advance(float(body.get("advance_seconds", 0)))
    return 200, {"now": emulator.clock.now(), "offset_seconds": emulator.clock.offset}


def _config(emulator: Emulator, call: Call, match: re.Match[str], body: dict[str, Any]) -> Result:
    if call.method == "POST":
        if "signing_mode" in body:
            if body["signing_mode"] not in MODES:
                raise BadControl(400, "INVALID_REQUEST", f"signing_mode must be one of {MODES}")
            emulator.signer.set_mode(str(body["signing_mode"]))
        if "time_factor" in body:
            emulator.notifier.time_factor = float(body["time_factor"])
        if "refund_notify_url" in body:
            emulator.store.set_kv("refund_notify_url", str(body["refund_notify_url"]))
    return 200, {
        "signing_mode": emulator.signer.mode,
        "time_factor": emulator.notifier.time_factor,
        "refund_notify_url": emulator.store.get_kv("refund_notify_url", ""),
    }


def _requests(emulator: Emulator, call: Call, match: re.Match[str], body: dict[str, Any]) -> Result:
    rows = emulator.store.all("SELECT * FROM requests ORDER BY seq")
    return 200, {"requests": [dict(row) for row in rows]}


def _reset(emulator: Emulator, call: Call, match: re.Match[str], body: dict[str, Any]) -> Result:
    emulator.reset()
    return 200, {"reset": True}


def _health(emulator: Emulator, call: Call, match: re.Match[str], body: dict[str, Any]) -> Result:
    emulator.store.one("SELECT 1")
    return 200, {"status": "ok", "service": "wechatpay-emulator", "signing_mode": emulator.signer.mode}


def _delivery(body: dict[str, Any]) -> dict[str, Any]:
    return {key: body[key] for key in ("mode", "delay", "signtest", "duplicates") if key in body}


def _known(emulator: Emulator, notification_id: str) -> str:
    if emulator.store.one("SELECT id FROM notifications WHERE id = ?", notification_id) is None:
        raise BadControl(404, "NOT_FOUND", "no such notification")
    return notification_id


_ID = r"(?P<id>[^/]+)"
ROUTES: list[tuple[str, str, Control]] = [
    ("GET", "/healthz", _health),
    ("GET", "/_emulator/merchant", _merchant),
    ("POST", "/_emulator/pay", _pay),
    ("GET", "/_emulator/orders", _orders),
    ("GET", f"/_emulator/orders/{_ID}", _order),
    ("POST", f"/_emulator/orders/{_ID}/pay-on-close", _pay_on_close),
    ("GET", "/_emulator/notifications", _notifications),
    ("POST", "/_emulator/notifications/release", _release),
    ("GET", f"/_emulator/notifications/{_ID}", _notification),
    ("POST", f"/_emulator/notifications/{_ID}/resend", _resend),
    ("POST", f"/_emulator/notifications/{_ID}/duplicate", _duplicate),
    ("POST", f"/_emulator/notifications/{_ID}/signtest", _signtest),
    ("GET", "/_emulator/refunds", _refunds),
    ("POST", "/_emulator/refunds/outcome", _refund_outcome),
    ("POST", f"/_emulator/refunds/{_ID}/settle", _settle),
    ("GET", "/_emulator/faults", _faults),
    ("POST", "/_emulator/faults", _faults),
    ("DELETE", "/_emulator/faults", _faults),
    ("GET", "/_emulator/clock", _clock),
    ("POST", "/_emulator/clock", _clock),
    ("GET", "/_emulator/config", _config),
    ("POST", "/_emulator/config", _config),
    ("GET", "/_emulator/requests", _requests),
    ("POST", "/_emulator/reset", _reset),
]
_COMPILED = [(method, re.compile(path), fn) for method, path, fn in ROUTES]


def handle(emulator: Emulator, call: Call) -> tuple[int, bytes, str]:
    if call.method == "GET" and call.path in ("/", "/phone"):
        return 200, phone.page(emulator, call.param("code_url") or "").encode(), "text/html; charset=utf-8"
    try:
        for method, pattern, fn in _COMPILED:
            match = pattern.fullmatch(call.path)
            if match and method == call.method:
                status, payload = fn(emulator, call, match, _body(call))
                return status, _dump(payload), JSON
        raise BadControl(404, "NOT_FOUND", f"no control route {call.method} {call.path}")
    except BadControl as exc:
        return exc.status, _dump({"error": {"code": exc.code, "message": exc.message}}), JSON
    except (ValueError, TypeError) as exc:  # e.g. a count or a delay that is not a number
        return 400, _dump({"error": {"code": "INVALID_REQUEST", "message": str(exc)}}), JSON
    except exceptions.WeChatError as exc:
        return exc.status, _dump({"error": {"code": exc.code, "message": exc.message}}), JSON


def _body(call: Call) -> dict[str, Any]:
    if not call.body:
        return {}
    try:
        body = json.loads(call.body)
    except ValueError as exc:
        raise BadControl(400, "INVALID_JSON", "the body is not JSON") from exc
    if not isinstance(body, dict):
        raise BadControl(400, "INVALID_JSON", "the body must be a JSON object")
    return body


def _dump(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, default=str).encode()
