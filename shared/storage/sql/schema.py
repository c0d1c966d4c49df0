"""The SQL schema, one description rendered for each dialect, as numbered migrations.

Versions match the SQLite schema's (1: the purchase tables, 2: the order timeline). Never edit a released
migration; append a new one. On PostgreSQL a migration runs in one transaction (DDL is transactional there). MySQL
commits each DDL statement on its own, so every statement here is safe to run again (IF NOT EXISTS, indexes inside
CREATE TABLE) and the version row is written last: a migration interrupted halfway is completed by the next run.

Types: ids and hashes are VARCHAR (MySQL can only index bounded strings; the same bounds on PostgreSQL keep the
adapters interchangeable), JSON is TEXT (written and read as text by `rows`), times and money are BIGINT. MySQL
tables use utf8mb4 with the binary collation: ids must compare case-sensitively, as on the other backends.
"""

from __future__ import annotations

from dataclasses import dataclass

_TYPES = {
    "postgresql": {
        "id": "VARCHAR(128)",
        "code": "VARCHAR(64)",
        "ref": "VARCHAR(255)",
        "text": "TEXT",
        "int": "BIGINT",
        "serial": "BIGINT GENERATED ALWAYS AS IDENTITY",
    },
    "mysql": {
        "id": "VARCHAR(128)",
        "code": "VARCHAR(64)",
        "ref": "VARCHAR(255)",
        "text": "TEXT",
        "int": "BIGINT",
        "serial": "BIGINT AUTO_INCREMENT",
    },
}
_MYSQL_TABLE_OPTIONS = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]  # "name type" or "name type null"; type is a key of _TYPES
    primary_key: tuple[str, ...]
    unique: tuple[tuple[str, ...], ...] = ()
    indexes: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (index name, columns)
    references: tuple[tuple[str, str], ...] = ()  # (column, "table (column)")

    def column_names(self) -> tuple[str, ...]:
        return tuple(spec.split()[0] for spec in self.columns)


ORDERS = Table(
    "orders",
    (
        "order_id id",
        "product_id id",
        "install_hash id",
        "amount_fen int",
        "currency code",
        "description text",
        "mchid code",
        "appid code",
        "status code",
        "created_at int",
        "expires_at int",
        "poll_token_hash id",
        "code_url text null",
        "transaction_id code null",
        "paid_at int null",
        "payer_hash id null",
        "last_queried_at int null",
        "closed_at int null",
        "updated_at int null",
    ),
    primary_key=("order_id",),
    indexes=(
        ("orders_by_install", ("install_hash", "created_at", "order_id")),  # history, newest first
        ("orders_by_status", ("status", "created_at")),  # timer jobs: PENDING orders older than a time
        ("orders_by_status_expiry", ("status", "expires_at")),  # timer jobs: PENDING orders past their expiry
    ),
)
LICENCES = Table(
    "licences",
    (
        "licence_id id",
        "order_id id",
        "product_id id",
        "key_hash id",
        "status code",
        "entitlements text",
        "max_devices int",
        "issued_at int",
        "expires_at int null",
        "revoked_at int null",
        "revoke_reason text null",
    ),
    primary_key=("licence_id",),
    unique=(("order_id",), ("key_hash",)),  # one licence per order; a key finds one licence
    references=(("order_id", "orders (order_id)"),),
)
ACTIVATIONS = Table(
    "activations",
    ("licence_id id", "install_hash id", "activated_at int"),
    primary_key=("licence_id", "install_hash"),
    references=(("licence_id", "licences (licence_id)"),),
)
NOTIFICATIONS = Table(
    "notifications",
    ("notification_id ref", "event_type code", "order_id id null", "processed_at int"),
    primary_key=("notification_id",),
)
# No foreign key to orders: a key is claimed before its order is created. `key` is reserved in MySQL.
IDEMPOTENCY_KEYS = Table(
    "idempotency_keys",
    ("idempotency_key ref", "fingerprint ref", "order_id id", "created_at int"),
    primary_key=("idempotency_key",),
)
# seq orders anomalies recorded in the same second (SQLite uses its rowid).
ANOMALIES = Table(
    "anomalies",
    ("seq serial", "kind code", "reference ref", "order_id id null", "details text", "at int"),
    primary_key=("seq",),
    unique=(("kind", "reference"),),
    indexes=(("anomalies_by_time", ("at", "seq")),),
)
ORDER_EVENTS = Table(
    "order_events",
    ("seq serial", "order_id id", "kind code", "at int", "details text"),
    primary_key=("seq",),
    indexes=(("order_events_by_order", ("order_id", "seq")),),
)
MIGRATIONS: tuple[tuple[int, tuple[Table, ...]], ...] = (
    (1, (ORDERS, LICENCES, ACTIVATIONS, NOTIFICATIONS, IDEMPOTENCY_KEYS, ANOMALIES)),
    (2, (ORDER_EVENTS,)),
)
LATEST_VERSION = MIGRATIONS[-1][0]
SCHEMA_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)"
)
# Children first, so that rows can be deleted without breaking a foreign key (tests empty the tables this way).
TABLES_CHILDREN_FIRST = (
    "activations",
    "licences",
    "orders",
    "notifications",
    "idempotency_keys",
    "anomalies",
    "order_events",
)


def migrations(dialect: str) -> list[tuple[int, list[str]]]:
    """[(version, statements)] for "postgresql" or "mysql"."""
    return [(version, [s for table in tables for s in _create(table, dialect)]) for version, tables in MIGRATIONS]


def _create(table: Table, dialect: str) -> list[str]:
    types = _TYPES[dialect]
    lines = [_column(spec, types) for spec in table.columns]
    lines.append(f"PRIMARY KEY ({', '.join(table.primary_key)})")
    lines += [f"UNIQUE ({', '.join(columns)})" for columns in table.unique]
    lines += [f"FOREIGN KEY ({column}) REFERENCES {target}" for column, target in table.references]
    if dialect == "mysql":  # MySQL has no CREATE INDEX IF NOT EXISTS (MariaDB does): indexes go inside the table
        lines += [f"INDEX {name} ({', '.join(columns)})" for name, columns in table.indexes]
    body = ",\n    ".join(lines)
    create = f"CREATE TABLE IF NOT EXISTS {table.name} (\n    {body}\n)"
    if dialect == "mysql":
        return [create + _MYSQL_TABLE_OPTIONS]
    indexes = [f"CREATE INDEX IF NOT EXISTS {n} ON {table.name} ({', '.join(c)})" for n, c in table.indexes]
    return [create, *indexes]


def _column(spec: str, types: dict[str, str]) -> str:
    name, kind, *rest = spec.split()
    return f"{name} {types[kind]}{'' if rest == ['null'] else ' NOT NULL'}"
