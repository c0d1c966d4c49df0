"""Verification of WeChat's signed answers and notifications (reference §2)."""

from __future__ import annotations

import pytest

from shared.wechatpay.errors import SignatureError, SignTestProbe, StaleTimestamp, UnknownSerial
from shared.wechatpay.signing import sign_message
from shared.wechatpay.verify import KeyRing, response_message, verify_signed_message
from tests.fixtures import keys
from tests.unit.wechat_double import NONCE, NOW, signed_headers

BODY = b'{"code_url":"weixin://wxpay/bizpayurl?pr=TESTONLY"}'
KNOWN_SIGNATURE = (
    "OA/CB83uxD5kZrlYcx6aEBl4krbqInwXDtxpDBP5WffssEAx4erGB4BikZkv5uAz1you6CDbUJKw2PCZAmzlYxtjTzOveUwg7DNgY1eDG"
    "qeBT60yFd2rp7y4JfC0mTSTr5UYFevaZMq9pWOHCD/WMv5dvSC537FUpxDK1L7IYzgaK+OeOQTw32TC7XMZqBlXtGDbm3JGR/QX2Lylmn"
    "dvot9gstvmIZyE4x/yx8PkL8t58yMDX+SLUXi9P0vMH5+2f5ABg2/juqctJIuia+6zBktA6tynjij3w216b+ZoJBR/kZtIxEUTefz1Yp1"
    "0Tkie9b7Y89L8WVWhZoMaBrIa4Q=="
)


def _raises_exactly(error: type[Exception], headers: dict[str, str], body: bytes, ring: KeyRing) -> str:
    with pytest.raises(error) as caught:
        verify_signed_message(headers, body, ring, NOW)
    assert type(caught.value) is error
    return str(caught.value)


def test_verification_string_is_three_newline_terminated_lines() -> None:
    assert response_message("1767225600", NONCE, BODY) == b"1767225600\n" + NONCE.encode() + b"\n" + BODY + b"\n"


def test_verification_string_of_an_empty_204_body_ends_with_an_empty_line() -> None:
    assert response_message(1767225600, "n0nce", b"") == b"1767225600\nn0nce\n\n"


def test_a_known_signature_from_the_wechat_pay_public_key_is_accepted(public_key_ring: KeyRing) -> None:
    headers = signed_headers(BODY)
    assert headers["Wechatpay-Signature"] == KNOWN_SIGNATURE
    verify_signed_message(headers, BODY, public_key_ring, NOW)


def test_an_empty_body_signed_by_wechat_is_accepted(public_key_ring: KeyRing) -> None:
    verify_signed_message(signed_headers(b""), b"", public_key_ring, NOW)


def test_lowercase_and_mixed_case_header_names_are_read(public_key_ring: KeyRing) -> None:
    headers = signed_headers(BODY)
    verify_signed_message({k.lower(): v for k, v in headers.items()}, BODY, public_key_ring, NOW)
    verify_signed_message({k.upper(): v for k, v in headers.items()}, BODY, public_key_ring, NOW)


def test_a_body_changed_by_one_byte_is_rejected(public_key_ring: KeyRing) -> None:
    _raises_exactly(SignatureError, signed_headers(BODY), BODY.replace(b"TESTONLY", b"TESTONLZ"), public_key_ring)


def test_a_reserialised_body_is_rejected(public_key_ring: KeyRing) -> None:
    spaced = BODY.replace(b":", b": ")
    _raises_exactly(SignatureError, signed_headers(BODY), spaced, public_key_ring)


def test_a_signature_by_another_key_under_the_public_key_id_is_rejected(public_key_ring: KeyRing) -> None:
    _raises_exactly(SignatureError, signed_headers(BODY, key="platform"), BODY, public_key_ring)


def test_a_signature_that_is_not_base64_is_rejected(public_key_ring: KeyRing) -> None:
    headers = signed_headers(BODY) | {"Wechatpay-Signature": "not base64!"}
    _raises_exactly(SignatureError, headers, BODY, public_key_ring)


@pytest.mark.parametrize(
    "header", ["Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Serial"]
)
def test_a_missing_header_is_rejected_naming_it(public_key_ring: KeyRing, header: str) -> None:
    headers = signed_headers(BODY)
    del headers[header]
    assert header in _raises_exactly(SignatureError, headers, BODY, public_key_ring)


def test_an_absent_signature_type_is_tolerated(public_key_ring: KeyRing) -> None:
    headers = signed_headers(BODY)
    del headers["Wechatpay-Signature-Type"]
    verify_signed_message(headers, BODY, public_key_ring, NOW)


def test_another_signature_type_is_rejected(public_key_ring: KeyRing) -> None:
    headers = signed_headers(BODY) | {"Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"}
    assert "Signature-Type" in _raises_exactly(SignatureError, headers, BODY, public_key_ring)


def test_a_signtest_probe_is_named_as_such_before_any_key_is_looked_up() -> None:
    headers = signed_headers(BODY, serial="UNKNOWN") | {"Wechatpay-Signature": "WECHATPAY/SIGNTEST/abcdef=="}
    _raises_exactly(SignTestProbe, headers, BODY, KeyRing())


@pytest.mark.parametrize("skew", [300, 301, 3600, -300, -301, -3600])
def test_a_timestamp_five_minutes_or_more_from_now_is_rejected(public_key_ring: KeyRing, skew: int) -> None:
    _raises_exactly(StaleTimestamp, signed_headers(BODY, timestamp=NOW - skew), BODY, public_key_ring)


@pytest.mark.parametrize("skew", [299, 0, -299])
def test_a_timestamp_within_five_minutes_is_accepted(public_key_ring: KeyRing, skew: int) -> None:
    verify_signed_message(signed_headers(BODY, timestamp=NOW - skew), BODY, public_key_ring, NOW)


def test_a_timestamp_that_is_not_unix_seconds_is_rejected(public_key_ring: KeyRing) -> None:
    headers = signed_headers(BODY) | {"Wechatpay-Timestamp": "2026-01-01T00:00:00Z"}
    _raises_exactly(SignatureError, headers, BODY, public_key_ring)


@pytest.mark.parametrize("serial", ["PUB_KEY_ID_0000000000000000000000000000000099", "7E57FF", "not-hex"])
def test_an_unknown_serial_is_rejected(full_key_ring: KeyRing, serial: str) -> None:
    _raises_exactly(UnknownSerial, signed_headers(BODY, serial=serial), BODY, full_key_ring)


def test_a_public_key_id_is_unknown_to_a_ring_of_certificates_only() -> None:
    ring = KeyRing(certificates=(keys.certificate("platform"),))
    _raises_exactly(UnknownSerial, signed_headers(BODY), BODY, ring)


@pytest.mark.parametrize(
    ("key", "serial"),
    [
        ("wechatpay", keys.PUBLIC_KEY_ID),
        ("platform", keys.PLATFORM_SERIAL),
        ("platform2", keys.PLATFORM2_SERIAL),
        ("platform", keys.PLATFORM_SERIAL.lower()),
    ],
)
def test_during_transition_and_rotation_every_current_key_verifies_by_its_serial(
    full_key_ring: KeyRing, key: str, serial: str
) -> None:
    verify_signed_message(signed_headers(BODY, key=key, serial=serial), BODY, full_key_ring, NOW)


def test_a_certificate_serial_selects_its_own_key_not_another_current_one(full_key_ring: KeyRing) -> None:
    headers = signed_headers(BODY, key="platform2", serial=keys.PLATFORM_SERIAL)
    _raises_exactly(SignatureError, headers, BODY, full_key_ring)


def test_an_expired_certificate_is_not_used_even_for_a_correct_signature(full_key_ring: KeyRing) -> None:
    headers = signed_headers(BODY, key="platform2", serial=keys.EXPIRED_SERIAL)
    _raises_exactly(UnknownSerial, headers, BODY, full_key_ring)


def test_a_certificate_is_not_used_before_it_becomes_valid(full_key_ring: KeyRing) -> None:
    before_platform2 = 1_748_000_000  # 2025-05-23, platform2 is valid from 2025-06-01
    headers = signed_headers(BODY, key="platform2", serial=keys.PLATFORM2_SERIAL, timestamp=before_platform2)
    with pytest.raises(UnknownSerial):
        verify_signed_message(headers, BODY, full_key_ring, before_platform2)


def test_key_ring_loads_a_public_key_pasted_without_armour_lines() -> None:
    pem = keys.text("wechatpay_public_key.pem")
    body = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    ring = KeyRing.from_pem(public_key_pem=body, public_key_id=keys.PUBLIC_KEY_ID)
    verify_signed_message(signed_headers(BODY), BODY, ring, NOW)


def test_key_ring_refuses_a_public_key_without_its_id() -> None:
    with pytest.raises(ValueError, match="together"):
        KeyRing.from_pem(public_key_pem=keys.text("wechatpay_public_key.pem"))


def test_key_ring_refuses_an_id_without_the_pub_key_id_prefix() -> None:
    with pytest.raises(ValueError, match="PUB_KEY_ID_"):
        KeyRing.from_pem(public_key_pem=keys.text("wechatpay_public_key.pem"), public_key_id="0001")


@pytest.mark.sdk
def test_a_signature_made_by_the_sdk_rsa_sign_is_accepted(public_key_ring: KeyRing) -> None:
    from wechatpayv3.utils import rsa_sign

    signature = rsa_sign(keys.private_key("wechatpay"), response_message(NOW, NONCE, BODY).decode())
    headers = signed_headers(BODY) | {"Wechatpay-Signature": signature}
    verify_signed_message(headers, BODY, public_key_ring, NOW)


@pytest.mark.sdk
def test_the_sdk_rsa_verify_accepts_a_signature_made_by_our_signing_code() -> None:
    from wechatpayv3.utils import rsa_verify

    signature = sign_message(keys.private_key("wechatpay"), response_message(NOW, NONCE, BODY))
    public_key = keys.private_key("wechatpay").public_key()
    assert rsa_verify(str(NOW), NONCE, BODY.decode(), signature, public_key) is True
