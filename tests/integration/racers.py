"""Racing processes for the concurrency tests: each child waits at one barrier, then reports (worker, status, value)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any

SPAWN = multiprocessing.get_context("spawn")


def run_racers(child_main: Callable[..., None], args: Sequence[tuple[Any, ...]], timeout: float) -> dict[int, Any]:
    """Start one process per args tuple (`child_main(*args, barrier, results)`); a barrier makes them race.
    Returns {worker: value}; a child that failed, hung or exited badly fails the test."""
    barrier, results = SPAWN.Barrier(len(args)), SPAWN.Queue()
    processes = [SPAWN.Process(target=child_main, args=(*a, barrier, results)) for a in args]
    for process in processes:
        process.start()
    collected: dict[int, Any] = {}
    try:
        for _ in processes:
            worker, status, value = results.get(timeout=timeout)
            assert status == "ok", f"worker {worker}: {value}"
            collected[worker] = value
    finally:
        barrier.abort()  # harmless once everyone has passed it; frees the others if a child failed early
        for process in processes:
            process.join(timeout)
            if process.is_alive():
                process.kill()
    assert [p.exitcode for p in processes] == [0] * len(processes)
    return collected
