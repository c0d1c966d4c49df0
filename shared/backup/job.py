"""The backup job: every dataset streamed from storage to the bucket, then the manifest; one run at a time.

A daily timer runs it (functions/jobs: the job "backup"); `python -m scripts.backup backup` runs it by hand. Two
runs started at once (a timer retry, an operator) contend for the "backup" lease: one uploads, the other returns None.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from shared import log
from shared.backup import crypto
from shared.backup.codec import Digest, compress_rows
from shared.backup.manifest import DatasetEntry, Manifest, dataset_key, manifest_key, new_run_id
from shared.backup.store import ObjectStore
from shared.config import BackupSettings
from shared.storage.datasets import DATASETS

if TYPE_CHECKING:
    from shared.bootstrap import Container

LEASE = "backup"
# Longer than any run may take (the job's function timeout must stay below it), short enough that a crashed run
# does not block the next day's.
LEASE_TTL_SECONDS = 6 * 3600


class BackupSource(Protocol):
    """What a backup needs of the storage port."""

    def export_rows(self, dataset: str) -> Iterator[dict[str, Any]]: ...

    def acquire_lease(self, name: str, owner: str, now: int, ttl: int) -> bool: ...

    def release_lease(self, name: str, owner: str) -> None: ...


def run_backup(storage: BackupSource, store: ObjectStore, settings: BackupSettings, now: int) -> Manifest | None:
    """Back up every dataset; the manifest of the run, or None when another run holds the lease."""
    run_id = new_run_id(now, os.urandom(3))
    if not storage.acquire_lease(LEASE, run_id, now, LEASE_TTL_SECONDS):
        log.info("backup_skipped", job="backup", outcome="another run holds the lease")
        return None
    started = time.monotonic()
    try:
        manifest = Manifest(run_id, now, tuple(_back_up(storage, store, settings, run_id, name) for name in DATASETS))
        key = manifest_key(settings.prefix, run_id)
        store.put_stream(key, [crypto.seal(settings.encryption_key, key, manifest.to_json())])
    except Exception as exc:
        log.error("backup_failed", job="backup", run_id=run_id, error=type(exc).__name__, message=str(exc)[:300])
        raise
    finally:
        _release(storage, run_id)
    log.info(
        "backup_finished",
        job="backup",
        run_id=run_id,
        counts=manifest.rows,
        bytes=manifest.size,
        duration_ms=round((time.monotonic() - started) * 1000),
    )
    return manifest


def _back_up(
    storage: BackupSource, store: ObjectStore, settings: BackupSettings, run_id: str, name: str
) -> DatasetEntry:
    key = dataset_key(settings.prefix, run_id, name)
    digest = Digest()
    sealed = crypto.encrypt(settings.encryption_key, key, compress_rows(storage.export_rows(name), digest))
    size = store.put_stream(key, sealed)
    return DatasetEntry(name, key, digest.rows, digest.sha256, size)


def _release(storage: BackupSource, run_id: str) -> None:
    try:
        storage.release_lease(LEASE, run_id)
    except Exception as exc:  # it expires on its own, long before the next day's run
        log.warning("backup_lease_not_released", job="backup", run_id=run_id, error=type(exc).__name__)


class ScheduledBackup:
    """The timer job (shared.services.jobs.runner.Job): one run to the configured bucket, its counts for the
    summary line. Settings are read (`settings` is called), and boto3 imported, only when it runs: a deployment
    without backups configured fails this job alone, naming the missing setting."""

    def __init__(self, storage: BackupSource, settings: Callable[[], BackupSettings], clock: Callable[[], int]) -> None:
        self._storage, self._settings, self._clock = storage, settings, clock

    def __call__(self, options: Mapping[str, Any]) -> dict[str, Any]:
        from shared.backup.s3 import S3ObjectStore

        settings = self._settings()
        manifest = run_backup(self._storage, S3ObjectStore.from_settings(settings), settings, self._clock())
        if manifest is None:
            return {"run_id": None, "reason": "another backup holds the lease"}
        return {"run_id": manifest.run_id, "rows": sum(manifest.rows.values()), "bytes": manifest.size}


def scheduled_backup(container: Container) -> ScheduledBackup:
    """The job as functions/jobs builds it from the composition root; the container's backup settings are read
    when the job runs, not when it is built."""
    from shared.bootstrap import now

    return ScheduledBackup(container.storage, lambda: container.backup_settings, now)
