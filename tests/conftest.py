"""Fixtures shared by every tier: the emulator over real HTTP and a merchant notify_url that records requests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scripts.stack import Stack, start_stack
from tests.support.emulator import RunningEmulator
from tests.support.sink import NotifySink


@pytest.fixture(scope="session")
def emulator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    running = RunningEmulator(tmp_path_factory.mktemp("emulator"), time_factor=0.01, refund_delay=0.5)
    yield running
    running.stop()


@pytest.fixture
def emulator(emulator_server: RunningEmulator) -> Iterator[RunningEmulator]:
    """A running emulator with fresh state (the merchant's keys are kept across tests)."""
    emulator_server.reset()
    yield emulator_server
    emulator_server.reset()


@pytest.fixture
def sink() -> Iterator[NotifySink]:
    server = NotifySink()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack(emulator_server: RunningEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The local system as `make dev` runs it: gateway (two worker processes standing in for function instances,
    FC 3.0 events) + the emulator + SQLite, over real HTTP."""
    data_dir = tmp_path_factory.mktemp("stack")
    running = start_stack(
        data_dir,
        port=0,
        emulator_port=0,
        emulator=emulator_server.server,
        workers=2,
        extra_env={"ORDER_QUERY_AFTER_SECONDS": "1", "ORDER_QUERY_EVERY_SECONDS": "0"},
    )
    yield running
    running.gateway.stop()
