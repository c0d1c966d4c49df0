"""Index tables kept in step with a main table (orders, refunds), for shared.storage.tablestore, whose rule they
follow: an index row is written before the row it points to, and counts only when that row exists and derives
exactly that index key now ("checked on read"). No transaction spans two rows, so the writes are ordered:

* insert: put the new row's index rows, each carrying a fresh random `token`, then insert the row
  (EXPECT_NOT_EXIST) with `gen` = that token.
* an update of a column an index is made of: read the row; read the index rows the change leaves (their tokens);
  put the ones it enters; compare-and-set the row on the caller's condition AND on `gen` being the one read (no
  other index-moving write came in between), setting a new `gen`; then delete the rows it left, each only if its
  token is still the one read before the compare-and-set. A writer that enters that state again put its row
  after that read (it had to read this write's result first), so its row carries another token and stays. A
  lost compare-and-set tries again if another write moved the row, or answers False if the caller's condition
  failed.
* any other update is the plain compare-and-set.

So the index rows of a row's current state always exist, and the writer that leaves a state removes its rows.
Stale rows remain only where a writer lost (a refused insert, a lost compare-and-set that entered a state the row
never reached) or died between its writes; the read check skips them. A losing writer does not delete what it
put: by then its put may have replaced the token of a row that a winning writer, between its own put and its
compare-and-set, relies on, and nothing could tell the two apart. Rows written
before these columns existed have no `gen` and index rows without `token`: both read as "missing", which the
conditions match exactly.

An index whose key would lead with a status or a time leads with a shard (crc32 of the row's id, mod SHARDS)
instead: Tablestore partitions by the first key column, and writes all landing on one partition are the hot spot
docs/capacity.md §6 rules out. A read of such an index reads each shard's range and merges them.
"""

from __future__ import annotations

import heapq
import secrets
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from shared.errors import StorageError
from shared.storage.tablestore_ops import CAS_ATTEMPTS, Key, TablestoreOps, Values, pause

SHARDS = 16  # part of the index tables' keys: never change it on a deployed instance
_BATCH = 100
Entry = tuple[str, tuple[tuple[str, Any], ...]]  # (index table, key) in a hashable form


def shard_of(row_id: str) -> int:
    return zlib.crc32(row_id.encode()) % SHARDS


@dataclass(frozen=True)
class Index:
    table: str
    columns: tuple[str, ...]  # the row's columns the key is made of, in key order (after the shard); the row's id last
    sharded: bool = False
    applies: Callable[[Values], bool] = field(default=lambda row: True)  # the row is indexed in its current state

    def key(self, row: Mapping[str, Any]) -> Key | None:
        """This index's key for the row as it is, or None when it is not in this index."""
        if any(row.get(column) is None for column in self.columns) or not self.applies(dict(row)):
            return None
        key = [(column, row[column]) for column in self.columns]
        return [("shard", shard_of(row[self.columns[-1]])), *key] if self.sharded else key


class IndexedTable:
    def __init__(self, ops: TablestoreOps, table: str, id_column: str, indexes: Sequence[Index]) -> None:
        self._ops, self.table, self._id, self.indexes = ops, table, id_column, tuple(indexes)
        self._indexed = frozenset(column for index in indexes for column in index.columns)

    def get(self, row_id: str) -> Values | None:
        return self._ops.get(self.table, [(self._id, row_id)])

    def insert(self, row: Mapping[str, Any]) -> bool:
        token, present = _token(), {name: value for name, value in row.items() if value is not None}
        entered = self._entries(present)
        for table, key in entered:
            self._ops.put(table, list(key), {"token": token})
        values = {name: value for name, value in present.items() if name != self._id}
        return self._ops.insert(self.table, [(self._id, row[self._id])], {**values, "gen": token})

    def update(self, row_id: str, changes: Mapping[str, Any], when: Any) -> bool:
        if not self._indexed & changes.keys():
            return self._ops.update(self.table, [(self._id, row_id)], changes, when)
        for attempt in range(CAS_ATTEMPTS):
            current = self.get(row_id)
            if current is None:
                return False
            after = {name: value for name, value in {**current, **changes}.items() if value is not None}
            before, now = self._entries(current), self._entries(after)
            held = {entry: self._token_of(entry) for entry in before - now}  # read before the compare-and-set
            token, entered = _token(), now - before
            for table, key in entered:
                self._ops.put(table, list(key), {"token": token})
            guard = self._ops.all_of([when, self._holds("gen", current.get("gen"))])
            if self._ops.update(self.table, [(self._id, row_id)], {**changes, "gen": token}, guard):
                for (table, key), was in held.items():
                    if was is not _ABSENT:
                        self._tidy(table, list(key), self._holds("token", was))
                return True
            moved = self.get(row_id)
            if moved is None or moved.get("gen") == current.get("gen"):
                return False  # gone, or the caller's condition failed: not a race
            pause(attempt)
        raise StorageError(f"{self.table} row {row_id} kept moving during an update")

    def reindex(self, rows: Iterable[Values]) -> int:
        """Write the index rows these rows lack (rows stored before an index existed); how many. Insert-if-absent,
        so a row a writer put is never replaced: a concurrent move at worst leaves a stale row, which reads skip."""
        token, written = _token(), 0
        for row in rows:
            for table, key in self._entries(row):
                written += self._ops.insert(table, list(key), {"token": token})
        return written

    def read(self, index: Index, low: Key, high: Key, limit: int, *, backward: bool = False) -> list[Values]:
        """Rows through `index` from `low` (inclusive) to `high` (exclusive), both given without the shard (in
        reverse for `backward`), checked against their rows, up to `limit`."""
        if limit <= 0:
            return []
        return list(self.follow(scan(self._ops, index, low, high, limit, backward=backward), index, limit))

    def follow(self, entries: Iterable[Values], index: Index, limit: int) -> Iterator[Values]:
        """The rows index entries point to, in entry order, keeping those that have that key now."""
        chunk: list[Values] = []
        found = 0
        for entry in entries:
            chunk.append(entry)
            if len(chunk) < min(_BATCH, limit - found):
                continue
            for row in self._agreeing(chunk, index):
                yield row
                found += 1
            chunk = []
            if found >= limit:
                return
        yield from list(self._agreeing(chunk, index))[: limit - found]

    # -- plumbing ----------------------------------------------------------------------------------------
    def _agreeing(self, chunk: list[Values], index: Index) -> Iterator[Values]:
        rows = self._ops.batch_get(self.table, [[(self._id, entry[index.columns[-1]])] for entry in chunk])
        for entry, row in zip(chunk, rows, strict=True):
            if row is not None and index.key(row) == index_key(entry, index):
                yield row

    def _entries(self, row: Mapping[str, Any]) -> set[Entry]:
        keys = ((index.table, index.key(row)) for index in self.indexes)
        return {(table, tuple(key)) for table, key in keys if key is not None}

    def _token_of(self, entry: Entry) -> Any:
        found = self._ops.get(entry[0], list(entry[1]))
        return _ABSENT if found is None else found.get("token")

    def _tidy(self, table: str, key: Key, when: Any) -> None:
        """Delete a stale index row, if possible: the write that made it stale is done (or refused) whatever
        happens here, and a stale row left behind is skipped by every read."""
        with suppress(StorageError):
            self._ops.delete(table, key, when)

    def _holds(self, column: str, value: str | None) -> Any:
        return self._ops.missing(column) if value is None else self._ops.equals(column, value)


_ABSENT = object()  # no index row at all (as opposed to a row without a token)


def scan(
    ops: TablestoreOps, index: Index, low: Key, high: Key, page: int, *, backward: bool = False
) -> Iterator[Values]:
    """Index rows from `low` (inclusive) to `high` (exclusive), both without the shard, in key order (reverse key
    order for `backward`, where `low` is the higher key): merged across the shards of a sharded index, `page` rows
    per request and shard."""
    if not index.sharded:
        return (entry for rows in ops.scan(index.table, low, high, backward=backward, page=page) for entry in rows)
    shards = [
        ops.scan(index.table, [("shard", s), *low], [("shard", s), *high], backward=backward, page=page)
        for s in range(SHARDS)
    ]
    return heapq.merge(
        *((entry for rows in pages for entry in rows) for pages in shards),
        key=lambda entry: tuple(entry[column] for column in index.columns),
        reverse=backward,
    )


def index_key(entry: Values, index: Index) -> Key:
    """The key of an index row as read."""
    key = [(column, entry[column]) for column in index.columns]
    return [("shard", entry["shard"]), *key] if index.sharded else key


def _token() -> str:
    return secrets.token_hex(8)
