"""Order and refund state as WeChat Pay keeps it, with no HTTP in sight (reference §3–§7).

States for a Native order: NOTPAY -> SUCCESS | CLOSED; SUCCESS -> REFUND (a refund was initiated).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulator import crypto, exceptions
from emulator.store import Store

CST = dt.timezone(dt.timedelta(hours=8))
DEFAULT_PAYABLE = 7 * 86400  # without time_expire an order is payable for 7 days (reference §3)
MIN_PAYABLE = 60  # a time_expire closer than a minute is bumped to a minute
CODE_URL_LIFETIME = 2 * 3600
REFUND_WINDOW = 365 * 86400
MAX_REFUNDS = 50
PAID_STATES = ("SUCCESS", "REFUND")
FINAL_REFUND_STATES = ("SUCCESS", "CLOSED", "ABNORMAL")


def rfc3339(epoch: float) -> str:
    return dt.datetime.fromtimestamp(int(epoch), CST).isoformat()


class Clock:
    """Business time: real time plus an offset a test can advance (order expiry, bill days, refund limits).

    Signature freshness always uses real time: clients sign with their own clocks.
    """

    def __init__(self, store: Store):
        self._store = store

    @property
    def offset(self) -> float:
        return float(self._store.get_kv("clock_offset", "0"))

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> float:
        self._store.set_kv("clock_offset", repr(self.offset + seconds))
        return self.now()


@dataclass(frozen=True)
class Outbound:
    """A notification the backend asks to send: what happened and to which URL."""

    event_type: str
    summary: str
    original_type: str
    associated_data: str
    resource: dict[str, Any]
    notify_url: str
    out_trade_no: str
    out_refund_no: str | None = None


Notify = Callable[[Outbound, dict[str, Any]], str]


class Backend:
    """Orders and refunds of one direct merchant."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        mchid: str,
        appid: str,
        notify: Notify,
        refund_delay: float = 1.0,
        refund_interval: float = 60.0,
    ):
        self.store, self.clock, self.mchid, self.appid = store, clock, mchid, appid
        self._notify = notify
        self.refund_delay = refund_delay
        self.refund_interval = refund_interval

    # -- orders ------------------------------------------------------------------------------------------

    def create_native(self, order: dict[str, Any], raw: dict[str, Any]) -> str:
        self._check_merchant(order["mchid"], order["appid"])
        now = self.clock.now()
        fingerprint = _fingerprint(raw)
        with self.store.tx() as db:
            row = self._expire(
                db, db.execute("SELECT * FROM orders WHERE out_trade_no = ?", (order["out_trade_no"],)).fetchone(), now
            )
            if row is None:
                expire = order["time_expire"].timestamp() if order["time_expire"] else now + DEFAULT_PAYABLE
                db.execute(
                    "INSERT INTO orders(out_trade_no, appid, mchid, description, attach, notify_url, amount_total,"
                    " currency, time_expire, created_at, fingerprint, trade_state)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 'CNY', ?, ?, ?, 'NOTPAY')",
                    (
                        order["out_trade_no"],
                        order["appid"],
                        order["mchid"],
                        order["description"],
                        order["attach"],
                        order["notify_url"],
                        order["amount_total"],
                        max(expire, now + MIN_PAYABLE),
                        now,
                        fingerprint,
                    ),
                )
            elif row["trade_state"] in PAID_STATES:
                raise exceptions.AlreadyPaid("该订单已支付")
            elif row["trade_state"] == "CLOSED":
                raise exceptions.OrderClosed("订单已关闭，请重新下单")
            elif row["fingerprint"] != fingerprint:
                raise exceptions.InvalidRequest("201 商户订单号重复")
            code_url = "weixin://wxpay/bizpayurl?pr=" + crypto.random_token(7)
            db.execute(
                "INSERT INTO code_urls(code_url, out_trade_no, expires_at) VALUES (?, ?, ?)",
                (code_url, order["out_trade_no"], now + CODE_URL_LIFETIME),
            )
        return code_url

    def query(self, *, out_trade_no: str | None = None, transaction_id: str | None = None) -> dict[str, Any]:
        with self.store.tx() as db:
            if out_trade_no is not None:
                row = db.execute("SELECT * FROM orders WHERE out_trade_no = ?", (out_trade_no,)).fetchone()
            else:
                row = db.execute("SELECT * FROM orders WHERE transaction_id = ?", (transaction_id,)).fetchone()
            row = self._expire(db, row, self.clock.now())
        if row is None:
            raise exceptions.OrderNotExist("订单不存在")
        return transaction_view(row)

    def close(self, out_trade_no: str, mchid: str) -> None:
        if mchid != self.mchid:
            raise exceptions.InvalidRequest("mchid不匹配")
        pay_first = False
        with self.store.tx() as db:
            row = self._expire(
                db,
                db.execute("SELECT * FROM orders WHERE out_trade_no = ?", (out_trade_no,)).fetchone(),
                self.clock.now(),
            )
            if row is None:
                return  # WeChat answers 204 for an unknown out_trade_no too (reference §5)
            pay_first = bool(row["pay_on_close"]) and row["trade_state"] == "NOTPAY"
            if row["trade_state"] == "NOTPAY" and not pay_first:
                db.execute(
                    "UPDATE orders SET trade_state = 'CLOSED', closed_at = ? WHERE out_trade_no = ?",
                    (self.clock.now(), out_trade_no),
                )
                return
            if row["trade_state"] == "CLOSED":
                return
        if pay_first:  # the close/pay race: the user's payment lands just before the close
            self.pay(out_trade_no=out_trade_no)
        raise exceptions.OrderPaid("订单已支付，不能关闭，请发起退款")

    def arm_pay_on_close(self, out_trade_no: str) -> None:
        with self.store.tx() as db:
            if (
                db.execute(
                    "UPDATE orders SET pay_on_close = 1 WHERE out_trade_no = ? AND trade_state = 'NOTPAY'",
                    (out_trade_no,),
                ).rowcount
                != 1
            ):
                raise exceptions.InvalidRequest("订单不存在或不是未支付状态")

    def resolve_code_url(self, code_url: str) -> str:
        row = self.store.one("SELECT out_trade_no, expires_at FROM code_urls WHERE code_url = ?", code_url)
        if row is None:
            raise exceptions.InvalidRequest("二维码无效")
        if row["expires_at"] <= self.clock.now():
            raise exceptions.InvalidRequest("二维码已过期，请刷新再试")
        return str(row["out_trade_no"])

    def pay(
        self,
        *,
        out_trade_no: str,
        openid: str | None = None,
        bank_type: str = "OTHERS",
        delivery: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The user pays: NOTPAY -> SUCCESS, then the TRANSACTION.SUCCESS notification (reference §6)."""
        now = self.clock.now()
        with self.store.tx() as db:
            row = self._expire(
                db, db.execute("SELECT * FROM orders WHERE out_trade_no = ?", (out_trade_no,)).fetchone(), now
            )
            if row is None:
                raise exceptions.OrderNotExist("订单不存在")
            if row["trade_state"] != "NOTPAY":
                raise exceptions.InvalidRequest(f"订单状态为{row['trade_state']}，不能支付", code="ORDER_NOT_PAYABLE")
            transaction_id = _wechat_id("420000", 4, 10, now)
            db.execute(
                "UPDATE orders SET trade_state = 'SUCCESS', transaction_id = ?, success_time = ?, payer_openid = ?,"
                " bank_type = ? WHERE out_trade_no = ? AND trade_state = 'NOTPAY'",
                (transaction_id, now, openid or "o" + crypto.random_token(27), bank_type, out_trade_no),
            )
            row = db.execute("SELECT * FROM orders WHERE out_trade_no = ?", (out_trade_no,)).fetchone()
        view = transaction_view(row)
        notification_id = self._notify(
            Outbound(
                "TRANSACTION.SUCCESS", "支付成功", "transaction", "transaction", view, row["notify_url"], out_trade_no
            ),
            delivery or {},
        )
        return {"transaction": view, "notification_id": notification_id}

    # -- refunds -----------------------------------------------------------------------------------------

    def refund(self, request: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        with self.store.tx() as db:
            existing = db.execute(
                "SELECT * FROM refunds WHERE out_refund_no = ?", (request["out_refund_no"],)
            ).fetchone()
            if existing is not None:
                if existing["fingerprint"] != _fingerprint(raw, ("notify_url", "reason")):
                    raise exceptions.InvalidRequest("退款单号重复，且请求参数与首次请求不一致")
                return refund_view(existing)
            order = self._refundable_order(db, request, now)
            outcome = db.execute("SELECT seq, status, delivery FROM refund_outcomes ORDER BY seq LIMIT 1").fetchone()
            if outcome is not None:
                db.execute("DELETE FROM refund_outcomes WHERE seq = ?", (outcome["seq"],))
            refund_id = _wechat_id("50300", 5, 11, now)
            db.execute(
                "INSERT INTO refunds(out_refund_no, refund_id, out_trade_no, transaction_id, amount_refund,"
                " amount_total, reason, notify_url, status, create_time, fingerprint, outcome, settle_at, delivery)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'PROCESSING', ?, ?, ?, ?, ?)",
                (
                    request["out_refund_no"],
                    refund_id,
                    order["out_trade_no"],
                    order["transaction_id"],
                    request["amount_refund"],
                    order["amount_total"],
                    request["reason"],
                    request["notify_url"],
                    now,
                    _fingerprint(raw, ("notify_url", "reason")),
                    outcome["status"] if outcome else "SUCCESS",
                    time.time() + self.refund_delay,
                    outcome["delivery"] if outcome else "{}",
                ),
            )
            db.execute(
                "UPDATE orders SET trade_state = 'REFUND', last_refund_at = ? WHERE out_trade_no = ?",
                (now, order["out_trade_no"]),
            )
            row = db.execute("SELECT * FROM refunds WHERE out_refund_no = ?", (request["out_refund_no"],)).fetchone()
        return refund_view(row)

    def _refundable_order(self, db: sqlite3.Connection, request: dict[str, Any], now: float) -> sqlite3.Row:
        if request["transaction_id"]:
            order = db.execute("SELECT * FROM orders WHERE transaction_id = ?", (request["transaction_id"],)).fetchone()
        else:
            order = db.execute("SELECT * FROM orders WHERE out_trade_no = ?", (request["out_trade_no"],)).fetchone()
        if order is None or order["trade_state"] not in PAID_STATES:
            raise exceptions.ResourceNotExists("订单不存在或未支付")
        if request["amount_total"] != order["amount_total"]:
            raise exceptions.ParamError.field("/amount/total", "与原订单金额不一致", request["amount_total"])
        if now - float(order["success_time"]) > REFUND_WINDOW:
            raise exceptions.InvalidRequest("订单已超过退款期限（交易时间超过一年）")
        refunds = db.execute(
            "SELECT COUNT(*) AS n, COALESCE(SUM(amount_refund), 0) AS total FROM refunds"
            " WHERE out_trade_no = ? AND status != 'CLOSED'",
            (order["out_trade_no"],),
        ).fetchone()
        if refunds["n"] >= MAX_REFUNDS:
            raise exceptions.InvalidRequest("订单退款次数超过限制（最多50次）")
        if refunds["total"] + request["amount_refund"] > order["amount_total"]:
            raise exceptions.InvalidRequest("申请退款金额超过订单可退金额")
        if order["last_refund_at"] is not None and now - float(order["last_refund_at"]) < self.refund_interval:
            raise exceptions.FrequencyLimited("同一笔订单的退款申请间隔需大于1分钟")
        result: sqlite3.Row = order
        return result

    def query_refund(self, out_refund_no: str) -> dict[str, Any]:
        row = self.store.one("SELECT * FROM refunds WHERE out_refund_no = ?", out_refund_no)
        if row is None:
            raise exceptions.ResourceNotExists("退款单不存在")
        return refund_view(row)

    def settle_refund(
        self, out_refund_no: str, status: str | None = None, delivery: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A PROCESSING refund ends SUCCESS, ABNORMAL or CLOSED, and its notification is sent (reference §7)."""
        with self.store.tx() as db:
            row = db.execute("SELECT * FROM refunds WHERE out_refund_no = ?", (out_refund_no,)).fetchone()
            if row is None:
                raise exceptions.ResourceNotExists("退款单不存在")
            if row["status"] != "PROCESSING":
                return refund_view(row)
            final = status or row["outcome"]
            success_time = self.clock.now() if final == "SUCCESS" else None
            db.execute(
                "UPDATE refunds SET status = ?, success_time = ?, settle_at = NULL"
                " WHERE out_refund_no = ? AND status = 'PROCESSING'",
                (final, success_time, out_refund_no),
            )
            row = db.execute("SELECT * FROM refunds WHERE out_refund_no = ?", (out_refund_no,)).fetchone()
        view = refund_view(row)
        delivery = delivery if delivery is not None else json.loads(row["delivery"] or "{}")
        url = row["notify_url"] or self.store.get_kv("refund_notify_url", "")
        if url:
            self._notify(
                Outbound(
                    f"REFUND.{final}",
                    _REFUND_SUMMARY[final],
                    "refund",
                    "",  # refund notifications often carry an empty associated_data (reference §7)
                    refund_notification_view(row, self.mchid),
                    url,
                    row["out_trade_no"],
                    out_refund_no,
                ),
                delivery or {},
            )
        return view

    def due_refunds(self) -> list[str]:
        rows = self.store.all(
            "SELECT out_refund_no FROM refunds WHERE status = 'PROCESSING'"
            " AND settle_at IS NOT NULL AND settle_at <= ?",
            time.time(),
        )
        return [str(row["out_refund_no"]) for row in rows]

    def queue_refund_outcome(self, status: str, count: int = 1, delivery: dict[str, Any] | None = None) -> None:
        """The next `count` refunds end `status`; `delivery` (mode, delay...) shapes their notifications."""
        with self.store.tx() as db:
            for _ in range(count):
                db.execute(
                    "INSERT INTO refund_outcomes(status, delivery) VALUES (?, ?)", (status, json.dumps(delivery or {}))
                )

    # -- helpers -----------------------------------------------------------------------------------------

    def _check_merchant(self, mchid: str, appid: str) -> None:
        if mchid != self.mchid:
            raise exceptions.InvalidRequest("mchid不匹配", {"field": "/mchid", "location": "body"})
        if appid != self.appid:
            raise exceptions.AppidMchidNotMatch("AppID和mch_id不匹配")

    def _expire(self, db: sqlite3.Connection, row: sqlite3.Row | None, now: float) -> sqlite3.Row | None:
        """An unpaid order past its time_expire is closed (reference §3, §5)."""
        if row is None or row["trade_state"] != "NOTPAY" or now < row["time_expire"]:
            return row
        db.execute(
            "UPDATE orders SET trade_state = 'CLOSED', closed_at = ? WHERE out_trade_no = ? AND trade_state = 'NOTPAY'",
            (row["time_expire"], row["out_trade_no"]),
        )
        result: sqlite3.Row = db.execute(
            "SELECT * FROM orders WHERE out_trade_no = ?", (row["out_trade_no"],)
        ).fetchone()
        return result


_REFUND_SUMMARY = {"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}
_TRADE_STATE_DESC = {"NOTPAY": "订单未支付", "SUCCESS": "支付成功", "CLOSED": "订单已关闭", "REFUND": "转入退款"}


def _wechat_id(prefix: str, head: int, tail: int, now: float) -> str:
    """Digits shaped like WeChat's ids: 28 for a transaction_id (reference §4), 29 for a refund_id."""
    day = dt.datetime.fromtimestamp(now, CST).strftime("%Y%m%d")
    return prefix + crypto.random_token(head, "0123456789") + day + crypto.random_token(tail, "0123456789")


def _fingerprint(raw: dict[str, Any], ignore: tuple[str, ...] = ("time_expire",)) -> str:
    return json.dumps({k: v for k, v in raw.items() if k not in ignore}, sort_keys=True, ensure_ascii=False)


def transaction_view(row: sqlite3.Row) -> dict[str, Any]:
    """The query answer and the notification's plaintext (reference §4, §6)."""
    view: dict[str, Any] = {
        "amount": {"payer_currency": "CNY", "total": row["amount_total"]},
        "appid": row["appid"],
        "mchid": row["mchid"],
        "out_trade_no": row["out_trade_no"],
        "promotion_detail": [],
        "scene_info": {"device_id": ""},
        "trade_state": row["trade_state"],
        "trade_state_desc": _TRADE_STATE_DESC[row["trade_state"]],
    }
    if row["attach"] is not None:
        view["attach"] = row["attach"]
    if row["transaction_id"]:
        view["amount"].update(currency="CNY", payer_total=row["amount_total"])
        view.update(
            bank_type=row["bank_type"],
            payer={"openid": row["payer_openid"]},
            success_time=rfc3339(row["success_time"]),
            trade_type="NATIVE",
            transaction_id=row["transaction_id"],
        )
    return view


def refund_view(row: sqlite3.Row) -> dict[str, Any]:
    """The answer of the refund API and of the refund query (reference §7): the state is in `status`."""
    view: dict[str, Any] = {
        "amount": {
            "currency": "CNY",
            "discount_refund": 0,
            "from": [],
            "payer_refund": row["amount_refund"],
            "payer_total": row["amount_total"],
            "refund": row["amount_refund"],
            "refund_fee": 0,
            "settlement_refund": row["amount_refund"],
            "settlement_total": row["amount_total"],
            "total": row["amount_total"],
        },
        "channel": "ORIGINAL",
        "create_time": rfc3339(row["create_time"]),
        "funds_account": "AVAILABLE",
        "out_refund_no": row["out_refund_no"],
        "out_trade_no": row["out_trade_no"],
        "promotion_detail": [],
        "refund_id": row["refund_id"],
        "status": row["status"],
        "transaction_id": row["transaction_id"],
        "user_received_account": "支付用户零钱",
    }
    if row["success_time"] is not None:
        view["success_time"] = rfc3339(row["success_time"])
    return view


def refund_notification_view(row: sqlite3.Row, mchid: str) -> dict[str, Any]:
    """The refund notification's plaintext: note `refund_status`, not `status` (reference §7)."""
    view: dict[str, Any] = {
        "amount": {
            "payer_refund": row["amount_refund"],
            "payer_total": row["amount_total"],
            "refund": row["amount_refund"],
            "total": row["amount_total"],
        },
        "mchid": mchid,
        "out_refund_no": row["out_refund_no"],
        "out_trade_no": row["out_trade_no"],
        "refund_id": row["refund_id"],
        "refund_status": row["status"],
        "transaction_id": row["transaction_id"],
        "user_received_account": "支付用户零钱",
    }
    if row["success_time"] is not None:
        view["success_time"] = rfc3339(row["success_time"])
    return view
