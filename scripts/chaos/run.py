"""A chaos run from start to verdict: the stack, the purchases under faults, time passing, the bills, the checks."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.app import Emulator, Settings
from emulator.server import EmulatorServer
from scripts.chaos import invariants
from scripts.chaos.faults import Injector
from scripts.chaos.purchases import Buyers, Plan, Purchase, make_plans
from scripts.chaos.world import FREQUENT_JOBS, Api, Backoffice, BusinessClock, output_to
from scripts.stack import Stack, start_stack
from shared.storage.factory import open_storage
from shared.storage.port import Storage

ORDER_TTL = 60  # the shortest our settings allow (WeChat's own minimum)
FAULTY_ROUNDS = 2  # job rounds that still meet faults once time starts passing
MAX_ROUNDS = 30
STORAGE_WRITE_FAILURE_RATE = 0.03
AFTER_WRITE_SHARE = 0.25  # of the failed writes: stored, but the caller is told they failed


@dataclass(frozen=True)
class Options:
    purchases: int
    seed: int
    storage_url: str | None = None
    workers: int = 3
    threads: int = 16
    data_dir: Path | None = None


@dataclass
class Outcome:
    options: Options
    checks: list[invariants.Check]
    faults: dict[str, int]
    mix: Counter[str]
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    data_dir: Path | None = None
    log_path: Path | None = None

    @property
    def ok(self) -> bool:
        return all(not c.violations for c in self.checks)


def run(options: Options) -> Outcome:
    started = time.monotonic()
    data_dir = options.data_dir or Path(tempfile.mkdtemp(prefix="chaos-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "stack.log"
    with output_to(log_path):
        outcome = _run(options, data_dir)
    outcome.seconds, outcome.data_dir, outcome.log_path = time.monotonic() - started, data_dir, log_path
    return outcome


def _run(options: Options, data_dir: Path) -> Outcome:
    since = int(time.time()) - 1
    emulator = EmulatorServer(
        Emulator(
            Settings(data_dir=data_dir / "emulator", port=0, time_factor=0.01, notify_timeout=1.5, refund_delay=0.5)
        ),
        ("127.0.0.1", 0),
    )
    emulator.start()
    control = Api(emulator.base_url)
    faults = Injector(data_dir / "faults", emulator.emulator, control)
    env = {
        "ORDER_TTL_SECONDS": str(ORDER_TTL),
        "ORDER_QUERY_AFTER_SECONDS": "1",
        "ORDER_QUERY_EVERY_SECONDS": "1",
        "RECONCILE_AFTER_SECONDS": "3",
        "RECONCILE_MAX_INTERVAL_SECONDS": "60",
        "REFUND_RESEND_AFTER_SECONDS": "60",
        "JOB_BATCH_SIZE": "1000",
        "JOB_LEASE_SECONDS": "10",
        "LOG_LEVEL": "warning",
        "TEST_STORAGE_FAULTS": str(faults.folder),
    }
    if options.storage_url:
        _migrate(options.storage_url)
        env["STORAGE_URL"] = options.storage_url
    stack = start_stack(data_dir, port=0, emulator_port=0, emulator=emulator, workers=options.workers, extra_env=env)
    try:
        return _drive(options, stack, faults, control, since)
    finally:
        stack.stop()


def _drive(options: Options, stack: Stack, faults: Injector, control: Api, since: int) -> Outcome:
    shop, clock = Api(stack.gateway.base_url), BusinessClock()
    plans = make_plans(options.purchases, options.seed)
    shop.call("GET", "/v1/products")  # the gateway answers
    with Backoffice(stack.gateway.env, clock) as office:
        buyers = Buyers(shop, control, office, faults)
        _arm_purchase_faults(faults, options)
        purchases = _purchase(buyers, office, plans, options.threads)
        problems = [
            f"purchase {p.plan.index} ({p.plan.outcome}) {p.order_id}: {x}" for p in purchases for x in p.problems
        ]
        problems += _let_time_pass(office, faults, clock, stack)
        killed = [p for p in purchases if p.plan.outcome == "killed"]
        problems += _wait_for_retries(stack, killed)
        storage = open_storage(stack.gateway.env["STORAGE_URL"])
        emulator = stack.emulator.emulator
        days = invariants.bill_days(invariants.Books.read(storage, emulator, since))
        _reconcile_bills(office, control, emulator, days)
        books = invariants.Books.read(storage, emulator, since)
        checks = invariants.check_all(books, storage, emulator, days, clock.now())
        checks.append(_killed_completed(storage, emulator, killed))
    mix = Counter(p.outcome for p in plans) + Counter(f"refund_{p.refund}" for p in plans if p.refund)
    return Outcome(options, checks, faults.counts(), mix, problems)


def _arm_purchase_faults(faults: Injector, options: Options) -> None:
    faults.storage_failures(STORAGE_WRITE_FAILURE_RATE, AFTER_WRITE_SHARE, options.seed)
    each = max(1, options.purchases // 60)
    for endpoint, count in (("create", each), ("query", each), ("refund", max(1, each // 2)), ("query_refund", 1)):
        for _ in range(count):
            for kind in ("429", "500", "timeout"):
                faults.arm(endpoint, kind, 1)
    # Some refunds end CLOSED at WeChat (the money stays); some succeed without a notification ever being sent.
    faults.refund_outcomes("CLOSED", max(1, each // 2))
    faults.refund_outcomes("SUCCESS", each, mode="drop")


def _purchase(buyers: Buyers, office: Backoffice, plans: list[Plan], threads: int) -> list[Purchase]:
    """Every purchase, with the frequent jobs firing meanwhile as their timers would (on real time)."""
    stop = threading.Event()

    def timers() -> None:
        while not stop.wait(0.5):
            office.run_jobs(FREQUENT_JOBS)

    timer = threading.Thread(target=timers, name="chaos-timers", daemon=True)
    timer.start()
    try:
        with ThreadPoolExecutor(threads, thread_name_prefix="buyer") as pool:
            # Those paid as they close come last, so that WeChat has not expired them by itself before the job runs.
            first = [p for p in plans if p.outcome != "pay_on_close"]
            done = list(pool.map(buyers.carry_out, first))
            buyers.release_held()
            done += list(pool.map(buyers.carry_out, [p for p in plans if p.outcome == "pay_on_close"]))
    finally:
        stop.set()
        timer.join()
    return done


def _let_time_pass(office: Backoffice, faults: Injector, clock: BusinessClock, stack: Stack) -> list[str]:
    """The jobs' clock jumps past every order's expiry, then on by two minutes a round, until nothing is in flight.
    The first rounds still meet faults (close, query and refund-query at WeChat; storage); then they are removed."""
    for kind in ("429", "500", "timeout"):
        faults.arm("close", kind, 2)
        faults.arm("query", kind, 1)
        faults.arm("query_refund", kind, 1)
    clock.skew = ORDER_TTL + 70
    for round_ in range(1, MAX_ROUNDS + 1):
        office.run_jobs(FREQUENT_JOBS)
        if round_ == FAULTY_ROUNDS:
            faults.remove_all()
        if round_ >= FAULTY_ROUNDS and not _in_flight(office, stack):
            return []
        clock.skew += 120
        time.sleep(0.2)  # refunds settle at WeChat, notifications arrive
    return [f"still in flight after {MAX_ROUNDS} job rounds: {_in_flight(office, stack)}"]


def _in_flight(office: Backoffice, stack: Stack) -> list[str]:
    from shared import bootstrap

    storage = bootstrap.container().storage
    busy = [
        f"order {o['order_id']} {o['status']}"
        for o in _rows(storage, "orders")
        if o["status"] in ("PENDING", "REFUNDING")
    ]
    busy += [
        f"refund {r['out_refund_no']} {r['status']}"
        for r in _rows(storage, "refunds")
        if r["status"] in ("REQUESTED", "PROCESSING")
    ]
    settling = stack.emulator.emulator.store.all("SELECT out_refund_no FROM refunds WHERE status = 'PROCESSING'")
    return busy + [f"refund {r['out_refund_no']} PROCESSING at WeChat" for r in settling]


def _rows(storage: Storage, dataset: str) -> list[dict[str, Any]]:
    return list(storage.export_rows(dataset))


def _wait_for_retries(stack: Stack, killed: list[Purchase], timeout: float = 120.0) -> list[str]:
    """WeChat retries a notification whose instance died; give its schedule the time to deliver it. At the run's
    speed (1/100) the schedule's seventh attempt comes 38 s after the first: a busy machine can need that many."""
    ids = [p.notification_id for p in killed if p.notification_id]
    store = stack.emulator.emulator.store
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [store.one("SELECT state FROM notifications WHERE id = ?", i) for i in ids]
        if all(s is not None and s["state"] == "delivered" for s in states):
            return []
        time.sleep(0.2)
    return [f"killed notifications not delivered within {timeout:.0f} s"]


def _reconcile_bills(office: Backoffice, control: Api, emulator: Emulator, days: list[dt.date]) -> None:
    """WeChat makes a day's bill from 09:00 the next day (China time): its clock moves there, then each day is
    reconciled as the daily job would."""
    if not days:
        return
    ready = dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time(9, 30), invariants.CST).timestamp()
    if ready > emulator.clock.now():
        control.call("POST", "/_emulator/clock", body={"advance_seconds": ready - emulator.clock.now()})
    for day in days:
        office.run_jobs("reconcile_bill", date=day.isoformat())


def _killed_completed(storage: Storage, emulator: Emulator, killed: list[Purchase]) -> invariants.Check:
    check = invariants.Check("7. a notification whose instance died is completed by WeChat's retry")
    for purchase in killed:
        if purchase.notification_id is None:
            continue
        row = emulator.store.one("SELECT state FROM notifications WHERE id = ?", purchase.notification_id)
        delivered = row is not None and row["state"] == "delivered"
        check.expect(delivered, f"notification {purchase.notification_id} of {purchase.order_id} not delivered")
        check.expect(
            storage.notification_processed(purchase.notification_id),
            f"notification {purchase.notification_id} of {purchase.order_id} never recorded as processed",
        )
    return check


def _migrate(url: str) -> None:
    from scripts import storage as admin

    if admin.main(["migrate"], env={"STORAGE_URL": url}) != 0:
        raise SystemExit("the storage could not be migrated")


def cleanup(outcome: Outcome) -> None:
    if outcome.data_dir is not None:
        shutil.rmtree(outcome.data_dir, ignore_errors=True)
