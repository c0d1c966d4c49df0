"""Derived secrets: HKDF per purpose (RFC 5869), poll tokens that replay identically, constant-time comparison."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

import pytest

from shared.licensing.derive import derive, poll_token_for, token_hash, tokens_equal
from tests.fixtures.licensing import vectors as v

EXPECTED_POLL_TOKEN = "dCCm8-SNZqDQdcmCLoeFyeok9MB7OGdFR4JXVTL55OY"


def _hkdf_sha256(secret: bytes, info: bytes) -> bytes:
    """RFC 5869 by hand, no salt (a zero-filled key), one 32-byte output block."""
    prk = hmac.new(b"\0" * 32, secret, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


@pytest.mark.parametrize("purpose", ["licence-key", "poll-token"])
def test_each_purpose_key_is_hkdf_sha256_of_the_server_secret(purpose: Any) -> None:
    expected = _hkdf_sha256(v.SERVER_SECRET, b"wxpay-licensing/v1/" + purpose.encode())

    assert derive(v.SERVER_SECRET, purpose) == expected


def test_purposes_get_different_keys_and_neither_is_the_secret() -> None:
    keys = {derive(v.SERVER_SECRET, "licence-key"), derive(v.SERVER_SECRET, "poll-token"), v.SERVER_SECRET[:32]}

    assert len(keys) == 3


def test_a_mistyped_purpose_is_refused_rather_than_giving_a_silently_different_key() -> None:
    with pytest.raises(ValueError, match="unknown purpose"):
        derive(v.SERVER_SECRET, "licence_key")  # type: ignore[arg-type]


def test_a_short_server_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        derive(b"changeme", "poll-token")


def test_the_poll_token_is_the_known_hmac_of_the_order() -> None:
    key = derive(v.SERVER_SECRET, "poll-token")
    expected = hmac.new(key, v.ORDER_ID.encode(), hashlib.sha256).digest()

    token = poll_token_for(v.SERVER_SECRET, v.ORDER_ID)

    assert token == EXPECTED_POLL_TOKEN
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert token == base64.urlsafe_b64encode(expected).rstrip(b"=").decode()


def test_a_replayed_order_request_gets_the_same_poll_token() -> None:
    assert poll_token_for(v.SERVER_SECRET, v.ORDER_ID) == poll_token_for(v.SERVER_SECRET, v.ORDER_ID)


def test_poll_tokens_differ_across_orders_and_secrets() -> None:
    tokens = {
        poll_token_for(v.SERVER_SECRET, v.ORDER_ID),
        poll_token_for(v.SERVER_SECRET, v.ORDER_ID + "2"),
        poll_token_for(v.OTHER_SECRET, v.ORDER_ID),
    }

    assert len(tokens) == 3


def test_the_stored_token_hash_is_hex_sha256() -> None:
    assert token_hash(EXPECTED_POLL_TOKEN) == hashlib.sha256(EXPECTED_POLL_TOKEN.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", token_hash(EXPECTED_POLL_TOKEN))


def test_a_presented_token_matches_its_stored_hash_and_nothing_else() -> None:
    stored = token_hash(EXPECTED_POLL_TOKEN)

    assert tokens_equal(token_hash(EXPECTED_POLL_TOKEN), stored)
    assert not tokens_equal(token_hash(EXPECTED_POLL_TOKEN[:-1] + "P"), stored)
    assert not tokens_equal("", stored)


def test_comparing_a_non_ascii_guess_answers_false_instead_of_crashing() -> None:
    assert not tokens_equal("tökén", token_hash(EXPECTED_POLL_TOKEN))
