"""Choose the storage adapter from the STORAGE_URL setting. Adapters are imported only when chosen: a function's
cold start pays for one backend, never for the others (Tablestore's SDK alone costs ~340 ms, design §9).

    sqlite:///relative/path.sqlite3      relative to the working directory (three slashes)
    sqlite:////absolute/path.sqlite3     absolute (four slashes, as SQLAlchemy spells it)
    sqlite:///path.sqlite3?busy_timeout_ms=2000
    postgresql://user:password@host:5432/database?sslmode=require     see shared/storage/sql/postgres.py
    mysql://user:password@host:3306/database?ssl=verify_ca&ssl_ca=...  see shared/storage/sql/mysql.py
    tablestore://<instance>?endpoint=https://<instance>.<region>.ots.aliyuncs.com&region=cn-hangzhou
                                         keys from the environment; see shared/storage/tablestore_connect.py

A SQL server's schema is created by `python -m scripts.storage migrate`, never by opening it: a cold start costs
no extra round trip, and the adapters connect on first use.
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from shared.errors import ConfigError
from shared.storage.port import Storage

SUPPORTED = ("sqlite", "postgresql", "mysql", "tablestore")
PLANNED: tuple[str, ...] = ()


def open_storage(url: str) -> Storage:
    # Error messages name the scheme only: a database URL may carry a password.
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme == "sqlite":
        return _open_sqlite(url)
    if scheme == "postgresql":
        from shared.storage.sql.postgres import open_postgres

        return open_postgres(url)
    if scheme == "mysql":
        from shared.storage.sql.mysql import open_mysql

        return open_mysql(url)
    if scheme == "tablestore":
        from shared.storage.tablestore_connect import open_tablestore

        return open_tablestore(url)
    # Each further adapter: one branch here, importing its module lazily.
    supported, planned = (", ".join(f"{name}://" for name in names) for names in (SUPPORTED, PLANNED))
    offered = f"supported: {supported}" + (f"; not yet available: {planned}" if planned else "")
    if scheme in PLANNED:
        raise ConfigError(f"storage scheme {scheme}:// is not yet available ({offered})")
    if not scheme:
        raise ConfigError(f"the storage URL has no scheme ({offered})")
    raise ConfigError(f"unknown storage scheme {scheme!r} ({offered})")


def _open_sqlite(url: str) -> Storage:
    parts = urlsplit(url)
    if parts.netloc or not parts.path.startswith("/") or len(parts.path) < 2:
        raise ConfigError("a sqlite storage URL is sqlite:///relative/path or sqlite:////absolute/path")
    options = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(options) - {"busy_timeout_ms"})
    if unknown:
        raise ConfigError(f"unknown sqlite storage option(s) {unknown}; known: ['busy_timeout_ms']")
    timeout = options.get("busy_timeout_ms", ["5000"])[-1]
    if not timeout.isdigit():
        raise ConfigError("sqlite storage option busy_timeout_ms must be a whole number of milliseconds")

    from shared.storage.sqlite import SqliteStorage

    return SqliteStorage(unquote(parts.path[1:]), busy_timeout_ms=int(timeout))
