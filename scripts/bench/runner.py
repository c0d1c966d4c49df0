"""Spawning the fresh processes of scripts/bench/child.py and reading back what they measured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.config import CODE_ROOT

CHILD = Path(__file__).with_name("child.py")
CHILD_TIMEOUT_SECONDS = 300


class ChildFailed(RuntimeError):
    """A measured process crashed or answered with an unexpected status: its figures would be meaningless."""


@dataclass(frozen=True)
class ChildRun:
    cold_ms: float  # spawn -> the first answer returned by the handler (interpreter start-up included)
    startup_ms: float  # spawn -> the child's first line of Python
    import_ms: float | None  # first line -> handler module imported
    first_request_ms: float | None  # handler imported -> first answer (lazy building included)
    cpu_ms: float | None  # CPU time of the child up to the first answer: steadier than wall time on a busy host
    peak_rss_mb: float
    statuses: list[int]
    latencies_ms: list[float]
    heavy: list[str]
    modules: dict[str, str] = field(default_factory=dict)


def spawn(
    work_dir: Path,
    env: Mapping[str, str],
    mode: str,
    function: str = "",
    *,
    first: bytes | None = None,
    warm: Sequence[bytes] = (),
    modules: bool = False,
    expect: int | None = None,
) -> ChildRun:
    """Run one child process to completion; `expect`: the status every answer must have."""
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        folder = Path(tmp)
        spec: dict[str, Any] = {
            "code_root": str(CODE_ROOT),
            "mode": mode,
            "function": function,
            "first": _write(folder / "first", [first] if first is not None else []),
            "warm": _write(folder / "warm", list(warm)),
            "result": str(folder / "result.json"),
            "modules": modules,
        }
        (folder / "spec.json").write_text(json.dumps(spec))
        child_env = {**env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        # The functions' JSON log lines go to a file, as FC / SCF collect stdout.
        with open(work_dir / f"{mode}-{function or 'none'}.log", "ab") as log, open(folder / "stderr", "wb") as err:
            spawned = time.monotonic()
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
                [sys.executable, "-I", str(CHILD), str(folder / "spec.json")], env=child_env, stdout=log, stderr=err
            )
            exit_code, peak_rss_kb = _wait(process)
        if exit_code != 0:
            stderr = (folder / "stderr").read_text(errors="replace")[-3000:]
            raise ChildFailed(f"{mode} {function}: exit {exit_code}\n{stderr}")
        result = json.loads((folder / "result.json").read_text())
    return _parsed(result, spawned, result.get("peak_rss_kb") or peak_rss_kb, mode, function, expect)


def _write(path: Path, events: list[bytes]) -> str | None:
    if not events:
        return None
    path.write_bytes(b"".join(event + b"\n" for event in events))
    return str(path)


def _wait(process: subprocess.Popen[bytes]) -> tuple[int, int]:
    """(exit code, peak RSS in KiB) from wait4: this one child's figure (RUSAGE_CHILDREN keeps the largest yet),
    used where /proc is missing: it also counts the pages the child shared with this process before exec.

    Polling costs nothing in the figures: the cold start is stamped by the child's own monotonic clock."""
    deadline = time.monotonic() + CHILD_TIMEOUT_SECONDS
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = code = os.waitstatus_to_exitcode(status)
            return code, usage.ru_maxrss
        if time.monotonic() > deadline:
            process.kill()
            os.wait4(process.pid, 0)
            raise ChildFailed("a measured process did not finish in time")
        time.sleep(0.002)


def _parsed(
    result: dict[str, Any], spawned: float, peak_rss_kb: int, mode: str, function: str, expect: int | None
) -> ChildRun:
    statuses = [int(s) for s in result["statuses"]]
    if expect is not None and any(status != expect for status in statuses):
        raise ChildFailed(f"{mode} {function}: expected status {expect}, got {sorted(set(statuses))}")
    started = float(result["started"])
    imported, first_done = result.get("imported"), result.get("first_done")
    done = float(first_done) if first_done is not None else started
    return ChildRun(
        cold_ms=(done - spawned) * 1000,
        startup_ms=(started - spawned) * 1000,
        import_ms=(float(imported) - started) * 1000 if imported is not None else None,
        first_request_ms=(done - float(imported)) * 1000 if imported is not None else None,
        cpu_ms=float(result["first_cpu"]) * 1000 if result.get("first_cpu") is not None else None,
        peak_rss_mb=peak_rss_kb / 1024,
        statuses=statuses,
        latencies_ms=[float(x) for x in result["latencies_ms"]],
        heavy=list(result["heavy"]),
        modules=dict(result.get("modules") or {}),
    )
