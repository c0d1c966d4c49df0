"""Backups on Tablestore (export_rows / import_rows), for shared.storage.tablestore; the row format and the
rules are shared.storage.datasets'.

Export reads each dataset's table by its primary key, a page at a time, and maps its rows to the common format:
the devices of a licence (one row, a JSON map) become one row per install, in install order; an order event
exports the identity it was first stored under (`origin_seq`, kept beside it when it was restored from a
backup: an auto-increment key column cannot be written). Import goes through the adapter's own inserts, which
write each row's index rows and claims; devices are merged into the licence's row by compare-and-set; events are
appended to their order in the order given, unless the order has one of that identity and content already.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from shared.storage import admin_rows, datasets, rows
from shared.storage.port import Storage
from shared.storage.tablestore_licences import Devices
from shared.storage.tablestore_ops import Key, TablestoreOps, Values
from shared.storage.tablestore_schema import TABLES, Tables

Exported = Callable[[Values], Iterable[tuple[Any, ...]]]  # a stored row -> its export rows, in column order


class Backups:
    def __init__(
        self,
        storage: Storage,
        ops: TablestoreOps,
        tables: Tables,
        devices: Devices,
        audit: Callable[[Iterator[dict[str, Any]]], int],
    ) -> None:
        self._storage, self._ops, self._tables, self._devices, self._audit = storage, ops, tables, devices, audit

    def export(self, name: str) -> Iterator[dict[str, Any]]:
        spec = datasets.dataset(name)  # checked now, not on the first read
        return self._export(spec, name, _EXPORTED[name])

    def import_rows(self, name: str, found: Iterator[dict[str, Any]]) -> int:
        return datasets.import_rows(
            self._storage,
            name,
            found,
            activations=self._import_activations,
            order_events=self._import_events,
            audit_log=self._audit,
        )

    def stored(self, name: str) -> Iterator[Values]:
        """Every row of a dataset's table, in key order, a page at a time."""
        key = [column[0] for column in TABLES[name]]
        low, high = self._ops.sdk.INF_MIN, self._ops.sdk.INF_MAX
        pages = self._ops.scan(
            getattr(self._tables, name), [(c, low) for c in key], [(c, high) for c in key], page=datasets.PAGE
        )
        return (row for page in pages for row in page)

    def _export(self, spec: datasets.Dataset, name: str, exported: Exported) -> Iterator[dict[str, Any]]:
        for stored in self.stored(name):
            for values in exported(stored):
                yield datasets.exported(spec, values)

    def _import_activations(self, found: Iterator[dict[str, Any]]) -> int:
        merged = 0
        for licence_id, group in itertools.groupby(found, key=lambda row: row["licence_id"]):
            merged += self._devices.merge(licence_id, {row["install_hash"]: row["activated_at"] for row in group})
        return merged

    def _import_events(self, found: Iterator[dict[str, Any]]) -> int:
        appended = 0
        for order_id, group in itertools.groupby(found, key=lambda row: row["order_id"]):
            present = {_identity(event) for event in self._events_of(order_id)}
            for event in group:
                identity = (event["seq"], event["kind"], event["at"], event["details"])
                if identity in present:
                    continue
                key: Key = [("order_id", order_id), ("seq", self._ops.sdk.PK_AUTO_INCR)]
                values = {
                    "kind": event["kind"],
                    "at": event["at"],
                    "details": event["details"],
                    "origin_seq": event["seq"],
                }
                self._ops.put(self._tables.order_events, key, values)
                present.add(identity)
                appended += 1
        return appended

    def _events_of(self, order_id: str) -> Iterator[Values]:
        low, high = self._ops.sdk.INF_MIN, self._ops.sdk.INF_MAX
        start, end = [("order_id", order_id), ("seq", low)], [("order_id", order_id), ("seq", high)]
        return (event for page in self._ops.scan(self._tables.order_events, start, end) for event in page)


def _columns(*names: str) -> Exported:
    return lambda stored: [tuple(stored.get(name) for name in names)]


def _devices(stored: Values) -> list[tuple[Any, ...]]:
    installs = json.loads(stored["installs"])
    return [(stored["licence_id"], install, installs[install]) for install in sorted(installs)]


def _event(stored: Values) -> list[tuple[Any, ...]]:
    return [(stored["order_id"], _identity(stored)[0], stored["kind"], stored["at"], stored["details"])]


def _identity(event: Values) -> tuple[Any, ...]:
    return (event.get("origin_seq", event["seq"]), event["kind"], event["at"], event["details"])


_EXPORTED: dict[str, Exported] = {
    "orders": _columns(*rows.ORDER_COLUMNS),
    "licences": _columns(*rows.LICENCE_COLUMNS),
    "activations": _devices,
    "refunds": _columns(*rows.REFUND_COLUMNS),
    "order_events": _event,
    "anomalies": _columns("kind", "reference", "order_id", "details", "at"),
    "notifications": _columns("notification_id", "event_type", "order_id", "processed_at"),
    "admin_keys": _columns(*admin_rows.ADMIN_KEY_COLUMNS),
    "audit_log": _columns(*admin_rows.AUDIT_COLUMNS),
}
