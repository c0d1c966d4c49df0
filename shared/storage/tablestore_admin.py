"""Reports listed, admin keys, the audit log and rate-limit counters on Tablestore, for shared.storage.tablestore
(which mixes this in), each on one conditional single-row write:

* A key is inserted with EXPECT_NOT_EXIST and revoked by an update conditioned on revoked_at being missing.
* An audit entry is written once (EXPECT_NOT_EXIST) and never updated or deleted by the code: Tablestore has no
  trigger to refuse a write, so append-only rests on the code and on the RAM policy of the functions' role. Its
  by-target row is written first and counts only when the entry exists with that target.
* A counter adds one by compare-and-set on its value: read, then insert (EXPECT_NOT_EXIST, the value 1) or update
  conditioned on the value read. Each hit that succeeds moves the value by exactly one, so two hits never return
  the same value. (UpdateRow's atomic increment would save the read, but the Python SDK cannot ask for the value
  after the increment: its ReturnType has no RT_AFTER_MODIFY.) Its by-expiry row, for retention, is written
  before the row, as for the other purgeable datasets.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from shared.domain.admin import AdminKey, AuditEntry
from shared.errors import StorageError
from shared.storage import admin_rows
from shared.storage.tablestore_jobs import time_index
from shared.storage.tablestore_ops import TablestoreOps, Values, pause
from shared.storage.tablestore_schema import Tables

COUNTER_ATTEMPTS = 64  # rate limits are contended by design (one address hammering): more rounds than a CAS_ATTEMPTS


class AdminRecords:
    _ops: TablestoreOps
    tables: Tables

    # -- reports -----------------------------------------------------------------------------------------
    def reports(self, kind: str, limit: int) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        high, low = self._ops.sdk.INF_MAX, self._ops.sdk.INF_MIN
        pages = self._ops.scan(
            self.tables.job_reports,
            [("kind", kind), ("report_key", high)],
            [("kind", kind), ("report_key", low)],
            backward=True,
            page=limit,
        )
        found: list[dict[str, Any]] = []
        for page in pages:
            found += [{"key": r["report_key"], "at": r["at"], "report": json.loads(r["report"])} for r in page]
            if len(found) >= limit:
                break
        return found[:limit]

    # -- admin keys ----------------------------------------------------------------------------------------
    def insert_admin_key(self, key: AdminKey) -> bool:
        values = dict(zip(admin_rows.ADMIN_KEY_COLUMNS, admin_rows.admin_key_to_row(key), strict=True))
        del values["key_id"]
        return self._ops.insert(self.tables.admin_keys, [("key_id", key.key_id)], values)

    def get_admin_key(self, key_id: str) -> AdminKey | None:
        found = self._ops.get(self.tables.admin_keys, [("key_id", key_id)])
        return None if found is None else _admin_key(found)

    def admin_keys(self) -> list[AdminKey]:
        low, high = self._ops.sdk.INF_MIN, self._ops.sdk.INF_MAX
        pages = self._ops.scan(self.tables.admin_keys, [("key_id", low)], [("key_id", high)], page=500)
        return sorted((_admin_key(row) for page in pages for row in page), key=lambda k: (k.created_at, k.key_id))

    def revoke_admin_key(self, key_id: str, at: int) -> bool:
        # -1: a value revoked_at never holds, of its type: the condition passes only when revoked_at is missing.
        not_revoked = self._ops.missing("revoked_at", -1)
        return self._ops.update(self.tables.admin_keys, [("key_id", key_id)], {"revoked_at": at}, not_revoked)

    # -- the audit log ---------------------------------------------------------------------------------------
    def append_audit(self, entry: AuditEntry) -> None:
        if not self._insert_audit(admin_rows.audit_to_row(entry)):
            raise ValueError(f"storage constraint violated: audit entry {entry.audit_id} exists")

    def audit_entries(self, before: str | None, limit: int, target: str | None = None) -> list[AuditEntry]:
        if limit <= 0:
            return []
        high, low = self._ops.sdk.INF_MAX, self._ops.sdk.INF_MIN
        start = high if before is None else before  # inclusive: an entry equal to `before` is skipped below
        if target is None:
            pages = self._ops.scan(
                self.tables.audit_log, [("audit_id", start)], [("audit_id", low)], backward=True, page=limit + 1
            )
            rows: Iterator[Values] = (row for page in pages for row in page)
        else:
            pages = self._ops.scan(
                self.tables.audit_by_target,
                [("target", target), ("audit_id", start)],
                [("target", target), ("audit_id", low)],
                backward=True,
                page=limit + 1,
            )
            rows = self._entries_of(pages, target)
        found: list[AuditEntry] = []
        for row in rows:
            if row["audit_id"] != before:
                found.append(_audit(row))
                if len(found) == limit:
                    break
        return found

    def import_audit(self, found: Iterator[dict[str, Any]]) -> int:
        """Rows as datasets.stored makes them (before and after as JSON text, or None); insert-if-absent."""
        return sum(1 for row in found if self._insert_audit(tuple(row[c] for c in admin_rows.AUDIT_COLUMNS)))

    # -- rate-limit counters ---------------------------------------------------------------------------------
    def hit_counter(self, name: str, window: int, expires_at: int) -> int:
        key = [("counter", json.dumps([name, window], ensure_ascii=False, separators=(",", ":")))]
        for attempt in range(COUNTER_ATTEMPTS):
            current = self._ops.get(self.tables.counters, key)
            if current is None:
                index = time_index(self.tables.counters_by_expiry, "expires_at", "counter")
                index_key = index.key({"expires_at": expires_at, "counter": key[0][1]})
                assert index_key is not None  # both columns are set
                self._ops.put(index.table, index_key, {})
                values = {"name": name, "time_window": window, "hits": 1, "expires_at": expires_at}
                if self._ops.insert(self.tables.counters, key, values):
                    return 1
            else:
                hits = int(current["hits"])
                if self._ops.update(self.tables.counters, key, {"hits": hits + 1}, self._ops.equals("hits", hits)):
                    return hits + 1
            pause(attempt)
        raise StorageError(f"the rate-limit counter {name!r} kept moving: {COUNTER_ATTEMPTS} attempts lost")

    # -- plumbing ----------------------------------------------------------------------------------------
    def _insert_audit(self, row: tuple[Any, ...]) -> bool:
        values = dict(zip(admin_rows.AUDIT_COLUMNS, row, strict=True))
        audit_id = values.pop("audit_id")
        self._ops.put(self.tables.audit_by_target, [("target", values["target"]), ("audit_id", audit_id)], {})
        return self._ops.insert(self.tables.audit_log, [("audit_id", audit_id)], values)

    def _entries_of(self, pages: Iterator[list[Values]], target: str) -> Iterator[Values]:
        """The entries by-target rows point to, in their order, keeping those that exist with that target."""
        for page in pages:
            keys = [[("audit_id", entry["audit_id"])] for entry in page]
            for entry in self._ops.batch_get(self.tables.audit_log, keys):
                if entry is not None and entry["target"] == target:
                    yield entry


def _admin_key(row: Values) -> AdminKey:
    return admin_rows.admin_key_from_row(tuple(row.get(c) for c in admin_rows.ADMIN_KEY_COLUMNS))


def _audit(row: Values) -> AuditEntry:
    return admin_rows.audit_from_row(tuple(row.get(c) for c in admin_rows.AUDIT_COLUMNS))
