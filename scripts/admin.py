"""The operators' command line (docs/admin.md, docs/operations.md).

Admin keys go straight to storage through the composition root, never through the API, so that a stolen key cannot
mint another; both are audited with actor `cli:<user>`. Settings come from the environment, as the functions read
them; with `--local` (or when SERVER_SECRET is unset) they are those of the running `make dev` system:

    python -m scripts.admin keys create --name NAME --role viewer|operator     the key is shown once
    python -m scripts.admin keys list
    python -m scripts.admin keys revoke KEY_ID

Everything else goes over the admin HTTP API, so it works against any deployment: `--url` (default $ADMIN_URL, else
http://127.0.0.1:8080) with the key in $ADMIN_API_KEY. The key is never a command-line argument: it would land in
the shell history and in every `ps` listing.

    orders [--status S] [--from DAY] [--to DAY] [--order-id ID] [--transaction-id ID] [--product-id P]
           [--limit N] [--cursor C]
    order ORDER_ID                                    the order, its licence, refunds and timeline
    refund ORDER_ID [--amount FEN] --reason TEXT [--request-key K]
    confirm-paid ORDER_ID [ORDER_ID ...]              ask WeChat Pay and apply what it says
    revoke LICENCE_ID --reason TEXT
    reinstate LICENCE_ID --reason TEXT
    reset-devices LICENCE_ID
    stats [--from DAY] [--to DAY]                     per China day, with totals
    reports [DATE] [--limit N]                        reconciliation reports (a DATE: that day's whole report)
    anomalies [--limit N]                             payments and refunds that disagreed with our books
    audit [--target T] [--before AUDIT_ID] [--limit N]
    export-orders --from DAY --to DAY --out FILE.csv [--status S] [--product-id P] [--force]

Tables on a terminal, tab-separated lines when piped, `--json` for the API's own JSON. Days are YYYY-MM-DD, China
Standard Time; money in tables is yuan, in JSON and CSV integer fen. Exit codes: 0 done, 1 the API (or storage)
refused or could not be reached, 2 a usage error.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TextIO
from urllib.parse import quote, urlsplit

import requests

DEFAULT_URL = "http://127.0.0.1:8080"
CST = dt.timezone(dt.timedelta(hours=8), "UTC+8")
PAGE = 200  # the API's largest page
STATS_MAX_DAYS = 366
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
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
KEY_WARNING = (
    "Store this key now, in a password manager or the deployment's secret store: it is shown once, only its hash is "
    "kept, and it cannot be recovered. Give it to this command as ADMIN_API_KEY in the environment, never as an "
    "argument."
)


class UsageError(Exception):
    """The command line or its environment is wrong (exit 2)."""


class ApiError(Exception):
    """The admin API answered with an error, or not at all (exit 1)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}" if status else f"{code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details

    def as_json(self) -> dict[str, Any]:
        error = {"status": self.status, "code": self.code, "message": self.message}
        return {"error": {**error, **({"details": self.details} if self.details is not None else {})}}


# -- entry point -------------------------------------------------------------------------------------------------------


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
            return _keys(args, settings, output)
        api = AdminApi(_url(args.url or settings.get("ADMIN_URL") or DEFAULT_URL), _key(settings))
        return COMMANDS[args.command](api, args, output)
    except UsageError as exc:
        output.error(f"usage error: {exc}")
        return 2
    except ApiError as exc:
        output.failure(exc)
        return 1


def _url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--url must be an http(s) URL, not {url!r}")
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        raise UsageError("the admin key would cross the network in clear text: use an https:// URL")
    return url.rstrip("/")


def _key(env: Mapping[str, str]) -> str:
    key = env.get("ADMIN_API_KEY", "").strip()
    if not key:
        raise UsageError(
            "set ADMIN_API_KEY in the environment (read it from your secret store, e.g. "
            "`read -rs ADMIN_API_KEY && export ADMIN_API_KEY`); it is never an argument, which would land in "
            "the shell history"
        )
    return key


# -- admin keys: storage, through the composition root ---------------------------------------------------------------


def _keys(args: argparse.Namespace, env: dict[str, str], output: Output) -> int:
    from scripts.ops import local_env
    from shared import bootstrap, errors, log

    if args.local or not env.get("SERVER_SECRET"):
        if not args.local:
            output.error("note: SERVER_SECRET is not set: using the running `make dev` system (--local)")
        try:
            env = {**env, **local_env(env)}
        except SystemExit as exc:
            raise ApiError(0, "NO_LOCAL_SYSTEM", str(exc)) from None
    bootstrap.reset(env)
    log.configure(stream=output.err)  # the services' log lines (the audit's too) must not mix with the answer
    try:
        keys = bootstrap.container().admin.keys
        if args.action == "create":
            created = keys.create(_user(), args.name, args.role)
            output.show(
                created, lambda: output.fields("New admin key", [*_key_fields(created), ("key", created["key"])])
            )
            output.error(KEY_WARNING)
        elif args.action == "list":
            listed = keys.list()
            output.show(listed, lambda: output.table("Admin keys", KEY_COLUMNS, [_key_row(k) for k in listed]))
        else:
            revoked = keys.revoke(_user(), args.key_id)
            output.show(revoked, lambda: output.fields("Revoked admin key", _key_fields(revoked)))
        return 0
    except errors.AppError as exc:
        raise ApiError(exc.status, exc.code, exc.message, exc.details) from None
    finally:
        log.configure(stream=None)
        bootstrap.reset()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container without a passwd entry nor USER
        return "unknown"


KEY_COLUMNS = ("key_id", "name", "role", "created (UTC+8)", "revoked (UTC+8)")


def _key_row(key: Mapping[str, Any]) -> list[Any]:
    return [key["key_id"], key["name"], key["role"], when(key["created_at"]), when(key.get("revoked_at"))]


def _key_fields(key: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return list(zip(KEY_COLUMNS, _key_row(key), strict=True))


# -- the admin HTTP API ------------------------------------------------------------------------------------------------


class AdminApi:
    def __init__(self, url: str, key: str, session: requests.Session | None = None, timeout: float = 30) -> None:
        self.url, self._timeout = url, timeout
        self._session = session or requests.Session()
        self._session.headers["Authorization"] = f"Bearer {key}"

    def get(self, path: str, **params: Any) -> Any:
        return self._call("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        return self._call("POST", path, json={k: v for k, v in body.items() if v is not None})

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._session.request(method, self.url + path, timeout=self._timeout, **kwargs)
        except requests.RequestException as exc:
            raise ApiError(0, "UNREACHABLE", f"{self.url} did not answer ({type(exc).__name__})") from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.ok and answer is not None:
            return answer
        error = answer.get("error") if isinstance(answer, dict) else None
        if not isinstance(error, dict):
            text = " ".join(response.text.split())[:200] or response.reason
            raise ApiError(response.status_code, f"HTTP_{response.status_code}", text)
        message = str(error.get("message", ""))
        if response.headers.get("Retry-After"):
            message += f" (retry after {response.headers['Retry-After']} s)"
        raise ApiError(response.status_code, str(error.get("code", "ERROR")), message, error.get("details"))


def _id(value: str) -> str:
    return quote(value, safe="")


def cmd_orders(api: AdminApi, args: argparse.Namespace, output: Output) -> int:
    page = api.get("/v1/admin/orders", **_filters(args), cursor=args.cursor, limit=args.limit)
    output.show(page, lambda: output.table("Orders", ORDER_COLUMNS, [_order_row(o) for o in page["orders"]]))
    if page.get("next_cursor") and not output.as_json:
        output.error(f"more: --cursor {page['next_cursor']}")
    return 0


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    names = ("status", "from", "to", "order_id", "transaction_id", "product_id")
    return {name: getattr(args, name, None) for name in names}


ORDER_COLUMNS = ("order_id", "status", "product", "amount ¥", "created (UTC+8)", "paid (UTC+8)", "transaction_id")


def _order_row(order: Mapping[str, Any]) -> list[Any]:
    return [
        order["order_id"],
        order["status"],
        order["product_id"],
        yuan(order["amount_fen"]),
        when(order["created_at"]),
        when(order.get("paid_at")),
        order.get("transaction_id"),
    ]


def cmd_order(api: AdminApi, args: argparse.Namespace, output: Output) -> int:
    detail = api.get(f"/v1/admin/orders/{_id(args.order_id)}")
    output.show(detail, lambda: _order_detail(detail, output))
    return 0


def _order_detail(detail: Mapping[str, Any], output: Output) -> None:
    order, licence = detail["order"], detail.get("licence")
    output.fields(
        "Order", [*zip(ORDER_COLUMNS, _order_row(order), strict=True), *_extra(order, "closed_at", "expires_at")]
    )
    if licence:
        output.fields("Licence", _licence_fields(licence))
    refunds = detail.get("refunds") or []
    if refunds:
        output.table("Refunds", REFUND_COLUMNS, [_refund_row(r) for r in refunds])
    rows = [[when(e["at"]), e["kind"], compact(e.get("details"))] for e in detail.get("events") or []]
    output.table("Timeline", ("at (UTC+8)", "event", "details"), rows)


def _extra(record: Mapping[str, Any], *times: str) -> list[tuple[str, Any]]:
    return [(f"{name.removesuffix('_at')} (UTC+8)", when(record.get(name))) for name in times if record.get(name)]


def _licence_fields(licence: Mapping[str, Any]) -> list[tuple[str, Any]]:
    devices = f"{len(licence.get('activations') or [])} of {licence['max_devices']}"
    return [
        ("licence_id", licence["licence_id"]),
        ("status", licence["status"]),
        ("issued (UTC+8)", when(licence.get("issued_at"))),
        ("expires (UTC+8)", when(licence.get("expires_at"))),
        ("devices", devices),
        ("revoke reason", licence.get("revoke_reason")),
    ]


REFUND_COLUMNS = ("out_refund_no", "amount ¥", "status", "reason", "by", "requested (UTC+8)", "succeeded (UTC+8)")


def _refund_row(refund: Mapping[str, Any]) -> list[Any]:
    return [
        refund["out_refund_no"],
        yuan(refund["amount_fen"]),
        refund["status"],
        refund.get("reason"),
        refund.get("requested_by"),
        when(refund.get("requested_at")),
        when(refund.get("success_at")),
    ]


def cmd_refund(api: AdminApi, args: argparse.Namespace, output: Output) -> int:
    body = {"amount_fen": args.amount, "reason": args.reason, "request_key": args.request_key}
    refund = api.post(f"/v1/admin/orders/{_id(args.order_id)}/refund", body)
    fields = [*zip(REFUND_COLUMNS, _refund_row(refund), strict=True), ("order status", refund.get("order_status"))]
    output.show(refund, lambda: output.fields("Refund", fields))
    return 0


def cmd_confirm_paid(api: AdminApi, args: argparse.Namespace, output: Output) -> int:
    results: list[dict[str, Any]] = []
    with output.progress(len(args.order_ids), "confirming") as advance:
        for order_id in args.order_ids:
            try:
                answer = api.post(f"/v1/admin/orders/{_id(order_id)}/confirm-paid", {})
                results.append({"order_id": order_id, **answer})
            except ApiError as exc:
                if exc.status in (0, 401, 403, 429):  # the next ones would fail the same way
                    raise
                results.append({"order_id": order_id, **exc.as_json()})
            advance(1)
    rows = [[r["order_id"], *_confirmed(r)] for r in results]
    output.show(results, lambda: output.table("Confirm paid", ("order_id", "outcome", "status"), rows))
    return 1 if any("error" in r for r in results) else 0


def _confirmed(result: Mapping[str, Any]) -> list[Any]:
    if "error" in result:
        return [result["error"]["code"], result["error"]["message"]]
    return [result.get("outcome"), (result.get("order") or {}).get("status")]


def _licence_command(action: str) -> Callable[[AdminApi, argparse.Namespace, Output], int]:
    def run(api: AdminApi, args: argparse.Namespace, output: Output) -> int:
        body = {"reason": args.reason} if action != "reset-devices" else {}
        answer = api.post(f"/v1/admin/licences/{_id(args.licence_id)}/{action}", body)
        licence = answer.get("licence", answer)
        fields = _licence_fields(licence) + ([("devices removed", answer["removed"])] if "removed" in answer else [])
        output.show(answer, lambda: output.fields("Licence", fields))
        return 0

    return run


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
        report = api.get(f"/v1/admin/reports/{_id(args.date)}")
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


def cmd_export_orders(api: AdminApi, args: argparse.Namespace, output: Output) -> int:
    target = Path(args.out)
    if target.exists() and not args.force:
        raise UsageError(f"{target} exists: choose another --out or add --force")
    partial = target.with_name(target.name + ".part")  # renamed when complete: a failed export leaves nothing
    try:
        with output.progress(_expected(api, args), "exporting orders") as advance:
            count = write_csv(partial, all_orders(api, _filters(args)), advance)
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


COMMANDS: dict[str, Callable[[AdminApi, argparse.Namespace, Output], int]] = {
    "orders": cmd_orders,
    "order": cmd_order,
    "refund": cmd_refund,
    "confirm-paid": cmd_confirm_paid,
    "revoke": _licence_command("revoke"),
    "reinstate": _licence_command("reinstate"),
    "reset-devices": _licence_command("reset-devices"),
    "stats": cmd_stats,
    "reports": cmd_reports,
    "anomalies": cmd_anomalies,
    "audit": cmd_audit,
    "export-orders": cmd_export_orders,
}


# -- output --------------------------------------------------------------------------------------------------------------


def when(moment: int | None) -> str:
    return "" if moment is None else dt.datetime.fromtimestamp(moment, CST).strftime("%Y-%m-%d %H:%M:%S")


def yuan(fen: int | None) -> str:
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def compact(value: Any) -> str:
    return "" if value in (None, {}) else json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


class Output:
    """Tables and fields through rich on a terminal; tab-separated lines otherwise (grep, cut, awk); `as_json`:
    the API's JSON as is. Notes, warnings, errors and progress go to `err`, so that `out` stays parseable."""

    def __init__(self, out: TextIO, err: TextIO, *, as_json: bool = False, fancy: bool | None = None) -> None:
        self.out, self.err, self.as_json = out, err, as_json
        self._fancy = fancy

    @property
    def fancy(self) -> bool:
        return (self._fancy if self._fancy is not None else _is_terminal(self.out)) and not self.as_json

    def show(self, value: Any, render: Callable[[], None]) -> None:
        if self.as_json:
            self.json(value)
        else:
            render()

    def json(self, value: Any) -> None:
        print(json.dumps(value, ensure_ascii=False, indent=2, default=str), file=self.out)

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not self.fancy:
            for row in [columns, *rows]:
                print("\t".join(_plain(cell) for cell in row), file=self.out)
            return
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column, overflow="fold", justify="right" if "¥" in column else "left")
        for row in rows:
            table.add_row(*(Text(_plain(cell)) for cell in row))  # Text: a value's "[...]" is not rich markup
        self._console(self.out).print(table)

    def fields(self, title: str, pairs: Sequence[tuple[str, Any]]) -> None:
        if not self.fancy:
            for name, value in pairs:
                print(f"{name}\t{_plain(value)}", file=self.out)
            return
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title, title_justify="left", show_header=False)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for name, value in pairs:
            table.add_row(name, Text(_plain(value)))
        self._console(self.out).print(table)

    def error(self, text: str) -> None:
        print(text, file=self.err)

    def failure(self, exc: ApiError) -> None:
        if self.as_json:
            print(json.dumps(exc.as_json(), ensure_ascii=False), file=self.err)
            return
        self.error(f"error: {exc}")
        if exc.details is not None:
            self.error(f"details: {compact(exc.details)}")

    @contextmanager
    def progress(self, total: int | None, label: str) -> Iterator[Callable[[int], None]]:
        """A progress bar on a terminal's stderr, for more than one item; nothing otherwise."""
        if not _is_terminal(self.err) or (total is not None and total < 2):
            yield lambda _step: None
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=self._console(self.err), transient=True) as bar:
            task = bar.add_task(label, total=total)
            yield lambda step: bar.advance(task, step)

    @staticmethod
    def _console(stream: TextIO) -> Any:
        from rich.console import Console

        return Console(file=stream, highlight=False, soft_wrap=False)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _plain(value: Any) -> str:
    """A cell as one line of text: None is empty, and tabs or newlines cannot break a tab-separated row."""
    if value is None:
        return ""
    return " ".join(str(value).split()) if isinstance(value, str) else str(value)


# -- the command line ------------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """Usage errors raised (main writes them to its `err` and exits 2), not printed to sys.stderr by argparse."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see --help)")


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print the raw JSON")
    common.add_argument("--url", default=argparse.SUPPRESS, help=f"the admin API (default $ADMIN_URL or {DEFAULT_URL})")
    parser = _Parser(
        prog="python -m scripts.admin",
        description=__doc__.split("\n\n")[0],
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


if __name__ == "__main__":
    sys.exit(main())
