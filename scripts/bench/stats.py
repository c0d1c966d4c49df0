"""Percentiles and summaries of latency samples (nearest-rank: a reported p99 is a latency that happened)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(samples: Sequence[float], q: float) -> float:
    """The nearest-rank percentile `q` (0-100) of `samples`."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(samples: Sequence[float]) -> dict[str, float | int]:
    """n, min, p50, p90, p99, max and mean, rounded to 0.01."""
    if not samples:
        return {"n": 0}
    return {
        "n": len(samples),
        "min": round(min(samples), 2),
        "p50": round(percentile(samples, 50), 2),
        "p90": round(percentile(samples, 90), 2),
        "p99": round(percentile(samples, 99), 2),
        "max": round(max(samples), 2),
        "mean": round(statistics.fmean(samples), 2),
    }


def median(samples: Sequence[float]) -> float:
    return round(statistics.median(samples), 2)
