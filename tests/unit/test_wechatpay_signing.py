"""Request signing (reference §1): known answers from the TEST ONLY merchant key, checked against the SDK."""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from shared.wechatpay.signing import (
    authorization_header,
    load_private_key,
    new_nonce,
    request_message,
    sign_message,
)
from tests.fixtures import keys

TIMESTAMP = 1554208460
NONCE = "593BEC0C930BF1AFEB40B4A08C8FB242"
CLOSE_URL = "/v3/pay/transactions/out-trade-no/ord_0001_TESTONLY/close"
CLOSE_BODY = b'{"mchid":"1900000001","out_trade_no":"ord_0001_TESTONLY"}'
QUERY_URL = "/v3/pay/transactions/out-trade-no/ord_0001_TESTONLY?mchid=1900000001"

EXPECTED_CLOSE_MESSAGE = (
    b"POST\n/v3/pay/transactions/out-trade-no/ord_0001_TESTONLY/close\n1554208460\n"
    b'593BEC0C930BF1AFEB40B4A08C8FB242\n{"mchid":"1900000001","out_trade_no":"ord_0001_TESTONLY"}\n'
)
EXPECTED_CLOSE_SIGNATURE = (
    "Do+lfjhnCnAzWWvdw/NjCBWhfIlUuXavIDLgUASTZZvgxLH5ZoNC/q4oVMDz2U0VpS2TimrIAjn8qMRu45eANV2gzWy5e+u5iAfTe6br"
    "icD+BJdCjfvePKaHyvUcpAbNAR8zSck41O65SIsCTLm85KxorDyBYAHHLsCgyW40YFzNRK29hYDX5vhA2ANHpEI7HTf2qGgdKVaB0NBd"
    "JNAn49Z/CbqYWcHMwgk3I6lU6OqHQ/eQ32FSfVFpDl+U1kqxMbbDVYNjywDTIiqPMeMk47q+vvjk70cN/Q2l2BzwIc4L+FSjrmBb7GHH"
    "6YJKb/eSRLCvndvYMnn4Rds4XNP1oQ=="
)
EXPECTED_QUERY_AUTHORIZATION = (
    'WECHATPAY2-SHA256-RSA2048 mchid="1900000001",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",'
    'signature="H8N31Wo9g2BUz/ZiqHlgMl8Qomw1l4e1kAe4qcQ+DG5WJWd2RDo7QI6K0XgWxGMSmdUOEHWTSGEIZJOlNvUbGvqQJmxYE2t'
    "VvvKDGewg8JuysJv4bW7j3SI7s6IcMVAgR992xRS3GnDZKw9Z4QQipXqDyD7F6ngk2Ckn9G1WME5WY/J6fuk86XDKMyTPyOBTvzt3fIK"
    "wFLUQDT1JBa3MZVEH8UQWvzs7A3s02F8jwU0ZUnQG0tiHC4MSI4A5WYu9ctp0TPfbhIzIP0y400ORL8roJI+sHA4bOfkQY/LCv1F7Cge"
    'LyMf+op1v9B+qamX+KiL73Eyni+PD9wFrdJ6Qkg==",timestamp="1554208460",'
    'serial_no="7E57000000000000000000000000000000000001"'
)


def _query_authorization() -> str:
    return authorization_header(
        mchid=keys.MCHID,
        serial_no=keys.MERCHANT_SERIAL_NO,
        private_key=keys.private_key("merchant"),
        method="GET",
        canonical_url=QUERY_URL,
        body=b"",
        timestamp=TIMESTAMP,
        nonce=NONCE,
    )


def test_signing_string_is_five_newline_terminated_lines_with_the_method_uppercased() -> None:
    assert request_message("post", CLOSE_URL, TIMESTAMP, NONCE, CLOSE_BODY) == EXPECTED_CLOSE_MESSAGE


def test_signing_string_of_a_bodyless_get_ends_with_an_empty_line() -> None:
    message = request_message("GET", QUERY_URL, TIMESTAMP, NONCE, b"")
    assert message == f"GET\n{QUERY_URL}\n{TIMESTAMP}\n{NONCE}\n\n".encode()


def test_signing_string_keeps_body_bytes_exactly_as_sent() -> None:
    body = '{"description":"课程 A"}'.encode()
    assert request_message("POST", "/v3/x", 1, "n", body).endswith(b"\n" + body + b"\n")


def test_signature_matches_the_known_answer() -> None:
    assert sign_message(keys.private_key("merchant"), EXPECTED_CLOSE_MESSAGE) == EXPECTED_CLOSE_SIGNATURE


def test_signature_verifies_with_the_merchant_public_key() -> None:
    signature = base64.b64decode(EXPECTED_CLOSE_SIGNATURE)
    public_key = keys.private_key("merchant").public_key()
    public_key.verify(signature, EXPECTED_CLOSE_MESSAGE, padding.PKCS1v15(), hashes.SHA256())


def test_authorization_header_matches_the_known_answer() -> None:
    assert _query_authorization() == EXPECTED_QUERY_AUTHORIZATION


def test_nonces_are_32_characters_and_never_repeat() -> None:
    nonces = {new_nonce() for _ in range(100)}
    assert len(nonces) == 100
    assert all(len(nonce) == 32 and nonce.isalnum() for nonce in nonces)


def test_private_key_loads_from_a_pem_body_pasted_without_its_armour_lines() -> None:
    pem = keys.text("merchant_private_key.pem")
    body = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    key = load_private_key(body)
    assert sign_message(key, EXPECTED_CLOSE_MESSAGE) == EXPECTED_CLOSE_SIGNATURE


def test_a_non_rsa_private_key_is_refused() -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    with pytest.raises(ValueError, match="RSA"):
        load_private_key(pem)


@pytest.mark.sdk
def test_signature_equals_the_sdk_rsa_sign() -> None:
    from wechatpayv3.utils import rsa_sign

    expected = rsa_sign(keys.private_key("merchant"), EXPECTED_CLOSE_MESSAGE.decode())
    assert sign_message(keys.private_key("merchant"), EXPECTED_CLOSE_MESSAGE) == expected


@pytest.mark.sdk
@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("GET", QUERY_URL, None),
        ("POST", CLOSE_URL, {"mchid": keys.MCHID}),
        ("POST", "/v3/pay/transactions/native", {"description": "课程 A", "amount": {"total": 1}}),
    ],
)
def test_authorization_equals_the_sdk_build_authorization_for_the_body_it_sends(
    monkeypatch: pytest.MonkeyPatch, method: str, url: str, data: dict[str, object] | None
) -> None:
    from wechatpayv3.utils import build_authorization

    monkeypatch.setattr(time, "time", lambda: TIMESTAMP + 0.75)
    private_key = keys.private_key("merchant")
    expected = build_authorization(url, method, keys.MCHID, keys.MERCHANT_SERIAL_NO, private_key, data, NONCE)
    body = json.dumps(data).encode() if data is not None else b""
    ours = authorization_header(
        mchid=keys.MCHID,
        serial_no=keys.MERCHANT_SERIAL_NO,
        private_key=private_key,
        method=method,
        canonical_url=url,
        body=body,
        timestamp=TIMESTAMP,
        nonce=NONCE,
    )
    assert ours == expected
