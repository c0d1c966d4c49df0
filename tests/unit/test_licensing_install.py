"""Install ids and their hash: the server keeps SHA-256, the extension recomputes it offline to check a token."""

from __future__ import annotations

import base64

import pytest

from shared.licensing.install import install_hash, valid_install_id

# FIPS 180-2 / NIST example: SHA-256 of this 56-character message, which happens to be a valid install id.
NIST_MESSAGE = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
NIST_DIGEST = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"


def test_the_install_hash_is_unpadded_base64url_of_sha256() -> None:
    digest = base64.urlsafe_b64decode(install_hash(NIST_MESSAGE) + "=")

    assert install_hash(NIST_MESSAGE) == "JI1qYdIGOLjlwCaTDD5gOaM85Flk_yFn9uzt1BnbBsE"
    assert digest.hex() == NIST_DIGEST


@pytest.mark.parametrize(
    "install_id",
    ["A" * 22, "Zm9vYmFyYmF6cXV4MTIzNA", "0123456789abcdef0123456789abcdef", "_-" * 32],
    ids=["22 chars", "base64url of 16 bytes", "hex of 16 bytes", "64 chars"],
)
def test_an_install_id_of_128_random_bits_is_accepted(install_id: str) -> None:
    assert valid_install_id(install_id)
    assert len(install_hash(install_id)) == 43


@pytest.mark.parametrize(
    "install_id",
    ["", "A" * 21, "A" * 65, "Zm9vYmFyYmF6cXV4MTIzNA==", "Zm9vYmFy+mF6cXV4MTIzNA", "A" * 22 + "\n", "Ä" * 22],
    ids=["empty", "21 chars", "65 chars", "padded", "plus sign", "trailing newline", "non-ascii"],
)
def test_an_install_id_of_the_wrong_shape_is_refused_and_never_hashed(install_id: str) -> None:
    assert not valid_install_id(install_id)
    with pytest.raises(ValueError, match="22-64"):
        install_hash(install_id)


def test_different_installs_get_different_hashes() -> None:
    assert install_hash("A" * 22) != install_hash("A" * 21 + "B")
