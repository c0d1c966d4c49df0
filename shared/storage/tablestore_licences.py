"""Licences and their bound devices on Tablestore, for shared.storage.tablestore (which explains the approach).

One licence per order, one per key hash: a licence row is written only after two claims, each EXPECT_NOT_EXIST
and naming the licence id: licence_orders[order_id] and licence_keys[key_hash]. A claim that already names this
licence id is an earlier attempt's, and is used. Once a licence row exists both its claims exist, so no other
licence id can be written for its order or key hash; writers of the same licence id race on the licence row
itself (EXPECT_NOT_EXIST), and one wins. An interrupted insert leaves claims that only this licence id can use,
and the retry completes it. A key claim counts only if the licence it names has that key hash.

Devices: a licence's bound installs are one row, {installs: JSON map install -> activated_at, version}. activate
and deactivate read it and write it back by compare-and-set on the version (EXPECT_NOT_EXIST for the first),
re-reading after a lost race. The limit is checked against exactly the set being extended, so concurrent
activations never exceed it, and one write leaves nothing partial after a crash. The row is never deleted (an
empty map stays): a deleted and re-created row could repeat a version that a slow writer still holds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from shared.domain.licences import Activation, ActivationOutcome, Licence, LicenceStatus
from shared.errors import StorageError
from shared.storage import rows
from shared.storage.port import ActivationResult
from shared.storage.tablestore_ops import CAS_ATTEMPTS, Key, TablestoreOps, not_null, pause
from shared.storage.tablestore_schema import Tables


class Licences:
    def __init__(self, ops: TablestoreOps, tables: Tables) -> None:
        self._ops, self._tables = ops, tables

    def insert(self, licence: Licence) -> bool:
        by_order = self._claim(self._tables.licence_orders, "order_id", licence.order_id, licence.licence_id)
        if by_order is None:
            return False
        by_key = self._claim(self._tables.licence_keys, "key_hash", licence.key_hash, licence.licence_id)
        if by_key is None:
            return False
        values = dict(zip(rows.LICENCE_COLUMNS, rows.licence_to_row(licence), strict=True))
        del values["licence_id"]
        if self._ops.insert(self._tables.licences, _key(licence.licence_id), values):
            return True
        self._release_strays(licence, by_order, by_key)
        return False

    def get(self, licence_id: str) -> Licence | None:
        found = self._ops.get(self._tables.licences, _key(licence_id))
        return None if found is None else rows.licence_from_row(tuple(map(found.get, rows.LICENCE_COLUMNS)))

    def by_key_hash(self, key_hash: str) -> Licence | None:
        claim = self._ops.get(self._tables.licence_keys, [("key_hash", key_hash)])
        licence = None if claim is None else self.get(claim["licence_id"])
        return licence if licence is not None and licence.key_hash == key_hash else None

    def update(self, licence_id: str, changes: Mapping[str, Any], expect: Sequence[LicenceStatus] | None) -> bool:
        values = not_null(rows.licence_changes(changes), _NULLABLE, "licence")
        if expect is not None and not expect:
            return False
        when = None if expect is None else self._ops.one_of("status", rows.status_values(expect, LicenceStatus))
        new_key = values.get("key_hash")
        if new_key is not None and self._claim(self._tables.licence_keys, "key_hash", new_key, licence_id) is None:
            raise ValueError("storage constraint violated: that key_hash belongs to another licence")
        return self._ops.update(self._tables.licences, _key(licence_id), values, when)

    def _claim(self, table: str, column: str, value: str, licence_id: str) -> bool | None:
        """Claim `value` for the licence: True if claimed now, False if it already was (by an earlier attempt at
        this licence), None if another licence holds it."""
        key = [(column, value)]
        for _ in range(3):
            if self._ops.insert(table, key, {"licence_id": licence_id}):
                return True
            holder = self._ops.get(table, key)
            if holder is not None:
                return False if holder["licence_id"] == licence_id else None
            # Released between the two calls (see _release_strays): claim again.
        raise StorageError(f"the {column} claim for licence {licence_id} keeps changing")

    def _release_strays(self, licence: Licence, by_order: bool, by_key: bool) -> None:
        """The licence id is taken. A claim this call made that the existing licence does not own could only ever
        serve a licence that can never be written: free it, or that order or key could never be licensed."""
        existing = self.get(licence.licence_id)
        if existing is None:
            return
        ours = self._ops.equals("licence_id", licence.licence_id)
        if by_order and existing.order_id != licence.order_id:
            self._ops.delete(self._tables.licence_orders, [("order_id", licence.order_id)], ours)
        if by_key and existing.key_hash != licence.key_hash:
            self._ops.delete(self._tables.licence_keys, [("key_hash", licence.key_hash)], ours)


class Devices:
    def __init__(self, ops: TablestoreOps, tables: Tables) -> None:
        self._ops, self._table = ops, tables.activations

    def activate(self, licence_id: str, install_hash: str, max_devices: int, now: int) -> ActivationResult:
        for attempt in range(CAS_ATTEMPTS):
            version, bound = self._read(licence_id)
            if install_hash in bound:
                return ActivationResult(ActivationOutcome.ALREADY_ACTIVE, _listed(licence_id, bound))
            if len(bound) >= max_devices:
                return ActivationResult(ActivationOutcome.LIMIT_REACHED, _listed(licence_id, bound))
            grown = {**bound, install_hash: now}
            if self._write(licence_id, version, grown):
                return ActivationResult(ActivationOutcome.ACTIVATED, _listed(licence_id, grown))
            pause(attempt)
        raise StorageError(f"activation on licence {licence_id} lost {CAS_ATTEMPTS} races in a row")

    def deactivate(self, licence_id: str, install_hash: str) -> bool:
        for attempt in range(CAS_ATTEMPTS):
            version, bound = self._read(licence_id)
            if install_hash not in bound:
                return False
            if self._write(licence_id, version, {h: at for h, at in bound.items() if h != install_hash}):
                return True
            pause(attempt)
        raise StorageError(f"deactivation on licence {licence_id} lost {CAS_ATTEMPTS} races in a row")

    def merge(self, licence_id: str, installs: Mapping[str, int]) -> int:
        """Bind the installs not bound yet, at their given times, whatever the limit (a restore); how many."""
        for attempt in range(CAS_ATTEMPTS):
            version, bound = self._read(licence_id)
            missing = {install: at for install, at in installs.items() if install not in bound}
            if not missing or self._write(licence_id, version, {**bound, **missing}):
                return len(missing)
            pause(attempt)
        raise StorageError(f"restoring the devices of licence {licence_id} lost {CAS_ATTEMPTS} races in a row")

    def listed(self, licence_id: str) -> list[Activation]:
        return list(_listed(licence_id, self._read(licence_id)[1]))

    def _read(self, licence_id: str) -> tuple[int, dict[str, int]]:
        found = self._ops.get(self._table, _key(licence_id))
        return (0, {}) if found is None else (found["version"], json.loads(found["installs"]))

    def _write(self, licence_id: str, version: int, bound: Mapping[str, int]) -> bool:
        values = {"installs": rows.encode_json(dict(bound)), "version": version + 1}
        if version == 0:
            return self._ops.insert(self._table, _key(licence_id), values)
        return self._ops.update(self._table, _key(licence_id), values, self._ops.equals("version", version))


_NULLABLE = frozenset(f for f in rows.LICENCE_COLUMNS if "None" in str(Licence.__dataclass_fields__[f].type))


def _key(licence_id: str) -> Key:
    return [("licence_id", licence_id)]


def _listed(licence_id: str, bound: Mapping[str, int]) -> tuple[Activation, ...]:
    ordered = sorted(bound.items(), key=lambda item: (item[1], item[0]))  # as SQL: by activation time, then install
    return tuple(Activation(licence_id, install, at) for install, at in ordered)
