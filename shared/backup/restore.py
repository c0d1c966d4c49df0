"""Restore: find a run, verify every object against its manifest, and only then write a row.

Each object is downloaded once into a private temporary folder, still encrypted (no plaintext at rest), and
verified there: its AES-GCM tag, then the row count and SHA-256 of its JSONL against the manifest. Only when the
whole run verified are the local copies decrypted again and imported, parents first. Rows are inserted if absent,
so a restore into a non-empty storage adds what is missing, and a second restore changes nothing. The import holds
the storage's "backup" lease, as a backup run does: two restores at once (or a restore during a backup) cannot
interleave their inserts, and the second is told to wait.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from shared import log
from shared.backup import codec, crypto
from shared.backup.errors import BackupCorrupt, BackupError
from shared.backup.job import LEASE, LEASE_TTL_SECONDS
from shared.backup.manifest import MANIFEST_NAME, DatasetEntry, Manifest, manifest_key, run_id_of
from shared.backup.store import ObjectStore
from shared.storage.datasets import DATASETS

MAX_MANIFEST_BYTES = 1024 * 1024
READ_CHUNK = 1024 * 1024


class RestoreTarget(Protocol):
    """What a restore needs of the storage port."""

    def import_rows(self, dataset: str, rows: Iterator[dict[str, Any]]) -> int: ...

    def acquire_lease(self, name: str, owner: str, now: int, ttl: int) -> bool: ...

    def release_lease(self, name: str, owner: str) -> None: ...


@dataclass(frozen=True)
class RunListing:
    run_id: str
    key: str
    manifest: Manifest | None
    problem: str | None = None


def list_runs(store: ObjectStore, prefix: str, key: bytes) -> list[RunListing]:
    """Every complete run under `prefix` (those with a manifest), oldest first; unreadable ones say why."""
    listings = []
    for object_key in store.list_keys(f"{prefix}/" if prefix else ""):
        run_id = run_id_of(object_key)
        if run_id is None:
            continue
        try:
            listings.append(RunListing(run_id, object_key, load_manifest(store, key, object_key)))
        except BackupError as exc:
            listings.append(RunListing(run_id, object_key, None, str(exc)))
    return sorted(listings, key=lambda listing: listing.run_id)


def locate(reference: str, prefix: str) -> str:
    """The manifest key a run id, a run's folder or a manifest's own key names."""
    if "/" not in reference:
        return manifest_key(prefix, reference)
    return reference if reference.endswith(f"/{MANIFEST_NAME}") else f"{reference.rstrip('/')}/{MANIFEST_NAME}"


def load_manifest(store: ObjectStore, key: bytes, object_key: str) -> Manifest:
    blob = bytearray()
    for piece in store.get_stream(object_key):
        blob += piece
        if len(blob) > MAX_MANIFEST_BYTES:
            raise BackupCorrupt(f"{object_key}: too large for a manifest")
    return Manifest.from_json(crypto.unseal(key, object_key, bytes(blob)), object_key)


def restore_run(
    storage: RestoreTarget, store: ObjectStore, key: bytes, manifest: Manifest, *, workdir: Path | None = None
) -> dict[str, int]:
    """Verify the whole run, then import it; how many rows of each dataset were new."""
    started = time.monotonic()
    entries = sorted(manifest.datasets, key=lambda entry: DATASETS.index(entry.name))
    with tempfile.TemporaryDirectory(prefix="restore-", dir=workdir) as folder:
        local = {entry.name: _download(store, entry, Path(folder)) for entry in entries}
        for entry in entries:
            _verify(key, entry, local[entry.name])
        owner = f"restore-{manifest.run_id}-{secrets.token_hex(4)}"
        if not storage.acquire_lease(LEASE, owner, int(time.time()), LEASE_TTL_SECONDS):
            raise BackupError("another backup or restore is running on this storage: try again when it has finished")
        try:
            inserted = {
                entry.name: storage.import_rows(entry.name, _rows(key, entry, local[entry.name])) for entry in entries
            }
        finally:
            storage.release_lease(LEASE, owner)
    log.info(
        "restore_finished",
        job="restore",
        run_id=manifest.run_id,
        counts=manifest.rows,
        inserted=inserted,
        duration_ms=round((time.monotonic() - started) * 1000),
    )
    return inserted


def verify_run(store: ObjectStore, key: bytes, manifest: Manifest, *, workdir: Path | None = None) -> None:
    """What restore checks before writing, without writing: BackupCorrupt names the first object that fails."""
    with tempfile.TemporaryDirectory(prefix="verify-", dir=workdir) as folder:
        for entry in manifest.datasets:
            _verify(key, entry, _download(store, entry, Path(folder)))


def _download(store: ObjectStore, entry: DatasetEntry, folder: Path) -> Path:
    path = folder / f"{entry.name}.enc"
    with path.open("wb") as out:
        for piece in store.get_stream(entry.key):
            out.write(piece)
    if path.stat().st_size != entry.size:
        raise BackupCorrupt(f"{entry.key}: {path.stat().st_size} bytes where the manifest says {entry.size}")
    return path


def _verify(key: bytes, entry: DatasetEntry, path: Path) -> None:
    found = codec.digest_of(codec.decompress(crypto.decrypt(key, entry.key, _read(path))))
    if (found.rows, found.sha256) != (entry.rows, entry.sha256):
        raise BackupCorrupt(f"{entry.key}: {found.rows} rows or their hash differ from the manifest's")


def _rows(key: bytes, entry: DatasetEntry, path: Path) -> Iterator[dict[str, Any]]:
    return codec.parse_rows(codec.decompress(crypto.decrypt(key, entry.key, _read(path))))


def _read(path: Path) -> Iterator[bytes]:
    with path.open("rb") as file:
        while piece := file.read(READ_CHUNK):
            yield piece
