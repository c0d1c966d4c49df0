"""The object-storage port backups need: write a stream, read a stream, list keys. S3 is its one adapter."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol


class ObjectStore(Protocol):
    def put_stream(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store the concatenated chunks under `key` without holding them all in memory; the object appears only
        once complete (a failed upload leaves nothing behind). Returns its size in bytes."""
        ...

    def get_stream(self, key: str) -> Iterator[bytes]:
        """The object's bytes in pieces; BackupNotFound if there is no such object."""
        ...

    def list_keys(self, prefix: str) -> Iterator[str]:
        """Every key under `prefix`, in key order."""
        ...
