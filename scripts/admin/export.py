"""`export-orders`: every order of a range of days, page by page, to a CSV file that appears only when complete."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from scripts.admin.api import AdminApi, ApiError, UsageError
from scripts.admin.orders import filters
from scripts.admin.output import CST, Output

PAGE = 200  # the API's largest page
STATS_MAX_DAYS = 366
CSV_COLUMNS = (
    "order_id",
    "status",
    "product_id",
    "description",
    "amount_fen",
    "currency",
    "created_at",
    "paid_at",
    "closed_at",
    "expires_at",
    "transaction_id",
    "payer_hash",
    "mchid",
    "appid",
)
CSV_TIMES = frozenset({"created_at", "paid_at", "closed_at", "expires_at"})


def cmd_export_orders(api: AdminApi, args: argparse.Namespace, output: Output) -> int:
    target = Path(args.out)
    if target.exists() and not args.force:
        raise UsageError(f"{target} exists: choose another --out or add --force")
    partial = target.with_name(target.name + ".part")  # renamed when complete: a failed export leaves nothing
    try:
        with output.progress(_expected(api, args), "exporting orders") as advance:
            count = write_csv(partial, all_orders(api, filters(args)), advance)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    summary = {"file": str(target), "orders": count}
    output.show(summary, lambda: output.fields("Exported", list(summary.items())))
    return 0


def write_csv(path: Path, orders: Iterator[Mapping[str, Any]], advance: Callable[[int], None]) -> int:
    """CSV_COLUMNS, times in ISO 8601 (UTC+8), money in fen; UTF-8 with a BOM, which spreadsheet programs need to
    read Chinese text (Python reads it with encoding="utf-8-sig")."""
    count = 0
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for order in orders:
            writer.writerow([csv_value(name, order.get(name)) for name in CSV_COLUMNS])
            count += 1
            advance(1)
    return count


def all_orders(api: AdminApi, filters: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    cursor = None
    while True:
        page = api.get("/v1/admin/orders", **filters, cursor=cursor, limit=PAGE)
        yield from page["orders"]
        cursor = page.get("next_cursor")
        if not cursor:
            return


def _expected(api: AdminApi, args: argparse.Namespace) -> int | None:
    """How many orders the export will write, for the progress bar: the days' created orders when nothing else
    filters (None, an open-ended bar, otherwise)."""
    first, last = dt.date.fromisoformat(getattr(args, "from")), dt.date.fromisoformat(args.to)
    if args.status or args.product_id or not 0 <= (last - first).days < STATS_MAX_DAYS:
        return None
    try:
        stats = api.get("/v1/admin/stats", **{"from": first.isoformat(), "to": last.isoformat()})
        return int(stats["totals"]["orders_created"])
    except (ApiError, KeyError, TypeError, ValueError):
        return None


def csv_value(name: str, value: Any) -> Any:
    if name in CSV_TIMES and isinstance(value, int):
        return dt.datetime.fromtimestamp(value, CST).isoformat()
    return "" if value is None else value
