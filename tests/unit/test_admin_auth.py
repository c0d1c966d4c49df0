"""Who may call the admin API: a Bearer admin key matched by its hash, the same 401 whatever is wrong with it, and
an address locked out after too many failures — even with the right key — until its window ends."""

from __future__ import annotations

import pytest

from shared import errors
from shared.domain.admin import Role
from shared.services.admin.auth import REFUSED
from tests.unit.admin_world import MAX_FAILURES, WINDOW, AdminWorld

pytestmark = pytest.mark.usefixtures("fresh_log_context")
ADDRESS, OTHER = "198.51.100.1", "198.51.100.2"


def rejected(world: AdminWorld, authorization: str | None, address: str = ADDRESS) -> errors.AppError:
    with pytest.raises(errors.AppError) as raised:
        world.auth.authenticate(authorization, address)
    return raised.value


def test_a_valid_key_presented_as_bearer_is_the_stored_key() -> None:
    world = AdminWorld()
    record, key = world.key(Role.VIEWER)
    assert world.auth.authenticate(f"Bearer {key}", ADDRESS) == record
    assert world.auth.authenticate(f"bearer  {key} ", ADDRESS) == record


@pytest.mark.parametrize(
    "presented",
    [
        "wxak_nothex000000_" + "A" * 43,  # malformed
        "wxak_0123456789ab_" + "A" * 43,  # well formed, unknown
        "not-a-key",
    ],
)
def test_malformed_and_unknown_keys_get_the_same_401_as_a_wrong_one(presented: str) -> None:
    world = AdminWorld()
    record, key = world.key()
    wrong = key[:-1] + ("B" if key[-1] != "B" else "C")
    expected = rejected(world, f"Bearer {wrong}")
    error = rejected(world, f"Bearer {presented}")
    assert isinstance(error, errors.Unauthenticated) and (error.status, error.code) == (401, "UNAUTHENTICATED")
    assert error.message == expected.message and record.key_id not in error.message


def test_a_revoked_key_and_a_basic_scheme_are_refused() -> None:
    world = AdminWorld()
    _, key = world.key()
    assert rejected(world, f"Basic {key}").code == "UNAUTHENTICATED"
    created = world.keys.create("ops", "bob", "viewer")
    world.keys.revoke("ops", created["key_id"])
    assert rejected(world, f"Bearer {created['key']}").code == "UNAUTHENTICATED"


def test_a_request_without_a_key_is_refused_but_not_counted_as_a_failed_attempt() -> None:
    world = AdminWorld()
    record, key = world.key()
    for _ in range(MAX_FAILURES + 2):
        assert rejected(world, None).code == "UNAUTHENTICATED"
        assert rejected(world, "  ").code == "UNAUTHENTICATED"
    assert world.auth.authenticate(f"Bearer {key}", ADDRESS) == record


def test_every_401_has_one_message_that_says_neither_whether_a_key_came_nor_what_was_wrong_with_it() -> None:
    world = AdminWorld()
    _, key = world.key()
    created = world.keys.create("ops", "bob", "viewer")
    world.keys.revoke("ops", created["key_id"])
    presented = [
        None,
        "",
        "  ",
        "Bearer ",
        f"Basic {key}",
        "Bearer " + key[:-1] + ("B" if key[-1] != "B" else "C"),
        "Bearer wxak_0123456789ab_" + "A" * 43,
        "Bearer not-a-key",
        f"Bearer {created['key']}",
    ]
    # One address each, so that no lockout interferes.
    refusals = [rejected(world, auth, f"198.51.100.{10 + i}") for i, auth in enumerate(presented)]
    seen = [(type(e), e.status, e.code, e.message, e.details) for e in refusals]
    assert seen == [(errors.Unauthenticated, 401, "UNAUTHENTICATED", REFUSED, refusals[0].details)] * len(presented)


def test_after_too_many_failures_the_address_is_locked_out_even_with_the_right_key_until_the_window_ends() -> None:
    world = AdminWorld()
    world.now -= world.now % WINDOW  # the start of a window
    record, key = world.key()
    for _ in range(MAX_FAILURES):
        assert rejected(world, "Bearer wxak_0123456789ab_" + "A" * 43).code == "UNAUTHENTICATED"
    world.now += 100
    locked = rejected(world, f"Bearer {key}")
    assert isinstance(locked, errors.RateLimited) and (locked.status, locked.code) == (429, "RATE_LIMITED")
    assert locked.retry_after == WINDOW - 100
    assert world.auth.authenticate(f"Bearer {key}", OTHER) == record  # another address is not affected
    world.now += WINDOW - 100
    assert world.auth.authenticate(f"Bearer {key}", ADDRESS) == record  # a new window


def test_fewer_failures_than_the_limit_leave_the_right_key_working() -> None:
    world = AdminWorld()
    world.now -= world.now % WINDOW
    record, key = world.key()
    for _ in range(MAX_FAILURES - 1):
        rejected(world, "Bearer nope")
    assert world.auth.authenticate(f"Bearer {key}", ADDRESS) == record


def test_a_lockout_is_reported_once_as_an_anomaly_for_the_operators() -> None:
    world = AdminWorld()
    world.now -= world.now % WINDOW
    for _ in range(MAX_FAILURES):
        rejected(world, "Bearer nope")
    for _ in range(3):
        assert rejected(world, "Bearer nope").code == "RATE_LIMITED"
    lockouts = [a for a in world.storage.anomalies() if a["kind"] == "ADMIN_AUTH_LOCKOUT"]
    assert len(lockouts) == 1 and lockouts[0]["details"]["source_ip"] == ADDRESS
