"""A local stack of a test module's own, beside the shared `stack` fixture: same emulator, its own data directory,
gateway and settings (a lockout, a refund policy, rate limits, a short order life...)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scripts.stack import Stack, start_stack
from tests.support.emulator import RunningEmulator

# Status polls ask WeChat Pay after a second and on every poll: tests do not wait for the production pacing.
FAST_QUERIES = {"ORDER_QUERY_AFTER_SECONDS": "1", "ORDER_QUERY_EVERY_SECONDS": "0"}


@contextmanager
def own_stack(emulator: RunningEmulator, data_dir: Path, *, workers: int = 1, **env: str) -> Iterator[Stack]:
    """A gateway with `workers` worker processes (at least one, so that the functions' settings never rewrite this
    process's environment), stopped on exit."""
    running = start_stack(
        data_dir, port=0, emulator_port=0, emulator=emulator.server, workers=max(workers, 1), extra_env=env
    )
    try:
        yield running
    finally:
        running.gateway.stop()
