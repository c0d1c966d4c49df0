"""Operator commands, until the admin API exists. Settings come from the environment, as the functions read them;
with `--local` (or when SERVER_SECRET is unset) they are those of the running `make dev` system.

    python -m scripts.ops refund ORDER_ID [--amount FEN] --reason TEXT [--request-key K] [--operator NAME]
    python -m scripts.ops refunds ORDER_ID             an order's refunds and its timeline
    python -m scripts.ops jobs run NAME[,NAME...] [--date YYYY-MM-DD]
    python -m scripts.ops report DATE                  the reconciliation report of a bill day

A refund's request key names it: running the same command again never refunds twice (without --request-key, the
key is derived from the amount and the reason, so repeat a deliberate second identical refund with a new key).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import requests

from shared import bootstrap, errors
from shared.domain.refunds import default_request_key


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = dict(os.environ if env is None else env)
    if args.local or not settings.get("SERVER_SECRET"):
        settings = {**settings, **local_env(settings)}
    bootstrap.reset(settings)
    try:
        return _run(args)
    except errors.AppError as exc:
        _print({"error": {"code": exc.code, "message": exc.message, "details": exc.details}}, sys.stderr)
        return 1
    finally:
        bootstrap.reset()


def _run(args: argparse.Namespace) -> int:
    c = bootstrap.container()
    if args.command == "refund":
        key = args.request_key or default_request_key(args.amount, args.reason)
        operator = args.operator or getpass.getuser()
        _print({"request_key": key, **c.refunds.request(args.order_id, args.amount, args.reason, key, operator)})
        return 0
    if args.command == "refunds":
        refunds = [c.refunds.view(r) for r in c.storage.refunds_for_order(args.order_id)]
        _print({"refunds": refunds, "events": c.storage.order_events(args.order_id)})
        return 0
    if args.command == "jobs":
        return _jobs(args.names, args.date)
    report = c.storage.get_report("reconciliation", args.date)
    _print(report if report is not None else {"error": {"code": "NO_REPORT", "message": f"no report for {args.date}"}})
    return 0 if report is not None else 1


def _jobs(names: str, date: str | None) -> int:
    from functions.jobs import index as jobs

    event: dict[str, Any] = {"jobs": names, **({"date": date} if date else {})}
    try:
        _print(jobs.handler(event, SimpleNamespace(request_id="ops")))
    except jobs.JobsFailed as exc:
        _print(exc.answer)
        print(f"failed: {exc} (see the job_failed lines above)", file=sys.stderr)
        return 1
    return 0


def local_env(env: Mapping[str, str]) -> dict[str, str]:
    """The settings `make dev` gives its functions: dev secrets from DATA_DIR, the emulator as WeChat Pay."""
    from scripts.stack import function_env

    emulator = env.get("EMULATOR_URL") or f"http://127.0.0.1:{env.get('EMULATOR_PORT', '8090')}"
    gateway = env.get("GATEWAY_URL") or f"http://127.0.0.1:{env.get('PORT', '8080')}"
    try:
        merchant = requests.get(f"{emulator}/_emulator/merchant", timeout=5).json()
    except requests.RequestException as exc:
        raise SystemExit(f"the emulator at {emulator} does not answer: is `make dev` running?") from exc
    return function_env(Path(env.get("DATA_DIR", ".data")), merchant, emulator, gateway)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scripts.ops", description=__doc__.split("\n\n")[0])
    parser.add_argument("--local", action="store_true", help="use the settings of the running `make dev`")
    sub = parser.add_subparsers(dest="command", required=True)
    refund = sub.add_parser("refund", help="refund a paid order, fully or in part")
    refund.add_argument("order_id")
    refund.add_argument("--amount", type=int, help="fen; the whole refundable amount when left out")
    refund.add_argument("--reason", required=True, help="shown to the user by WeChat (at most 80 characters)")
    refund.add_argument("--request-key", help="names this refund: the same key never refunds twice")
    refund.add_argument("--operator", help="who asks (audit); default: the login name")
    sub.add_parser("refunds", help="an order's refunds and timeline").add_argument("order_id")
    jobs = sub.add_parser("jobs", help="run timer jobs now")
    jobs.add_argument("action", choices=("run",))
    jobs.add_argument("names", help="close_expired, reconcile_pending, reconcile_refunds, reconcile_bill, ... or all")
    jobs.add_argument("--date", help="the bill day for reconcile_bill (default: yesterday, China time)")
    sub.add_parser("report", help="a day's reconciliation report").add_argument("date", help="YYYY-MM-DD")
    return parser


def _print(value: Any, stream: Any = None) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str), file=stream or sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
