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
)

LATEST_VERSION = MIGRATIONS[-1][0]
