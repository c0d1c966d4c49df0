"""Payment and refund notifications (reference §6, §7): verify, decrypt, type; cross-checked with the SDK."""

from __future__ import annotations

import shutil
import subprocess
import sys
from copy import deepcopy
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from shared.wechatpay.errors import (
    DecryptError,
    MalformedNotification,
    SignatureError,
    SignTestProbe,
    StaleTimestamp,
    UnknownSerial,
)
from shared.wechatpay.models import RefundResult, Transaction
from shared.wechatpay.notification import PaymentNotification, RefundNotification, parse_notification
from shared.wechatpay.verify import KeyRing
from tests.fixtures import keys
from tests.unit.wechat_double import (
    NOW,
    PAID_TRANSACTION,
    REFUND_RESOURCE,
    encode,
    envelope,
    signed_headers,
)

CST = timezone(timedelta(hours=8))
PAYMENT_BODY = encode(envelope(PAID_TRANSACTION))


def _refund_body(event_type: str = "REFUND.SUCCESS") -> bytes:
    return encode(
        envelope(
            REFUND_RESOURCE,
            event_type=event_type,
            original_type="refund",
            associated_data="",
            summary="退款成功",
        )
    )


def _parse(body: bytes, ring: KeyRing, **header_options: Any) -> Any:
    return parse_notification(signed_headers(body, **header_options), body, ring, keys.apiv3_key().encode(), NOW)


def test_a_payment_notification_becomes_a_typed_transaction(public_key_ring: KeyRing) -> None:
    notification = _parse(PAYMENT_BODY, public_key_ring)
    assert notification == PaymentNotification(
        id="EV-2018022511223320873",
        create_time=datetime(2026, 1, 1, 8, 0, tzinfo=CST),
        event_type="TRANSACTION.SUCCESS",
        summary="支付成功",
        transaction=Transaction(
            appid=keys.APPID,
            mchid=keys.MCHID,
            out_trade_no="ord_0001_TESTONLY",
            trade_state="SUCCESS",
            amount_total=990,
            transaction_id="4200001863202305068344507881",
            trade_type="NATIVE",
            trade_state_desc="支付成功",
            bank_type="OTHERS",
            attach="course-42",
            success_time=datetime(2025, 12, 31, 23, 59, 30, tzinfo=CST),
            payer_openid="oTESTONLY_payer_openid_000001",
            payer_total=990,
            currency="CNY",
            payer_currency="CNY",
        ),
    )


@pytest.mark.parametrize("event_type", ["REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED"])
def test_a_refund_notification_becomes_a_typed_refund_result(public_key_ring: KeyRing, event_type: str) -> None:
    notification = _parse(_refund_body(event_type), public_key_ring)
    assert isinstance(notification, RefundNotification)
    assert notification.event_type == event_type
    assert notification.refund == RefundResult(
        mchid=keys.MCHID,
        transaction_id="4200001863202305068344507881",
        out_trade_no="ord_0001_TESTONLY",
        refund_id="50000000382019052709732678859",
        out_refund_no="rfd_0001_TESTONLY",
        refund_status="SUCCESS",
        amount_total=990,
        amount_refund=990,
        success_time=datetime(2026, 1, 1, 8, 0, tzinfo=CST),
        user_received_account="支付用户零钱",
        payer_total=990,
        payer_refund=990,
    )


def test_a_notification_signed_with_a_platform_certificate_is_accepted(full_key_ring: KeyRing) -> None:
    notification = _parse(PAYMENT_BODY, full_key_ring, key="platform2", serial=keys.PLATFORM2_SERIAL)
    assert notification.transaction.out_trade_no == "ord_0001_TESTONLY"


def test_lowercased_header_names_as_cloud_gateways_deliver_them_are_accepted(public_key_ring: KeyRing) -> None:
    headers = {name.lower(): value for name, value in signed_headers(PAYMENT_BODY).items()}
    notification = parse_notification(headers, PAYMENT_BODY, public_key_ring, keys.apiv3_key().encode(), NOW)
    assert isinstance(notification, PaymentNotification)


def test_a_tampered_body_is_rejected(public_key_ring: KeyRing) -> None:
    headers = signed_headers(PAYMENT_BODY)
    tampered = PAYMENT_BODY.replace(b"EV-2018", b"EV-2019")
    with pytest.raises(SignatureError):
        parse_notification(headers, tampered, public_key_ring, keys.apiv3_key().encode(), NOW)


def test_a_notification_signed_with_the_wrong_key_is_rejected(public_key_ring: KeyRing) -> None:
    with pytest.raises(SignatureError):
        _parse(PAYMENT_BODY, public_key_ring, key="merchant")


def test_a_notification_from_an_unknown_serial_is_rejected(public_key_ring: KeyRing) -> None:
    with pytest.raises(UnknownSerial):
        _parse(PAYMENT_BODY, public_key_ring, key="platform", serial=keys.PLATFORM_SERIAL)


@pytest.mark.parametrize("skew", [-600, 600], ids=["stale", "future"])
def test_a_replayed_or_future_dated_notification_is_rejected(public_key_ring: KeyRing, skew: int) -> None:
    with pytest.raises(StaleTimestamp):
        _parse(PAYMENT_BODY, public_key_ring, timestamp=NOW + skew)


def test_a_signtest_probe_is_rejected_as_a_probe(public_key_ring: KeyRing) -> None:
    headers = signed_headers(PAYMENT_BODY) | {"Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + "A" * 40}
    with pytest.raises(SignTestProbe):
        parse_notification(headers, PAYMENT_BODY, public_key_ring, keys.apiv3_key().encode(), NOW)


def test_a_notification_without_a_signature_header_is_rejected(public_key_ring: KeyRing) -> None:
    headers = signed_headers(PAYMENT_BODY)
    del headers["Wechatpay-Signature"]
    with pytest.raises(SignatureError, match="Wechatpay-Signature"):
        parse_notification(headers, PAYMENT_BODY, public_key_ring, keys.apiv3_key().encode(), NOW)


def test_a_resource_sealed_under_another_apiv3_key_is_rejected(public_key_ring: KeyRing) -> None:
    headers = signed_headers(PAYMENT_BODY)
    with pytest.raises(DecryptError):
        parse_notification(headers, PAYMENT_BODY, public_key_ring, b"0123456789abcdef0123456789abcdef", NOW)


_DELETE = object()


def _edited(obj: dict[str, Any], *path: str, value: Any = _DELETE) -> dict[str, Any]:
    """A deep copy of `obj` with the field at `path` replaced by `value`, or deleted."""
    copy = deepcopy(obj)
    target = copy
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return copy


def _without(obj: dict[str, Any], *path: str) -> dict[str, Any]:
    return _edited(obj, *path)


def _with(obj: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    return _edited(obj, *path, value=value)


MALFORMED_BODIES = {
    "not json": b"{not json",
    "not utf-8": b'{"id":"\xff"}',
    "json array": b"[]",
    "plain resource": encode(envelope(PAID_TRANSACTION, resource_type="plain-resource")),
    "unknown event type": encode(envelope(PAID_TRANSACTION, event_type="TRANSACTION.CLOSED")),
    "no resource": encode(_without(envelope(PAID_TRANSACTION), "resource")),
    "resource is a string": encode(_with(envelope(PAID_TRANSACTION), "x", "resource")),
    "other algorithm": encode(_with(envelope(PAID_TRANSACTION), "AES_128_CBC", "resource", "algorithm")),
    "no ciphertext": encode(_without(envelope(PAID_TRANSACTION), "resource", "ciphertext")),
    "no id": encode(_without(envelope(PAID_TRANSACTION), "id")),
    "bad create_time": encode(envelope(PAID_TRANSACTION, create_time="yesterday")),
    "original_type mismatch": encode(envelope(PAID_TRANSACTION, original_type="refund")),
    "resource not json": encode(envelope(b"not json")),
    "resource lacks out_trade_no": encode(envelope(_without(PAID_TRANSACTION, "out_trade_no"))),
    "amount total is a string": encode(envelope(_with(PAID_TRANSACTION, "990", "amount", "total"))),
    "amount total is a boolean": encode(envelope(_with(PAID_TRANSACTION, True, "amount", "total"))),
    "amount is a list": encode(envelope(_with(PAID_TRANSACTION, [990], "amount"))),
    "payer is a string": encode(envelope(_with(PAID_TRANSACTION, "openid", "payer"))),
    "refund lacks refund_status": encode(
        envelope(_without(REFUND_RESOURCE, "refund_status"), event_type="REFUND.SUCCESS", original_type="refund")
    ),
}


@pytest.mark.parametrize("body", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
def test_a_signed_but_malformed_notification_is_reported_as_malformed(public_key_ring: KeyRing, body: bytes) -> None:
    with pytest.raises(MalformedNotification):
        _parse(body, public_key_ring)


def test_the_notification_module_imports_neither_requests_nor_the_sdk_nor_pydantic() -> None:
    code = (
        "import sys, shared.wechatpay.notification\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'requests', 'wechatpayv3', 'pydantic'}))"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def _sdk(**mode: Any) -> Any:
    from wechatpayv3 import WeChatPay, WeChatPayType

    return WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE,
        mchid=keys.MCHID,
        private_key=keys.text("merchant_private_key.pem"),
        cert_serial_no=keys.MERCHANT_SERIAL_NO,
        appid=keys.APPID,
        apiv3_key=keys.apiv3_key(),
        notify_url="https://merchant.example/v1/notify/wechatpay",
        **mode,
    )


@pytest.mark.sdk
def test_the_sdk_in_public_key_mode_accepts_the_same_notification_bytes(public_key_ring: KeyRing) -> None:
    sdk = _sdk(public_key=keys.text("wechatpay_public_key.pem"), public_key_id=keys.PUBLIC_KEY_ID)
    theirs = sdk.callback(signed_headers(PAYMENT_BODY), PAYMENT_BODY)
    ours = _parse(PAYMENT_BODY, public_key_ring)
    assert theirs["resource"]["out_trade_no"] == ours.transaction.out_trade_no
    assert theirs["resource"]["amount"]["total"] == ours.transaction.amount_total


@pytest.mark.sdk
def test_the_sdk_in_certificate_mode_accepts_the_same_refund_notification_bytes(
    tmp_path: Path, full_key_ring: KeyRing
) -> None:
    shutil.copy(keys.HERE / "TEST_ONLY_platform_certificate.pem", tmp_path / f"{keys.PLATFORM_SERIAL}.pem")
    sdk = _sdk(cert_dir=str(tmp_path))
    body = _refund_body()
    headers = signed_headers(body, key="platform", serial=keys.PLATFORM_SERIAL)
    theirs = sdk.callback(headers, body)
    ours = parse_notification(headers, body, full_key_ring, keys.apiv3_key().encode(), NOW)
    assert isinstance(ours, RefundNotification)
    assert theirs["resource"]["refund_status"] == ours.refund.refund_status == "SUCCESS"


@pytest.mark.sdk
def test_the_sdk_also_refuses_a_tampered_notification() -> None:
    sdk = _sdk(public_key=keys.text("wechatpay_public_key.pem"), public_key_id=keys.PUBLIC_KEY_ID)
    assert sdk.callback(signed_headers(PAYMENT_BODY), PAYMENT_BODY.replace(b"EV-2018", b"EV-2019")) is None
