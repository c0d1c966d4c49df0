"""Backups of the storage STORAGE_URL names, to the bucket the BACKUP_* settings name (README "Backups"):

    python -m scripts.backup backup                       back up every dataset now (one run at a time)
    python -m scripts.backup list                         the complete runs, oldest first, with their row counts
    python -m scripts.backup verify --run RUN_ID          check a run end to end, writing nothing
    python -m scripts.backup restore --run RUN_ID         verify, then insert every row that is missing
    python -m scripts.backup restore --from KEY           the same, for a run named by its folder or manifest key

Settings come from the environment only, never the command line, where other users of the machine could read them.
Restore into an empty storage; into a non-empty one it only adds rows that are absent, so it is safe to repeat.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

from shared import log
from shared.backup.errors import BackupError
from shared.backup.job import run_backup
from shared.backup.restore import list_runs, load_manifest, locate, restore_run, verify_run
from shared.backup.s3 import S3ObjectStore
from shared.backup.store import ObjectStore
from shared.config import BackupSettings
from shared.errors import ConfigError, StorageError
from shared.storage.factory import open_storage


def main(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None, store: ObjectStore | None = None
) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = BackupSettings.from_env(os.environ if env is None else env)
        store = store or S3ObjectStore.from_settings(settings)
        if args.command == "list":
            return _list(store, settings)
        if args.command == "backup":
            return _backup(store, settings)
        manifest_at = locate(args.run or args.source, settings.prefix)
        manifest = load_manifest(store, settings.encryption_key, manifest_at)
        workdir = Path(args.workdir) if args.workdir else None
        if args.command == "verify":
            verify_run(store, settings.encryption_key, manifest, workdir=workdir)
            print(f"run {manifest.run_id}: every object matches its manifest ({sum(manifest.rows.values())} rows)")
            return 0
        inserted = restore_run(
            open_storage(settings.storage_url), store, settings.encryption_key, manifest, workdir=workdir
        )
    except (ConfigError, BackupError, StorageError) as exc:  # none of their messages carries a secret
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"run {manifest.run_id} verified and restored:")
    for name, rows in manifest.rows.items():
        print(f"  {name:<14} {rows:>9} rows, {inserted[name]:>9} inserted")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scripts.backup", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("backup", help="back up every dataset now")
    commands.add_parser("list", help="the complete runs, oldest first")
    for name in ("verify", "restore"):
        command = commands.add_parser(name, help=f"{name} one run")
        which = command.add_mutually_exclusive_group(required=True)
        which.add_argument("--run", help="the run's id, as `list` shows it")
        which.add_argument("--from", dest="source", metavar="KEY", help="the run's folder or manifest object key")
        command.add_argument("--workdir", help="where the encrypted objects are kept while verifying (default: TMPDIR)")
    return parser


def _backup(store: ObjectStore, settings: BackupSettings) -> int:
    manifest = run_backup(open_storage(settings.storage_url), store, settings, int(time.time()))
    if manifest is None:
        print("another backup is running; nothing done")
        return 0
    print(f"run {manifest.run_id}: {sum(manifest.rows.values())} rows, {manifest.size} bytes")
    return 0


def _list(store: ObjectStore, settings: BackupSettings) -> int:
    for run in list_runs(store, settings.prefix, settings.encryption_key):
        if run.manifest is None:
            print(f"{run.run_id}  unreadable: {run.problem}")
            continue
        created = datetime.fromtimestamp(run.manifest.created_at, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        counts = ", ".join(f"{name} {rows}" for name, rows in run.manifest.rows.items())
        print(f"{run.run_id}  {created}  {run.manifest.size:>10} bytes  {counts}")
    return 0


if __name__ == "__main__":
    log.configure(stream=sys.stderr)  # the JSON summary lines, apart from what a person reads on stdout
    sys.exit(main())
