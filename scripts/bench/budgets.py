"""The budgets every function meets on this machine (issue 5), and the check `make bench` fails on.

Medians: payment_notify cold start <= 80 ms and <= 40 MB peak RSS (WeChat waits 5 s, then retries for 24 h, and
the cold start counts); every other function <= 200 ms and <= 60 MB; warm notify p50 <= 3x its floor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FUNCTIONS = ("payment_notify", "create_order", "order_status", "license", "admin")


@dataclass(frozen=True)
class Budget:
    """One limit on one figure of the report: `path` names it inside the JSON (dotted)."""

    name: str
    path: str
    limit: float
    unit: str


@dataclass(frozen=True)
class Verdict:
    """A budget against what was measured; `measured` is None when the figure is missing (which fails)."""

    budget: Budget
    measured: float | None

    @property
    def ok(self) -> bool:
        return self.measured is not None and self.measured <= self.budget.limit

    def line(self) -> str:
        shown = "missing" if self.measured is None else f"{self.measured:.1f} {self.budget.unit}"
        mark = "ok  " if self.ok else "MISS"
        return f"{mark} {self.budget.name}: {shown} (budget <= {self.budget.limit:g} {self.budget.unit})"


def default_budgets() -> list[Budget]:
    budgets = [
        Budget("payment_notify cold start", "functions.payment_notify.cold.median_ms", 80, "ms"),
        Budget("payment_notify peak RSS", "functions.payment_notify.cold.rss_median_mb", 40, "MB"),
    ]
    for function in FUNCTIONS[1:]:
        budgets.append(Budget(f"{function} cold start", f"functions.{function}.cold.median_ms", 200, "ms"))
        budgets.append(Budget(f"{function} peak RSS", f"functions.{function}.cold.rss_median_mb", 60, "MB"))
    budgets.append(Budget("payment_notify warm p50 / floor p50", "functions.payment_notify.ratio", 3, "x"))
    return budgets


def lookup(report: Mapping[str, Any], path: str) -> float | None:
    node: Any = report
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return float(node) if isinstance(node, (int, float)) and not isinstance(node, bool) else None


def check(report: Mapping[str, Any], budgets: list[Budget] | None = None) -> list[Verdict]:
    """Every budget against the report; a figure that is missing counts as a miss."""
    return [Verdict(budget, lookup(report, budget.path)) for budget in budgets or default_budgets()]


def all_met(verdicts: list[Verdict]) -> bool:
    return all(verdict.ok for verdict in verdicts)
