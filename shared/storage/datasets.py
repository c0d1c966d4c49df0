"""Backups: the datasets every adapter exports and imports, in one row format for all of them, so that the backup
of one backend restores into another.

A row is a dict of the dataset's columns, named as in the SQL schemas, with JSON-able values: strings, integers
and None; enums as their values; JSON columns (a licence's entitlements, details) as the JSON value itself, not
its text. Export streams each dataset in its key order, a page at a time. Import is insert-if-absent by the
dataset's key, so a restore can be run again; DATASETS lists the datasets parents first, the order to restore in.

An order event's identity is (order_id, seq), where seq is the number the event was first stored under, kept
through any number of restores: a backend that cannot store that number as its own key keeps it beside the
event (origin_seq), and exports it instead of its own. An event is skipped on import when the order already has
an event of that identity with the same kind, time and details.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from shared.storage import admin_rows, rows
from shared.storage.port import Storage

PAGE = 500  # rows read per query while exporting


@dataclass(frozen=True)
class Dataset:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]  # the export's order, and the identity of a row
    json_columns: frozenset[str] = frozenset()


_DATASETS = (
    Dataset("orders", rows.ORDER_COLUMNS, ("order_id",)),
    Dataset("licences", rows.LICENCE_COLUMNS, ("licence_id",), frozenset({"entitlements"})),
    Dataset("activations", ("licence_id", "install_hash", "activated_at"), ("licence_id", "install_hash")),
    Dataset("refunds", rows.REFUND_COLUMNS, ("out_refund_no",)),
    Dataset("order_events", ("order_id", "seq", "kind", "at", "details"), ("order_id", "seq"), frozenset({"details"})),
    Dataset(
        "anomalies", ("kind", "reference", "order_id", "details", "at"), ("kind", "reference"), frozenset({"details"})
    ),
    Dataset("notifications", ("notification_id", "event_type", "order_id", "processed_at"), ("notification_id",)),
    Dataset("admin_keys", admin_rows.ADMIN_KEY_COLUMNS, ("key_id",)),
    Dataset("audit_log", admin_rows.AUDIT_COLUMNS, ("audit_id",), admin_rows.AUDIT_JSON),
)
DATASETS: tuple[str, ...] = tuple(d.name for d in _DATASETS)
_BY_NAME = {d.name: d for d in _DATASETS}


def dataset(name: str) -> Dataset:
    """ValueError for a dataset that does not exist."""
    if name not in _BY_NAME:
        raise ValueError(f"unknown dataset {name!r}; datasets: {list(DATASETS)}")
    return _BY_NAME[name]


def exported(spec: Dataset, stored: Iterable[Any]) -> dict[str, Any]:
    """A stored row (values in the dataset's column order, JSON columns as text) as an export row."""
    row = dict(zip(spec.columns, stored, strict=True))
    for name in spec.json_columns:
        row[name] = None if row[name] is None else json.loads(row[name])  # an audit entry's before / after
    return row


def stored(spec: Dataset, row: Mapping[str, Any]) -> dict[str, Any]:
    """An export row checked (exactly the dataset's columns) with its JSON columns as stored text."""
    if set(row) != set(spec.columns):
        missing, unknown = sorted(set(spec.columns) - set(row)), sorted(set(row) - set(spec.columns))
        raise ValueError(
            f"a {spec.name} row must have columns {list(spec.columns)}: missing {missing}, unknown {unknown}"
        )
    values = {name: row[name] for name in spec.columns}
    for name in spec.json_columns:
        values[name] = None if values[name] is None else rows.encode_json(values[name])
    return values


def import_rows(
    storage: Storage,
    name: str,
    found: Iterable[Mapping[str, Any]],
    *,
    activations: Callable[[Iterator[dict[str, Any]]], int],
    order_events: Callable[[Iterator[dict[str, Any]]], int],
    audit_log: Callable[[Iterator[dict[str, Any]]], int],
) -> int:
    """Insert-if-absent, each row through the port's own insert where it has one (so a backend keeps its own
    derived rows and claims); activations, order events and audit entries (whose append answers nothing) through
    the adapter's callbacks, which receive the rows as `stored` makes them. The number of rows inserted."""
    spec = dataset(name)
    checked = (stored(spec, row) for row in found)
    if name == "activations":
        return activations(checked)
    if name == "order_events":
        return order_events(checked)
    if name == "audit_log":
        return audit_log(checked)
    insert = _INSERTS[name]
    return sum(1 for values in checked if insert(storage, values))


def _order(storage: Storage, values: dict[str, Any]) -> bool:
    return storage.insert_order(rows.order_from_row(tuple(values[c] for c in rows.ORDER_COLUMNS)))


def _licence(storage: Storage, values: dict[str, Any]) -> bool:
    return storage.insert_licence(rows.licence_from_row(tuple(values[c] for c in rows.LICENCE_COLUMNS)))


def _refund(storage: Storage, values: dict[str, Any]) -> bool:
    return storage.insert_refund(rows.refund_from_row(tuple(values[c] for c in rows.REFUND_COLUMNS)))


def _anomaly(storage: Storage, values: dict[str, Any]) -> bool:
    details = json.loads(values["details"])
    return storage.record_anomaly(values["kind"], values["order_id"], values["reference"], details, values["at"])


def _notification(storage: Storage, values: dict[str, Any]) -> bool:
    v = values
    return storage.record_notification(v["notification_id"], v["event_type"], v["order_id"], v["processed_at"])


def _admin_key(storage: Storage, values: dict[str, Any]) -> bool:
    return storage.insert_admin_key(
        admin_rows.admin_key_from_row(tuple(values[c] for c in admin_rows.ADMIN_KEY_COLUMNS))
    )


_INSERTS: dict[str, Callable[[Storage, dict[str, Any]], bool]] = {
    "orders": _order,
    "licences": _licence,
    "refunds": _refund,
    "anomalies": _anomaly,
    "notifications": _notification,
    "admin_keys": _admin_key,
}
