"""A run's manifest and object keys: what was backed up, where, and what it must hash to.

The manifest is sealed like every other object (its key as associated data), so it can be neither read nor forged
without the backup key, nor moved to another run's place. It is written last: its presence marks a complete run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from shared.backup.crypto import FORMAT_VERSION
from shared.backup.errors import BackupCorrupt, BackupNotFound
from shared.storage.datasets import DATASETS  # parents first: the order a restore inserts in

FORMAT_NAME = "wxpay-backup"
MANIFEST_NAME = "manifest.json.enc"
DATASET_SUFFIX = ".jsonl.gz.enc"
_RUN_ID = re.compile(r"^(\d{4})(\d{2})(\d{2})T\d{6}Z-[0-9a-f]{6}$")


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    key: str
    rows: int
    sha256: str  # of the JSONL plaintext
    size: int  # of the stored object, in bytes


@dataclass(frozen=True)
class Manifest:
    run_id: str
    created_at: int
    datasets: tuple[DatasetEntry, ...]

    @property
    def rows(self) -> dict[str, int]:
        return {entry.name: entry.rows for entry in self.datasets}

    @property
    def size(self) -> int:
        return sum(entry.size for entry in self.datasets)

    def to_json(self) -> bytes:
        document = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "run_id": self.run_id,
            "created_at": self.created_at,
            "created": datetime.fromtimestamp(self.created_at, timezone.utc).isoformat(),
            "datasets": [vars(entry) for entry in self.datasets],
        }
        return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes, manifest_key: str) -> Manifest:
        """Parse and check: format and version, a run id matching the manifest's place, known datasets once each,
        each object in the run's own folder."""
        try:
            document = json.loads(data)
            manifest = cls(
                run_id=str(document["run_id"]),
                created_at=int(document["created_at"]),
                datasets=tuple(_entry(item) for item in document["datasets"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupCorrupt(f"{manifest_key}: not a backup manifest") from exc
        if document.get("format") != FORMAT_NAME or document.get("version") != FORMAT_VERSION:
            raise BackupCorrupt(f"{manifest_key}: unsupported manifest format or version")
        folder = manifest_key.rpartition("/")[0]
        if folder.rpartition("/")[2] != manifest.run_id:
            raise BackupCorrupt(f"{manifest_key}: manifest of run {manifest.run_id}, stored elsewhere")
        names = [entry.name for entry in manifest.datasets]
        if sorted(names) != sorted(set(names)) or not set(names) <= set(DATASETS):
            raise BackupCorrupt(f"{manifest_key}: unknown or repeated datasets")
        for entry in manifest.datasets:
            if entry.key != f"{folder}/{entry.name}{DATASET_SUFFIX}":
                raise BackupCorrupt(f"{manifest_key}: dataset {entry.name} points outside its run")
        return manifest


def _entry(item: dict[str, Any]) -> DatasetEntry:
    entry = DatasetEntry(str(item["name"]), str(item["key"]), int(item["rows"]), str(item["sha256"]), int(item["size"]))
    if not re.fullmatch(r"[0-9a-f]{64}", entry.sha256) or entry.rows < 0 or entry.size < 0:
        raise ValueError("bad dataset entry")
    return entry


# -- where a run's objects live ------------------------------------------------------------------------------------
def new_run_id(now: int, token: bytes) -> str:
    """`YYYYMMDDTHHMMSSZ-xxxxxx`: sorts by time, and names its own folder's date."""
    stamp = datetime.fromtimestamp(now, timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{token.hex()[:6]}"


def run_folder(prefix: str, run_id: str) -> str:
    match = _RUN_ID.match(run_id)
    if not match:
        raise BackupNotFound(f"not a backup run id: {run_id!r}")
    year, month, day = match.groups()
    return f"{prefix}/{year}/{month}/{day}/{run_id}" if prefix else f"{year}/{month}/{day}/{run_id}"


def dataset_key(prefix: str, run_id: str, dataset: str) -> str:
    return f"{run_folder(prefix, run_id)}/{dataset}{DATASET_SUFFIX}"


def manifest_key(prefix: str, run_id: str) -> str:
    return f"{run_folder(prefix, run_id)}/{MANIFEST_NAME}"


def run_id_of(manifest_object_key: str) -> str | None:
    """The run id of a manifest's key, or None when the key is not a manifest's."""
    folder, _, name = manifest_object_key.rpartition("/")
    run_id = folder.rpartition("/")[2]
    return run_id if name == MANIFEST_NAME and _RUN_ID.match(run_id) else None
