"""`python -m scripts.bench [--runs N] [--warm N] [--quick] [--json PATH]` and `python -m scripts.bench load ...`.

Exit status 1 when a budget is missed (scripts.bench.budgets) or, for `load`, when exactly-once does not hold.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scripts.bench.budgets import all_met, check
from scripts.bench.report import machine, render, stderr, write_json
from shared.config import CODE_ROOT

REPORTS = CODE_ROOT / ".data" / "bench"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench", description=__doc__)
    parser.add_argument("command", nargs="?", choices=("run", "load"), default="run")
    parser.add_argument("--runs", type=int, help="cold starts per function (default 15; at least 10)")
    parser.add_argument("--warm", type=int, help="warm requests per function (default 400)")
    parser.add_argument("--quick", action="store_true", help="10 cold runs, 100 warm requests, a short throughput run")
    parser.add_argument("--json", type=Path, help="write the JSON report here (default .data/bench/<time>.json)")
    parser.add_argument("--workers", type=int, default=4, help="gateway worker processes (throughput, load)")
    parser.add_argument("--clients", type=int, help="concurrent clients (default 2 per worker)")
    parser.add_argument("--seconds", type=float, default=20, help="load: how long to run (at most 120)")
    parser.add_argument("--max-orders", type=int, default=5000, help="load: stop after this many orders")
    parser.add_argument("--no-throughput", action="store_true", help="skip the gateway throughput run")
    return parser


def _quiet_logs() -> None:
    """The bench's own in-process services (seeding orders) log JSON lines: not on the terminal."""
    from shared import log

    log.configure(stream=open(os.devnull, "w"))  # noqa: SIM115 - for the life of the process


def run(args: argparse.Namespace) -> int:
    from scripts.bench.fixture import World
    from scripts.bench.measure import Plan, measure, report_sections
    from scripts.bench.throughput import notification_throughput

    runs = max(10, args.runs or (10 if args.quick else 15))
    warm = max(20, args.warm or (100 if args.quick else 400))
    workers = max(1, min(args.workers, 16))
    clients = args.clients or 2 * workers
    started = time.time()
    report: dict[str, Any] = {
        "version": 1,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "machine": machine(),
        "settings": {"runs": runs, "warm": warm, "quick": args.quick, "storage": "sqlite", "emulator": "public_key"},
    }
    _quiet_logs()
    world = World()
    try:
        report.update(report_sections(measure(world, world.data_dir / "runs", Plan(runs, warm, stderr))))
        if not args.no_throughput:
            count = 200 if args.quick else 600
            stderr(f"throughput: {count} notifications through the gateway, {workers} workers, {clients} clients")
            report["throughput"] = notification_throughput(
                world, world.data_dir / "runs", workers=workers, clients=clients, count=count, seconds=60
            )
    finally:
        world.close()
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    report["duration_s"] = round(time.time() - started, 1)
    verdicts = check(report)
    report["budgets"] = [
        {"name": v.budget.name, "limit": v.budget.limit, "unit": v.budget.unit, "measured": v.measured, "ok": v.ok}
        for v in verdicts
    ]
    report["ok"] = all_met(verdicts)
    paths = write_json(report, args.json, REPORTS)
    print(render(report, verdicts))
    print("JSON: " + ", ".join(str(p) for p in paths))
    return 0 if report["ok"] else 1


def load(args: argparse.Namespace) -> int:
    from scripts.bench.load import load_run
    from scripts.bench.load import render as render_load

    workers = max(1, min(args.workers, 16))
    clients = args.clients or 2 * workers
    work = Path(tempfile.mkdtemp(prefix="wxpay-load-"))
    _quiet_logs()
    stderr(f"load: {workers} workers, {clients} buyers, {args.seconds} s (loopback only)")
    try:
        result = load_run(work, workers=workers, clients=clients, seconds=args.seconds, max_orders=args.max_orders)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {"version": 1, "kind": "load", "machine": machine(), "load": result}
    paths = write_json(report, args.json, REPORTS / "load")
    print(render_load(result))
    print("JSON: " + ", ".join(str(p) for p in paths))
    return 0 if result["exactly_once"]["holds"] else 1


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return load(args) if args.command == "load" else run(args)


if __name__ == "__main__":
    sys.exit(main())
