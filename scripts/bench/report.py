"""The bench's output: a table on stdout, and JSON (`.data/bench/<timestamp>.json` and `latest.json`)."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scripts.bench.budgets import FUNCTIONS, Verdict


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def write_json(report: Mapping[str, Any], path: Path | None, folder: Path) -> list[Path]:
    """Write the report where asked, else to `folder/<timestamp>.json` and `folder/latest.json`."""
    text = json.dumps(report, indent=1, ensure_ascii=False) + "\n"
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return [path]
    folder.mkdir(parents=True, exist_ok=True)
    stamped = folder / (time.strftime("%Y%m%dT%H%M%S", time.localtime()) + ".json")
    stamped.write_text(text, encoding="utf-8")
    (folder / "latest.json").write_text(text, encoding="utf-8")
    return [stamped, folder / "latest.json"]


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(
        cell.rjust(width) if i else cell.ljust(width) for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
    )


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [_row(header, widths), _row(["-" * w for w in widths], widths)]
    return "\n".join(lines + [_row(r, widths) for r in rows])


def _f(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{float(value):.{digits}f}"


HEADER = ["function", "cold ms", "min", "cpu ms", "import", "1st req", "RSS MB", "warm p50", "p99"]
HEADER += ["floor p50", "p99", "ratio", "pkg MB"]
LEGEND = (
    "cold = spawn -> first answer (interpreter start-up included), median; import = handler module; "
    "1st req = first request incl. lazy building; warm/floor in ms per request; ratio = warm p50 / floor p50"
)


def _measured(name: str, cold: Mapping[str, Any], warm: Mapping[str, Any]) -> list[str]:
    c = cold
    figures = [c["median_ms"], c["min_ms"], c["cpu_median_ms"], c["import_median_ms"], c["first_request_median_ms"]]
    return [name, *(_f(x) for x in figures), _f(c["rss_median_mb"]), _f(warm["p50"], 2), _f(warm["p99"], 2)]


def _rows(report: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for name in FUNCTIONS:
        f = report["functions"][name]
        floor = [_f(f["floor"]["p50"], 2), _f(f["floor"]["p99"], 2), _f(f["ratio"], 2), _f(f["package"]["package_mb"])]
        rows.append(_measured(name, f["cold"], f["warm"]) + floor)
    for name, ref in report["references"].items():
        rows.append([*_measured(f"({name})", ref["cold"], ref["warm"]), "", "", "", ""])
    return rows


def render(report: Mapping[str, Any], verdicts: list[Verdict]) -> str:
    m, settings, startup = report["machine"], report["settings"], report["startup"]
    out = [
        f"Python {m['python']} on {m['cpu_model'] or m['platform']} ({m['cpus']} CPUs), load average at start "
        f"{m['load_average']}; {settings['runs']} cold runs, {settings['warm']} warm requests each",
        f"Interpreter alone: {_f(startup['median_ms'])} ms, {_f(startup['rss_median_mb'])} MB",
        _table(HEADER, _rows(report)),
        LEGEND,
    ]
    heavy = {n: report["functions"][n]["cold"]["heavy_modules"] for n in FUNCTIONS}
    out.append(
        "heavy modules on the first request: " + "; ".join(f"{n}: {', '.join(h) or 'none'}" for n, h in heavy.items())
    )
    t = report.get("throughput")
    if t:
        lat = t["latency_ms"]
        out.append(
            f"Gateway throughput: {t['per_second']} notifications/s with {t['workers']} worker processes and "
            f"{t['clients']} clients ({t['notifications']} sent, {t['errors']} errors), "
            f"latency p50 {_f(lat.get('p50'))} ms, p99 {_f(lat.get('p99'))} ms"
        )
    sizes = ", ".join(f"{n} {_f(report['functions'][n]['package']['package_mb'])} MB" for n in FUNCTIONS)
    out.append(f"Package sizes (code + imported distributions): {sizes}")
    out.append(
        "  (of the measured requests: order_status's query at WeChat and admin's refund / confirm-paid also import "
        "wechatpayv3 and requests, which scripts/package.py bundles)"
    )
    out.append("Budgets:")
    out.extend("  " + verdict.line() for verdict in verdicts)
    return "\n".join(out)


def stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
