"""The Tablestore adapter of the storage port (Alibaba Cloud's serverless wide-column store). Tables are in
shared.storage.tablestore_schema, SDK calls in shared.storage.tablestore_ops, licences and devices in
shared.storage.tablestore_licences; opening one from STORAGE_URL is shared.storage.tablestore_connect.

Tablestore writes one row atomically, under a condition (row existence, column values); there is no multi-row
transaction. So every guarantee of the port rests on one conditional single-row write: insert-if-absent is
put_row with EXPECT_NOT_EXIST, compare-and-set is update_row with EXPECT_EXIST and a column condition on `status`
(pass_if_missing=False), and OTSConditionCheckFail answers False. Where an operation writes several rows, they
are written in the order that leaves nothing wrong to a reader if the function dies in between, and lets a retry
finish the job. An order's history row (orders_by_install) is written before the order; a history row counts only
when its order exists and agrees with it, so an interrupted or refused insert leaves an invisible row, and every
stored order is in its install's history. Anomalies and their by-time rows work the same way.

Every read is a key lookup or a bounded range read; Tablestore reads are strongly consistent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from typing import Any

from shared.domain.licences import Activation, Licence, LicenceStatus
from shared.domain.orders import Order, OrderStatus
from shared.errors import ConfigError, StorageError
from shared.storage import rows
from shared.storage._jobs_not_yet import JobsNotYet
from shared.storage.port import ActivationResult, IdempotencyRecord
from shared.storage.tablestore_licences import Devices, Licences
from shared.storage.tablestore_ops import CAS_ATTEMPTS, Key, TablestoreOps, Values, not_null, pause
from shared.storage.tablestore_schema import SCHEMA_VERSION, Tables, create_missing

_PREFIX = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_]{0,63})?")  # table names are [A-Za-z_][A-Za-z0-9_]*
_ORDER_NULLABLE = frozenset(f.name for f in fields(Order) if "None" in str(f.type))
_HISTORY_FIELDS = frozenset({"install_hash", "created_at"})  # the order's key in orders_by_install


class TablestoreStorage(JobsNotYet):
    def __init__(self, client: Any, *, table_prefix: str = "wxpay_") -> None:
        """`client` is a tablestore.OTSClient (see shared.storage.tablestore_connect) or a stand-in for tests."""
        if not _PREFIX.fullmatch(table_prefix):
            raise ConfigError("the Tablestore table_prefix must be letters, digits and _, not starting with a digit")
        self.tables = Tables.with_prefix(table_prefix)
        self._ops = TablestoreOps(client)
        self._client = client
        self._licences = Licences(self._ops, self.tables)
        self._devices = Devices(self._ops, self.tables)

    def migrate(self) -> list[str]:
        """Create missing tables (idempotent); the names created. They serve about a minute later."""
        with self._ops.translated("CreateTable", self.tables.orders):
            return create_missing(self._client, self.tables, self._ops.sdk)

    def schema_version(self) -> int:
        """SCHEMA_VERSION when every table exists, else 0 (for `python -m scripts.storage version`)."""
        with self._ops.translated("ListTable", self.tables.orders):
            existing = set(self._client.list_table())
        return SCHEMA_VERSION if set(self.tables.schemas()) <= existing else 0

    # -- orders ------------------------------------------------------------------------------------------
    def insert_order(self, order: Order) -> bool:
        values = dict(zip(rows.ORDER_COLUMNS, rows.order_to_row(order), strict=True))
        self._ops.put(
            self.tables.orders_by_install, _history_key(order.install_hash, order.created_at, order.order_id), {}
        )
        return self._ops.insert(self.tables.orders, _order_key(order.order_id), _without(values, "order_id"))

    def get_order(self, order_id: str) -> Order | None:
        found = self._ops.get(self.tables.orders, _order_key(order_id))
        return None if found is None else _order(found)

    def update_order(
        self, order_id: str, changes: Mapping[str, Any], *, expect_status: Sequence[OrderStatus] | None = None
    ) -> bool:
        values = not_null(rows.order_changes(changes), _ORDER_NULLABLE, "order")
        if expect_status is not None and not expect_status:
            return False
        when = (
            None
            if expect_status is None
            else self._ops.one_of("status", rows.status_values(expect_status, OrderStatus))
        )
        if _HISTORY_FIELDS & values.keys():
            return self._move_order(order_id, values, when)
        return self._ops.update(self.tables.orders, _order_key(order_id), values, when)

    def orders_for_install(self, install_hash: str, limit: int) -> list[Order]:
        if limit <= 0:
            return []
        high, low = self._ops.sdk.INF_MAX, self._ops.sdk.INF_MIN
        pages = self._ops.scan(
            self.tables.orders_by_install,
            _history_key(install_hash, high, high),
            _history_key(install_hash, low, low),
            backward=True,
            page=limit,
        )
        found = self._follow(
            pages,
            self.tables.orders,
            lambda entry: _order_key(entry["order_id"]),
            lambda entry, order: (order["install_hash"], order["created_at"]) == (install_hash, entry["created_at"]),
            limit,
        )
        return [_order(values) for values in found]

    def _move_order(self, order_id: str, values: Mapping[str, Any], when: Any) -> bool:
        """A change of install_hash or created_at moves the order in the history: write the new history row
        first, then change the order only if the fields it was computed from are still the ones read."""
        for attempt in range(CAS_ATTEMPTS):
            current = self.get_order(order_id)
            if current is None:
                return False
            install = values.get("install_hash", current.install_hash)
            created = values.get("created_at", current.created_at)
            self._ops.put(self.tables.orders_by_install, _history_key(install, created, order_id), {})
            read = [
                self._ops.equals("install_hash", current.install_hash),
                self._ops.equals("created_at", current.created_at),
            ]
            if self._ops.update(self.tables.orders, _order_key(order_id), values, self._ops.all_of([when, *read])):
                return True
            after = self.get_order(order_id)
            if after is None or (after.install_hash, after.created_at) == (current.install_hash, current.created_at):
                return False  # the status was not one of the expected: a plain compare-and-set miss
            pause(attempt)
        raise StorageError(f"order {order_id} kept moving during an update")

    # -- licences and devices (shared.storage.tablestore_licences) --------------------------------------
    def insert_licence(self, licence: Licence) -> bool:
        return self._licences.insert(licence)

    def get_licence(self, licence_id: str) -> Licence | None:
        return self._licences.get(licence_id)

    def get_licence_by_key_hash(self, key_hash: str) -> Licence | None:
        return self._licences.by_key_hash(key_hash)

    def update_licence(
        self, licence_id: str, changes: Mapping[str, Any], *, expect_status: Sequence[LicenceStatus] | None = None
    ) -> bool:
        return self._licences.update(licence_id, changes, expect_status)

    def activate(self, licence_id: str, install_hash: str, max_devices: int, now: int) -> ActivationResult:
        return self._devices.activate(licence_id, install_hash, max_devices, now)

    def deactivate(self, licence_id: str, install_hash: str) -> bool:
        return self._devices.deactivate(licence_id, install_hash)

    def activations(self, licence_id: str) -> list[Activation]:
        return self._devices.listed(licence_id)

    # -- notifications, idempotency, anomalies -----------------------------------------------------------
    def record_notification(self, notification_id: str, event_type: str, order_id: str | None, at: int) -> bool:
        values = {"event_type": event_type, "order_id": order_id, "processed_at": at}
        return self._ops.insert(self.tables.notifications, [("notification_id", notification_id)], values)

    def notification_processed(self, notification_id: str) -> bool:
        return self._ops.get(self.tables.notifications, [("notification_id", notification_id)]) is not None

    def claim_idempotency_key(self, record: IdempotencyRecord) -> IdempotencyRecord:
        key = [("idempotency_key", record.key)]
        values = {"fingerprint": record.fingerprint, "order_id": record.order_id, "created_at": record.created_at}
        if self._ops.insert(self.tables.idempotency_keys, key, values):
            return record
        stored = self._ops.get(self.tables.idempotency_keys, key)
        if stored is None:
            raise StorageError("an idempotency key vanished after a refused insert")
        return IdempotencyRecord(record.key, stored["fingerprint"], stored["order_id"], stored["created_at"])

    def record_anomaly(
        self, kind: str, order_id: str | None, reference: str, details: Mapping[str, Any], at: int
    ) -> bool:
        self._ops.put(self.tables.anomalies_by_time, [("at", at), ("kind", kind), ("reference", reference)], {})
        values = {"order_id": order_id, "details": rows.encode_json(dict(details)), "at": at}
        return self._ops.insert(self.tables.anomalies, [("kind", kind), ("reference", reference)], values)

    def anomalies(self, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first; anomalies of the same second come in descending (kind, reference) order."""
        if limit <= 0:
            return []
        high, low = self._ops.sdk.INF_MAX, self._ops.sdk.INF_MIN
        pages = self._ops.scan(
            self.tables.anomalies_by_time,
            [("at", high), ("kind", high), ("reference", high)],
            [("at", low), ("kind", low), ("reference", low)],
            backward=True,
            page=limit,
        )
        found = self._follow(
            pages,
            self.tables.anomalies,
            lambda entry: [("kind", entry["kind"]), ("reference", entry["reference"])],
            lambda entry, anomaly: anomaly["at"] == entry["at"],
            limit,
        )
        return [
            {
                "kind": a["kind"],
                "order_id": a.get("order_id"),
                "reference": a["reference"],
                "details": json.loads(a["details"]),
                "at": a["at"],
            }
            for a in found
        ]

    # -- the order's timeline ----------------------------------------------------------------------------
    def append_order_event(self, order_id: str, kind: str, at: int, details: Mapping[str, Any]) -> None:
        key = [("order_id", order_id), ("seq", self._ops.sdk.PK_AUTO_INCR)]
        self._ops.put(
            self.tables.order_events, key, {"kind": kind, "at": at, "details": rows.encode_json(dict(details))}
        )

    def order_events(self, order_id: str) -> list[dict[str, Any]]:
        low, high = self._ops.sdk.INF_MIN, self._ops.sdk.INF_MAX
        pages = self._ops.scan(
            self.tables.order_events, [("order_id", order_id), ("seq", low)], [("order_id", order_id), ("seq", high)]
        )
        return [{"kind": e["kind"], "at": e["at"], "details": json.loads(e["details"])} for page in pages for e in page]

    def ping(self) -> None:
        self._ops.get(self.tables.orders, _order_key("~ping"))  # a missing row: one read unit, proves table and keys

    # -- plumbing ----------------------------------------------------------------------------------------
    def _follow(
        self,
        pages: Iterable[list[Values]],
        table: str,
        key_of: Callable[[Values], Key],
        agrees: Callable[[Values, Values], bool],
        limit: int,
    ) -> list[Values]:
        """The rows of `table` that index rows point to, in index order, keeping only rows that agree with their
        index row: an index row is written first, so it can outlive an interrupted or refused insert."""
        found: list[Values] = []
        for page in pages:
            targets = self._ops.batch_get(table, [key_of(entry) for entry in page])
            for entry, target in zip(page, targets, strict=True):
                if target is not None and agrees(entry, target):
                    found.append(target)
                    if len(found) == limit:
                        return found
        return found


def _order_key(order_id: str) -> Key:
    return [("order_id", order_id)]


def _history_key(install_hash: str, created_at: Any, order_id: Any) -> Key:
    return [("install_hash", install_hash), ("created_at", created_at), ("order_id", order_id)]


def _without(values: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in values.items() if name != key}


def _order(values: Values) -> Order:
    return rows.order_from_row(tuple(values.get(name) for name in rows.ORDER_COLUMNS))
