"""The backup job and restore on fakes of the storage and object-store ports: a round trip, one run at a time, and
a restore that writes nothing unless the whole run verifies (wrong key, swapped, truncated or altered objects)."""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shared import log
from shared.backup import crypto
from shared.backup.errors import BackupCorrupt, BackupNotFound
from shared.backup.job import LEASE, ScheduledBackup, run_backup
from shared.backup.manifest import Manifest, manifest_key
from shared.backup.restore import list_runs, load_manifest, locate, restore_run, verify_run
from shared.config import BackupSettings
from shared.errors import ConfigError
from shared.storage.datasets import DATASETS

NOW = 1_796_007_600  # 2026-11-30T03:00:00Z
KEY = bytes(range(32))  # test key
SETTINGS = BackupSettings.from_env(
    {
        "BACKUP_S3_ENDPOINT": "https://127.0.0.1:1",
        "BACKUP_S3_BUCKET": "unit",
        "BACKUP_S3_REGION": "cn-hangzhou",
        "BACKUP_ACCESS_KEY_ID": "test-id",
        "BACKUP_SECRET_ACCESS_KEY": "test-secret",
        "BACKUP_ENCRYPTION_KEY": base64.urlsafe_b64encode(KEY).decode(),
    }
)


class FakeStorage:
    """The backup's part of the storage port, in memory: rows per dataset, insert-if-absent, leases."""

    def __init__(self, data: dict[str, list[dict[str, Any]]] | None = None):
        self.data = {name: [dict(row) for row in rows] for name, rows in (data or {}).items()}
        self.leases: dict[str, tuple[str, int]] = {}
        self.fail_on: str | None = None

    def export_rows(self, dataset: str) -> Iterator[dict[str, Any]]:
        if dataset == self.fail_on:
            raise RuntimeError("the database went away")
        yield from (dict(row) for row in self.data.get(dataset, []))

    def import_rows(self, dataset: str, rows: Iterator[dict[str, Any]]) -> int:
        stored = self.data.setdefault(dataset, [])
        new = [row for row in rows if row not in stored]
        stored.extend(new)
        return len(new)

    def acquire_lease(self, name: str, owner: str, now: int, ttl: int) -> bool:
        holder = self.leases.get(name)
        if holder and holder[0] != owner and holder[1] > now:
            return False
        self.leases[name] = (owner, now + ttl)
        return True

    def release_lease(self, name: str, owner: str) -> None:
        if self.leases.get(name, ("",))[0] == owner:
            del self.leases[name]


class MemoryStore:
    """The object-store port in memory; it hands objects back in small pieces, as a network would."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.pieces_seen: list[int] = []

    def put_stream(self, key: str, chunks: Iterable[bytes]) -> int:
        data = bytearray()
        for chunk in chunks:
            self.pieces_seen.append(len(chunk))
            data += chunk
        self.objects[key] = bytes(data)
        return len(data)

    def get_stream(self, key: str) -> Iterator[bytes]:
        if key not in self.objects:
            raise BackupNotFound(f"no object {key}")
        data = self.objects[key]
        yield from (data[i : i + 1000] for i in range(0, len(data), 1000))

    def list_keys(self, prefix: str) -> Iterator[str]:
        yield from sorted(key for key in self.objects if key.startswith(prefix))


DATA: dict[str, list[dict[str, Any]]] = {
    "orders": [
        {"order_id": "ord_1", "status": "PAID", "amount_fen": 1990, "description": "专业版", "paid_at": NOW - 50},
        {"order_id": "ord_2", "status": "CLOSED", "amount_fen": 990, "description": "Basic", "paid_at": None},
    ],
    "licences": [{"licence_id": "lic_1", "order_id": "ord_1", "entitlements": ["pro", "sync"], "expires_at": None}],
    "activations": [{"licence_id": "lic_1", "install_hash": "ih_a", "activated_at": NOW - 40}],
    "refunds": [{"out_refund_no": "R1", "order_id": "ord_1", "amount_fen": 500, "status": "SUCCESS"}],
    "order_events": [
        {"order_id": "ord_1", "seq": 1, "kind": "CREATED", "at": NOW - 60, "details": {}},
        {"order_id": "ord_1", "seq": 2, "kind": "PAID", "at": NOW - 50, "details": {"transaction_id": "42"}},
    ],
    "anomalies": [{"kind": "AMOUNT_MISMATCH", "reference": "x", "order_id": None, "details": {"n": 1}, "at": NOW}],
    "notifications": [{"notification_id": "n1", "event_type": "TRANSACTION.SUCCESS", "order_id": "ord_1"}],
    "admin_keys": [{"key_id": "0123456789ab", "role": "operator", "name": "运营", "revoked_at": None}],
    "audit_log": [{"audit_id": "1796007600-0a", "action": "order.refund", "before": None, "after": {"n": 1}}],
}


@pytest.fixture
def source() -> FakeStorage:
    return FakeStorage(DATA)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def _backed_up(source: FakeStorage, store: MemoryStore, now: int = NOW) -> Manifest:
    manifest = run_backup(source, store, SETTINGS, now)
    assert manifest is not None
    return manifest


def test_backup_then_restore_into_empty_storage_gives_identical_data(source: FakeStorage, store: MemoryStore) -> None:
    manifest = _backed_up(source, store)
    target = FakeStorage()
    inserted = restore_run(target, store, KEY, load_manifest(store, KEY, locate(manifest.run_id, "backups")))
    assert target.data == source.data
    assert inserted == {name: len(DATA[name]) for name in DATASETS} == manifest.rows


def test_restoring_twice_changes_nothing(source: FakeStorage, store: MemoryStore) -> None:
    manifest = _backed_up(source, store)
    target = FakeStorage()
    restore_run(target, store, KEY, manifest)
    assert restore_run(target, store, KEY, manifest) == dict.fromkeys(DATASETS, 0)
    assert target.data == source.data


def test_objects_are_laid_out_by_date_and_run_and_hold_no_readable_data(
    source: FakeStorage, store: MemoryStore
) -> None:
    manifest = _backed_up(source, store)
    folder = f"backups/2026/11/30/{manifest.run_id}"
    assert sorted(store.objects) == sorted(
        [f"{folder}/{name}.jsonl.gz.enc" for name in DATASETS] + [f"{folder}/manifest.json.enc"]
    )
    for blob in store.objects.values():
        assert blob.startswith(b"WXPB\x01") and b"ord_1" not in blob and b"orders" not in blob


def test_the_summary_line_has_counts_bytes_and_duration_but_no_secret(source: FakeStorage, store: MemoryStore) -> None:
    out = io.StringIO()
    log.configure(stream=out)
    try:
        manifest = _backed_up(source, store)
    finally:
        log.configure(stream=None)
    line = json.loads(out.getvalue().splitlines()[-1])
    assert (line["event"], line["job"], line["run_id"]) == ("backup_finished", "backup", manifest.run_id)
    # The log's denylist drops any field whose name holds "key": admin_keys' count is in the manifest only.
    logged = {name: rows for name, rows in manifest.rows.items() if name != "admin_keys"}
    assert line["counts"] == logged and line["bytes"] == manifest.size and line["duration_ms"] >= 0
    text = out.getvalue()
    for secret in (SETTINGS.secret_access_key, base64.urlsafe_b64encode(KEY).decode().rstrip("="), KEY.hex()):
        assert secret not in text


def test_a_run_while_another_holds_the_lease_uploads_nothing(source: FakeStorage, store: MemoryStore) -> None:
    source.acquire_lease(LEASE, "the-other-run", NOW, 600)
    assert run_backup(source, store, SETTINGS, NOW + 1) is None
    assert store.objects == {}
    assert run_backup(source, store, SETTINGS, NOW + 601) is not None  # the other run's lease expired


def test_a_failed_run_frees_the_lease_and_leaves_no_manifest(source: FakeStorage, store: MemoryStore) -> None:
    source.fail_on = "refunds"
    with pytest.raises(RuntimeError):
        run_backup(source, store, SETTINGS, NOW)
    assert LEASE not in source.leases
    assert not any(key.endswith("manifest.json.enc") for key in store.objects)
    assert list_runs(store, "backups", KEY) == []  # an incomplete run is not offered for restore


def test_a_large_dataset_is_uploaded_as_a_stream_of_small_pieces(store: MemoryStore) -> None:
    orders = [{"order_id": f"ord_{n:07d}", "install_hash": os.urandom(32).hex()} for n in range(30_000)]
    manifest = _backed_up(FakeStorage({"orders": orders}), store)
    assert manifest.rows["orders"] == 30_000
    assert max(store.pieces_seen) < 300_000 < manifest.size


def test_list_shows_complete_runs_oldest_first_and_says_which_cannot_be_read(
    source: FakeStorage, store: MemoryStore
) -> None:
    second = _backed_up(source, store, NOW + 86400)
    first = _backed_up(source, store, NOW)
    broken = manifest_key("backups", "20261202T030000Z-000000")
    store.objects[broken] = b"garbage"
    runs = list_runs(store, "backups", KEY)
    assert [run.run_id for run in runs] == [first.run_id, second.run_id, "20261202T030000Z-000000"]
    assert runs[0].manifest == first and runs[2].manifest is None and runs[2].problem


def test_a_run_can_be_named_by_its_id_its_folder_or_its_manifest_key() -> None:
    run_id = "20261130T030000Z-abcdef"
    key = manifest_key("backups", run_id)
    assert locate(run_id, "backups") == locate(key, "other") == locate(key.rpartition("/")[0] + "/", "x") == key


# -- a restore verifies the whole run before it writes anything ----------------------------------------------------
def _restore_fails(store: MemoryStore, manifest: Manifest, key: bytes = KEY) -> FakeStorage:
    target = FakeStorage()
    with pytest.raises(BackupCorrupt):
        restore_run(target, store, key, load_manifest(store, key, locate(manifest.run_id, "backups")))
    return target


def _entry_key(manifest: Manifest, name: str) -> str:
    return next(entry.key for entry in manifest.datasets if entry.name == name)


def test_the_wrong_key_is_refused_at_the_manifest(source: FakeStorage, store: MemoryStore) -> None:
    manifest = _backed_up(source, store)
    assert _restore_fails(store, manifest, key=bytes(32)).data == {}


def test_swapped_datasets_are_refused_and_nothing_is_written(source: FakeStorage, store: MemoryStore) -> None:
    manifest = _backed_up(source, store)
    orders, licences = _entry_key(manifest, "orders"), _entry_key(manifest, "licences")
    store.objects[orders], store.objects[licences] = store.objects[licences], store.objects[orders]
    assert _restore_fails(store, manifest).data == {}


def test_an_object_from_another_run_is_refused(source: FakeStorage, store: MemoryStore) -> None:
    older = _backed_up(source, store, NOW - 86400)
    source.data["orders"].append({"order_id": "ord_3", "status": "PENDING"})
    newer = _backed_up(source, store, NOW)
    store.objects[_entry_key(newer, "orders")] = store.objects[_entry_key(older, "orders")]
    store.objects[manifest_key("backups", newer.run_id)] = store.objects[manifest_key("backups", older.run_id)]
    assert _restore_fails(store, newer).data == {}


def test_a_truncated_object_is_refused_and_nothing_is_written(source: FakeStorage, store: MemoryStore) -> None:
    manifest = _backed_up(source, store)
    last = _entry_key(manifest, "notifications")  # the last one: even the first datasets must stay unwritten
    store.objects[last] = store.objects[last][:-10]
    assert _restore_fails(store, manifest).data == {}


def test_a_manifest_whose_hash_does_not_match_is_refused(source: FakeStorage, store: MemoryStore) -> None:
    """Someone holding the key re-seals a manifest that claims other data: the hash check still catches it."""
    manifest = _backed_up(source, store)
    where = manifest_key("backups", manifest.run_id)
    document = json.loads(crypto.unseal(KEY, where, store.objects[where]))
    document["datasets"][-1]["sha256"] = "0" * 64
    store.objects[where] = crypto.seal(KEY, where, json.dumps(document).encode())
    assert _restore_fails(store, manifest).data == {}


def test_a_row_count_that_does_not_match_is_refused(source: FakeStorage, store: MemoryStore) -> None:
    manifest = _backed_up(source, store)
    where = manifest_key("backups", manifest.run_id)
    document = json.loads(crypto.unseal(KEY, where, store.objects[where]))
    document["datasets"][0]["rows"] += 1
    store.objects[where] = crypto.seal(KEY, where, json.dumps(document).encode())
    with pytest.raises(BackupCorrupt, match="rows"):
        verify_run(store, KEY, load_manifest(store, KEY, where))


def test_a_missing_object_stops_the_restore_before_any_write(source: FakeStorage, store: MemoryStore) -> None:
    manifest = _backed_up(source, store)
    del store.objects[_entry_key(manifest, "anomalies")]
    target = FakeStorage()
    with pytest.raises(BackupNotFound):
        restore_run(target, store, KEY, manifest)
    assert target.data == {}


def test_restore_leaves_no_local_copies_behind(source: FakeStorage, store: MemoryStore, tmp_path: Path) -> None:
    manifest = _backed_up(source, store)
    restore_run(FakeStorage(), store, KEY, manifest, workdir=tmp_path)
    verify_run(store, KEY, manifest, workdir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_timer_job_without_backup_settings_fails_naming_the_missing_one(source: FakeStorage) -> None:
    with pytest.raises(ConfigError, match="BACKUP_S3_ENDPOINT"):
        ScheduledBackup(source, lambda: BackupSettings.from_env({}), lambda: NOW)({})
    assert source.leases == {}  # it failed before taking the lease


def test_a_lease_that_cannot_be_released_does_not_fail_a_finished_run(source: FakeStorage, store: MemoryStore) -> None:
    def broken(name: str, owner: str) -> None:
        raise RuntimeError("connection lost")

    source.release_lease = broken  # type: ignore[method-assign]
    assert run_backup(source, store, SETTINGS, NOW) is not None  # the lease expires on its own
