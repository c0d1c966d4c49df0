"""Rows <-> gzip-compressed JSONL, streamed: one JSON object per line, keys sorted, UTF-8 (Chinese kept readable).

The SHA-256 and the row count are of the JSONL plaintext, so a restore can check what it decompressed against the
manifest, and anyone can check a backup with `openssl`/`gunzip`/`sha256sum` by hand.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.backup.errors import BackupCorrupt

GZIP_LEVEL = 6
BATCH_BYTES = 256 * 1024  # lines are compressed in batches of about this much plaintext
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer around the deflate stream


@dataclass
class Digest:
    """What a stream of JSONL held, known once the stream is exhausted."""

    rows: int = 0
    plaintext_bytes: int = 0
    _sha256: Any = field(default_factory=hashlib.sha256, repr=False)

    def add(self, data: bytes, lines: int) -> None:
        self._sha256.update(data)
        self.rows += lines
        self.plaintext_bytes += len(data)

    @property
    def sha256(self) -> str:
        return str(self._sha256.hexdigest())


def encode_line(row: Mapping[str, Any]) -> bytes:
    return json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8") + b"\n"


def compress_rows(rows: Iterable[Mapping[str, Any]], digest: Digest) -> Iterator[bytes]:
    """Gzip chunks of the rows' JSONL; `digest` is complete when the iterator is."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, _GZIP_WBITS)
    batch, lines = bytearray(), 0
    for row in rows:
        batch += encode_line(row)
        lines += 1
        if len(batch) >= BATCH_BYTES:
            digest.add(bytes(batch), lines)
            yield compressor.compress(bytes(batch))
            batch, lines = bytearray(), 0
    digest.add(bytes(batch), lines)
    yield compressor.compress(bytes(batch)) + compressor.flush()


def decompress(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The plaintext of a gzip stream, in pieces of at most BATCH_BYTES; BackupCorrupt if it is not one whole
    gzip member."""
    decompressor = zlib.decompressobj(_GZIP_WBITS)
    try:
        for chunk in chunks:
            data = chunk
            while data:
                piece = decompressor.decompress(data, BATCH_BYTES)
                data = decompressor.unconsumed_tail
                if piece:
                    yield piece
        if tail := decompressor.flush():
            yield tail
    except zlib.error as exc:
        raise BackupCorrupt(f"not gzip data: {exc}") from exc
    if not decompressor.eof or decompressor.unused_data:
        raise BackupCorrupt("the gzip stream is cut short or followed by other data")


def digest_of(plaintext: Iterable[bytes]) -> Digest:
    result = Digest()
    for piece in plaintext:
        result.add(piece, piece.count(b"\n"))
    return result


def parse_rows(plaintext: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    rest = b""
    for piece in plaintext:
        *lines, rest = (rest + piece).split(b"\n")
        for line in lines:
            yield json.loads(line)
    if rest:
        raise BackupCorrupt("the last line is cut short")
