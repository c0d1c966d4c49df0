"""Notifications from the emulator: accepted by `shared.wechatpay` and by the SDK's callback(), forgeries rejected
by ours, and delivered on WeChat's retry schedule with duplicates, delays, reordering and SIGNTEST probes."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from wechatpayv3 import WeChatPay

from emulator import crypto
from shared.wechatpay import errors
from shared.wechatpay.notification import PaymentNotification, RefundNotification, parse_notification
from shared.wechatpay.verify import KeyRing, load_certificate
from tests.support.emulator import RunningEmulator, wait_for
from tests.support.raw import RawClient
from tests.support.sdk import sdk_client
from tests.support.sink import NotifySink, Received


def keyring(merchant: dict[str, str]) -> KeyRing:
    """Trusts both WeChat Pay keys: the public key and the platform certificate (transition)."""
    return KeyRing.from_pem(
        public_key_pem=merchant["wechatpay_public_key"],
        public_key_id=merchant["wechatpay_public_key_id"],
        certificate_pems=[merchant["platform_certificate"]],
    )


def ours(merchant: dict[str, str], item: Received, now: int | None = None) -> Any:
    return parse_notification(
        item.headers,
        item.body,
        keyring(merchant),
        merchant["apiv3_key"].encode(),
        int(time.time()) if now is None else now,
    )


def verifying(merchant: dict[str, str]) -> Callable[[Received], tuple[int, bytes]]:
    """A merchant that verifies every notification with our code: 204 when good, 401 FAIL otherwise."""

    def respond(item: Received) -> tuple[int, bytes]:
        try:
            ours(merchant, item)
        except errors.WeChatPayError:
            return 401, b'{"code":"FAIL","message":"signature"}'
        return 204, b""

    return respond


def place_order(emulator: RunningEmulator, notify_url: str, total: int = 100) -> str:
    out_trade_no = "N" + uuid.uuid4().hex[:20]
    raw = RawClient(emulator.base_url, emulator.merchant)
    response = raw.call(
        "POST",
        "/v3/pay/transactions/native",
        raw.native_order(out_trade_no, notify_url=notify_url, amount={"total": total, "currency": "CNY"}),
    )
    assert response.status_code == 200, response.text
    return out_trade_no


def sdk(merchant: dict[str, str], base_url: str) -> WeChatPay:
    return sdk_client(merchant, base_url)


def test_a_payment_notification_is_accepted_by_ours_and_by_the_sdk(emulator: RunningEmulator, sink: NotifySink) -> None:
    out_trade_no = place_order(emulator, sink.url, total=2990)
    transaction_id = emulator.pay(out_trade_no, openid="o-test-payer")["transaction"]["transaction_id"]
    item = wait_for(lambda: sink.received and sink.received[0])

    parsed = ours(emulator.merchant, item)
    assert isinstance(parsed, PaymentNotification) and parsed.event_type == "TRANSACTION.SUCCESS"
    tx = parsed.transaction
    assert (tx.out_trade_no, tx.transaction_id, tx.trade_state, tx.amount_total, tx.payer_openid) == (
        out_trade_no,
        transaction_id,
        "SUCCESS",
        2990,
        "o-test-payer",
    )
    assert (tx.mchid, tx.appid) == (emulator.merchant["mchid"], emulator.merchant["appid"])

    envelope = sdk(emulator.merchant, emulator.base_url).callback(item.headers, item.body)
    assert envelope is not None and envelope["id"] == parsed.id
    assert envelope["resource"]["out_trade_no"] == out_trade_no and envelope["resource"]["trade_state"] == "SUCCESS"


def test_certificate_mode_notifications_are_accepted_by_ours_and_by_the_sdk(
    emulator: RunningEmulator, sink: NotifySink, tmp_path: Any
) -> None:
    emulator.control("POST", "/_emulator/config", {"signing_mode": "certificate"})
    out_trade_no = place_order(emulator, sink.url)
    emulator.pay(out_trade_no)
    item = wait_for(lambda: sink.received and sink.received[0])
    m = emulator.merchant
    assert item.headers["Wechatpay-Serial"] == m["platform_serial_no"]
    only_cert = KeyRing(certificates=(load_certificate(m["platform_certificate"]),))
    parsed = parse_notification(item.headers, item.body, only_cert, m["apiv3_key"].encode(), int(time.time()))
    assert isinstance(parsed, PaymentNotification) and parsed.transaction.out_trade_no == out_trade_no

    client = sdk_client(m, None, cert_dir=tmp_path)
    assert client.callback(item.headers, item.body)["resource"]["out_trade_no"] == out_trade_no


def test_transition_mode_signs_notifications_with_both_keys_and_ours_accepts_both(
    emulator: RunningEmulator, sink: NotifySink
) -> None:
    emulator.control("POST", "/_emulator/config", {"signing_mode": "transition"})
    for _ in range(2):
        emulator.pay(place_order(emulator, sink.url))
    items = wait_for(lambda: len(sink.received) == 2 and sink.received)
    serials = {item.headers["Wechatpay-Serial"] for item in items}
    assert serials == {emulator.merchant["wechatpay_public_key_id"], emulator.merchant["platform_serial_no"]}
    assert all(isinstance(ours(emulator.merchant, item), PaymentNotification) for item in items)


def test_tampered_body_wrong_key_stale_timestamp_and_probe_are_rejected_by_ours(
    emulator: RunningEmulator, sink: NotifySink
) -> None:
    out_trade_no = place_order(emulator, sink.url)
    notification_id = emulator.pay(out_trade_no)["notification_id"]
    good = wait_for(lambda: sink.received and sink.received[0])
    m = emulator.merchant

    tampered = Received(good.path, good.headers, good.body.replace(b'"summary":"', b'"summary":"x'), good.at)
    with pytest.raises(errors.SignatureError):
        ours(m, tampered)

    stranger = KeyRing.from_pem(
        public_key_pem=crypto.public_pem(crypto.new_rsa_key().public_key()), public_key_id=m["wechatpay_public_key_id"]
    )
    with pytest.raises(errors.SignatureError):
        parse_notification(good.headers, good.body, stranger, m["apiv3_key"].encode(), int(time.time()))

    with pytest.raises(errors.StaleTimestamp):
        ours(m, good, now=int(good.headers["Wechatpay-Timestamp"]) + 301)

    emulator.control("POST", f"/_emulator/notifications/{notification_id}/signtest", {})
    probe = wait_for(lambda: len(sink.received) == 2 and sink.received[1])
    assert probe.headers["Wechatpay-Signature"].startswith("WECHATPAY/SIGNTEST/")
    with pytest.raises(errors.SignTestProbe):
        ours(m, probe)


def test_a_rejected_notification_is_retried_on_the_scaled_schedule_and_every_attempt_is_recorded(
    emulator: RunningEmulator, sink: NotifySink
) -> None:
    sink.answer_with(500, 503)
    out_trade_no = place_order(emulator, sink.url)
    emulator.pay(out_trade_no)
    note = wait_for(lambda: (n := emulator.notifications(out_trade_no)[0])["state"] == "delivered" and n)
    assert [a["response_status"] for a in note["attempts"]] == [500, 503, 204]
    gaps = [b["sent_at"] - a["sent_at"] for a, b in zip(note["attempts"], note["attempts"][1:], strict=False)]
    assert gaps[0] >= 15 * 0.01 and gaps[1] >= 15 * 0.01  # 15 s, 15 s at time factor 0.01
    first = note["attempts"][0]
    assert first["request_body"] == note["body"] and first["request_headers"]["Wechatpay-Serial"]
    assert len({r.body for r in sink.received}) == 1, "every retry carries the same notification"


def test_a_merchant_that_times_out_is_retried(emulator: RunningEmulator, sink: NotifySink) -> None:
    emulator.core.notifier.timeout = 0.2
    try:
        sink.delay = 0.5
        out_trade_no = place_order(emulator, sink.url)
        emulator.pay(out_trade_no)
        note = wait_for(lambda: (n := emulator.notifications(out_trade_no)[0])["retries"] >= 1 and n)
        assert note["attempts"][0]["error"] and note["attempts"][0]["response_status"] is None
        sink.delay = 0
        wait_for(lambda: emulator.notifications(out_trade_no)[0]["state"] == "delivered")
    finally:
        emulator.core.notifier.timeout = 5.0


def test_delivery_gives_up_after_fifteen_retries(emulator: RunningEmulator, sink: NotifySink) -> None:
    emulator.control("POST", "/_emulator/config", {"time_factor": 0.00002})
    try:
        sink.responder = lambda _: (500, b'{"code":"FAIL","message":"down"}')
        out_trade_no = place_order(emulator, sink.url)
        emulator.pay(out_trade_no)
        note = wait_for(lambda: (n := emulator.notifications(out_trade_no)[0])["state"] == "failed" and n, timeout=20)
        assert len(note["attempts"]) == 16
    finally:
        emulator.control("POST", "/_emulator/config", {"time_factor": 0.01})


def test_duplicates_arrive_with_the_same_notification_id(emulator: RunningEmulator, sink: NotifySink) -> None:
    emulator.pay(place_order(emulator, sink.url), duplicates=3)
    items = wait_for(lambda: len(sink.received) == 4 and sink.received)
    assert len({json.loads(item.body)["id"] for item in items}) == 1


def test_held_notifications_are_delivered_late_and_out_of_order(emulator: RunningEmulator, sink: NotifySink) -> None:
    first, second = place_order(emulator, sink.url), place_order(emulator, sink.url)
    ids = [emulator.pay(order, mode="hold")["notification_id"] for order in (first, second)]
    time.sleep(0.3)
    assert sink.received == []
    emulator.control("POST", "/_emulator/notifications/release", {"ids": list(reversed(ids))})
    delivered = [ours(emulator.merchant, item).transaction.out_trade_no for item in sink.received]
    assert delivered == [second, first]


def test_a_dropped_notification_is_never_sent_until_released(emulator: RunningEmulator, sink: NotifySink) -> None:
    out_trade_no = place_order(emulator, sink.url)
    notification_id = emulator.pay(out_trade_no, mode="drop")["notification_id"]
    time.sleep(0.3)
    assert sink.received == [] and emulator.notifications(out_trade_no)[0]["state"] == "dropped"
    emulator.control("POST", f"/_emulator/notifications/{notification_id}/resend", {})
    assert len(sink.received) == 1


def test_a_probe_comes_first_and_a_correct_retry_follows_its_rejection(
    emulator: RunningEmulator, sink: NotifySink
) -> None:
    sink.responder = verifying(emulator.merchant)
    out_trade_no = place_order(emulator, sink.url)
    emulator.pay(out_trade_no, signtest=True)
    note = wait_for(lambda: (n := emulator.notifications(out_trade_no)[0])["state"] == "delivered" and n)
    assert [(a["kind"], a["response_status"]) for a in note["attempts"]] == [("probe", 401), ("scheduled", 204)]


def test_a_late_notification_waits_for_its_delay(emulator: RunningEmulator, sink: NotifySink) -> None:
    out_trade_no = place_order(emulator, sink.url)
    paid_at = time.time()
    emulator.pay(out_trade_no, delay=0.5)
    item = wait_for(lambda: sink.received and sink.received[0])
    assert item.at - paid_at >= 0.5


def test_refund_notifications_carry_refund_status_and_parse_as_refunds(
    emulator: RunningEmulator, sink: NotifySink
) -> None:
    raw = RawClient(emulator.base_url, emulator.merchant)
    sink.responder = verifying(emulator.merchant)
    outcomes = {}
    for status in ("SUCCESS", "ABNORMAL"):
        out_trade_no = place_order(emulator, sink.url)
        emulator.pay(out_trade_no)
        emulator.control("POST", "/_emulator/refunds/outcome", {"status": status})
        refund = {
            "out_trade_no": out_trade_no,
            "out_refund_no": "RF" + out_trade_no,
            "notify_url": sink.url,
            "amount": {"refund": 100, "total": 100, "currency": "CNY"},
        }
        assert raw.call("POST", "/v3/refund/domestic/refunds", refund).json()["status"] == "PROCESSING"
        outcomes[out_trade_no] = status
    refunds = wait_for(
        lambda: (
            (
                r := [
                    ours(emulator.merchant, i)
                    for i in sink.received
                    if json.loads(i.body)["event_type"].startswith("REFUND")
                ]
            )
            and len(r) == 2
            and r
        )
    )
    assert all(isinstance(r, RefundNotification) for r in refunds)
    assert {r.refund.out_trade_no: r.refund.refund_status for r in refunds} == outcomes
    assert {r.event_type for r in refunds} == {"REFUND.SUCCESS", "REFUND.ABNORMAL"}
