"""Cold starts, warm latency, floors and the two references, each function fed its real first request."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.bench.budgets import FUNCTIONS
from scripts.bench.fixture import PaidOrder, World
from scripts.bench.runner import ChildRun, spawn
from scripts.bench.sizes import package_sizes
from scripts.bench.stats import median, summary

EXPECTED = {"payment_notify": 204, "create_order": 201, "order_status": 200, "license": 200, "admin": 200}
ACTIVATION_PRODUCT = "pro-lifetime"  # 5 device slots: the buyer's install and 4 fresh activations per licence
ADMIN_SEED = (50, 10)  # pending and paid orders made before the admin's first request, so that its page is full
REFERENCES = ("eager_notify", "sdk_callback", "parse_notification")


@dataclass
class Plan:
    runs: int = 15  # cold starts per function (medians of >= 10, issue 5)
    warm: int = 400  # warm requests per function
    progress: Callable[[str], None] = print


class Requests:
    """Each function's requests, fresh for every use (a notification pays one PENDING order, once)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._paid: list[PaidOrder] = []
        self._admin_seeded = False

    def one(self, function: str) -> bytes:
        return self.many(function, 1)[0]

    def many(self, function: str, count: int) -> list[bytes]:
        w = self.world
        if function in ("payment_notify", *REFERENCES):
            return [w.notify_event(w.pending_order()) for _ in range(count)]
        if function == "create_order":
            return [w.create_event() for _ in range(count)]
        if function == "order_status":
            while len(self._paid) < min(count, 20):
                self._paid.append(w.paid_order())
            polled = itertools.cycle(self._paid)
            return [w.status_event(next(polled)) for _ in range(count)]
        if function == "license":
            return list(itertools.islice(self._activations(), count))
        if function == "admin":
            return [w.admin_orders_event(self._admin_key()) for _ in range(count)]
        raise ValueError(function)

    def _admin_key(self) -> str:
        """The operator's key, and (once) a full page of orders for it to read, whatever ran before."""
        if not self._admin_seeded:
            pending, paid = ADMIN_SEED
            for _ in range(pending):
                self.world.pending_order()
            for _ in range(paid):
                self.world.paid_order()
            self._admin_seeded = True
        return self.world.admin_key()

    def _activations(self) -> Iterator[bytes]:
        while True:
            paid = self.world.paid_order(ACTIVATION_PRODUCT)
            for _ in range(4):
                yield self.world.activate_event(paid)


@dataclass
class Results:
    cold: dict[str, list[ChildRun]] = field(default_factory=dict)
    warm: dict[str, ChildRun] = field(default_factory=dict)
    floors: dict[str, list[float]] = field(default_factory=dict)
    idle_modules: list[str] = field(default_factory=list)  # what an interpreter holds before any import of ours


def _mode(name: str) -> tuple[str, str]:
    """(child mode, function) of a measured name."""
    if name == "eager_notify":
        return "eager", "payment_notify"
    if name == "sdk_callback":
        return "sdk", "payment_notify"
    if name == "parse_notification":
        return "parse", "payment_notify"
    if name == "startup":
        return "startup", ""
    return "handler", name


def measure(world: World, work: Path, plan: Plan) -> Results:
    requests, results = Requests(world), Results()
    names = ["startup", *FUNCTIONS, *REFERENCES]
    plan.progress(f"cold starts: {plan.runs} runs of each of {', '.join(names)} (one warm-up round first)")
    for round_number in range(plan.runs + 1):
        for name in names:
            mode, function = _mode(name)
            first = requests.one(name) if mode != "startup" else None
            expect = EXPECTED.get(function)
            run = spawn(work, world.env, mode, function, first=first, expect=expect)
            if round_number:  # the warm-up round writes bytecode caches and fills the page cache
                results.cold.setdefault(name, []).append(run)
    results.idle_modules = sorted(spawn(work, world.env, "startup", modules=True).modules)
    for name in [*FUNCTIONS, *REFERENCES]:
        plan.progress(f"warm: {plan.warm} requests of {name} in one process")
        mode, function = _mode(name)
        events = requests.many(name, plan.warm + 1)
        results.warm[name] = spawn(
            work, world.env, mode, function, first=events[0], warm=events[1:], modules=True, expect=EXPECTED[function]
        )
    for function in FUNCTIONS:
        plan.progress(f"floor: {plan.warm} requests' worth of {function}'s unavoidable work")
        floor = spawn(work, world.env, "floor", function, warm=requests.many(function, plan.warm))
        results.floors[function] = floor.latencies_ms
    return results


def cold_summary(runs: list[ChildRun]) -> dict[str, Any]:
    def med(values: list[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return median(present) if present else None

    return {
        "runs": len(runs),
        "median_ms": median([r.cold_ms for r in runs]),
        "min_ms": round(min(r.cold_ms for r in runs), 2),
        "max_ms": round(max(r.cold_ms for r in runs), 2),
        "cpu_median_ms": med([r.cpu_ms for r in runs]),
        "startup_median_ms": median([r.startup_ms for r in runs]),
        "import_median_ms": med([r.import_ms for r in runs]),
        "first_request_median_ms": med([r.first_request_ms for r in runs]),
        "rss_median_mb": median([r.peak_rss_mb for r in runs]),
        "rss_max_mb": round(max(r.peak_rss_mb for r in runs), 2),
        "heavy_modules": sorted({m for r in runs for m in r.heavy}),
    }


def report_sections(results: Results) -> dict[str, Any]:
    """The functions', references' and startup's figures, as the JSON report holds them."""
    functions: dict[str, Any] = {}
    for function in FUNCTIONS:
        warm = summary(results.warm[function].latencies_ms)
        floor = summary(results.floors[function])
        functions[function] = {
            "cold": cold_summary(results.cold[function]),
            "warm": warm,
            "floor": floor,
            "ratio": round(float(warm["p50"]) / float(floor["p50"]), 2),
            "warm_heavy_modules": results.warm[function].heavy,
            "package": package_sizes(function, results.warm[function].modules, results.idle_modules),
        }
    references = {
        name: {
            "cold": cold_summary(results.cold[name]),
            "warm": summary(results.warm[name].latencies_ms),
            "heavy_modules": results.warm[name].heavy,
        }
        for name in REFERENCES
    }
    startup = results.cold["startup"]
    return {
        "startup": {
            "median_ms": median([r.cold_ms for r in startup]),
            "rss_median_mb": median([r.peak_rss_mb for r in startup]),
            "runs": len(startup),
        },
        "functions": functions,
        "references": references,
    }
