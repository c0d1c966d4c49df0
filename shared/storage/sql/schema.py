"""The SQL schema, one description rendered for each dialect, as numbered migrations.

Versions match the SQLite schema's (1: the purchase tables, 2: the order timeline, 3: refunds, the timer jobs'
indexes, leases, reports, retention and backups, 4: admin keys, the append-only audit log, rate-limit counters and
the admin search's indexes). Never edit a released migration; append a new one. On PostgreSQL
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

from shared.storage.sql.schema_steps import AddColumn, AddIndex, Statements, Step, Table, render

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
ADMIN_KEYS = Table(
    "admin_keys",
    ("key_id id", "key_hash id", "role code", "name ref", "created_at int", "revoked_at int null"),
    primary_key=("key_id",),
)
# Append-only (the triggers below). `before` is reserved in MySQL: state_before / state_after.
AUDIT_LOG = Table(
    "audit_log",
    (
        "audit_id id",
        "at int",
        "actor ref",
        "actor_name ref",
        "role code",
        "action code",
        "target ref",
        "outcome code",
        "state_before text null",
        "state_after text null",
        "request_id ref null",
        "source_ip code null",
    ),
    primary_key=("audit_id",),
    indexes=(("audit_log_by_target", ("target", "audit_id")),),  # one object's history, newest first
)
# Rate limits: one row per (name, window), counted by an upsert; `window` is reserved in MySQL and PostgreSQL.
COUNTERS = Table(
    "counters",
    ("name ref", "time_window int", "hits int", "expires_at int"),
    primary_key=("name", "time_window"),
    indexes=(("counters_by_expiry", ("expires_at", "name", "time_window")),),  # retention
)
_REFUSAL = "audit_log is append-only"
# MySQL 8 has no CREATE TRIGGER IF NOT EXISTS before 8.0.29: the adapter reads "trigger exists" as done. With binary
# logging on, creating a trigger needs SUPER or log_bin_trust_function_creators=1 (the clouds' parameter groups).
AUDIT_APPEND_ONLY = Statements(
    (
        (
            "postgresql",
            (
                "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS"
                f" $$ BEGIN RAISE EXCEPTION '{_REFUSAL}: % refused', TG_OP; END $$",
                "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
                "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log"
                " FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
            ),
        ),
        (
            "mysql",
            tuple(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log FOR EACH ROW"
                f" SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '{_REFUSAL}: {event} refused'"
                for event in ("UPDATE", "DELETE")
            ),
        ),
    )
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
    (
        4,
        (
            ADMIN_KEYS,
            AUDIT_LOG,
            COUNTERS,
            AUDIT_APPEND_ONLY,
            # The admin search: by transaction id, by product, and all orders newest first.
            AddIndex("orders", "orders_by_transaction", ("transaction_id",)),
            AddIndex("orders", "orders_by_product", ("product_id", "created_at", "order_id")),
            AddIndex("orders", "orders_by_created", ("created_at", "order_id")),
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
    "admin_keys",
    "audit_log",
    "counters",
)
APPEND_ONLY = ("audit_log",)  # UPDATE and DELETE refused by trigger: tests empty it with TRUNCATE


def migrations(dialect: str) -> list[tuple[int, list[str]]]:
    """[(version, statements)] for "postgresql" or "mysql"."""
    return [(version, [s for step in steps for s in render(step, dialect)]) for version, steps in MIGRATIONS]
