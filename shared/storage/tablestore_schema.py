"""The Tablestore tables behind the storage port, and the command that creates them.

Every port operation is a key lookup or a bounded range read on one of these primary keys. Tablestore has no
UNIQUE constraint and no multi-row transaction here, so uniqueness is a row of its own (claimed with
EXPECT_NOT_EXIST) and a "secondary index" is a table the adapter writes itself, *before* the row it points to, and
checks against that row when reading (see shared.storage.tablestore). No global secondary index is used: a GSI is
filled asynchronously, so an order just created could be missing from the history the extension polls next.

A new table needs about a minute before it serves (reads and writes answer OTSTableNotReady until then, which the
SDK's retry policy retries for a while): run `migrate()` once at deployment, not on a function's cold start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.errors import ConfigError

SCHEMA_VERSION = 3  # the table set below; a change of keys means new tables (Tablestore keys never change)
AUTO_INCREMENT = "AUTO_INCREMENT"  # spelled here without the SDK; it wants its own PK_AUTO_INCR marker

# suffix -> primary key schema. Names are the dataclass field names, so rows stay readable in the console.
TABLES: dict[str, list[tuple[str, ...]]] = {
    "orders": [("order_id", "STRING")],
    # The install's history, newest first by a BACKWARD range read; rows carry no data, only the key.
    "orders_by_install": [("install_hash", "STRING"), ("created_at", "INTEGER"), ("order_id", "STRING")],
    "licences": [("licence_id", "STRING")],
    # Uniqueness claims, -> licence_id: one licence per order, one licence per key hash.
    "licence_orders": [("order_id", "STRING")],
    "licence_keys": [("key_hash", "STRING")],
    # One row per licence holding its bound installs, changed only by compare-and-set on `version`.
    "activations": [("licence_id", "STRING")],
    "notifications": [("notification_id", "STRING")],
    "idempotency_keys": [("idempotency_key", "STRING")],
    "anomalies": [("kind", "STRING"), ("reference", "STRING")],
    # Newest first over all anomalies. Time leads the key, which concentrates writes on one partition: fine for
    # a table an operator reads and that grows by a handful of rows a day.
    "anomalies_by_time": [("at", "INTEGER"), ("kind", "STRING"), ("reference", "STRING")],
    # Auto-increment values strictly increase within one partition key (the order), so the timeline keeps order.
    "order_events": [("order_id", "STRING"), ("seq", "INTEGER", AUTO_INCREMENT)],
    # -- version 2: refunds, the timer jobs' indexes, leases, reports, retention (shared.storage.tablestore_index:
    # an index leading with a status or a time leads with a shard instead, 0..SHARDS-1).
    "refunds": [("out_refund_no", "STRING")],
    "refunds_by_order": [("order_id", "STRING"), ("requested_at", "INTEGER"), ("out_refund_no", "STRING")],
    "refunds_by_status": [
        ("shard", "INTEGER"),
        ("status", "STRING"),
        ("requested_at", "INTEGER"),
        ("out_refund_no", "STRING"),
    ],
    "refunds_by_success": [("shard", "INTEGER"), ("success_at", "INTEGER"), ("out_refund_no", "STRING")],
    "orders_by_status": [("shard", "INTEGER"), ("status", "STRING"), ("created_at", "INTEGER"), ("order_id", "STRING")],
    # PENDING orders only: the ones a timer closes when they expire.
    "orders_by_expiry": [("shard", "INTEGER"), ("expires_at", "INTEGER"), ("order_id", "STRING")],
    "orders_by_paid": [("shard", "INTEGER"), ("paid_at", "INTEGER"), ("order_id", "STRING")],
    # Retention: the oldest first.
    "idempotency_keys_by_time": [("shard", "INTEGER"), ("created_at", "INTEGER"), ("idempotency_key", "STRING")],
    "notifications_by_time": [("shard", "INTEGER"), ("processed_at", "INTEGER"), ("notification_id", "STRING")],
    "job_leases": [("name", "STRING")],
    "job_reports": [("kind", "STRING"), ("report_key", "STRING")],
    # -- version 3: the admin search's indexes, admin keys, the audit log, rate-limit counters.
    # Every order, newest first (read backwards, shard by shard, merged).
    "orders_by_created": [("shard", "INTEGER"), ("created_at", "INTEGER"), ("order_id", "STRING")],
    # WeChat's transaction ids share a prefix and grow with time: a shard leads, and a lookup reads each shard.
    "orders_by_transaction": [("shard", "INTEGER"), ("transaction_id", "STRING"), ("order_id", "STRING")],
    "admin_keys": [("key_id", "STRING")],
    # Append-only. Time leads (audit_id): a handful of rows a day, like anomalies_by_time.
    "audit_log": [("audit_id", "STRING")],
    "audit_by_target": [("target", "STRING"), ("audit_id", "STRING")],
    # One row per rate-limit window: `counter` is the JSON [name, window].
    "counters": [("counter", "STRING")],
    "counters_by_expiry": [("shard", "INTEGER"), ("expires_at", "INTEGER"), ("counter", "STRING")],
}


@dataclass(frozen=True)
class Tables:
    """The full table names under one prefix (several deployments can share an instance)."""

    orders: str
    orders_by_install: str
    licences: str
    licence_orders: str
    licence_keys: str
    activations: str
    notifications: str
    idempotency_keys: str
    anomalies: str
    anomalies_by_time: str
    order_events: str
    refunds: str
    refunds_by_order: str
    refunds_by_status: str
    refunds_by_success: str
    orders_by_status: str
    orders_by_expiry: str
    orders_by_paid: str
    idempotency_keys_by_time: str
    notifications_by_time: str
    job_leases: str
    job_reports: str
    orders_by_created: str
    orders_by_transaction: str
    admin_keys: str
    audit_log: str
    audit_by_target: str
    counters: str
    counters_by_expiry: str

    @classmethod
    def with_prefix(cls, prefix: str) -> Tables:
        return cls(**{suffix: prefix + suffix for suffix in TABLES})

    def schemas(self) -> dict[str, list[tuple[str, ...]]]:
        return {getattr(self, suffix): schema for suffix, schema in TABLES.items()}


def create_missing(client: Any, tables: Tables, sdk: Any) -> list[str]:
    """Create the tables that do not exist yet; return their names. Idempotent, and safe to run from two places
    at once (the loser of a create race sees OTSObjectAlreadyExist). An existing table whose primary key differs
    from ours is refused rather than used: a prefix clash with another application must not mix data."""
    existing = set(client.list_table())
    created = []
    for name, schema in tables.schemas().items():
        if name in existing:
            _check_schema(client.describe_table(name).table_meta, name, schema)
            continue
        meta = sdk.TableMeta(name, [_sdk_column(column, sdk) for column in schema])
        # max_version=1: a row is its latest value, as in SQL; time_to_live=-1: nothing expires on its own.
        options = sdk.TableOptions(time_to_live=-1, max_version=1)
        try:
            client.create_table(meta, options, sdk.ReservedThroughput(sdk.CapacityUnit(0, 0)))
        except sdk.OTSServiceError as exc:
            if exc.code != "OTSObjectAlreadyExist":
                raise
            continue
        created.append(name)
    return created


def _sdk_column(column: tuple[str, ...], sdk: Any) -> tuple[Any, ...]:
    return (column[0], column[1], sdk.PK_AUTO_INCR) if len(column) == 3 else column


def _check_schema(meta: Any, name: str, schema: list[tuple[str, ...]]) -> None:
    found = [(column[0], column[1], len(column) == 3) for column in meta.schema_of_primary_key]
    wanted = [(column[0], column[1], len(column) == 3) for column in schema]
    if found != wanted:
        raise ConfigError(
            f"Tablestore table {name} exists with another primary key ({found}, expected {wanted}):"
            " choose another table_prefix"
        )
