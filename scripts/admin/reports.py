"""The commands that read figures and records over the admin HTTP API: stats, reconciliation reports, anomalies
and the audit log."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from scripts.admin.api import AdminApi, path_id
from scripts.admin.output import Output, compact, when, yuan


def cmd_stats(api: AdminApi, args: argparse.Namespace, output: Output) -> int:
    stats = api.get("/v1/admin/stats", **{"from": getattr(args, "from"), "to": args.to})
    output.show(stats, lambda: _stats_tables(stats, output))
    return 0


STATS_COLUMNS = ("day", "created", "paid", "payments", "revenue ¥", "refunded ¥")


def _stats_row(label: str, figures: Mapping[str, Any]) -> list[Any]:
    counts = [figures["orders_created"], figures["orders_paid"], figures["payments"]]
    return [label, *counts, yuan(figures["revenue_fen"]), yuan(figures["refunded_fen"])]


def _stats_tables(stats: Mapping[str, Any], output: Output) -> None:
    rows = [_stats_row(day["date"], day) for day in stats["days"]]
    output.table(f"Figures {stats.get('from')} to {stats.get('to')} (UTC+8)", STATS_COLUMNS, rows)
    totals = stats["totals"]
    conversion = totals.get("conversion")
    output.fields(
        "Totals",
        [
            *zip(STATS_COLUMNS[1:], _stats_row("", totals)[1:], strict=True),
            ("conversion", f"{conversion * 100:.1f}%" if conversion is not None else None),
            ("pending now", stats.get("pending")),
        ],
    )


def cmd_reports(api: AdminApi, args: argparse.Namespace, output: Output) -> int:
    if args.date:
        report = api.get(f"/v1/admin/reports/{path_id(args.date)}")
        output.json(report)  # nested lists of differences: JSON is the readable form
        return 0
    listed = api.get("/v1/admin/reports", limit=args.limit)
    columns = ("date", "compared (UTC+8)", "status", "missing here", "missing there", "amount", "state")
    kinds = ("missing_here", "missing_there", "amount_mismatch", "state_mismatch")
    rows = [
        [r["date"], when(r.get("at")), r["summary"].get("status"), *(r["summary"].get(k) for k in kinds)]
        for r in listed["reports"]
    ]
    output.show(listed, lambda: output.table("Reconciliation reports", columns, rows))
    return 0


def cmd_anomalies(api: AdminApi, args: argparse.Namespace, output: Output) -> int:
    listed = api.get("/v1/admin/anomalies", limit=args.limit)
    columns = ("at (UTC+8)", "kind", "order_id", "reference", "details")
    rows = [
        [when(a.get("at")), a.get("kind"), a.get("order_id"), a.get("reference"), compact(a.get("details"))]
        for a in listed["anomalies"]
    ]
    output.show(listed, lambda: output.table("Anomalies", columns, rows))
    return 0


AUDIT_FIELDS = ("actor", "actor_name", "role", "action", "target", "outcome", "request_id")


def cmd_audit(api: AdminApi, args: argparse.Namespace, output: Output) -> int:
    page = api.get("/v1/admin/audit", target=args.target, before=args.before, limit=args.limit)
    columns = ("at (UTC+8)", "actor", "name", "role", "action", "target", "outcome", "request_id")
    rows = [[when(e["at"]), *(e.get(name) for name in AUDIT_FIELDS)] for e in page["entries"]]
    output.show(page, lambda: output.table("Audit log", columns, rows))
    if page.get("next_before") and not output.as_json:
        output.error(f"older: --before {page['next_before']}")
    return 0
