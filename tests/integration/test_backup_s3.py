"""Backups against moto's S3 server over real HTTP (design §9), with real storage: a SQLite database filled through
the port is backed up, a fresh one restored from the bucket, and every dataset must come back identical; restoring
twice changes nothing; two runs at once upload one; the same backup restores into PostgreSQL and MySQL."""

from __future__ import annotations

import base64
import dataclasses
import io
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from scripts import backup as backup_cli
from shared.backup.errors import BackupCorrupt, BackupError, ObjectStoreError
from shared.backup.job import ScheduledBackup, run_backup
from shared.backup.manifest import Manifest
from shared.backup.restore import list_runs, load_manifest, locate, restore_run
from shared.backup.s3 import S3ObjectStore, client_for
from shared.config import BackupSettings
from shared.domain.admin import AdminKey, AuditEntry, Role, audit_id
from shared.domain.licences import LicenceStatus
from shared.domain.orders import OrderStatus
from shared.domain.refunds import Refund, RefundStatus, out_refund_no_for
from shared.storage.datasets import DATASETS
from shared.storage.factory import open_storage
from shared.storage.port import Storage
from tests.integration.conftest import T0, make_licence, make_order
from tests.integration.test_storage_sql_servers import SERVERS

KEY = bytes(range(32))  # test key


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def env(s3_endpoint: str, tmp_path: Path) -> dict[str, str]:
    """A fresh bucket on the server, and the settings a deployment would have (moto needs path-style addressing)."""
    env = {
        "BACKUP_S3_ENDPOINT": s3_endpoint,
        "LOCAL_STACK": "1",  # the S3 server listens on plain HTTP
        "BACKUP_S3_BUCKET": f"backups-{uuid.uuid4().hex[:12]}",
        "BACKUP_S3_REGION": "us-east-1",
        "BACKUP_S3_ADDRESSING_STYLE": "path",
        "BACKUP_S3_PREFIX": "prod",
        "BACKUP_ACCESS_KEY_ID": "testing",
        "BACKUP_SECRET_ACCESS_KEY": "testing",
        "BACKUP_ENCRYPTION_KEY": base64.urlsafe_b64encode(KEY).decode(),
        "STORAGE_URL": f"sqlite:///{tmp_path / 'restored.sqlite3'}",
    }
    client_for(BackupSettings.from_env(env)).create_bucket(Bucket=env["BACKUP_S3_BUCKET"])
    return env


@pytest.fixture
def settings(env: dict[str, str]) -> BackupSettings:
    return BackupSettings.from_env(env)


@pytest.fixture
def store(settings: BackupSettings) -> S3ObjectStore:
    return S3ObjectStore.from_settings(settings)


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Storage]:
    storage = open_storage(f"sqlite:///{tmp_path / 'live.sqlite3'}")
    fill(storage)
    yield storage
    storage.close()  # type: ignore[attr-defined]


def fill(storage: Storage) -> None:
    """A shop's day, written through the port: orders in every state, licences active and revoked, devices,
    refunds that succeeded, failed or are in flight, each order's timeline, anomalies and notifications."""
    states = [
        OrderStatus.PENDING,
        OrderStatus.CLOSED,
        OrderStatus.PAID,
        OrderStatus.PAID,
        OrderStatus.REFUNDING,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.REFUNDED,
    ]
    for n, status in enumerate(states):
        paid = status not in (OrderStatus.PENDING, OrderStatus.CLOSED)
        order = make_order(
            status=status,
            install_hash=f"install-hash-{n % 3}",
            code_url=f"weixin://wxpay/bizpayurl?pr=abc{n}",
            transaction_id=f"42000000{n:02d}" if paid else None,
            paid_at=T0 + 100 + n if paid else None,
            payer_hash=f"payer-{n}" if paid else None,
            closed_at=T0 + 7300 if status is OrderStatus.CLOSED else None,
        )
        assert storage.insert_order(order)
        storage.append_order_event(order.order_id, "CREATED", order.created_at, {"amount_fen": order.amount_fen})
        if not paid:
            storage.append_order_event(order.order_id, "CLOSED", T0 + 7300, {"by": "expiry job"})
            continue
        storage.append_order_event(order.order_id, "PAID", T0 + 100 + n, {"transaction_id": order.transaction_id})
        storage.record_notification(f"notif-{n}", "TRANSACTION.SUCCESS", order.order_id, T0 + 101 + n)
        revoked = status is OrderStatus.REFUNDED
        licence = make_licence(
            order,
            status=LicenceStatus.REVOKED if revoked else LicenceStatus.ACTIVE,
            revoked_at=T0 + 900 if revoked else None,
            revoke_reason="全额退款 full refund" if revoked else None,
            expires_at=None if n % 2 else T0 + 365 * 86400,
        )
        assert storage.insert_licence(licence)
        storage.append_order_event(order.order_id, "LICENCE_ISSUED", T0 + 102 + n, {"licence_id": licence.licence_id})
        for device in range(n % 3 + 1):
            storage.activate(licence.licence_id, f"device-{n}-{device}", licence.max_devices, T0 + 200 + device)
        if status in (OrderStatus.REFUNDING, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED):
            _refund(storage, order.order_id, n, status)
    storage.record_anomaly("AMOUNT_MISMATCH", None, "bill-2026-11-29:7", {"ours": 1990, "wechat": 1900}, T0 + 3600)
    storage.record_anomaly("UNKNOWN_ORDER", None, "notif-x", {"out_trade_no": "ord_elsewhere"}, T0 + 3700)
    storage.insert_admin_key(AdminKey("0123456789ab", "a" * 64, Role.OPERATOR, "运营 ops", T0, revoked_at=T0 + 50))
    storage.insert_admin_key(AdminKey("ba9876543210", "b" * 64, Role.VIEWER, "viewer", T0 + 10))
    for n, after in enumerate(({"status": "REVOKED"}, None)):
        storage.append_audit(
            AuditEntry(
                audit_id(T0 + 900 + n),
                T0 + 900 + n,
                "0123456789ab",
                "运营 ops",
                "operator",
                "licence.revoke",
                f"licence:L{n}",
                "ok" if after else "LICENSE_REVOKED",
                {"status": "ACTIVE"},
                after,
                request_id=f"req-{n}",
            )
        )


def _refund(storage: Storage, order_id: str, n: int, status: OrderStatus) -> None:
    outcome = {
        OrderStatus.REFUNDING: RefundStatus.PROCESSING,
        OrderStatus.PARTIALLY_REFUNDED: RefundStatus.SUCCESS,
        OrderStatus.REFUNDED: RefundStatus.SUCCESS,
    }[status]
    succeeded = outcome is RefundStatus.SUCCESS
    refund = Refund(
        out_refund_no=out_refund_no_for(order_id, "operator-request-1"),
        order_id=order_id,
        amount_fen=1990 if status is OrderStatus.REFUNDED else 500,
        status=outcome,
        reason="用户申请退款",
        requested_by="admin@shop",
        requested_at=T0 + 800 + n,
        refund_id=f"50300000{n:02d}" if succeeded else None,
        success_at=T0 + 850 + n if succeeded else None,
        updated_at=T0 + 850 + n,
    )
    assert storage.insert_refund(refund)
    failed = dataclasses.replace(refund, out_refund_no=out_refund_no_for(order_id, "retry"), status=RefundStatus.CLOSED)
    assert storage.insert_refund(failed)
    storage.append_order_event(order_id, "REFUND_REQUESTED", T0 + 800 + n, {"out_refund_no": refund.out_refund_no})
    storage.record_notification(f"refund-notif-{n}", "REFUND.SUCCESS", order_id, T0 + 851 + n)


def everything(storage: Storage) -> dict[str, list[dict[str, Any]]]:
    return {name: list(storage.export_rows(name)) for name in DATASETS}


def _backed_up(source: Storage, store: S3ObjectStore, settings: BackupSettings) -> Manifest:
    manifest = run_backup(source, store, settings, T0 + 86400)
    assert manifest is not None
    return manifest


def _fresh(path: Path) -> Storage:
    return open_storage(f"sqlite:///{path}")


# -- the round trip ------------------------------------------------------------------------------------------------
def test_backup_wipe_restore_gives_identical_data(
    source: Storage, store: S3ObjectStore, settings: BackupSettings, tmp_path: Path
) -> None:
    before = everything(source)
    assert all(before[name] for name in DATASETS), "every dataset holds rows"
    manifest = _backed_up(source, store, settings)
    assert manifest.rows == {name: len(rows) for name, rows in before.items()}

    wiped = _fresh(tmp_path / "wiped.sqlite3")
    assert everything(wiped) == {name: [] for name in DATASETS}
    found = load_manifest(store, KEY, locate(manifest.run_id, settings.prefix))
    assert found == manifest
    assert restore_run(wiped, store, KEY, found) == manifest.rows
    assert everything(wiped) == before
    some_order = before["orders"][3]["order_id"]
    assert wiped.get_order(some_order) == source.get_order(some_order)
    assert wiped.order_events(some_order) == source.order_events(some_order)


def test_restoring_twice_changes_nothing(
    source: Storage, store: S3ObjectStore, settings: BackupSettings, tmp_path: Path
) -> None:
    manifest = _backed_up(source, store, settings)
    target = _fresh(tmp_path / "target.sqlite3")
    restore_run(target, store, KEY, manifest)
    assert restore_run(target, store, KEY, manifest) == dict.fromkeys(DATASETS, 0)
    assert everything(target) == everything(source)


def test_a_restore_waits_while_a_backup_or_another_restore_holds_the_lease(
    source: Storage, store: S3ObjectStore, settings: BackupSettings, tmp_path: Path
) -> None:
    manifest = _backed_up(source, store, settings)
    target = _fresh(tmp_path / "target.sqlite3")
    assert target.acquire_lease("backup", "a-running-backup", int(time.time()), 600)
    with pytest.raises(BackupError, match="another backup or restore"):
        restore_run(target, store, KEY, manifest)
    assert everything(target) == {name: [] for name in DATASETS}  # nothing written
    target.release_lease("backup", "a-running-backup")
    assert restore_run(target, store, KEY, manifest) == manifest.rows
    assert target.acquire_lease("backup", "the-next-backup", int(time.time()), 600)  # the restore let it go


def test_two_backups_at_once_upload_one_run(
    source: Storage, store: S3ObjectStore, settings: BackupSettings, tmp_path: Path
) -> None:
    """The first run is held inside its export while a second starts on another connection to the database."""
    inside, release = threading.Event(), threading.Event()
    results: list[Manifest | None] = []

    class Paused:
        def export_rows(self, dataset: str) -> Iterator[dict[str, Any]]:
            inside.set()
            release.wait(10)
            return source.export_rows(dataset)

        def __getattr__(self, name: str) -> Callable[..., Any]:
            return getattr(source, name)  # type: ignore[no-any-return]

    first = threading.Thread(target=lambda: results.append(run_backup(Paused(), store, settings, T0 + 86400)))
    first.start()
    assert inside.wait(10)
    second = open_storage(f"sqlite:///{tmp_path / 'live.sqlite3'}")
    assert run_backup(second, store, settings, T0 + 86401) is None
    release.set()
    first.join(10)
    assert results and results[0] is not None
    assert [run.run_id for run in list_runs(store, settings.prefix, KEY)] == [results[0].run_id]


def test_the_timer_job_backs_up_to_the_configured_bucket_and_reports_counts(
    source: Storage, env: dict[str, str], store: S3ObjectStore, settings: BackupSettings
) -> None:
    summary = ScheduledBackup(source, lambda: BackupSettings.from_env(env), lambda: T0 + 86400)({})
    assert summary["rows"] == sum(len(rows) for rows in everything(source).values()) and summary["bytes"] > 0
    assert [run.run_id for run in list_runs(store, settings.prefix, KEY)] == [summary["run_id"]]


def test_the_jobs_function_runs_the_backup_job_from_a_timer_event(
    source: Storage, env: dict[str, str], store: S3ObjectStore, settings: BackupSettings, tmp_path: Path
) -> None:
    from functions.jobs import index as jobs
    from shared import bootstrap

    live = {**env, "STORAGE_URL": f"sqlite:///{tmp_path / 'live.sqlite3'}", "SERVER_SECRET": "s" * 40}
    bootstrap.reset(live)
    try:
        timer = {"Type": "Timer", "TriggerName": "daily-backup", "Time": "2026-11-30T03:00:00Z", "Message": "backup"}
        (summary,) = jobs.handler(timer, SimpleNamespace(request_id="timer-backup"))["jobs"]
    finally:
        bootstrap.reset()
    assert (summary["job"], summary["outcome"]) == ("backup", "OK")
    assert [run.run_id for run in list_runs(store, settings.prefix, KEY)] == [summary["run_id"]]


# -- the bucket ----------------------------------------------------------------------------------------------------
def test_a_large_object_goes_up_in_parts_and_comes_back_whole(settings: BackupSettings) -> None:
    store = S3ObjectStore(client_for(settings), settings.bucket, part_size=5 * 1024 * 1024)  # S3's smallest part
    data = os.urandom(11 * 1024 * 1024 + 17)
    pieces = (data[i : i + 700_000] for i in range(0, len(data), 700_000))
    assert store.put_stream("prod/big.bin", pieces) == len(data)
    head = client_for(settings).head_object(Bucket=settings.bucket, Key="prod/big.bin")
    assert head["ETag"].endswith('-3"')  # a multipart object: 5 + 5 + 1 MiB
    assert b"".join(store.get_stream("prod/big.bin")) == data


def test_a_failed_upload_leaves_no_object_and_no_parts_behind(settings: BackupSettings) -> None:
    store = S3ObjectStore(client_for(settings), settings.bucket, part_size=5 * 1024 * 1024)

    def failing() -> Iterator[bytes]:
        yield os.urandom(6 * 1024 * 1024)  # one part uploaded
        raise RuntimeError("the database went away mid-export")

    with pytest.raises(RuntimeError):
        store.put_stream("prod/half.bin", failing())
    client = client_for(settings)
    assert list(store.list_keys("prod/")) == []
    assert client.list_multipart_uploads(Bucket=settings.bucket).get("Uploads", []) == []


def test_a_wrong_secret_is_reported_without_showing_it(env: dict[str, str]) -> None:
    store = S3ObjectStore.from_settings(BackupSettings.from_env({**env, "BACKUP_S3_BUCKET": "no-such-bucket"}))
    with pytest.raises(ObjectStoreError, match="NoSuchBucket") as raised:
        store.put_stream("prod/x", [b"x"])
    assert "testing" not in str(raised.value)


def test_an_object_replaced_in_the_bucket_stops_the_restore_before_any_write(
    source: Storage, store: S3ObjectStore, settings: BackupSettings, tmp_path: Path
) -> None:
    manifest = _backed_up(source, store, settings)
    orders, refunds = (next(e.key for e in manifest.datasets if e.name == n) for n in ("orders", "refunds"))
    client = client_for(settings)
    swapped = client.get_object(Bucket=settings.bucket, Key=orders)["Body"].read()
    client.put_object(Bucket=settings.bucket, Key=refunds, Body=swapped)
    target = _fresh(tmp_path / "target.sqlite3")
    with pytest.raises(BackupCorrupt, match="refunds"):
        restore_run(target, store, KEY, manifest)
    assert everything(target) == {name: [] for name in DATASETS}


# -- the command line ----------------------------------------------------------------------------------------------
def _cli(env: dict[str, str], *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = backup_cli.main(list(argv), env)
    return code, "".join(line for line in out.getvalue().splitlines(True) if not line.startswith("{"))  # log lines


def test_the_command_line_backs_up_lists_verifies_and_restores(
    source: Storage, env: dict[str, str], tmp_path: Path
) -> None:
    live = {**env, "STORAGE_URL": f"sqlite:///{tmp_path / 'live.sqlite3'}"}
    code, said = _cli(live, "backup")
    assert code == 0 and said.startswith("run ")
    run_id = said.split()[1].rstrip(":")
    code, listed = _cli(live, "list")
    assert code == 0 and listed.startswith(run_id) and "orders 7" in listed
    assert _cli(live, "verify", "--run", run_id)[0] == 0

    code, restored = _cli(env, "restore", "--run", run_id)  # env's STORAGE_URL: an empty database
    assert code == 0 and re.search(r"orders +7 rows, +7 inserted", restored)
    assert _cli(env, "restore", "--from", f"{locate(run_id, 'prod')}")[1].count(" 0 inserted") == len(DATASETS)
    assert everything(open_storage(env["STORAGE_URL"])) == everything(source)


def test_the_command_line_names_a_missing_setting_and_a_bad_run(env: dict[str, str], capsys: Any) -> None:
    assert backup_cli.main(["list"], {k: v for k, v in env.items() if k != "BACKUP_ENCRYPTION_KEY"}) == 1
    assert "BACKUP_ENCRYPTION_KEY" in capsys.readouterr().err
    assert backup_cli.main(["restore", "--run", "20261130T030000Z-000000"], env) == 1
    assert "BackupNotFound" in capsys.readouterr().err


# -- portability ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dialect", ["postgresql", "mysql"])
def test_a_sqlite_backup_restores_into_a_sql_server(
    dialect: str, source: Storage, store: S3ObjectStore, settings: BackupSettings
) -> None:
    server = SERVERS[dialect]
    target = server.open(server.create_namespace())
    try:
        target.migrate()
        manifest = _backed_up(source, store, settings)
        assert restore_run(target, store, KEY, manifest) == manifest.rows
        assert everything(target) == everything(source)
    finally:
        target.close()
