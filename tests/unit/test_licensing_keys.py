"""Signing keys with key ids (design §4): RFC 8032 known answers, rotation order, and secrets that never leak."""

from __future__ import annotations

import base64

import pytest

from shared.errors import ConfigError
from shared.licensing.keys import PublicKeys, SigningKeys, generate_entry
from tests.fixtures.licensing import vectors as v


def test_the_published_public_key_and_signature_match_rfc_8032() -> None:
    keys = SigningKeys.parse(v.ONE_KEY)

    assert keys.public_keys() == {v.OLD_KID: v.PUBLIC_1}
    assert keys.sign(b"").hex() == v.RFC_SIGNATURE_1_EMPTY


def test_the_first_entry_signs_and_every_entry_is_published() -> None:
    keys = SigningKeys.parse(v.ROTATED)

    assert keys.active_kid == v.NEW_KID
    assert keys.kids == (v.NEW_KID, v.OLD_KID)
    assert keys.public_keys() == {v.NEW_KID: v.PUBLIC_2, v.OLD_KID: v.PUBLIC_1}
    verifier = keys.to_public().get(v.NEW_KID)
    assert verifier is not None
    verifier.verify(keys.sign(b"hello"), b"hello")  # raises if the active key did not sign


def test_spaces_newlines_and_a_padded_seed_in_the_setting_are_forgiven() -> None:
    text = f"  {v.NEW_KID}:{v.SEED_2}= ,\n {v.OLD_KID}:{v.SEED_1}\n"

    assert SigningKeys.parse(text).public_keys() == SigningKeys.parse(v.ROTATED).public_keys()


BAD_SETTINGS = {
    "empty": ("", "empty"),
    "blank": ("   ", "empty"),
    "trailing comma": (f"{v.OLD_KID}:{v.SEED_1},", "entry 2 is empty"),
    "no kid": (v.SEED_1, "entry 1 is not 'kid:seed'"),
    "seed and kid swapped": (f"{v.SEED_1}:{v.OLD_KID}", "entry 1 has an invalid kid"),
    "kid with a dot": (f"k.1:{v.SEED_1}", "entry 1 has an invalid kid"),
    "kid of 33 chars": (f"{'k' * 33}:{v.SEED_1}", "entry 1 has an invalid kid"),
    "short seed": (f"{v.OLD_KID}:{v.SEED_1[:-2]}", "seed of kid 'k2024' (entry 1) is not base64url of 32 bytes"),
    "long seed": (f"{v.OLD_KID}:{v.SEED_1}AAAA", "not base64url of 32 bytes"),
    "standard base64 seed": (
        f"{v.OLD_KID}:{base64.b64encode(bytes.fromhex(v.RFC_SEED_2)).decode()}",
        "not base64url of 32 bytes",
    ),
    "hex seed": (f"{v.OLD_KID}:{v.RFC_SEED_1}", "not base64url of 32 bytes"),
    "duplicate kid": (f"{v.OLD_KID}:{v.SEED_2},{v.OLD_KID}:{v.SEED_1}", "entry 2 repeats kid 'k2024'"),
}


@pytest.mark.parametrize(("text", "message"), BAD_SETTINGS.values(), ids=BAD_SETTINGS.keys())
def test_a_bad_setting_stops_start_up_with_a_message_naming_the_entry_but_never_the_seed(
    text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        SigningKeys.parse(text)

    shown = str(caught.value)
    assert message in shown
    for secret in (v.SEED_1, v.SEED_2, v.RFC_SEED_1, v.RFC_SEED_2, v.SEED_1[:-2], v.SEED_1[:20]):
        assert secret not in shown


def test_repr_and_str_name_the_kids_but_never_show_a_seed() -> None:
    keys = SigningKeys.parse(v.ROTATED)

    for shown in (repr(keys), str(keys), repr(keys.to_public())):
        assert v.NEW_KID in shown
        for secret in (v.SEED_1, v.SEED_2, v.RFC_SEED_1, v.RFC_SEED_2):
            assert secret not in shown


def test_a_generated_entry_is_a_fresh_working_key_under_the_given_kid() -> None:
    first, second = generate_entry("dev-1"), generate_entry("dev-1")

    assert first != second
    assert first.startswith("dev-1:") and len(first) == len("dev-1:") + 43
    assert SigningKeys.parse(f"{first},{generate_entry('dev-0')}").active_kid == "dev-1"


@pytest.mark.parametrize("kid", ["", "k 1", "k:1", "k" * 33, "ключ"])
def test_a_generated_entry_refuses_an_invalid_kid(kid: str) -> None:
    with pytest.raises(ValueError, match="kid"):
        generate_entry(kid)


def test_public_keys_read_back_what_the_server_publishes() -> None:
    published = SigningKeys.parse(v.ROTATED).public_keys()

    public = PublicKeys.from_mapping(published)

    assert public.kids == (v.NEW_KID, v.OLD_KID)
    assert public.get("k1999") is None


@pytest.mark.parametrize(
    "mapping",
    [{}, {"k.1": v.PUBLIC_1}, {"k1": v.PUBLIC_1[:-1]}, {"k1": v.PUBLIC_1 + "="}, {"k1": v.RFC_PUBLIC_1}],
    ids=["empty", "bad kid", "short key", "padded key", "hex key"],
)
def test_public_keys_refuse_a_malformed_mapping(mapping: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="public keys"):
        PublicKeys.from_mapping(mapping)
