"""The few Tablestore calls the adapter makes, each a single-row conditional write or a bounded read, and the one
place where SDK, service and network failures become StorageError.

A failed condition (HTTP 403 OTSConditionCheckFail) is an answer, not a failure: the write did not happen, and
the method says False. Anything else raises StorageError with the cause chained. The SDK is imported here, lazily
(~340 ms and 110 MB, design §9), when the first TablestoreOps is built: never on import of this module.
"""

from __future__ import annotations

import importlib
import logging
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from shared.errors import ConfigError, StorageError

Key = list[tuple[str, Any]]  # a primary key as the SDK spells it: [(column, value), ...] in schema order
Values = dict[str, Any]  # a row: primary key and attribute columns by name

CONDITION_FAILED = "OTSConditionCheckFail"
CAS_ATTEMPTS = 16  # read-decide-write rounds before a contended compare-and-set gives up (StorageError)
_BATCH_GET_MAX = 100  # BatchGetRow reads at most 100 rows per request
# Messages of these errors may name the access key; the code, status and request id are enough to act on.
_QUIET_CODES = ("OTSAuthFailed", "OTSNoPermissionAccess", "OTSAccessKeyIdNotFound")


def load_sdk() -> Any:
    # Without its native codec the SDK logs two warnings on import: noise on every cold start, nothing to act on.
    for name in ("tablestore.encoder", "tablestore.decoder"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        return importlib.import_module("tablestore")
    except ImportError as exc:
        raise ConfigError("tablestore:// storage needs the tablestore package (pip install tablestore)") from exc


class TablestoreOps:
    def __init__(self, client: Any) -> None:
        self.sdk = load_sdk()
        urllib3_errors = importlib.import_module("urllib3.exceptions")  # the SDK's transport: its errors reach us
        self._client = client
        self._failures = (self.sdk.OTSClientError, urllib3_errors.HTTPError, OSError)

    # -- reads -------------------------------------------------------------------------------------------
    def get(self, table: str, key: Key) -> Values | None:
        with self.translated("GetRow", table):
            _, row, _ = self._client.get_row(table, key, max_version=1)
        return None if row is None else _values(row)

    def batch_get(self, table: str, keys: Sequence[Key]) -> list[Values | None]:
        """The rows of `keys`, in that order (None where missing). Each distinct key is asked for once: two index
        rows may point to one row, and a batch naming a row twice is not something to rely on."""
        distinct = list({tuple(key): key for key in keys}.values())
        found: dict[tuple[Any, ...], Values | None] = {}
        for start in range(0, len(distinct), _BATCH_GET_MAX):
            chunk = distinct[start : start + _BATCH_GET_MAX]
            request = self.sdk.BatchGetRowRequest()
            request.add(self.sdk.TableInBatchGetRowItem(table, chunk, max_version=1))
            with self.translated("BatchGetRow", table):
                items = self._client.batch_get_row(request).get_result_by_table(table)
            for key, item in zip(chunk, items, strict=True):
                if not item.is_ok:  # rows of a batch fail one by one (busy, throttled): read it alone, with retries
                    found[tuple(key)] = self.get(table, key)
                else:
                    found[tuple(key)] = None if item.row is None else _values(item.row)
        return [found[tuple(key)] for key in keys]

    def scan(
        self, table: str, start: Key, end: Key, *, backward: bool = False, page: int = 100
    ) -> Iterator[list[Values]]:
        """Pages of rows from `start` (inclusive) towards `end` (exclusive); stop iterating to stop reading. The
        service may end a page early (size limits) and says where to go on: every page is followed."""
        direction = self.sdk.Direction.BACKWARD if backward else self.sdk.Direction.FORWARD
        next_start: Key | None = start
        while next_start is not None:
            with self.translated("GetRange", table):
                _, next_start, rows, _ = self._client.get_range(
                    table, direction, next_start, end, limit=page, max_version=1
                )
            yield [_values(row) for row in rows]

    # -- writes: True when this call changed the row, False when its condition failed ----------------------
    def insert(self, table: str, key: Key, values: Mapping[str, Any]) -> bool:
        """Insert if absent. None values are left out (Tablestore has no NULL: a missing column is one)."""
        return self._put(table, key, values, self.sdk.RowExistenceExpectation.EXPECT_NOT_EXIST)

    def put(self, table: str, key: Key, values: Mapping[str, Any]) -> None:
        """Write the whole row whether or not it exists: for rows whose content is a function of their key, and
        for rows with an auto-increment key column (given as the SDK's PK_AUTO_INCR), which must be IGNORE."""
        self._put(table, key, values, self.sdk.RowExistenceExpectation.IGNORE)

    def update(self, table: str, key: Key, changes: Mapping[str, Any], when: Any = None) -> bool:
        """Change columns of an existing row, if `when` (a column condition) holds; None deletes a column."""
        put = [(name, value) for name, value in changes.items() if value is not None]
        delete_all = [name for name, value in changes.items() if value is None]
        columns = {"put": put, "delete_all": delete_all} if delete_all else {"put": put}
        condition = self.sdk.Condition(self.sdk.RowExistenceExpectation.EXPECT_EXIST, when)
        return self._write(
            "UpdateRow", table, lambda: self._client.update_row(table, self.sdk.Row(key, columns), condition)
        )

    def delete(self, table: str, key: Key, when: Any) -> bool:
        condition = self.sdk.Condition(self.sdk.RowExistenceExpectation.EXPECT_EXIST, when)
        return self._write("DeleteRow", table, lambda: self._client.delete_row(table, self.sdk.Row(key), condition))

    # -- column conditions -------------------------------------------------------------------------------
    def equals(self, column: str, value: Any) -> Any:
        # pass_if_missing=False: a row without the column must fail the check, not pass it (the SDK's default).
        return self.sdk.SingleColumnCondition(column, value, self.sdk.ComparatorType.EQUAL, pass_if_missing=False)

    def missing(self, column: str, impossible: Any = "") -> Any:
        """The row has no such column (an equality with a value the column never holds, of the column's type,
        that passes only when the column is missing)."""
        return self.sdk.SingleColumnCondition(column, impossible, self.sdk.ComparatorType.EQUAL, pass_if_missing=True)

    def at_most(self, column: str, value: Any) -> Any:
        return self.sdk.SingleColumnCondition(column, value, self.sdk.ComparatorType.LESS_EQUAL, pass_if_missing=False)

    def one_of(self, column: str, values: Sequence[Any]) -> Any:
        """column IN values (at most 10 conditions per write: enough for every status set)."""
        if len(values) == 1:
            return self.equals(column, values[0])
        return self._combine(self.sdk.LogicalOperator.OR, [self.equals(column, value) for value in values])

    def all_of(self, conditions: Sequence[Any]) -> Any:
        present = [condition for condition in conditions if condition is not None]
        if len(present) <= 1:
            return present[0] if present else None
        return self._combine(self.sdk.LogicalOperator.AND, present)

    def any_of(self, conditions: Sequence[Any]) -> Any:
        return self._combine(self.sdk.LogicalOperator.OR, conditions)

    def _combine(self, operator: Any, conditions: Sequence[Any]) -> Any:
        combined = self.sdk.CompositeColumnCondition(operator)
        for condition in conditions:
            combined.add_sub_condition(condition)
        return combined

    # -- plumbing ----------------------------------------------------------------------------------------
    def _put(self, table: str, key: Key, values: Mapping[str, Any], expectation: str) -> bool:
        row = self.sdk.Row(key, [(name, value) for name, value in values.items() if value is not None])
        condition = self.sdk.Condition(expectation)
        return self._write("PutRow", table, lambda: self._client.put_row(table, row, condition))

    def _write(self, api: str, table: str, call: Any) -> bool:
        try:
            with self.translated(api, table):
                call()
        except _ConditionFailed:
            return False
        return True

    @contextmanager
    def translated(self, api: str, table: str) -> Iterator[None]:
        try:
            yield
        except self.sdk.OTSServiceError as exc:
            if exc.code == CONDITION_FAILED:
                raise _ConditionFailed from exc
            detail = "" if exc.code in _QUIET_CODES else f": {str(exc.message)[:200]}"
            raise StorageError(
                f"Tablestore {api} on {table} failed: {exc.code} (HTTP {exc.http_status}, request {exc.request_id}){detail}"
            ) from exc
        except self._failures as exc:
            raise StorageError(f"Tablestore {api} on {table} failed: {type(exc).__name__}: {str(exc)[:200]}") from exc


class _ConditionFailed(Exception):
    """The row's condition did not hold: nothing was written."""


def _values(row: Any) -> Values:
    values: Values = dict(row.primary_key)
    values.update((column[0], column[1]) for column in row.attribute_columns or ())
    return values


def not_null(values: dict[str, Any], nullable: frozenset[str], what: str) -> dict[str, Any]:
    """SQL's NOT NULL. Tablestore has no NULL (None is a missing column): a required field set to None would
    leave a row that no longer reads back as its dataclass."""
    refused = sorted(name for name, value in values.items() if value is None and name not in nullable)
    if refused:
        raise ValueError(f"storage constraint violated: {what} field(s) {refused} cannot be empty")
    return values


def pause(attempt: int) -> None:
    """Jittered, growing backoff after a lost compare-and-set, so racing writers stop colliding."""
    time.sleep(random.uniform(0, min(0.05, 0.002 * 2**attempt)))  # noqa: S311 - jitter, not a secret
