"""`python -m scripts.chaos --purchases N --seed S [--storage URL]`: see scripts/chaos/__init__.py."""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from pathlib import Path

from scripts.chaos import invariants
from scripts.chaos.run import Options, Outcome, cleanup, run

SHOWN_VIOLATIONS = 10


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.chaos", description=__doc__)
    parser.add_argument("--purchases", type=int, default=300, help="how many purchases (default 300)")
    parser.add_argument("--seed", type=int, default=None, help="fixes the plan; default: a random one, printed")
    parser.add_argument("--storage", metavar="URL", help="STORAGE_URL (default: SQLite in the run's folder)")
    parser.add_argument("--workers", type=int, default=3, help="gateway worker processes (function instances)")
    parser.add_argument("--threads", type=int, default=16, help="purchases carried out at once")
    parser.add_argument("--data-dir", type=Path, help="the run's folder (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (kept anyway when a check fails)")
    args = parser.parse_args(argv)
    if args.purchases < 10:
        parser.error("--purchases must be at least 10")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    print(f"chaos: seed {seed}, {args.purchases} purchases, {args.workers} workers, {args.threads} threads", flush=True)
    options = Options(args.purchases, seed, args.storage, args.workers, args.threads, args.data_dir)
    outcome = run(options)
    if outcome.ok and not args.keep and args.data_dir is None:
        cleanup(outcome)
        outcome.log_path = None
    print(report(outcome))
    return 0 if outcome.ok else 1


def report(outcome: Outcome) -> str:
    lines = [f"seed {outcome.options.seed}; mix: " + ", ".join(f"{k} {v}" for k, v in sorted(outcome.mix.items()))]
    lines.append("faults injected (what really happened):")
    width = max((len(k) for k in outcome.faults), default=0)
    lines += [f"  {name:<{width}}  {count:>5}" for name, count in outcome.faults.items()]
    lines.append(invariants.table(outcome.checks))
    for check in outcome.checks:
        lines += [f"  {check.name}: {v}" for v in check.violations[:SHOWN_VIOLATIONS]]
    if outcome.problems:
        lines.append(f"notes ({len(outcome.problems)}, not violations by themselves):")
        lines += [f"  {p}" for p in outcome.problems[:SHOWN_VIOLATIONS]]
    lines.append(
        f"{'OK' if outcome.ok else 'FAIL'}: seed {outcome.options.seed}, wall time {outcome.seconds:.1f} s;"
        f" logs: {outcome.log_path or 'removed (--keep keeps them)'}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
