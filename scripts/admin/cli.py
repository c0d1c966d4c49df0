"""The command line: its parser, and `main`, which runs one command and turns its outcome into an exit code."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import NoReturn, TextIO

from scripts.admin.api import DEFAULT_URL, AdminApi, ApiError, UsageError, api_key, checked_url
from scripts.admin.export import cmd_export_orders
from scripts.admin.keys import cmd_keys
from scripts.admin.orders import cmd_confirm_paid, cmd_order, cmd_orders, cmd_refund, licence_command
from scripts.admin.output import Output
from scripts.admin.reports import cmd_anomalies, cmd_audit, cmd_reports, cmd_stats

COMMANDS: dict[str, Callable[[AdminApi, argparse.Namespace, Output], int]] = {
    "orders": cmd_orders,
    "order": cmd_order,
    "refund": cmd_refund,
    "confirm-paid": cmd_confirm_paid,
    "revoke": licence_command("revoke"),
    "reinstate": licence_command("reinstate"),
    "reset-devices": licence_command("reset-devices"),
    "stats": cmd_stats,
    "reports": cmd_reports,
    "anomalies": cmd_anomalies,
    "audit": cmd_audit,
    "export-orders": cmd_export_orders,
}


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    settings = dict(os.environ if env is None else env)
    output = Output(out or sys.stdout, err or sys.stderr)
    try:
        args = _parser().parse_args(argv)
    except UsageError as exc:
        output.error(f"usage error: {exc}")
        return 2
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    output.as_json = args.json
    try:
        if args.command == "keys":
            return cmd_keys(args, settings, output)
        api = AdminApi(checked_url(args.url or settings.get("ADMIN_URL") or DEFAULT_URL), api_key(settings))
        return COMMANDS[args.command](api, args, output)
    except UsageError as exc:
        output.error(f"usage error: {exc}")
        return 2
    except ApiError as exc:
        output.failure(exc)
        return 1


class _Parser(argparse.ArgumentParser):
    """Usage errors raised (main writes them to its `err` and exits 2), not printed to sys.stderr by argparse."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see --help)")


def _parser() -> argparse.ArgumentParser:
    from scripts import admin  # the package's docstring is the usage; its first paragraph, the description

    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print the raw JSON")
    common.add_argument("--url", default=argparse.SUPPRESS, help=f"the admin API (default $ADMIN_URL or {DEFAULT_URL})")
    parser = _Parser(
        prog="python -m scripts.admin",
        description=(admin.__doc__ or "").split("\n\n")[0],
        epilog="The admin key is read from $ADMIN_API_KEY only: an argument would land in the shell history.",
    )
    parser.add_argument("--json", action="store_true", help="print the raw JSON (for scripts)")
    parser.add_argument("--url", help=f"the admin API (default $ADMIN_URL or {DEFAULT_URL})")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, description=text, parents=[common])

    keys = command("keys", "create, list or revoke admin keys (storage, not the API)")
    keys.add_argument("--local", action="store_true", help="the running `make dev` system's storage")
    actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="a new key, shown once", parents=[common])
    create.add_argument("--name", required=True, help="who holds it (shown in the audit log)")
    create.add_argument("--role", required=True, choices=("viewer", "operator"))
    actions.add_parser("list", help="every key, revoked ones too", parents=[common])
    actions.add_parser("revoke", help="revoke a key now", parents=[common]).add_argument("key_id")

    orders = command("orders", "search orders, newest first")
    _order_filters(orders)
    orders.add_argument("--order-id")
    orders.add_argument("--transaction-id")
    orders.add_argument("--limit", type=int, help="1-200 (default 50)")
    orders.add_argument("--cursor", help="the next page, as the previous one said")
    command("order", "one order: its licence, refunds and timeline").add_argument("order_id")

    refund = command("refund", "refund a paid order, fully or in part")
    refund.add_argument("order_id")
    refund.add_argument("--amount", type=int, help="fen; the whole refundable amount when left out")
    refund.add_argument("--reason", required=True, help="shown to the user by WeChat (at most 80 characters)")
    refund.add_argument("--request-key", help="names this refund: the same key never refunds twice")

    confirm = command("confirm-paid", "ask WeChat Pay about orders and apply what it says")
    confirm.add_argument("order_ids", nargs="+", metavar="ORDER_ID")
    for name, text in (("revoke", "revoke a licence"), ("reinstate", "reinstate a revoked licence")):
        licence = command(name, text)
        licence.add_argument("licence_id")
        licence.add_argument("--reason", required=True)
    command("reset-devices", "remove every device from a licence").add_argument("licence_id")

    stats = command("stats", "figures per China day (default the last 30 days)")
    stats.add_argument("--from", type=_day, metavar="DAY")
    stats.add_argument("--to", type=_day, metavar="DAY")
    reports = command("reports", "reconciliation reports, newest first")
    reports.add_argument("date", nargs="?", type=_day, help="print that day's whole report")
    reports.add_argument("--limit", type=int)
    command("anomalies", "reports that disagreed with our books, newest first").add_argument("--limit", type=int)
    audit = command("audit", "the audit log, newest first")
    audit.add_argument("--target", help="e.g. order:<order_id>, licence:<licence_id>, admin_key:<key_id>")
    audit.add_argument("--before", metavar="AUDIT_ID", help="older entries, as the previous page said")
    audit.add_argument("--limit", type=int)

    export = command("export-orders", "every order created in a range of days, to CSV")
    export.add_argument("--from", type=_day, required=True, metavar="DAY")
    export.add_argument("--to", type=_day, required=True, metavar="DAY")
    export.add_argument("--out", required=True, metavar="FILE.csv")
    export.add_argument("--force", action="store_true", help="replace FILE.csv if it exists")
    _order_filters(export, days=False)
    return parser


def _order_filters(parser: argparse.ArgumentParser, *, days: bool = True) -> None:
    parser.add_argument("--status", help="PENDING, PAID, CLOSED, REFUNDING, PARTIALLY_REFUNDED, REFUNDED")
    parser.add_argument("--product-id")
    if days:
        parser.add_argument("--from", type=_day, metavar="DAY", help="created on or after (UTC+8)")
        parser.add_argument("--to", type=_day, metavar="DAY", help="created on or before (UTC+8)")


def _day(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"a day is YYYY-MM-DD, not {text!r}") from None
