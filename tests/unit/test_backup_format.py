"""The backup format: AES-256-GCM per object bound to its key, gzip JSONL with a hash and count, the manifest."""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.backup import codec, crypto
from shared.backup.errors import BackupCorrupt, BackupNotFound
from shared.backup.manifest import (
    DatasetEntry,
    Manifest,
    dataset_key,
    manifest_key,
    new_run_id,
    run_id_of,
)
from shared.storage.datasets import DATASETS

KEY = bytes(range(32))  # test key
OBJECT = "backups/2026/11/30/20261130T030000Z-abcdef/orders.jsonl.gz.enc"
NOW = 1_796_007_600  # 2026-11-30T03:00:00Z


def _split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


# -- encryption ----------------------------------------------------------------------------------------------------
def test_a_sealed_object_is_one_shot_aes_gcm_behind_a_header_so_any_tool_can_open_it() -> None:
    nonce = bytes(12)
    sealed = b"".join(crypto.encrypt(KEY, OBJECT, [b"hello ", b"world"], nonce=nonce))
    expected = AESGCM(KEY).encrypt(nonce, b"hello world", b"WXPB\x01" + OBJECT.encode())
    assert sealed == b"WXPB\x01" + nonce + expected
    assert len(sealed) == len(b"hello world") + crypto.OVERHEAD


@pytest.mark.parametrize("size", [1, 7, 16, 17, 33, 4096])
def test_decryption_gives_back_the_plaintext_however_the_bytes_arrive(size: int) -> None:
    plaintext = os.urandom(3000)
    sealed = crypto.seal(KEY, OBJECT, plaintext)
    assert b"".join(crypto.decrypt(KEY, OBJECT, _split(sealed, size))) == plaintext


def test_every_object_gets_a_fresh_nonce() -> None:
    assert crypto.seal(KEY, OBJECT, b"same") != crypto.seal(KEY, OBJECT, b"same")


@pytest.mark.parametrize(
    ("key", "object_key", "mangle"),
    [
        (bytes(32), OBJECT, lambda b: b),  # the wrong key
        (KEY, OBJECT.replace("orders", "licences"), lambda b: b),  # an object moved to another object's place
        (KEY, OBJECT, lambda b: b[:-1]),  # cut by a byte
        (KEY, OBJECT, lambda b: b[:-100]),  # cut by more
        (KEY, OBJECT, lambda b: b[:20]),  # only the header survives
        (KEY, OBJECT, lambda b: b[:30] + bytes([b[30] ^ 1]) + b[31:]),  # one bit flipped
        (KEY, OBJECT, lambda b: b + b"extra"),  # something appended
        (KEY, OBJECT, lambda b: b"XXXX" + b[4:]),  # not ours
        (KEY, OBJECT, lambda b: b[:4] + b"\x02" + b[5:]),  # a format from the future
    ],
)
def test_an_object_that_is_not_exactly_what_was_sealed_for_its_place_is_refused(
    key: bytes, object_key: str, mangle: Callable[[bytes], bytes]
) -> None:
    sealed = mangle(crypto.seal(KEY, OBJECT, os.urandom(200)))
    with pytest.raises(BackupCorrupt):
        b"".join(crypto.decrypt(key, object_key, _split(sealed, 64)))


def test_a_key_of_the_wrong_length_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        crypto.seal(b"k" * 16, OBJECT, b"x")


# -- JSONL + gzip --------------------------------------------------------------------------------------------------
ROWS = [
    {"order_id": "ord_1", "description": "专业版 Pro licence", "amount_fen": 1990, "paid_at": None},
    {"order_id": "ord_2", "details": {"reason": "用户申请\n退款", "items": [1, 2]}, "entitlements": ["pro", "sync"]},
]


def test_rows_come_back_identical_with_the_same_hash_and_count() -> None:
    written = codec.Digest()
    compressed = b"".join(codec.compress_rows(iter(ROWS), written))
    plain = list(codec.decompress(_split(compressed, 5)))
    assert list(codec.parse_rows(plain)) == ROWS
    read = codec.digest_of(plain)
    assert (read.rows, read.sha256) == (written.rows, written.sha256) == (2, read.sha256)
    assert "专业版".encode() in b"".join(plain)  # readable Chinese, not \\u escapes


def test_an_empty_dataset_is_a_valid_empty_file() -> None:
    digest = codec.Digest()
    compressed = b"".join(codec.compress_rows(iter([]), digest))
    assert digest.rows == 0 and list(codec.parse_rows(codec.decompress([compressed]))) == []


def test_a_large_dataset_streams_in_pieces_instead_of_one_buffer() -> None:
    rows = ({"order_id": f"ord_{n:08d}", "noise": os.urandom(24).hex()} for n in range(40_000))
    digest = codec.Digest()
    pieces = [piece for piece in codec.compress_rows(rows, digest) if piece]
    assert digest.rows == 40_000 and digest.plaintext_bytes > 3_000_000
    assert len(pieces) > 5 and max(map(len, pieces)) < codec.BATCH_BYTES
    assert max(map(len, codec.decompress(pieces))) <= codec.BATCH_BYTES


@pytest.mark.parametrize(
    "mangle", [lambda b: b[:-9], lambda b: b + b"junk", lambda b: b"not gzip at all", lambda b: b[:10] + b"\0" * 40]
)
def test_a_cut_or_garbled_gzip_stream_is_refused(mangle: Callable[[bytes], bytes]) -> None:
    compressed = b"".join(codec.compress_rows(iter(ROWS), codec.Digest()))
    with pytest.raises(BackupCorrupt):
        list(codec.parse_rows(codec.decompress([mangle(compressed)])))


def test_a_last_line_without_its_newline_is_refused() -> None:
    compressor = zlib.compressobj(wbits=31)
    cut = compressor.compress(b'{"a":1}\n{"b":') + compressor.flush()
    with pytest.raises(BackupCorrupt, match="last line"):
        list(codec.parse_rows(codec.decompress([cut])))


# -- the manifest and where objects live ---------------------------------------------------------------------------
def test_a_run_lives_in_a_dated_folder_named_by_its_run_id() -> None:
    run_id = new_run_id(NOW, b"\xab\xcd\xef")
    assert run_id == "20261130T030000Z-abcdef"
    assert dataset_key("backups", run_id, "orders") == OBJECT
    assert manifest_key("prod/db", run_id) == f"prod/db/2026/11/30/{run_id}/manifest.json.enc"
    assert run_id_of(manifest_key("backups", run_id)) == run_id
    assert run_id_of(OBJECT) is None
    with pytest.raises(BackupNotFound):
        manifest_key("backups", "../../etc")


def _manifest(run_id: str = "20261130T030000Z-abcdef") -> Manifest:
    entries = tuple(DatasetEntry(n, dataset_key("backups", run_id, n), 3, "ab" * 32, 100) for n in DATASETS)
    return Manifest(run_id, NOW, entries)


def test_a_manifest_round_trips_through_its_json() -> None:
    manifest = _manifest()
    document = json.loads(manifest.to_json())
    assert (document["format"], document["version"], document["created"]) == (
        "wxpay-backup",
        1,
        "2026-11-30T03:00:00+00:00",
    )
    assert Manifest.from_json(manifest.to_json(), manifest_key("backups", manifest.run_id)) == manifest
    assert manifest.rows["orders"] == 3 and manifest.size == 100 * len(DATASETS)


def _edited(**changes: object) -> bytes:
    document = json.loads(_manifest().to_json())
    document.update(changes)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (_manifest().to_json(), manifest_key("backups", "20261201T030000Z-000000")),  # stored under another run
        (_edited(version=2), manifest_key("backups", "20261130T030000Z-abcdef")),
        (_edited(format="other"), manifest_key("backups", "20261130T030000Z-abcdef")),
        (b"{not json", manifest_key("backups", "20261130T030000Z-abcdef")),
        (_edited(datasets=[{"name": "orders"}]), manifest_key("backups", "20261130T030000Z-abcdef")),
    ],
)
def test_a_manifest_that_does_not_describe_its_own_run_is_refused(data: bytes, where: str) -> None:
    with pytest.raises(BackupCorrupt):
        Manifest.from_json(data, where)


def test_a_manifest_may_not_point_outside_its_run_or_list_a_dataset_twice() -> None:
    document = json.loads(_manifest().to_json())
    where = manifest_key("backups", "20261130T030000Z-abcdef")
    elsewhere = dict(document, datasets=[{**document["datasets"][0], "key": "backups/other/orders.jsonl.gz.enc"}])
    twice = dict(document, datasets=[document["datasets"][0]] * 2)
    unknown = dict(document, datasets=[{**document["datasets"][0], "name": "users"}])
    for bad in (elsewhere, twice, unknown):
        with pytest.raises(BackupCorrupt):
            Manifest.from_json(json.dumps(bad).encode(), where)
