"""The SQL schema, one description rendered for each dialect, as numbered migrations.

Versions match the SQLite schema's (1: the purchase tables, 2: the order timeline, 3: refunds, the timer jobs'
indexes, leases, reports, retention and backups). Never edit a released migration; append a new one. On PostgreSQL
a migration runs in one transaction (DDL is transactional there). MySQL commits each DDL statement on its own, so
every statement here is safe to run again and the version row is written last: a migration interrupted halfway is
completed by the next run. New tables say IF NOT EXISTS and carry their indexes inside CREATE TABLE; a change to
an existing table (AddColumn, AddIndex) is an ALTER TABLE that MySQL 8 cannot make conditional, so the MySQL
adapter reads "that column / index already exists" as done (see mysql.py).

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
        "document": "TEXT",
    },
    "mysql": {
        "id": "VARCHAR(128)",
        "code": "VARCHAR(64)",
        "ref": "VARCHAR(255)",
        "text": "TEXT",
        "int": "BIGINT",
        "serial": "BIGINT AUTO_INCREMENT",
        "document": "MEDIUMTEXT",  # a report: TEXT stops at 64 KB, MEDIUMTEXT at 16 MB
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


@dataclass(frozen=True)
class AddColumn:
    table: str
    column: str  # as in Table.columns


@dataclass(frozen=True)
class AddIndex:
    table: str
    name: str
    columns: tuple[str, ...]


Step = Table | AddColumn | AddIndex


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
REFUNDS = Table(
    "refunds",
    (
        "out_refund_no id",
        "order_id id",
        "amount_fen int",
        "status code",
        "reason text",
        "requested_by ref",
        "requested_at int",
        "refund_id code null",
        "success_at int null",
        "updated_at int null",
    ),
    primary_key=("out_refund_no",),
    references=(("order_id", "orders (order_id)"),),
    indexes=(
        ("refunds_by_order", ("order_id", "requested_at", "out_refund_no")),  # an order's refunds, oldest first
        ("refunds_by_status", ("status", "requested_at", "out_refund_no")),  # timer jobs: refunds still in flight
        ("refunds_by_success", ("success_at", "out_refund_no")),  # reconciliation: a day's refunds
    ),
)
JOB_LEASES = Table("job_leases", ("name ref", "owner ref", "expires_at int"), primary_key=("name",))
JOB_REPORTS = Table(
    "job_reports", ("kind code", "report_key ref", "report document", "at int"), primary_key=("kind", "report_key")
)
MIGRATIONS: tuple[tuple[int, tuple[Step, ...]], ...] = (
    (1, (ORDERS, LICENCES, ACTIVATIONS, NOTIFICATIONS, IDEMPOTENCY_KEYS, ANOMALIES)),
    (2, (ORDER_EVENTS,)),
    (
        3,
        (
            REFUNDS,
            JOB_LEASES,
            JOB_REPORTS,
            AddIndex("orders", "orders_by_paid", ("paid_at", "order_id")),  # reconciliation: a day's payments
            AddIndex("idempotency_keys", "idempotency_keys_by_time", ("created_at", "idempotency_key")),  # retention
            AddIndex("notifications", "notifications_by_time", ("processed_at", "notification_id")),  # retention
            # An imported event's identity from the backup it came from (shared.storage.datasets).
            AddColumn("order_events", "origin_seq int null"),
        ),
    ),
)
LATEST_VERSION = MIGRATIONS[-1][0]
SCHEMA_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)"
)
# Children first, so that rows can be deleted without breaking a foreign key (tests empty the tables this way).
TABLES_CHILDREN_FIRST = (
    "activations",
    "licences",
    "refunds",
    "orders",
    "notifications",
    "idempotency_keys",
    "anomalies",
    "order_events",
    "job_leases",
    "job_reports",
)


def migrations(dialect: str) -> list[tuple[int, list[str]]]:
    """[(version, statements)] for "postgresql" or "mysql"."""
    return [(version, [s for step in steps for s in _render(step, dialect)]) for version, steps in MIGRATIONS]


def _render(step: Step, dialect: str) -> list[str]:
    if isinstance(step, Table):
        return _create(step, dialect)
    if isinstance(step, AddColumn):
        column = _column(step.column, _TYPES[dialect])
        if dialect == "mysql":
            return [f"ALTER TABLE {step.table} ADD COLUMN {column}"]
        return [f"ALTER TABLE {step.table} ADD COLUMN IF NOT EXISTS {column}"]
    columns = ", ".join(step.columns)
    if dialect == "mysql":
        return [f"ALTER TABLE {step.table} ADD INDEX {step.name} ({columns})"]
    return [f"CREATE INDEX IF NOT EXISTS {step.name} ON {step.table} ({columns})"]


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
