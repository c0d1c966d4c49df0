"""Storage administration for the backend STORAGE_URL names (read from the environment, never from the command
line, where other users of the machine could read a password):

    python -m scripts.storage migrate    bring the schema to this code's version; prints the version reached
    python -m scripts.storage version    print the schema's version (0: never migrated)
    python -m scripts.storage reindex    Tablestore only, once after a `migrate` that added order indexes (2 -> 3:
                                         the admin search's) and a minute for the new tables to serve: write the
                                         index rows of the orders stored before; prints how many

Run `migrate` once per deployment, before the new functions take traffic: the functions never migrate (a round trip
on every cold start). It is safe to run twice and from two places at once. SQLite files migrate when opened.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

from shared.errors import ConfigError, StorageError
from shared.storage.factory import open_storage

# A migration may rewrite a large table: allow it more than a request's few seconds, unless the URL says otherwise.
MIGRATE_READ_TIMEOUT = "600"


@runtime_checkable
class Migratable(Protocol):
    def migrate(self) -> object: ...

    def schema_version(self) -> int: ...


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.storage", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("migrate", "version", "reindex"))
    args = parser.parse_args(argv)
    url = (os.environ if env is None else env).get("STORAGE_URL", "").strip()
    if not url:
        print("error: set STORAGE_URL to the storage to administer", file=sys.stderr)
        return 2
    try:
        storage = open_storage(with_long_reads(url) if args.command == "migrate" else url)
        if not isinstance(storage, Migratable):
            print("error: this storage backend has no versioned schema", file=sys.stderr)
            return 2
        if args.command == "reindex":
            reindex = getattr(storage, "reindex", None)
            if reindex is None:
                print("error: only Tablestore keeps index tables to rebuild", file=sys.stderr)
                return 2
            print(f"index rows written: {reindex()}")
            return 0
        if args.command == "migrate":
            storage.migrate()
        version = storage.schema_version()
    except (ConfigError, StorageError) as exc:  # their messages never carry the password
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"schema version {version}" if args.command == "migrate" else version)
    return 0


def with_long_reads(url: str) -> str:
    """The URL with read_timeout=MIGRATE_READ_TIMEOUT added, for the SQL servers, unless it sets one."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("postgresql", "mysql") or "read_timeout=" in parts.query:
        return url
    option = f"read_timeout={MIGRATE_READ_TIMEOUT}"
    return urlunsplit(parts._replace(query=f"{parts.query}&{option}" if parts.query else option))


if __name__ == "__main__":
    sys.exit(main())
