"""Attacks on POST /v1/notify/wechatpay over real HTTP (reference §2, §6; design §5).

Forged, mis-keyed, stale, probing or undecryptable notifications are refused with WeChat's `{"code": "FAIL"}`, a
`notify_rejected` log line naming the reason, and not one row written. A genuine notification that disagrees with
the order is acknowledged (WeChat's retries cannot fix it) and recorded as an anomaly, never paid. A replayed
notification is acknowledged and applies nothing twice.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from emulator import crypto
from tests.security.target import Rows, Target
from tests.support.emulator import RunningEmulator
from tests.support.rawhttp import RawAnswer
from tests.support.wechat import paid_resource, signed

NOTIFY = "/v1/notify/wechatpay"
Pairs = list[tuple[str, str]]


# -- building notifications as WeChat would, and forgeries of them -------------------------------------------------


def sealed(
    emulator: RunningEmulator,
    resource: dict[str, Any] | bytes,
    *,
    event_type: str = "TRANSACTION.SUCCESS",
    apiv3_key: str | None = None,
    notification_id: str | None = None,
) -> dict[str, Any]:
    """The notification envelope (as a dict) with `resource` encrypted under the merchant's APIv3 key."""
    plaintext = resource if isinstance(resource, bytes) else json.dumps(resource).encode()
    return {
        "id": notification_id or secrets.token_hex(18),
        "create_time": "2026-11-30T10:00:00+08:00",
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": "支付成功",
        "resource": {
            "original_type": "transaction",
            **crypto.encrypt_resource(apiv3_key or emulator.merchant["apiv3_key"], plaintext, "transaction"),
        },
    }


def encode(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, ensure_ascii=False).encode()


def pairs(headers: dict[str, str]) -> Pairs:
    return list(headers.items())


def replace_header(headers: dict[str, str], name: str, value: str | None) -> Pairs:
    kept = [(k, v) for k, v in headers.items() if k.lower() != name.lower()]
    return kept if value is None else [*kept, (name, value)]


def payment_for(target: Target, order: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """What WeChat reports for a payment of `order` (a fresh transaction id), with `changes` applied."""
    resource = paid_resource(target.emulator, order["order_id"], order["amount_fen"])
    resource["transaction_id"] = "42000000002026113" + "".join(secrets.choice("0123456789") for _ in range(11))
    return {**resource, **changes}


def post(target: Target, body: bytes, headers: Pairs) -> RawAnswer:
    return target.send("POST", NOTIFY, headers, body)


# -- refused before anything is written ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Forgery:
    """How to forge: (emulator, genuine envelope) -> (body, headers); and how it must be refused."""

    make: Callable[[RunningEmulator, dict[str, Any]], tuple[bytes, Pairs]]
    status: int
    reason: str


def _signed_pairs(e: RunningEmulator, body: bytes, **options: Any) -> Pairs:
    return pairs(signed(e, body, **options))


def _with_header(name: str, value: str | None) -> Callable[[RunningEmulator, dict[str, Any]], tuple[bytes, Pairs]]:
    def make(e: RunningEmulator, envelope: dict[str, Any]) -> tuple[bytes, Pairs]:
        body = encode(envelope)
        return body, replace_header(signed(e, body), name, value)

    return make


def _at(offset: int) -> Callable[[RunningEmulator, dict[str, Any]], tuple[bytes, Pairs]]:
    def make(e: RunningEmulator, envelope: dict[str, Any]) -> tuple[bytes, Pairs]:
        body = encode(envelope)
        return body, _signed_pairs(e, body, timestamp=int(time.time()) + offset)

    return make


def _signtest_of_valid(e: RunningEmulator, envelope: dict[str, Any]) -> tuple[bytes, Pairs]:
    body = encode(envelope)
    headers = signed(e, body)
    return body, replace_header(headers, "Wechatpay-Signature", "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"])


def _tampered_after_signing(e: RunningEmulator, envelope: dict[str, Any]) -> tuple[bytes, Pairs]:
    body = encode(envelope)
    return body.replace(b'"summary": "', b'"summary": "x'), _signed_pairs(e, body)


def _reserialised_after_signing(e: RunningEmulator, envelope: dict[str, Any]) -> tuple[bytes, Pairs]:
    body = encode(envelope)
    return json.dumps(envelope, separators=(",", ":")).encode(), _signed_pairs(e, body)


def _key(which: str) -> Callable[[RunningEmulator, dict[str, Any]], tuple[bytes, Pairs]]:
    def make(e: RunningEmulator, envelope: dict[str, Any]) -> tuple[bytes, Pairs]:
        body = encode(envelope)
        key = {
            "another": crypto.new_rsa_key(),
            "merchant": crypto.load_private(e.merchant["merchant_private_key"]),
            "platform": e.core.keys.platform_private,
        }[which]
        return body, _signed_pairs(e, body, key=key)

    return make


def _serial(serial: str) -> Callable[[RunningEmulator, dict[str, Any]], tuple[bytes, Pairs]]:
    def make(e: RunningEmulator, envelope: dict[str, Any]) -> tuple[bytes, Pairs]:
        body = encode(envelope)
        return body, _signed_pairs(e, body, serial=serial)

    return make


def _platform_serial_public_key_signature(e: RunningEmulator, envelope: dict[str, Any]) -> tuple[bytes, Pairs]:
    body = encode(envelope)
    return body, _signed_pairs(e, body, serial=e.merchant["platform_serial_no"])


REJECTED: dict[str, Forgery] = {
    # Signatures
    "forged signature: random bytes": Forgery(
        _with_header("Wechatpay-Signature", base64.b64encode(secrets.token_bytes(256)).decode()), 401, "SignatureError"
    ),
    "forged signature: not base64": Forgery(
        _with_header("Wechatpay-Signature", "!!not*base64!!"), 401, "SignatureError"
    ),
    "forged signature: non-ASCII": Forgery(_with_header("Wechatpay-Signature", "签名é" * 8), 401, "SignatureError"),
    "forged signature: empty": Forgery(_with_header("Wechatpay-Signature", ""), 401, "SignatureError"),
    "body tampered after signing": Forgery(_tampered_after_signing, 401, "SignatureError"),
    "body re-serialised after signing": Forgery(_reserialised_after_signing, 401, "SignatureError"),
    "signed by another RSA key": Forgery(_key("another"), 401, "SignatureError"),
    "signed by the merchant's own key": Forgery(_key("merchant"), 401, "SignatureError"),
    "signed by the platform key, public key id as serial": Forgery(_key("platform"), 401, "SignatureError"),
    "signed by the public key, platform serial": Forgery(_platform_serial_public_key_signature, 401, "SignatureError"),
    "unsupported signature type": Forgery(
        _with_header("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-HMAC"), 401, "SignatureError"
    ),
    # Serials
    "unknown public key id": Forgery(_serial("PUB_KEY_ID_0100000000202601010000000099"), 401, "UnknownSerial"),
    "unknown hex serial": Forgery(_serial("7A1B2C3D4E5F60718293A4B5C6D7E8F901234567"), 401, "UnknownSerial"),
    "serial neither id nor hex": Forgery(_serial("' OR 1=1 --"), 401, "UnknownSerial"),
    "serial with the id lower-cased": Forgery(
        lambda e, env: _serial(e.merchant["wechatpay_public_key_id"].lower())(e, env), 401, "UnknownSerial"
    ),
    # SIGNTEST probes: refused by their prefix, before any verification
    "signtest probe": Forgery(
        _with_header("Wechatpay-Signature", "WECHATPAY/SIGNTEST/" + "A" * 40), 401, "SignTestProbe"
    ),
    "signtest prefix on a valid signature": Forgery(_signtest_of_valid, 401, "SignTestProbe"),
    # Timestamps outside the 5-minute window, or not Unix seconds
    "timestamp 301 s old": Forgery(_at(-301), 401, "StaleTimestamp"),
    "timestamp 300 s old (the window is open)": Forgery(_at(-300), 401, "StaleTimestamp"),
    "timestamp 301 s ahead": Forgery(_at(301), 401, "StaleTimestamp"),
    "timestamp a day old": Forgery(_at(-86400), 401, "StaleTimestamp"),
    "timestamp in milliseconds": Forgery(_at(int(time.time()) * 999), 401, "StaleTimestamp"),
    "timestamp not a number": Forgery(_with_header("Wechatpay-Timestamp", "yesterday"), 401, "SignatureError"),
    "timestamp of 5000 digits": Forgery(_with_header("Wechatpay-Timestamp", "9" * 5000), 401, "SignatureError"),
    # Missing headers
    "no Wechatpay-Signature": Forgery(_with_header("Wechatpay-Signature", None), 401, "SignatureError"),
    "no Wechatpay-Timestamp": Forgery(_with_header("Wechatpay-Timestamp", None), 401, "SignatureError"),
    "no Wechatpay-Nonce": Forgery(_with_header("Wechatpay-Nonce", None), 401, "SignatureError"),
    "no Wechatpay-Serial": Forgery(_with_header("Wechatpay-Serial", None), 401, "SignatureError"),
}


def _genuine_envelope(target: Target) -> tuple[dict[str, Any], dict[str, Any]]:
    order = target.order()
    return order, sealed(target.emulator, payment_for(target, order))


# The `reason` of the notify_rejected log line for each verification error (shared.services.notifications).
REASONS = {
    "SignatureError": "bad_signature",
    "UnknownSerial": "unknown_serial",
    "SignTestProbe": "signtest_probe",
    "StaleTimestamp": "stale_timestamp",
    "DecryptError": "decrypt_failed",
    "MalformedNotification": "malformed",
}


def assert_rejected(target: Target, answer: RawAnswer, before: Rows, status: int, error: str, secret: str) -> None:
    records = target.refused(answer, status, "FAIL", wechat=True, secret_values=[secret])
    rejections = [(r["reason"], r["error"]) for r in records if r["event"] == "notify_rejected"]
    assert rejections == [(REASONS[error], error)], records
    target.unchanged_since(before)


@pytest.mark.parametrize("name", list(REJECTED))
def test_a_forged_or_unverifiable_notification_is_refused_and_writes_nothing(target: Target, name: str) -> None:
    forgery = REJECTED[name]
    _, envelope = _genuine_envelope(target)
    body, headers = forgery.make(target.emulator, envelope)
    signature = dict(headers).get("Wechatpay-Signature") or "-" * 40
    before = target.rows()

    answer = post(target, body, headers)

    assert_rejected(target, answer, before, forgery.status, forgery.reason, signature)


# -- signed by WeChat's key, but the resource does not open ----------------------------------------------------------


def _flip(text: str) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[len(raw) // 2] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def _other_nonce(nonce: str) -> str:
    return ("B" if nonce[0] != "B" else "C") + nonce[1:]


Resource = dict[str, Any]
UNREADABLE: dict[str, tuple[Callable[[Resource], None], str]] = {
    "ciphertext tampered": (lambda r: r.update(ciphertext=_flip(r["ciphertext"])), "DecryptError"),
    "ciphertext truncated below the tag": (
        lambda r: r.update(ciphertext=base64.b64encode(b"x" * 8).decode()),
        "DecryptError",
    ),
    "ciphertext not base64": (lambda r: r.update(ciphertext="%%% not base64 %%%"), "DecryptError"),
    "ciphertext non-ASCII": (lambda r: r.update(ciphertext="密文" * 10), "DecryptError"),
    "associated_data tampered": (lambda r: r.update(associated_data="certificate"), "DecryptError"),
    "associated_data removed": (lambda r: r.pop("associated_data"), "DecryptError"),
    "nonce tampered": (lambda r: r.update(nonce=_other_nonce(r["nonce"])), "DecryptError"),
    "nonce of another length": (lambda r: r.update(nonce="short"), "DecryptError"),
    "nonce of 200 characters": (lambda r: r.update(nonce="n" * 200), "DecryptError"),
    "nonce missing": (lambda r: r.pop("nonce"), "MalformedNotification"),
    "algorithm not AES-GCM": (lambda r: r.update(algorithm="AEAD_CHACHA20_POLY1305"), "MalformedNotification"),
    "original_type of a refund": (lambda r: r.update(original_type="refund"), "MalformedNotification"),
}


@pytest.mark.parametrize("name", list(UNREADABLE))
def test_a_signed_notification_whose_resource_does_not_open_is_refused_and_writes_nothing(
    target: Target, name: str
) -> None:
    tamper, reason = UNREADABLE[name]
    _, envelope = _genuine_envelope(target)
    tamper(envelope["resource"])
    body = encode(envelope)
    headers = signed(target.emulator, body)
    before = target.rows()

    answer = post(target, body, pairs(headers))

    assert_rejected(target, answer, before, 400, reason, headers["Wechatpay-Signature"])


def _other_apiv3_key(target: Target, order: dict[str, Any]) -> dict[str, Any]:
    return sealed(target.emulator, payment_for(target, order), apiv3_key=crypto.random_token(32))


MALFORMED: dict[str, tuple[Callable[[Target, dict[str, Any]], dict[str, Any] | bytes], str]] = {
    "encrypted with another APIv3 key": (_other_apiv3_key, "DecryptError"),
    "plaintext resource type": (
        lambda t, o: {**sealed(t.emulator, payment_for(t, o)), "resource_type": "plain"},
        "MalformedNotification",
    ),
    "unknown event type": (
        lambda t, o: sealed(t.emulator, payment_for(t, o), event_type="TRANSACTION.FORGED"),
        "MalformedNotification",
    ),
    "envelope not JSON": (lambda t, o: b"\x00\xff not json", "MalformedNotification"),
    "envelope a JSON array": (lambda t, o: b"[]", "MalformedNotification"),
    "decrypted resource not JSON": (lambda t, o: sealed(t.emulator, b"' OR 1=1 --"), "MalformedNotification"),
    "decrypted resource without an amount": (
        lambda t, o: sealed(t.emulator, {k: v for k, v in payment_for(t, o).items() if k != "amount"}),
        "MalformedNotification",
    ),
    "decrypted amount a string": (
        lambda t, o: sealed(t.emulator, payment_for(t, o, amount={"total": "1 OR 1=1", "currency": "CNY"})),
        "MalformedNotification",
    ),
    "no notification id": (
        lambda t, o: {k: v for k, v in sealed(t.emulator, payment_for(t, o)).items() if k != "id"},
        "MalformedNotification",
    ),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_signed_but_malformed_notification_is_refused_and_writes_nothing(target: Target, name: str) -> None:
    build, reason = MALFORMED[name]
    order = target.order()
    built = build(target, order)
    body = built if isinstance(built, bytes) else encode(built)
    headers = signed(target.emulator, body)
    before = target.rows()

    answer = post(target, body, pairs(headers))

    assert_rejected(target, answer, before, 400, reason, headers["Wechatpay-Signature"])


# -- genuine notifications that must not pay: the designed reaction is an anomaly -------------------------------------


MISMATCHES: dict[str, tuple[dict[str, Any], str]] = {
    "amount lower than the order": ({"amount": {"total": 1, "payer_total": 1, "currency": "CNY"}}, "PAYMENT_MISMATCH"),
    "amount higher than the order": (
        {"amount": {"total": 10**9, "payer_total": 10**9, "currency": "CNY"}},
        "PAYMENT_MISMATCH",
    ),
    "currency not CNY": ({"amount": {"total": None, "currency": "USD"}}, "PAYMENT_MISMATCH"),
    "another mchid": ({"mchid": "1900000000"}, "PAYMENT_MISMATCH"),
    "another appid": ({"appid": "wx0000000000000000"}, "PAYMENT_MISMATCH"),
    "unknown out_trade_no": ({"out_trade_no": "oNotOurs0000000000000001"}, "UNKNOWN_ORDER"),
    "injected out_trade_no": ({"out_trade_no": "' OR 1=1 --"}, "UNKNOWN_ORDER"),
}


@pytest.mark.parametrize("name", list(MISMATCHES))
def test_a_genuine_payment_that_disagrees_with_the_order_is_acknowledged_as_an_anomaly_only(
    target: Target, name: str
) -> None:
    changes, kind = MISMATCHES[name]
    order = target.order()
    resource = payment_for(target, order, **changes)
    if resource["amount"].get("total") is None:
        resource["amount"]["total"] = order["amount_fen"]
    envelope = sealed(target.emulator, resource)
    body = encode(envelope)
    before = target.rows()

    answer = post(target, body, pairs(signed(target.emulator, body)))

    assert answer.status == 204, answer.body
    added = target.added_since(before)
    assert set(added) == {"anomalies", "notifications"}, added
    assert [row[0] for row in added["anomalies"]] == [kind]
    assert [row[0] for row in added["notifications"]] == [envelope["id"]]
    records = target.logged(answer)
    assert [r["kind"] for r in records if r["event"] == "payment_anomaly"] == [kind]
    assert [r["reason"] for r in records if r["event"] == "notify_rejected"] == [kind.removeprefix("PAYMENT_").lower()]


# -- replays ---------------------------------------------------------------------------------------------------------


def test_a_replayed_notification_is_acknowledged_and_applies_nothing_twice(target: Target) -> None:
    order, envelope = _genuine_envelope(target)
    body = encode(envelope)
    headers = pairs(signed(target.emulator, body))
    first = post(target, body, headers)
    assert first.status == 204, first.body
    assert target.order_row(order["order_id"])["status"] == "PAID"
    paid = target.rows()
    assert [row[0] for row in paid["notifications"]].count(envelope["id"]) == 1

    replays = [post(target, body, headers), post(target, body, pairs(signed(target.emulator, body)))]

    assert [r.status for r in replays] == [204, 204]
    target.unchanged_since(paid)
    for replay in replays:
        target.logged(replay)


def test_a_new_notification_of_an_already_paid_order_only_records_its_id(target: Target) -> None:
    order = target.order()
    resource = payment_for(target, order)
    body = encode(sealed(target.emulator, resource))
    assert post(target, body, pairs(signed(target.emulator, body))).status == 204
    before = target.rows()
    again = sealed(target.emulator, resource)  # the same payment, told again under a new notification id
    again_body = encode(again)

    answer = post(target, again_body, pairs(signed(target.emulator, again_body)))

    assert answer.status == 204
    added = target.added_since(before)
    assert set(added) == {"notifications"} and [row[0] for row in added["notifications"]] == [again["id"]]


# -- header spelling and repetition ----------------------------------------------------------------------------------

WECHATPAY_HEADERS = ("Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Serial")


def _forged_value(name: str, headers: dict[str, str]) -> str:
    return {
        "Wechatpay-Signature": base64.b64encode(secrets.token_bytes(256)).decode(),
        "Wechatpay-Timestamp": str(int(headers["Wechatpay-Timestamp"]) - 1),
        "Wechatpay-Nonce": crypto.random_token(32),
        "Wechatpay-Serial": "PUB_KEY_ID_0100000000202601010000000099",
    }[name]


def _repeated(name: str, spelling: Callable[[str], str]) -> Callable[[dict[str, str]], Pairs]:
    def make(headers: dict[str, str]) -> Pairs:
        others = [(k, v) for k, v in headers.items() if k != name]
        # The forged value first and WeChat's last: whichever one a server kept, it must keep neither.
        return [*others, (name, _forged_value(name, headers)), (spelling(name), headers[name])]

    return make


def _comma_joined(name: str) -> Callable[[dict[str, str]], Pairs]:
    def make(headers: dict[str, str]) -> Pairs:
        return replace_header(headers, name, f"{_forged_value(name, headers)}, {headers[name]}")

    return make


DUPLICATED: dict[str, Callable[[dict[str, str]], Pairs]] = {}
for _name in WECHATPAY_HEADERS:
    DUPLICATED[f"{_name} twice, other spelling"] = _repeated(_name, str.lower)
    DUPLICATED[f"{_name} comma-joined"] = _comma_joined(_name)


@pytest.mark.parametrize("name", list(DUPLICATED))
def test_a_repeated_wechatpay_header_is_refused_and_writes_nothing(target: Target, name: str) -> None:
    _, envelope = _genuine_envelope(target)
    body = encode(envelope)
    headers = signed(target.emulator, body)
    before = target.rows()

    answer = post(target, body, DUPLICATED[name](headers))

    assert answer.status == 400 and answer.json()["code"] == "FAIL", answer.body
    records = target.logged(answer, secret_values=[headers["Wechatpay-Signature"]])
    assert [r["reason"] for r in records if r["event"] == "notify_rejected"] == ["duplicated_header"]
    target.unchanged_since(before)


@pytest.mark.parametrize("header", WECHATPAY_HEADERS)
def test_a_wechatpay_header_sent_twice_with_one_spelling_is_refused(target: Target, header: str) -> None:
    _, envelope = _genuine_envelope(target)
    body = encode(envelope)
    headers = signed(target.emulator, body)
    before = target.rows()

    answer = post(target, body, _repeated(header, str)(headers))

    assert answer.status == 400 and answer.json()["code"] == "FAIL", (answer.status, answer.body)
    target.unchanged_since(before)


SPELLINGS: dict[str, Callable[[str], str]] = {
    "lower case": str.lower,
    "upper case": str.upper,
    "alternating case": lambda n: "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(n)),
}


@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_oddly_cased_wechatpay_header_names_are_the_same_headers(target: Target, spelling: str) -> None:
    order, envelope = _genuine_envelope(target)
    body = encode(envelope)
    headers = [(SPELLINGS[spelling](k), v) for k, v in signed(target.emulator, body).items()]
    before = target.rows()

    answer = post(target, body, headers)

    assert answer.status == 204, answer.body
    after = target.rows()
    assert target.order_row(order["order_id"])["status"] == "PAID"
    assert next(n for n in after["notifications"] if n not in before["notifications"])[0] == envelope["id"]
    assert len(after["licences"]) == len(before["licences"]) + 1


def test_a_notification_signed_in_certificate_mode_is_accepted(target: Target) -> None:
    order, envelope = _genuine_envelope(target)
    body = encode(envelope)
    serial = target.emulator.merchant["platform_serial_no"].lower()  # hex serials compare case-insensitively

    answer = post(
        target,
        body,
        _signed_pairs(target.emulator, body, key=target.emulator.core.keys.platform_private, serial=serial),
    )

    assert answer.status == 204, answer.body
    assert target.order_row(order["order_id"])["status"] == "PAID"
