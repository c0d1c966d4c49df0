"""One stack for the whole attack suite (its function instances' logs kept in a file), the emulator reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.security.target import Target, json_bytes, new_install_id
from tests.support.emulator import RunningEmulator
from tests.support.logged_stack import LoggedStack, start_logged_stack
from tests.support.rawhttp import send


@pytest.fixture(scope="session")
def attacked_stack(emulator_server: RunningEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoggedStack]:
    # Polls never query WeChat here: a status read must not write, so that "nothing written" is exact.
    running = start_logged_stack(
        tmp_path_factory.mktemp("attacked"),
        emulator_server.server,
        workers=2,
        # Thousands of failed admin authentications from 127.0.0.1 here are attacks under test, not a lockout.
        extra_env={"ORDER_QUERY_AFTER_SECONDS": "86400", "ADMIN_AUTH_MAX_FAILURES": "1000000"},
    )
    # One order, so that the database exists before the first snapshot is taken.
    created = send(
        running.base_url,
        "POST",
        "/v1/orders",
        [("Content-Type", "application/json")],
        json_bytes({"product_id": "pro-monthly", "install_id": new_install_id()}),
    )
    assert created.status == 201, created.body
    yield running
    running.stop()


@pytest.fixture(scope="module")
def module_emulator(emulator_server: RunningEmulator) -> Iterator[RunningEmulator]:
    """The emulator, reset once per module: no attack here depends on its state (notifications are built and sent
    by the tests themselves, never by a payment at the emulator), and a reset per test would double the run time."""
    emulator_server.reset()
    yield emulator_server
    emulator_server.reset()


@pytest.fixture
def target(attacked_stack: LoggedStack, module_emulator: RunningEmulator) -> Target:
    return Target(attacked_stack, module_emulator)
