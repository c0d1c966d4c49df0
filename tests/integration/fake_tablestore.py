"""An in-memory, thread-safe stand-in for `tablestore.OTSClient`: no Tablestore emulator exists (design §9).

What it holds to (each pinned by tests/integration/test_storage_tablestore_fake.py):
- Every request first goes through the SDK's own encoder, so an argument the real client would refuse (a wrong
  type, a None value, a malformed condition) raises the same OTSClientError here.
- Then the service's documented rules: the primary key must match the table's (names, order, types); row
  existence IGNORE / EXPECT_EXIST / EXPECT_NOT_EXIST; SingleColumnCondition with pass_if_missing;
  CompositeColumnCondition with AND/OR over two or more and NOT over exactly one, at most 10 conditions in all.
  A failed condition raises OTSServiceError(403, 'OTSConditionCheckFail', 'Condition check failed.') and changes
  nothing; a missing table is 404 OTSObjectNotExist, an existing one 409 OTSObjectAlreadyExist, a bad request
  400 OTSParameterInvalid.
- PutRow replaces the whole row; UpdateRow inserts a missing row unless it only deletes; DeleteRow takes IGNORE
  or EXPECT_EXIST. An auto-increment key column strictly increases, and a write that asks for it must be IGNORE.
- GetRange FORWARD and BACKWARD between keys with INF_MIN/INF_MAX, up to `limit` rows; a page also ends after
  `page_size` rows (the service ends pages at its own size limits), with next_start_primary_key set.
- BatchGetRow: at most 100 rows, answered row by row.
Where the documentation is silent (values of different types compared, column conditions with EXPECT_NOT_EXIST,
filters, versions, increments), it raises FakeUnsupported rather than guess: the adapter must not depend on it.

Each call is atomic under one lock, like a single-row operation on the service; `latency` sleeps before taking
the lock, so threads interleave between calls. `inject()` makes chosen calls fail, before or after they apply.
"""

from __future__ import annotations

import inspect
import itertools
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import tablestore as ots
from tablestore.encoder import OTSProtoBufferEncoder

from shared.storage.tablestore import TablestoreStorage

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
_PK_TYPES: dict[str, tuple[type, ...]] = {"STRING": (str,), "INTEGER": (int,), "BINARY": (bytes, bytearray)}
_MAX_CONDITIONS, _MAX_BATCH_GET, _MAX_PK_BYTES = 10, 100, 1024
_COMPARE: dict[int, Callable[[Any, Any], bool]] = {
    ots.ComparatorType.EQUAL: lambda a, b: a == b,
    ots.ComparatorType.NOT_EQUAL: lambda a, b: a != b,
    ots.ComparatorType.GREATER_THAN: lambda a, b: a > b,
    ots.ComparatorType.GREATER_EQUAL: lambda a, b: a >= b,
    ots.ComparatorType.LESS_THAN: lambda a, b: a < b,
    ots.ComparatorType.LESS_EQUAL: lambda a, b: a <= b,
}
IGNORE, EXPECT_EXIST, EXPECT_NOT_EXIST = "IGNORE", "EXPECT_EXIST", "EXPECT_NOT_EXIST"
# Arguments the fake refuses unless left at their defaults: the adapter does not use them.
_NOT_MODELLED = ("column_filter", "time_range", "start_column", "end_column", "token", "transaction_id", "return_type")
_NOT_MODELLED += ("secondary_indexes", "sse_spec")
_RANGE_KEYS = "inclusive_start_primary_key exclusive_end_primary_key"
_READ_TAIL = "column_filter max_version time_range start_column end_column token transaction_id"
# SDK method -> (API, the arguments in the order OTSClient hands them to its encoder)
_WIRE: dict[str, tuple[str, list[str]]] = {
    "create_table": ("CreateTable", ["table_meta", "table_options", "reserved_throughput", "sse_spec", "indexes"]),
    "list_table": ("ListTable", []),
    "describe_table": ("DescribeTable", ["table_name"]),
    "delete_table": ("DeleteTable", ["table_name"]),
    "get_row": ("GetRow", f"table_name primary_key columns_to_get {_READ_TAIL}".split()),
    "put_row": ("PutRow", ["table_name", "row", "condition", "return_type", "transaction_id"]),
    "update_row": ("UpdateRow", ["table_name", "row", "condition", "return_type", "transaction_id"]),
    "delete_row": ("DeleteRow", ["table_name", "primary_key", "condition", "return_type", "transaction_id"]),
    "get_range": ("GetRange", f"table_name direction {_RANGE_KEYS} columns_to_get limit {_READ_TAIL}".split()),
    "batch_get_row": ("BatchGetRow", ["request"]),
}


def empty_tablestore(*, page_size: int = 5000, latency: float = 0.0) -> Iterator[TablestoreStorage]:
    """A migrated TablestoreStorage on a fresh fake (its client is `storage._client`), for the conformance suite."""
    storage = TablestoreStorage(FakeOTSClient(page_size=page_size, latency=latency), table_prefix="test_")
    storage.migrate()
    yield storage


class FakeUnsupported(AssertionError):
    """The code under test used something this fake does not model, because the documentation does not settle it."""


@dataclass
class _Table:
    meta: Any
    options: Any
    rows: dict[tuple[Any, ...], dict[str, tuple[Any, int]]] = field(default_factory=dict)  # key -> name -> (value, ts)
    last_auto: int = 0


@dataclass
class _Fault:
    api: str
    table: str | None
    error: BaseException
    times: int
    applied: bool


class FakeOTSClient:
    def __init__(self, *, page_size: int = 5000, latency: float = 0.0) -> None:
        self.page_size, self.latency = page_size, latency
        self.calls: list[tuple[str, str | None]] = []  # (api, table) of every call, for tests to count
        self._tables: dict[str, _Table] = {}
        self._faults: list[_Fault] = []
        self._lock = threading.RLock()
        self._encoder = OTSProtoBufferEncoder("utf8")
        self._request_ids = itertools.count(1)
        self._last_ms = 0

    def inject(
        self,
        api: str,
        *,
        table: str | None = None,
        error: BaseException | None = None,
        times: int = 1,
        applied: bool = False,
    ) -> None:
        """Fail the next `times` calls of `api` (on `table`): before they apply, or after (`applied`: the answer
        was lost). "BatchGetRow.row" fails single rows of a batch with the error's code."""
        error = error or self.service_error(503, "OTSServerUnavailable", "Server is busy.")
        with self._lock:
            self._faults.append(_Fault(api, table, error, times, applied))

    def service_error(self, status: int, code: str, message: str) -> Any:
        return ots.OTSServiceError(status, code, message, f"fake-{next(self._request_ids):08d}")

    # -- tables ------------------------------------------------------------------------------------------
    def create_table(self, *args: Any, **kwargs: Any) -> None:
        given = self._request("create_table", args, kwargs)
        meta = given["table_meta"]

        def create() -> None:
            self._check_schema(meta)
            if meta.table_name in self._tables:
                raise self.service_error(409, "OTSObjectAlreadyExist", "Requested table already exists.")
            self._tables[meta.table_name] = _Table(meta, given["table_options"])

        self._call("create_table", given, meta.table_name, create)

    def list_table(self) -> tuple[str, ...]:
        return self._call("list_table", {}, None, lambda: tuple(sorted(self._tables)))  # type: ignore[no-any-return]

    def describe_table(self, *args: Any, **kwargs: Any) -> Any:
        given = self._request("describe_table", args, kwargs)

        def describe() -> Any:
            table = self._table(given["table_name"])
            throughput = ots.ReservedThroughputDetails(ots.CapacityUnit(0, 0), 0, 0)
            return ots.DescribeTableResponse(table.meta, table.options, throughput)

        return self._call("describe_table", given, given["table_name"], describe)

    def delete_table(self, *args: Any, **kwargs: Any) -> None:
        given = self._request("delete_table", args, kwargs)
        name = given["table_name"]
        self._call("delete_table", given, name, lambda: self._tables.pop(self._table(name).meta.table_name))

    # -- rows --------------------------------------------------------------------------------------------
    def get_row(self, *args: Any, **kwargs: Any) -> Any:
        given = self._request("get_row", args, kwargs)

        def read() -> tuple[Any, Any, Any]:
            table = self._table(given["table_name"])
            key = self._key(table, given["primary_key"])
            stored = table.rows.get(key)
            return ots.CapacityUnit(1, 0), None if stored is None else _row(table, key, stored, given), None

        return self._call("get_row", given, given["table_name"], read)

    def put_row(self, *args: Any, **kwargs: Any) -> Any:
        given = self._request("put_row", args, kwargs)
        row, condition = given["row"], given["condition"]

        def write() -> tuple[Any, None]:
            table = self._table(given["table_name"])
            key = self._key(table, row.primary_key, auto=True)
            columns = self._columns(table, row.attribute_columns or [])
            if any(len(column) == 3 for column in table.meta.schema_of_primary_key) and ots.PK_AUTO_INCR not in key:
                raise FakeUnsupported("writing an explicit value into an auto-increment column")
            if ots.PK_AUTO_INCR in key:
                if _expectation(condition) != IGNORE:
                    raise self._invalid("a write with an auto-increment column must use IGNORE")
                table.last_auto += 1
                key = tuple(table.last_auto if value is ots.PK_AUTO_INCR else value for value in key)
            self._check(table, key, condition)
            table.rows[key] = columns
            return ots.CapacityUnit(0, 1), None

        return self._call("put_row", given, given["table_name"], write)

    def update_row(self, *args: Any, **kwargs: Any) -> Any:
        given = self._request("update_row", args, kwargs)
        row = given["row"]

        def write() -> tuple[Any, None]:
            table = self._table(given["table_name"])
            key = self._key(table, row.primary_key)
            kinds = set(row.attribute_columns) - {"put", "delete_all"}
            if kinds:
                raise FakeUnsupported(f"update kinds {sorted(kinds)} are not modelled")
            put = self._columns(table, row.attribute_columns.get("put", []))
            deleted = list(row.attribute_columns.get("delete_all", []))
            self._columns(table, [(name, 0) for name in deleted])  # the same name rules
            if set(put) & set(deleted) or len(set(deleted)) != len(deleted):
                raise self._invalid("a column appears twice in one update")
            existing = self._check(table, key, given["condition"])
            if existing is not None or put:  # an update that only deletes creates no row
                kept = {name: cell for name, cell in (existing or {}).items() if name not in deleted}
                table.rows[key] = {**kept, **put}
            return ots.CapacityUnit(0, 1), None

        return self._call("update_row", given, given["table_name"], write)

    def delete_row(self, *args: Any, **kwargs: Any) -> Any:
        given = self._request("delete_row", args, kwargs)
        key_or_row = given["row"] if given["row"] is not None else given.get("primary_key")
        given["primary_key"] = key_or_row.primary_key if isinstance(key_or_row, ots.Row) else key_or_row

        def delete() -> tuple[Any, None]:
            table = self._table(given["table_name"])
            key = self._key(table, given["primary_key"])
            if _expectation(given["condition"]) == EXPECT_NOT_EXIST:
                raise self._invalid("DeleteRow takes IGNORE or EXPECT_EXIST")
            self._check(table, key, given["condition"])
            table.rows.pop(key, None)
            return ots.CapacityUnit(0, 1), None

        return self._call("delete_row", given, given["table_name"], delete)

    def get_range(self, *args: Any, **kwargs: Any) -> Any:
        given = self._request("get_range", args, kwargs)
        limit, forward = given["limit"], given["direction"] == ots.Direction.FORWARD

        def read() -> tuple[Any, Any, list[Any], Any]:
            table = self._table(given["table_name"])
            start = _rank(self._key(table, given["inclusive_start_primary_key"], bounds=True))
            end = _rank(self._key(table, given["exclusive_end_primary_key"], bounds=True))
            if (start > end) if forward else (start < end):
                raise self._invalid(f"the start key must come before the end key in a {given['direction']} read")
            if limit is not None and limit <= 0:
                raise self._invalid("limit must be positive")
            inside = [k for k in table.rows if (start <= _rank(k) < end if forward else end < _rank(k) <= start)]
            keys = sorted(inside, key=_rank, reverse=not forward)
            cut = min(self.page_size, limit or self.page_size)
            rows = [_row(table, k, table.rows[k], given) for k in keys[:cut]]
            following = None if len(keys) <= cut else _row(table, keys[cut], {}, {}).primary_key
            return ots.CapacityUnit(len(rows), 0), following, rows, None

        return self._call("get_range", given, given["table_name"], read)

    def batch_get_row(self, *args: Any, **kwargs: Any) -> Any:
        given = self._request("batch_get_row", args, kwargs)
        items = given["request"].items

        def read() -> Any:
            if sum(len(item.primary_keys) for item in items.values()) > _MAX_BATCH_GET:
                raise self._invalid("Rows count exceeds the upper limit: 100.")
            answers = {}
            for name, item in items.items():
                _unsupported(column_filter=item.column_filter, time_range=item.time_range, token=item.token)
                if item.max_version is None:
                    raise self._invalid("max_version or time_range is required")
                if len({tuple(pk) for pk in item.primary_keys}) != len(item.primary_keys):
                    raise FakeUnsupported("a batch naming one row twice")
                table = self._table(name)
                answers[name] = [self._batch_row(table, name, self._key(table, pk), item) for pk in item.primary_keys]
            return ots.BatchGetRowResponse(answers)

        return self._call("batch_get_row", given, None, read)

    # -- the service's rules -----------------------------------------------------------------------------
    def _request(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The arguments bound by the real OTSClient method's own signature (names, defaults, TypeError for a
        wrong one); refused if they use what is not modelled."""
        bound = inspect.signature(getattr(ots.OTSClient, method)).bind(self, *args, **kwargs)
        bound.apply_defaults()
        given = {name: value for name, value in bound.arguments.items() if name not in ("self", "kwargs")}
        given.update(bound.arguments.get("kwargs", {}))
        _unsupported(**{name: given.get(name) for name in _NOT_MODELLED})
        if method in ("get_row", "get_range") and given["max_version"] is None:
            raise self._invalid("max_version or time_range is required")
        return given

    def _call(self, method: str, given: dict[str, Any], table: str | None, operation: Callable[[], Any]) -> Any:
        api, wire = _WIRE[method]
        # "indexes": create_table hands the encoder [] for "no secondary indexes"
        self._encoder.encode_request(api, *(given.get(name, []) for name in wire))  # the SDK's own checks
        if self.latency:
            time.sleep(random.uniform(0, self.latency))
        with self._lock:
            self.calls.append((api, table))
            fault = self._take_fault(api, table)
            if fault is not None and not fault.applied:
                raise fault.error
            result = operation()
            if fault is not None:
                raise fault.error
            return result

    def _take_fault(self, api: str, table: str | None) -> _Fault | None:
        for fault in self._faults:
            if fault.api == api and fault.table in (None, table) and fault.times > 0:
                fault.times -= 1
                return fault
        return None

    def _batch_row(self, table: _Table, name: str, key: tuple[Any, ...], item: Any) -> Any:
        fault = self._take_fault("BatchGetRow.row", name)
        if fault is not None:
            error: Any = fault.error
            return ots.RowDataItem(False, error.code, error.message, name, None, None, None)
        stored = table.rows.get(key)
        row = None if stored is None else _row(table, key, stored, {"columns_to_get": item.columns_to_get})
        pk, columns = (None, None) if row is None else (row.primary_key, row.attribute_columns)
        return ots.RowDataItem(True, None, None, name, ots.CapacityUnit(1, 0), pk, columns)

    def _table(self, name: str) -> _Table:
        if name not in self._tables:
            raise self.service_error(404, "OTSObjectNotExist", "Requested table does not exist.")
        return self._tables[name]

    def _check_schema(self, meta: Any) -> None:
        schema = meta.schema_of_primary_key
        autos = [column for column in schema if len(column) == 3]
        if not _NAME.fullmatch(meta.table_name) or not 1 <= len(schema) <= 4 or len(autos) > 1:
            raise self._invalid("invalid table name or primary key schema")
        for column in schema:
            if not _NAME.fullmatch(column[0]) or column[1] not in _PK_TYPES:
                raise self._invalid(f"invalid primary key column {column}")
        if autos and (autos[0][1] != "INTEGER" or autos[0] is schema[0] or autos[0][2] is not ots.PK_AUTO_INCR):
            raise self._invalid("an auto-increment column is an INTEGER and not the partition key")

    def _key(self, table: _Table, primary_key: Any, *, bounds: bool = False, auto: bool = False) -> tuple[Any, ...]:
        schema = table.meta.schema_of_primary_key
        if [column[0] for column in primary_key] != [column[0] for column in schema]:
            names = [column[0] for column in primary_key]
            raise self._invalid(f"Validate PK name fail. Input: {names}, Meta: {[c[0] for c in schema]}.")
        for (name, value), column in zip(primary_key, schema, strict=True):
            if value is ots.INF_MIN or value is ots.INF_MAX:
                if not bounds:
                    raise self._invalid(f"INF_MIN/INF_MAX only bound a range ({name})")
            elif value is ots.PK_AUTO_INCR:
                if not (auto and len(column) == 3):
                    raise self._invalid(f"{name} is not an auto-increment column of this table")
            elif not isinstance(value, _PK_TYPES[column[1]]) or isinstance(value, bool):
                raise self._invalid(f"Validate PK type fail: {name} must be {column[1]}")
            elif isinstance(value, str) and len(value.encode()) > _MAX_PK_BYTES:
                raise self._invalid(f"the primary key column {name} is longer than 1 KB")
        return tuple(value for _, value in primary_key)

    def _columns(self, table: _Table, columns: Sequence[Any]) -> dict[str, tuple[Any, int]]:
        keys = {column[0] for column in table.meta.schema_of_primary_key}
        names = [column[0] for column in columns]
        bad = [name for name in names if not _NAME.fullmatch(name) or name in keys]
        if bad or len(set(names)) != len(names):
            raise self._invalid(f"invalid or repeated attribute column names {bad or names}")
        self._last_ms = max(self._last_ms + 1, int(time.time() * 1000))
        return {column[0]: (column[1], column[2] if len(column) == 3 else self._last_ms) for column in columns}

    def _check(self, table: _Table, key: tuple[Any, ...], condition: Any) -> dict[str, tuple[Any, int]] | None:
        """The row's current columns, if the condition holds; else OTSConditionCheckFail and no change."""
        expectation = _expectation(condition)
        column_condition = None if condition is None else condition.column_condition
        if column_condition is not None:
            if expectation == EXPECT_NOT_EXIST:
                raise FakeUnsupported("a column condition on a row expected not to exist")
            if self._count(column_condition) > _MAX_CONDITIONS:
                raise self._invalid("more than 10 column conditions")
        existing = table.rows.get(key)
        holds = not (expectation == EXPECT_EXIST and existing is None) and not (
            expectation == EXPECT_NOT_EXIST and existing is not None
        )
        if holds and column_condition is not None:
            names = [column[0] for column in table.meta.schema_of_primary_key]
            values = {**dict(zip(names, key, strict=True)), **{n: cell[0] for n, cell in (existing or {}).items()}}
            holds = _holds(column_condition, values)
        if not holds:
            raise self.service_error(403, "OTSConditionCheckFail", "Condition check failed.")
        return existing

    def _count(self, condition: Any) -> int:
        if not isinstance(condition, ots.CompositeColumnCondition):
            return 1
        subs, combinator = condition.sub_conditions, condition.combinator
        if (combinator == ots.LogicalOperator.NOT) != (len(subs) == 1) or not subs:
            raise self._invalid("NOT takes exactly one sub-condition; AND and OR take two or more")
        return sum(self._count(sub) for sub in subs)

    def _invalid(self, message: str) -> Any:
        return self.service_error(400, "OTSParameterInvalid", message)


def _holds(condition: Any, values: dict[str, Any]) -> bool:
    if isinstance(condition, ots.CompositeColumnCondition):
        results = [_holds(sub, values) for sub in condition.sub_conditions]
        if condition.combinator == ots.LogicalOperator.NOT:
            return not results[0]
        return all(results) if condition.combinator == ots.LogicalOperator.AND else any(results)
    if type(condition) is not ots.SingleColumnCondition:
        raise FakeUnsupported(f"{type(condition).__name__} is not modelled")
    if condition.column_name not in values:
        return bool(condition.pass_if_missing)
    value, wanted = values[condition.column_name], condition.column_value
    if _kind(value) != _kind(wanted):
        raise FakeUnsupported(f"comparing a {_kind(value)} column with a {_kind(wanted)} value is undocumented")
    return _COMPARE[condition.comparator](value, wanted)


def _kind(value: Any) -> str:
    for kind, types in (("BOOLEAN", (bool,)), ("INTEGER", (int,)), ("STRING", (str,)), ("DOUBLE", (float,))):
        if isinstance(value, types):
            return kind
    return "BINARY"


def _expectation(condition: Any) -> str:
    return IGNORE if condition is None else str(condition.row_existence_expectation)


def _rank(key: tuple[Any, ...]) -> tuple[tuple[int, Any], ...]:
    """Primary key order: column by column, INF_MIN below and INF_MAX above every value, strings by UTF-8 bytes."""
    return tuple(
        (0, 0) if v is ots.INF_MIN else (2, 0) if v is ots.INF_MAX else (1, v.encode() if isinstance(v, str) else v)
        for v in key
    )


def _row(table: _Table, key: tuple[Any, ...], stored: dict[str, tuple[Any, int]], given: dict[str, Any]) -> Any:
    names, wanted = [column[0] for column in table.meta.schema_of_primary_key], given.get("columns_to_get")
    columns = [(n, value, ts) for n, (value, ts) in sorted(stored.items()) if wanted is None or n in wanted]
    return ots.Row(list(zip(names, key, strict=True)), columns)


def _unsupported(**arguments: Any) -> None:
    used = sorted(name for name, value in arguments.items() if value is not None)
    if used:
        raise FakeUnsupported(f"{used} not modelled")
