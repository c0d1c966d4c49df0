"""The fake Tablestore client against the service's documented semantics, through the real SDK's types: if the
fake drifted from Tablestore, the adapter's tests on it would prove nothing. Each test names the rule it pins."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import tablestore as ots
from tablestore import INF_MAX, INF_MIN, Condition, Row, RowExistenceExpectation, SingleColumnCondition

from tests.integration.fake_tablestore import FakeOTSClient, FakeUnsupported

EXIST, NOT_EXIST, IGNORE = (
    RowExistenceExpectation.EXPECT_EXIST,
    RowExistenceExpectation.EXPECT_NOT_EXIST,
    RowExistenceExpectation.IGNORE,
)
EQ, GT, NE = ots.ComparatorType.EQUAL, ots.ComparatorType.GREATER_THAN, ots.ComparatorType.NOT_EQUAL


@pytest.fixture
def client() -> FakeOTSClient:
    fake = FakeOTSClient()
    for name, schema in {
        "t": [("id", "STRING")],
        "r": [("p", "STRING"), ("n", "INTEGER")],
        "seq": [("p", "STRING"), ("n", "INTEGER", ots.PK_AUTO_INCR)],
    }.items():
        fake.create_table(
            ots.TableMeta(name, schema), ots.TableOptions(), ots.ReservedThroughput(ots.CapacityUnit(0, 0))
        )
    return fake


def columns(client: FakeOTSClient, key: str, table: str = "t") -> dict[str, Any] | None:
    _, row, _ = client.get_row(table, [("id", key)], max_version=1)
    return None if row is None else {name: value for name, value, _ in row.attribute_columns}


def put(client: FakeOTSClient, key: str, expectation: str = IGNORE, condition: Any = None, **values: Any) -> None:
    client.put_row("t", Row([("id", key)], list(values.items())), Condition(expectation, condition))


def update(client: FakeOTSClient, key: str, changes: dict[str, Any], expectation: str, condition: Any = None) -> None:
    client.update_row("t", Row([("id", key)], changes), Condition(expectation, condition))


def fails(code: str, status: int) -> Any:
    return pytest.raises(ots.OTSServiceError, check=lambda e: (e.code, e.http_status) == (code, status))


def condition_fails() -> Any:
    return pytest.raises(
        ots.OTSServiceError,
        check=lambda e: (e.http_status, e.code, e.message) == (403, "OTSConditionCheckFail", "Condition check failed."),
    )


# -- row existence ---------------------------------------------------------------------------------------


def test_expect_not_exist_inserts_once_then_fails_with_the_services_403_and_changes_nothing(
    client: FakeOTSClient,
) -> None:
    put(client, "a", NOT_EXIST, v=1)
    with condition_fails():
        put(client, "a", NOT_EXIST, v=2)
    assert columns(client, "a") == {"v": 1}


def test_expect_exist_refuses_a_missing_row_and_ignore_checks_nothing(client: FakeOTSClient) -> None:
    with condition_fails():
        put(client, "a", EXIST, v=1)
    assert columns(client, "a") is None
    put(client, "a", IGNORE, v=1)
    put(client, "a", EXIST, v=2)
    assert columns(client, "a") == {"v": 2}


def test_put_row_replaces_the_whole_row(client: FakeOTSClient) -> None:
    put(client, "a", v=1, w="x")
    put(client, "a", z=True)
    assert columns(client, "a") == {"z": True}


def test_a_row_may_hold_only_its_primary_key(client: FakeOTSClient) -> None:
    put(client, "a", NOT_EXIST)
    assert columns(client, "a") == {}


def test_update_row_changes_the_named_columns_and_delete_all_removes_one(client: FakeOTSClient) -> None:
    put(client, "a", v=1, w="x", y=2)
    update(client, "a", {"put": [("v", 5), ("n", "new")], "delete_all": ["w"]}, EXIST)
    assert columns(client, "a") == {"v": 5, "n": "new", "y": 2}


def test_update_row_inserts_a_missing_row_unless_it_only_deletes(client: FakeOTSClient) -> None:
    update(client, "gone", {"delete_all": ["v"]}, IGNORE)
    assert columns(client, "gone") is None
    update(client, "new", {"put": [("v", 1)]}, IGNORE)
    assert columns(client, "new") == {"v": 1}
    with condition_fails():
        update(client, "other", {"put": [("v", 1)]}, EXIST)


def test_delete_row_takes_ignore_or_expect_exist_only(client: FakeOTSClient) -> None:
    client.delete_row("t", Row([("id", "nobody")]), Condition(IGNORE))
    with condition_fails():
        client.delete_row("t", Row([("id", "nobody")]), Condition(EXIST))
    with fails("OTSParameterInvalid", 400):
        client.delete_row("t", Row([("id", "nobody")]), Condition(NOT_EXIST))
    put(client, "a", v=1)
    client.delete_row("t", Row([("id", "a")]), Condition(EXIST))
    assert columns(client, "a") is None


# -- column conditions -----------------------------------------------------------------------------------


def test_a_single_column_condition_compares_the_current_value(client: FakeOTSClient) -> None:
    put(client, "a", status="PENDING", n=5)
    with condition_fails():
        update(client, "a", {"put": [("status", "PAID")]}, EXIST, SingleColumnCondition("status", "PAID", EQ, False))
    update(client, "a", {"put": [("status", "PAID")]}, EXIST, SingleColumnCondition("n", 4, GT, False))
    assert columns(client, "a") == {"status": "PAID", "n": 5}


def test_pass_if_missing_decides_for_a_row_without_the_column_and_defaults_to_pass(client: FakeOTSClient) -> None:
    put(client, "a", v=1)
    with condition_fails():
        update(client, "a", {"put": [("v", 2)]}, EXIST, SingleColumnCondition("status", "X", EQ, pass_if_missing=False))
    update(client, "a", {"put": [("v", 3)]}, EXIST, SingleColumnCondition("status", "X", EQ, pass_if_missing=True))
    update(client, "a", {"put": [("v", 4)]}, EXIST, SingleColumnCondition("status", "X", EQ))  # the SDK's default
    assert columns(client, "a") == {"v": 4}


def composite(operator: int, *subs: Any) -> Any:
    combined = ots.CompositeColumnCondition(operator)
    for sub in subs:
        combined.add_sub_condition(sub)
    return combined


def is_(value: Any, column: str = "s") -> Any:
    return SingleColumnCondition(column, value, EQ, pass_if_missing=False)


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        (composite(ots.LogicalOperator.OR, is_("PENDING"), is_("CLOSED")), True),
        (composite(ots.LogicalOperator.OR, is_("PAID"), is_("REFUNDED")), False),
        (composite(ots.LogicalOperator.AND, is_("CLOSED"), is_(3, "v")), True),
        (composite(ots.LogicalOperator.AND, is_("CLOSED"), is_(4, "v")), False),
        (composite(ots.LogicalOperator.NOT, is_("PAID")), True),
        (composite(ots.LogicalOperator.NOT, composite(ots.LogicalOperator.OR, is_("PAID"), is_("CLOSED"))), False),
    ],
    ids=["or holds", "or fails", "and holds", "and fails", "not holds", "not of or fails"],
)
def test_composite_conditions_combine_with_and_or_not(client: FakeOTSClient, condition: Any, holds: bool) -> None:
    put(client, "a", s="CLOSED", v=3)
    if holds:
        update(client, "a", {"put": [("v", 9)]}, EXIST, condition)
    else:
        with condition_fails():
            update(client, "a", {"put": [("v", 9)]}, EXIST, condition)
    assert columns(client, "a") == {"s": "CLOSED", "v": 9 if holds else 3}


@pytest.mark.parametrize(
    "condition",
    [
        composite(ots.LogicalOperator.NOT, is_("A"), is_("B")),
        composite(ots.LogicalOperator.AND, is_("A")),
        composite(ots.LogicalOperator.OR),
        composite(ots.LogicalOperator.OR, *[is_(str(n)) for n in range(11)]),
    ],
    ids=["NOT of two", "AND of one", "OR of none", "eleven conditions"],
)
def test_a_composite_outside_the_documented_shape_is_a_bad_request(client: FakeOTSClient, condition: Any) -> None:
    put(client, "a", s="A")
    with fails("OTSParameterInvalid", 400):
        update(client, "a", {"put": [("s", "B")]}, EXIST, condition)
    assert columns(client, "a") == {"s": "A"}


def test_a_column_condition_may_name_a_primary_key_column(client: FakeOTSClient) -> None:
    put(client, "a", v=1)
    update(client, "a", {"put": [("v", 2)]}, EXIST, SingleColumnCondition("id", "a", EQ, False))
    assert columns(client, "a") == {"v": 2}


# -- keys, ranges, batches -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        [("p", "x")],
        [("n", 1), ("p", "x")],
        [("p", "x"), ("n", "1")],
        [("p", "x"), ("n", True)],
        [("p", "x"), ("n", INF_MAX)],
    ],
    ids=["too short", "wrong order", "string for integer", "bool for integer", "INF outside a range"],
)
def test_a_primary_key_unlike_the_tables_is_a_bad_request(client: FakeOTSClient, key: Any) -> None:
    with fails("OTSParameterInvalid", 400):
        client.get_row("r", key, max_version=1)


def test_a_missing_table_is_404_and_an_existing_one_cannot_be_created_again(client: FakeOTSClient) -> None:
    with fails("OTSObjectNotExist", 404):
        client.get_row("nope", [("id", "a")], max_version=1)
    with fails("OTSObjectAlreadyExist", 409):
        client.create_table(
            ots.TableMeta("t", [("id", "STRING")]), ots.TableOptions(), ots.ReservedThroughput(ots.CapacityUnit(0, 0))
        )
    assert client.list_table() == ("r", "seq", "t")
    assert client.describe_table("r").table_meta.schema_of_primary_key == [("p", "STRING"), ("n", "INTEGER")]


def fill(client: FakeOTSClient) -> None:
    for p, n in [("a", 3), ("b", 1), ("a", 1), ("a", 2), ("c", 0)]:
        client.put_row("r", Row([("p", p), ("n", n)], [("v", f"{p}{n}")]))


def keys_of(rows: list[Any]) -> list[tuple[str, int]]:
    return [(row.primary_key[0][1], row.primary_key[1][1]) for row in rows]


def test_get_range_reads_forward_and_backward_between_inf_bounds(client: FakeOTSClient) -> None:
    fill(client)
    _, following, rows, _ = client.get_range("r", "FORWARD", [("p", "a"), ("n", INF_MIN)], [("p", "a"), ("n", INF_MAX)])
    assert keys_of(rows) == [("a", 1), ("a", 2), ("a", 3)] and following is None
    _, following, rows, _ = client.get_range(
        "r", "BACKWARD", [("p", INF_MAX), ("n", INF_MAX)], [("p", INF_MIN), ("n", INF_MIN)], limit=2
    )
    assert keys_of(rows) == [("c", 0), ("b", 1)]
    assert following == [("p", "a"), ("n", 3)]  # where the next page starts
    _, _, rows, _ = client.get_range("r", "FORWARD", [("p", "a"), ("n", 2)], [("p", "b"), ("n", 1)])
    assert keys_of(rows) == [("a", 2), ("a", 3)]  # start inclusive, end exclusive
    assert rows[0].attribute_columns[0][:2] == ("v", "a2")  # (name, value, timestamp), as the SDK decodes


def test_get_range_pages_end_early_and_say_where_to_go_on(client: FakeOTSClient) -> None:
    fill(client)
    client.page_size = 2
    start, seen = [("p", INF_MIN), ("n", INF_MIN)], []
    while start is not None:
        _, start, rows, _ = client.get_range("r", "FORWARD", start, [("p", INF_MAX), ("n", INF_MAX)], limit=100)
        assert len(rows) <= 2
        seen += keys_of(rows)
    assert seen == [("a", 1), ("a", 2), ("a", 3), ("b", 1), ("c", 0)]


def test_get_range_against_its_direction_is_a_bad_request(client: FakeOTSClient) -> None:
    with fails("OTSParameterInvalid", 400):
        client.get_range("r", "BACKWARD", [("p", INF_MIN), ("n", INF_MIN)], [("p", INF_MAX), ("n", INF_MAX)])


def test_batch_get_row_answers_row_by_row_in_order_up_to_100(client: FakeOTSClient) -> None:
    put(client, "a", v=1)
    put(client, "b", v=2)
    request = ots.BatchGetRowRequest()
    request.add(ots.TableInBatchGetRowItem("t", [[("id", "b")], [("id", "zz")], [("id", "a")]], max_version=1))
    items = client.batch_get_row(request).get_result_by_table("t")
    assert [item.is_ok for item in items] == [True, True, True]
    assert [None if i.row is None else i.row.attribute_columns[0][1] for i in items] == [2, None, 1]
    client.inject("BatchGetRow.row", table="t", error=client.service_error(503, "OTSServerBusy", "busy"))
    first = client.batch_get_row(request).get_result_by_table("t")[0]
    assert (first.is_ok, first.error_code) == (False, "OTSServerBusy")
    too_many = ots.BatchGetRowRequest()
    too_many.add(ots.TableInBatchGetRowItem("t", [[("id", str(n))] for n in range(101)], max_version=1))
    with fails("OTSParameterInvalid", 400):
        client.batch_get_row(too_many)


def test_auto_increment_values_strictly_increase_and_need_ignore(client: FakeOTSClient) -> None:
    for value in ("first", "second", "third"):
        client.put_row("seq", Row([("p", "o"), ("n", ots.PK_AUTO_INCR)], [("v", value)]))
    _, _, rows, _ = client.get_range("seq", "FORWARD", [("p", "o"), ("n", INF_MIN)], [("p", "o"), ("n", INF_MAX)])
    numbers = [row.primary_key[1][1] for row in rows]
    assert [row.attribute_columns[0][1] for row in rows] == ["first", "second", "third"] and numbers == sorted(
        set(numbers)
    )
    with fails("OTSParameterInvalid", 400):
        client.put_row("seq", Row([("p", "o"), ("n", ots.PK_AUTO_INCR)], [("v", 1)]), Condition(NOT_EXIST))


# -- the SDK's own checks, undocumented corners, threads, faults ------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.put_row("t", Row([("id", "a")], [("v", None)])),
        lambda c: c.put_row("t", Row([("id", "a")], [("v", object())])),
        lambda c: c.update_row("t", Row([("id", "a")], {"put": [("v", 1)]}), "EXPECT_EXIST"),
        lambda c: c.get_range("t", "SIDEWAYS", [("id", INF_MIN)], [("id", INF_MAX)]),
    ],
    ids=["None value", "object value", "condition as a string", "unknown direction"],
)
def test_what_the_real_client_refuses_before_sending_is_refused_the_same_way(
    client: FakeOTSClient, call: Callable[[FakeOTSClient], Any]
) -> None:
    with pytest.raises(ots.OTSClientError):
        call(client)
    assert columns(client, "a") is None


def test_arguments_bind_by_the_real_clients_signature(client: FakeOTSClient) -> None:
    with pytest.raises(TypeError):
        client.get_row("t", [("id", "a")], colums_to_get=["v"])
    with fails("OTSParameterInvalid", 400):
        client.get_row("t", [("id", "a")], max_version=None)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.update_row("t", Row([("id", "a")], {"put": [("v", 2)]}), Condition(EXIST, is_(1, "v"))),
        lambda c: c.put_row("t", Row([("id", "b")], []), Condition(NOT_EXIST, is_("x", "v"))),
        lambda c: c.update_row("t", Row([("id", "a")], {"increment": [("v", 1)]}), Condition(EXIST)),
        lambda c: c.get_row("t", [("id", "a")], column_filter=is_("x", "v")),
    ],
    ids=["compare across types", "column condition on an absent row", "increment", "filter"],
)
def test_undocumented_or_unused_behaviour_is_refused_not_guessed(
    client: FakeOTSClient, call: Callable[[FakeOTSClient], Any]
) -> None:
    put(client, "a", v="one")
    with pytest.raises(FakeUnsupported):
        call(client)


def test_concurrent_inserts_of_one_key_have_exactly_one_winner(client: FakeOTSClient) -> None:
    client.latency = 0.002
    barrier = threading.Barrier(16)

    def insert(n: int) -> bool:
        barrier.wait()
        try:
            put(client, "contended", NOT_EXIST, writer=n)
        except ots.OTSServiceError as exc:
            assert exc.code == "OTSConditionCheckFail"
            return False
        return True

    with ThreadPoolExecutor(16) as pool:
        won = list(pool.map(insert, range(16)))
    assert won.count(True) == 1
    assert columns(client, "contended") == {"writer": won.index(True)}


def test_an_injected_fault_fails_the_call_before_or_after_it_applies(client: FakeOTSClient) -> None:
    client.inject("PutRow", table="t")
    with fails("OTSServerUnavailable", 503):
        put(client, "a", v=1)
    assert columns(client, "a") is None
    client.inject("PutRow", table="t", applied=True)
    with fails("OTSServerUnavailable", 503):
        put(client, "a", v=1)
    assert columns(client, "a") == {"v": 1}
