"""Licence keys (design §4): one key per order, 125 bits in 25 Crockford characters, forgiving input, hashed storage."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest

from shared.licensing.derive import derive
from shared.licensing.licence_keys import licence_key_for, licence_key_hash, normalize_licence_key
from tests.fixtures.licensing import vectors as v

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SECRET = derive(v.SERVER_SECRET, "licence-key")
EXPECTED_KEY = "GK7JW-XMABC-GFCG1-Q4WAZ-5SHVT"
EXPECTED_HASH = "78e82a502f52d5ad2f56166b414f24662ebea4b21170203a88e9ffc000b4b788"
KEY_SHAPE = re.compile(r"[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){4}")


def test_an_order_gets_the_known_key() -> None:
    assert licence_key_for(SECRET, v.ORDER_ID) == EXPECTED_KEY


def test_the_key_is_the_first_125_bits_of_the_hmac_of_the_order_in_crockford_base32() -> None:
    digest = hmac.new(SECRET, b"licence-key:" + v.ORDER_ID.encode(), hashlib.sha256).digest()
    bits = "".join(f"{byte:08b}" for byte in digest)[:125]
    chars = "".join(CROCKFORD[int(bits[i : i + 5], 2)] for i in range(0, 125, 5))

    assert licence_key_for(SECRET, v.ORDER_ID).replace("-", "") == chars


def test_retries_and_duplicate_notifications_converge_on_one_key() -> None:
    assert {licence_key_for(SECRET, v.ORDER_ID) for _ in range(5)} == {EXPECTED_KEY}


def test_keys_differ_across_orders_and_across_secrets() -> None:
    other_order = licence_key_for(SECRET, v.ORDER_ID + "2")
    other_secret = licence_key_for(derive(v.OTHER_SECRET, "licence-key"), v.ORDER_ID)

    assert len({EXPECTED_KEY, other_order, other_secret}) == 3


def test_a_key_is_25_crockford_characters_in_five_groups_of_five() -> None:
    for n in range(200):
        assert KEY_SHAPE.fullmatch(licence_key_for(SECRET, f"order-{n}"))


def test_every_character_of_a_key_carries_five_full_bits_so_a_key_holds_125_bits() -> None:
    keys = [licence_key_for(SECRET, f"order-{n}").replace("-", "") for n in range(1000)]

    for position in range(25):
        assert {key[position] for key in keys} == set(CROCKFORD)


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        licence_key_for(b"changeme", v.ORDER_ID)


@pytest.mark.parametrize(
    "typed",
    [
        EXPECTED_KEY,
        EXPECTED_KEY.lower(),
        EXPECTED_KEY.replace("-", ""),
        EXPECTED_KEY.replace("-", " "),
        f"  {EXPECTED_KEY.lower()}\n",
        "gk7jw xmabc gfcgi q4waz 5shvt",  # I for 1
        "GK7JW-XMABC-GFCGl-Q4WAZ-5SHVT",  # l for 1
        "G K 7 J W - X M A B C-GFCG1-Q4WAZ-5SHVT",
    ],
)
def test_what_a_user_types_or_pastes_normalizes_to_the_key(typed: str) -> None:
    assert normalize_licence_key(typed) == EXPECTED_KEY.replace("-", "")


def test_the_letter_o_is_read_as_zero() -> None:
    assert normalize_licence_key("o0000-00000-00000-00000-0000O") == "0" * 25


@pytest.mark.parametrize(
    "typed",
    [
        "",
        EXPECTED_KEY[:-1],
        EXPECTED_KEY + "0",
        EXPECTED_KEY.replace("G", "U", 1),  # U is not Crockford
        EXPECTED_KEY.replace("G", "*", 1),
        EXPECTED_KEY.replace("-", "_"),
        EXPECTED_KEY[:-2] + "ß",  # upper-cases to "SS": would otherwise pass
        "０" + EXPECTED_KEY[1:],  # full-width digit
        "-" * 10_000,
    ],
    ids=["empty", "24 chars", "26 chars", "U", "symbol", "underscores", "sharp s", "full-width", "huge"],
)
def test_text_that_cannot_be_a_key_is_refused(typed: str) -> None:
    assert normalize_licence_key(typed) is None


def test_the_stored_hash_is_stable_whatever_the_spelling() -> None:
    spellings = [EXPECTED_KEY, EXPECTED_KEY.lower(), "gk7jw xmabc gfcgi q4waz 5shvt"]

    hashes = {licence_key_hash(normalize_licence_key(s) or "") for s in spellings}

    assert hashes == {EXPECTED_HASH}
    assert hashlib.sha256(EXPECTED_KEY.replace("-", "").encode()).hexdigest() == EXPECTED_HASH


def test_hashing_a_key_that_was_not_normalized_is_refused() -> None:
    with pytest.raises(ValueError, match="normalize"):
        licence_key_hash(EXPECTED_KEY)
