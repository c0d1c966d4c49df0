"""The benchmark's own logic: the budget check `make bench` fails on, percentiles, and the exactly-once checker of
the load run (tests never assert wall-clock times: these feed the checkers made-up figures)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from scripts.bench.budgets import Budget, all_met, check, default_budgets, lookup
from scripts.bench.load import exactly_once
from scripts.bench.sizes import code_files
from scripts.bench.stats import percentile, summary
from shared.config import CODE_ROOT


def report(
    notify_cold: float = 60.0,
    notify_rss: float = 30.0,
    other_cold: float = 150.0,
    ratio: float = 2.0,
    admin_cold: float = 150.0,
    admin_rss: float = 40.0,
) -> Any:
    functions: dict[str, Any] = {
        name: {"cold": {"median_ms": other_cold, "rss_median_mb": 40.0}}
        for name in ("create_order", "order_status", "license")
    }
    functions["payment_notify"] = {"cold": {"median_ms": notify_cold, "rss_median_mb": notify_rss}, "ratio": ratio}
    functions["admin"] = {"cold": {"median_ms": admin_cold, "rss_median_mb": admin_rss}}
    return {"functions": functions}


def test_figures_within_every_budget_pass() -> None:
    verdicts = check(report())
    assert all_met(verdicts)
    assert len(verdicts) == len(default_budgets()) == 11


def test_the_admin_function_has_the_budgets_of_every_function_but_notify_and_no_ratio_budget() -> None:
    admin = {b.name: (b.path, b.limit) for b in default_budgets() if b.name.startswith("admin")}
    assert admin == {
        "admin cold start": ("functions.admin.cold.median_ms", 200),
        "admin peak RSS": ("functions.admin.cold.rss_median_mb", 60),
    }


@pytest.mark.parametrize(
    ("figures", "missed"),
    [
        ({"notify_cold": 80.1}, "payment_notify cold start"),
        ({"notify_rss": 41.0}, "payment_notify peak RSS"),
        ({"other_cold": 200.5}, "create_order cold start"),
        ({"ratio": 3.2}, "payment_notify warm p50 / floor p50"),
        ({"admin_cold": 201.0}, "admin cold start"),
        ({"admin_rss": 60.5}, "admin peak RSS"),
    ],
)
def test_a_figure_over_its_budget_fails_the_bench_and_is_named(figures: dict[str, float], missed: str) -> None:
    verdicts = check(report(**figures))
    assert not all_met(verdicts)
    failed = [v for v in verdicts if not v.ok]
    assert missed in [v.budget.name for v in failed]
    assert any(line.startswith("MISS " + missed) for line in (v.line() for v in failed))


def test_a_figure_exactly_at_its_budget_passes() -> None:
    assert all_met(check(report(notify_cold=80.0, notify_rss=40.0, other_cold=200.0, ratio=3.0)))


def test_a_missing_figure_is_a_miss_not_a_pass() -> None:
    broken = report()
    del broken["functions"]["license"]["cold"]
    verdicts = check(broken)
    assert not all_met(verdicts)
    assert [v.line() for v in verdicts if not v.ok] == [
        "MISS license cold start: missing (budget <= 200 ms)",
        "MISS license peak RSS: missing (budget <= 60 MB)",
    ]


def test_lookup_reads_only_numbers() -> None:
    assert lookup({"a": {"b": 2}}, "a.b") == 2.0
    assert lookup({"a": {"b": "2"}}, "a.b") is None
    assert lookup({"a": {"b": True}}, "a.b") is None
    assert check({"x": 1}, [Budget("x", "x", 1, "ms")])[0].ok


def test_the_admin_package_size_counts_the_dashboard_static_files_once() -> None:
    files = code_files("admin")
    static = CODE_ROOT / "functions" / "admin" / "static"
    assert {p.name for p in files if static in p.parents} == {p.name for p in static.iterdir() if p.is_file()}
    assert len(files) == len(set(files))
    assert CODE_ROOT / "functions" / "admin" / "index.py" in files
    assert not any(static in p.parents for p in code_files("license"))


def test_percentiles_are_nearest_rank_so_a_reported_p99_really_happened() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert percentile(samples, 50) == 50.0
    assert percentile(samples, 99) == 99.0
    assert percentile([3.0, 1.0, 2.0], 99) == 3.0
    assert summary([])["n"] == 0
    with pytest.raises(ValueError):
        percentile([], 50)


def _databases(
    tmp_path: Path, emulator_paid: list[str], ours: dict[str, str], licences: list[str], paid_events: list[str]
) -> tuple[Path, Path]:
    app, emulator = tmp_path / "app.sqlite3", tmp_path / "emulator.sqlite3"
    with sqlite3.connect(app) as db:
        db.execute("CREATE TABLE orders (order_id TEXT, status TEXT)")
        db.execute("CREATE TABLE licences (order_id TEXT)")
        db.execute("CREATE TABLE order_events (order_id TEXT, kind TEXT)")
        db.executemany("INSERT INTO orders VALUES (?, ?)", ours.items())
        db.executemany("INSERT INTO licences VALUES (?)", [(o,) for o in licences])
        db.executemany("INSERT INTO order_events VALUES (?, 'PAID')", [(o,) for o in paid_events])
    with sqlite3.connect(emulator) as db:
        db.execute("CREATE TABLE orders (out_trade_no TEXT, trade_state TEXT)")
        db.executemany("INSERT INTO orders VALUES (?, 'SUCCESS')", [(o,) for o in emulator_paid])
        db.execute("INSERT INTO orders VALUES ('unpaid', 'NOTPAY')")
    return app, emulator


def test_exactly_once_holds_when_every_payment_has_one_paid_order_one_licence_and_one_paid_event(
    tmp_path: Path,
) -> None:
    app, emulator = _databases(
        tmp_path, ["a", "b"], {"a": "PAID", "b": "PAID", "unpaid": "PENDING"}, ["a", "b"], ["a", "b"]
    )
    result = exactly_once(app, emulator)
    assert result["holds"] and result["paid_at_wechat"] == 2 and result["violations"] == []


@pytest.mark.parametrize(
    ("ours", "licences", "events", "violation"),
    [
        ({"a": "PENDING"}, [], [], "a: paid at WeChat, PENDING here"),
        ({"a": "PAID"}, ["a", "a"], ["a"], "a: 2 licences"),
        ({"a": "PAID"}, ["a"], ["a", "a"], "a: 2 PAID events"),
        ({"a": "PAID", "unpaid": "PAID"}, ["a", "unpaid"], ["a", "unpaid"], "unpaid: PAID here, not paid at WeChat"),
    ],
)
def test_exactly_once_names_each_violation(
    tmp_path: Path, ours: dict[str, str], licences: list[str], events: list[str], violation: str
) -> None:
    app, emulator = _databases(tmp_path, ["a"], ours, licences, events)
    result = exactly_once(app, emulator)
    assert not result["holds"]
    assert violation in result["violations"]
