"""The SQLite schema as numbered migrations. A migration is a tuple of single statements (not a script:
`executescript` would commit the transaction that makes concurrent migration safe). Never edit a released
migration; append a new one.
"""

from __future__ import annotations

MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE orders (
                order_id TEXT NOT NULL PRIMARY KEY,
                product_id TEXT NOT NULL,
                install_hash TEXT NOT NULL,
                amount_fen INTEGER NOT NULL,
                currency TEXT NOT NULL,
                description TEXT NOT NULL,
                mchid TEXT NOT NULL,
                appid TEXT NOT NULL,
                status TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                poll_token_hash TEXT NOT NULL,
                code_url TEXT,
                transaction_id TEXT,
                paid_at INTEGER,
                payer_hash TEXT,
                last_queried_at INTEGER,
                closed_at INTEGER,
                updated_at INTEGER
            )""",
            "CREATE INDEX orders_by_install ON orders (install_hash, created_at)",
            # For the timer jobs: overdue PENDING orders to query or close.
            "CREATE INDEX orders_by_status ON orders (status, created_at)",
            "CREATE INDEX orders_by_expiry ON orders (expires_at)",
            """CREATE TABLE licences (
                licence_id TEXT NOT NULL PRIMARY KEY,
                order_id TEXT NOT NULL UNIQUE REFERENCES orders (order_id),
                product_id TEXT NOT NULL,
                key_hash TEXT NOT NULL UNIQUE,
                status TEXT NOT NULL,
                entitlements TEXT NOT NULL,
                max_devices INTEGER NOT NULL,
                issued_at INTEGER NOT NULL,
                expires_at INTEGER,
                revoked_at INTEGER,
                revoke_reason TEXT
            )""",
            """CREATE TABLE activations (
                licence_id TEXT NOT NULL REFERENCES licences (licence_id),
                install_hash TEXT NOT NULL,
                activated_at INTEGER NOT NULL,
                PRIMARY KEY (licence_id, install_hash)
            )""",
            """CREATE TABLE notifications (
                notification_id TEXT NOT NULL PRIMARY KEY,
                event_type TEXT NOT NULL,
                order_id TEXT,
                processed_at INTEGER NOT NULL
            )""",
            # No foreign key to orders: a key is claimed before its order is created.
            """CREATE TABLE idempotency_keys (
                key TEXT NOT NULL PRIMARY KEY,
                fingerprint TEXT NOT NULL,
                order_id TEXT NOT NULL,
                created_at INTEGER NOT NULL
            )""",
            """CREATE TABLE anomalies (
                kind TEXT NOT NULL,
                reference TEXT NOT NULL,
                order_id TEXT,
                details TEXT NOT NULL,
                at INTEGER NOT NULL,
                PRIMARY KEY (kind, reference)
            )""",
            "CREATE INDEX anomalies_by_time ON anomalies (at)",
        ),
    ),
    (
        2,
        (
            # The order's timeline, append-only: each state change, written by the writer that won it.
            """CREATE TABLE order_events (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                order_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                at INTEGER NOT NULL,
                details TEXT NOT NULL
            )""",
            "CREATE INDEX order_events_by_order ON order_events (order_id, seq)",
        ),
    ),
    (
        3,
        (
            # Refunds (shared.domain.refunds): one row per out_refund_no, moved by compare-and-set on status.
            """CREATE TABLE refunds (
                out_refund_no TEXT NOT NULL PRIMARY KEY,
                order_id TEXT NOT NULL REFERENCES orders (order_id),
                amount_fen INTEGER NOT NULL,
                status TEXT NOT NULL,
                reason TEXT NOT NULL,
                requested_by TEXT NOT NULL,
                requested_at INTEGER NOT NULL,
                refund_id TEXT,
                success_at INTEGER,
                updated_at INTEGER
            )""",
            "CREATE INDEX refunds_by_order ON refunds (order_id, requested_at, out_refund_no)",
            "CREATE INDEX refunds_by_status ON refunds (status, requested_at, out_refund_no)",
            "CREATE INDEX refunds_by_success ON refunds (success_at, out_refund_no)",
            # The timer jobs' queries, each ordered by its index (the key breaks ties): version 1's indexes
            # left the tie to a sort, and the expiry one left the status to a scan of every expired order.
            "CREATE INDEX orders_by_status_created ON orders (status, created_at, order_id)",
            "CREATE INDEX orders_by_status_expiry ON orders (status, expires_at, order_id)",
            "CREATE INDEX orders_by_paid ON orders (paid_at, order_id)",
            "DROP INDEX orders_by_status",
            "DROP INDEX orders_by_expiry",
            # Retention (purge): the oldest first.
            "CREATE INDEX idempotency_keys_by_time ON idempotency_keys (created_at, key)",
            "CREATE INDEX notifications_by_time ON notifications (processed_at, notification_id)",
            # An imported event's identity from the backup it came from (shared.storage.datasets).
            "ALTER TABLE order_events ADD COLUMN origin_seq INTEGER",
            """CREATE TABLE job_leases (
                name TEXT NOT NULL PRIMARY KEY,
                owner TEXT NOT NULL,
                expires_at INTEGER NOT NULL
            )""",
            """CREATE TABLE job_reports (
                kind TEXT NOT NULL,
                report_key TEXT NOT NULL,
                report TEXT NOT NULL,
                at INTEGER NOT NULL,
                PRIMARY KEY (kind, report_key)
            )""",
        ),
    ),
    (
        4,
        (
            """CREATE TABLE admin_keys (
                key_id TEXT NOT NULL PRIMARY KEY,
                key_hash TEXT NOT NULL,
                role TEXT NOT NULL,
                name TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                revoked_at INTEGER
            )""",
            # Append-only: the triggers below refuse UPDATE and DELETE. Columns as in shared.storage.sql.schema.
            """CREATE TABLE audit_log (
                audit_id TEXT NOT NULL PRIMARY KEY,
                at INTEGER NOT NULL,
                actor TEXT NOT NULL,
                actor_name TEXT NOT NULL,
                role TEXT NOT NULL,
                action TEXT NOT NULL,
                target TEXT NOT NULL,
                outcome TEXT NOT NULL,
                state_before TEXT,
                state_after TEXT,
                request_id TEXT,
                source_ip TEXT
            )""",
            "CREATE INDEX audit_log_by_target ON audit_log (target, audit_id)",
            """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END""",
            """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END""",
            # Rate limits: one row per (name, window).
            """CREATE TABLE counters (
                name TEXT NOT NULL,
                time_window INTEGER NOT NULL,
                hits INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                PRIMARY KEY (name, time_window)
            )""",
            "CREATE INDEX counters_by_expiry ON counters (expires_at, name, time_window)",
            # The admin search: by transaction id, by product, and all orders newest first.
            "CREATE INDEX orders_by_transaction ON orders (transaction_id)",
            "CREATE INDEX orders_by_product ON orders (product_id, created_at, order_id)",
            "CREATE INDEX orders_by_created ON orders (created_at, order_id)",
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1][0]
