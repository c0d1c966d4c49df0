"""Fixtures shared by every tier: the emulator over real HTTP and a merchant notify_url that records requests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scripts.stack import Stack
from tests.support.backoffice import Backoffice
from tests.support.emulator import RunningEmulator
from tests.support.shop import Shop
from tests.support.sink import NotifySink
from tests.support.stacks import FAST_QUERIES, own_stack


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
    with own_stack(emulator_server, tmp_path_factory.mktemp("stack"), workers=2, **FAST_QUERIES) as running:
        yield running


@pytest.fixture
def shop(stack: Stack, emulator: RunningEmulator) -> Shop:
    """A client of the public API on the shared stack, with a fresh emulator."""
    return Shop(stack)


@pytest.fixture
def office(stack: Stack) -> Iterator[Backoffice]:
    """The operators' side of the shared stack: refunds and timer jobs as scripts.ops runs them."""
    backoffice = Backoffice(stack)
    yield backoffice
    backoffice.stop()
