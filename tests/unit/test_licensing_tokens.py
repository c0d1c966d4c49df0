"""Licence tokens (design §4): a fixed known answer, offline verification, every refusal reason, key rotation."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.domain.licences import DAY, TOKEN_LIFETIME
from shared.licensing.install import install_hash
from shared.licensing.keys import PublicKeys, SigningKeys
from shared.licensing.tokens import MAX_TOKEN_LENGTH, TokenInvalid, licence_payload, sign_token, verify_token
from tests.fixtures.licensing import vectors as v

INS = install_hash(v.INSTALL_ID)
EXPECTED_TOKEN = (
    "eyJlbnQiOlsicHJvIiwiZXhwb3J0Il0sImV4cCI6MTc1MDYwNDgwMCwiaWF0IjoxNzUwMDAwMDAwLCJpbnMiOiJGN19tNUhVQ05oMmE3OUNE"
    "ckJDLW0xX1MxbWlXaE9rcFRxMmRPc3pndk1rIiwia2lkIjoiazIwMjQiLCJsZXhwIjpudWxsLCJsaWMiOiJMb1RFU1RPTkxZXzAwMDAwMDAw"
    "MDAwMDEiLCJtYXgiOjMsIm9yZCI6Im9URVNUT05MWV8wMDAwMDAwMDAwMDAxIiwic3ViIjoicHJvLW1vbnRobHkiLCJ2IjoxfQ"
    ".BbWo251XOVlV8vDIrZ9W6NwTLMXteerGk_aZ2U0SEyS3THThdiAb4vNFDrAdHED_BHWNf-rYiheDgn36Ae76Bg"
)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _forge_raw(body: bytes) -> str:
    """A token signed with our own key but built independently of shared.licensing, with any payload at all."""
    first = _b64url(body)
    signature = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v.RFC_SEED_1)).sign(first.encode())
    return f"{first}.{_b64url(signature)}"


def _forge(payload: Any) -> str:
    return _forge_raw(json.dumps(payload, separators=(",", ":")).encode())


def _token(keys: str = v.ONE_KEY, now: int = v.NOW, **licence: Any) -> str:
    signing = SigningKeys.parse(keys)
    return sign_token(licence_payload(v.licence(**licence), INS, signing.active_kid, now), signing)


def _reason(token: str, keys: str = v.ONE_KEY, now: int = v.NOW) -> str:
    with pytest.raises(TokenInvalid) as caught:
        verify_token(token, SigningKeys.parse(keys).to_public(), now)
    return caught.value.reason


def test_the_payload_carries_every_field_of_design_section_4() -> None:
    payload = licence_payload(v.licence(), INS, v.OLD_KID, v.NOW)

    assert payload == {
        "v": 1,
        "kid": v.OLD_KID,
        "lic": "L" + v.ORDER_ID,
        "sub": "pro-monthly",
        "ent": ["pro", "export"],
        "ins": INS,
        "iat": v.NOW,
        "exp": v.NOW + TOKEN_LIFETIME,
        "lexp": None,
        "ord": v.ORDER_ID,
        "max": 3,
    }


def test_a_token_never_outlives_its_licence() -> None:
    payload = licence_payload(v.licence(expires_at=v.NOW + DAY), INS, v.OLD_KID, v.NOW)

    assert payload["exp"] == payload["lexp"] == v.NOW + DAY


def test_signing_gives_the_known_token_every_time() -> None:
    assert _token() == EXPECTED_TOKEN
    assert _token() == EXPECTED_TOKEN


def test_the_payload_part_is_compact_json_with_sorted_keys() -> None:
    body = _unb64url(EXPECTED_TOKEN.split(".")[0]).decode("ascii")

    assert body.startswith('{"ent":["pro","export"],"exp":')
    assert " " not in body
    assert list(json.loads(body)) == sorted(json.loads(body))


def test_an_extension_can_verify_the_token_offline_with_only_the_published_key() -> None:
    published = SigningKeys.parse(v.ONE_KEY).public_keys()
    first, signature = EXPECTED_TOKEN.split(".")

    key = Ed25519PublicKey.from_public_bytes(_unb64url(published[v.OLD_KID]))
    key.verify(_unb64url(signature), first.encode("ascii"))  # raises InvalidSignature if not
    assert json.loads(_unb64url(first))["ins"] == INS


def test_a_good_token_verifies_and_names_its_install_and_licence() -> None:
    payload = verify_token(EXPECTED_TOKEN, PublicKeys.from_mapping({v.OLD_KID: v.PUBLIC_1}), v.NOW)

    assert payload["ins"] == install_hash(v.INSTALL_ID)
    assert payload["lic"] == "L" + v.ORDER_ID
    assert payload["ent"] == ["pro", "export"]


def test_a_payload_changed_after_signing_is_refused() -> None:
    first, signature = EXPECTED_TOKEN.split(".")
    payload = json.loads(_unb64url(first))
    payload["ins"] = install_hash("another-install-id_0123456789")
    payload["exp"] += 365 * DAY

    assert _reason(f"{_b64url(json.dumps(payload).encode())}.{signature}") == "BAD_SIGNATURE"


def test_a_signature_with_one_flipped_bit_is_refused() -> None:
    first, signature = EXPECTED_TOKEN.split(".")
    flipped = bytearray(_unb64url(signature))
    flipped[10] ^= 0x01

    assert _reason(f"{first}.{_b64url(bytes(flipped))}") == "BAD_SIGNATURE"


def test_swapping_the_kid_to_another_published_key_is_refused() -> None:
    first, signature = EXPECTED_TOKEN.split(".")
    payload = json.loads(_unb64url(first))
    payload["kid"] = v.NEW_KID
    swapped = f"{_b64url(json.dumps(payload, separators=(',', ':'), sort_keys=True).encode())}.{signature}"

    assert _reason(swapped, keys=v.ROTATED) == "BAD_SIGNATURE"


MALFORMED = {
    "empty": "",
    "no dot": EXPECTED_TOKEN.replace(".", ""),
    "two dots": EXPECTED_TOKEN + ".x",
    "empty payload": "." + EXPECTED_TOKEN.split(".")[1],
    "empty signature": EXPECTED_TOKEN.split(".")[0] + ".",
    "truncated by one": EXPECTED_TOKEN[:-1],
    "truncated by four": EXPECTED_TOKEN[:-4],
    "truncated to half": EXPECTED_TOKEN[: len(EXPECTED_TOKEN) // 2],
    "padded": EXPECTED_TOKEN + "==",
    "standard base64 alphabet": EXPECTED_TOKEN.replace("-", "+").replace("_", "/"),
    "not base64": "!!!!." + EXPECTED_TOKEN.split(".")[1],
    "non-ascii": "é" + EXPECTED_TOKEN,
    "payload not json": _b64url(b"not json") + "." + EXPECTED_TOKEN.split(".")[1],
}


@pytest.mark.parametrize("token", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_token_is_refused_as_malformed(token: str) -> None:
    assert _reason(token) == "MALFORMED"


def test_a_second_spelling_of_the_same_signature_is_refused() -> None:
    respelled = EXPECTED_TOKEN[:-1] + "h"

    assert _unb64url(respelled.split(".")[1]) == _unb64url(EXPECTED_TOKEN.split(".")[1])
    assert _reason(respelled) == "MALFORMED"


def test_a_huge_token_is_refused_before_anything_is_decoded() -> None:
    huge = _forge({"v": 1, "kid": v.OLD_KID, "exp": v.NOW + DAY, "pad": "x" * MAX_TOKEN_LENGTH})

    assert len(huge) > MAX_TOKEN_LENGTH
    assert _reason(huge) == "MALFORMED"


@pytest.mark.parametrize(
    "body",
    [
        b'["v",1]',
        b"[" * 3000,
        b'{"v":1,"kid":"k2024","exp":NaN}',
        b'{"v":1,"kid":7,"exp":1750086400}',
        b'{"v":1,"kid":"k2024"}',
        b'{"v":1,"kid":"k2024","exp":"tomorrow"}',
        b'{"v":1,"kid":"k2024","exp":true}',
        b'{"v":1,"kid":"k2024","exp":1750086400,"x":"\xff"}',
    ],
    ids=[
        "json list",
        "deep nesting",
        "NaN",
        "kid not a string",
        "no exp",
        "exp a string",
        "exp a boolean",
        "not utf-8",
    ],
)
def test_a_correctly_signed_token_of_the_wrong_shape_is_refused_as_malformed(body: bytes) -> None:
    assert _reason(_forge_raw(body)) == "MALFORMED"


@pytest.mark.parametrize("version", [2, 0, "1", None])
def test_a_token_of_another_version_is_refused_as_unsupported(version: Any) -> None:
    assert _reason(_forge({"v": version, "kid": v.OLD_KID, "exp": v.NOW + DAY})) == "UNSUPPORTED_VERSION"


def test_a_token_from_an_unpublished_key_is_refused_as_unknown_key() -> None:
    assert _reason(EXPECTED_TOKEN, keys=f"{v.NEW_KID}:{v.SEED_2}") == "UNKNOWN_KEY"


def test_a_token_stays_valid_through_the_leeway_after_expiry_and_not_a_second_more() -> None:
    exp = v.NOW + TOKEN_LIFETIME
    public = SigningKeys.parse(v.ONE_KEY).to_public()

    assert verify_token(EXPECTED_TOKEN, public, exp)["exp"] == exp
    assert verify_token(EXPECTED_TOKEN, public, exp + 59)["exp"] == exp
    assert _reason(EXPECTED_TOKEN, now=exp + 60) == "EXPIRED"
    with pytest.raises(TokenInvalid, match="EXPIRED"):
        verify_token(EXPECTED_TOKEN, public, exp, leeway=0)


def test_only_the_active_key_may_sign() -> None:
    keys = SigningKeys.parse(v.ROTATED)

    with pytest.raises(ValueError, match="active"):
        sign_token(licence_payload(v.licence(), INS, v.OLD_KID, v.NOW), keys)


def test_a_token_too_long_for_any_verifier_is_never_signed() -> None:
    keys = SigningKeys.parse(v.ONE_KEY)
    payload = licence_payload(v.licence(), INS, v.OLD_KID, v.NOW)
    payload["ent"] = [f"feature-{i}" for i in range(400)]

    with pytest.raises(ValueError, match="MAX_TOKEN_LENGTH"):
        sign_token(payload, keys)


def test_rotation_keeps_old_tokens_valid_until_the_old_key_is_removed() -> None:
    old_token = _token(keys=v.ONE_KEY)
    new_token = _token(keys=v.ROTATED)

    assert verify_token(old_token, SigningKeys.parse(v.ROTATED).to_public(), v.NOW)["kid"] == v.OLD_KID
    assert verify_token(new_token, SigningKeys.parse(v.ROTATED).to_public(), v.NOW)["kid"] == v.NEW_KID
    assert _reason(new_token, keys=v.ONE_KEY) == "UNKNOWN_KEY"  # an extension not yet updated refuses, never accepts

    new_only = f"{v.NEW_KID}:{v.SEED_2}"
    assert _reason(old_token, keys=new_only) == "UNKNOWN_KEY"
    assert verify_token(new_token, SigningKeys.parse(new_only).to_public(), v.NOW)["kid"] == v.NEW_KID
