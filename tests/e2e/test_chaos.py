"""The chaos run (scripts/chaos) in CI: 300 purchases through the local stack under WeChat, storage, notification and
process faults, then every money invariant checked against the emulator's records and bills. The seed is printed
(CHAOS_SEED fixes it), so a failure reproduces with `python -m scripts.chaos --purchases 300 --seed S`."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from scripts.chaos.__main__ import report
from scripts.chaos.run import Options, cleanup, run
from shared.storage.faulty import FaultyStorage, with_faults
from shared.storage.sqlite import SqliteStorage

PURCHASES = 300
# Each kind of fault the run injects must really have happened: a run that met none of them proves nothing.
FAULT_KINDS = (
    "notify.answered_5xx",
    "notify.timed_out",
    "notify.duplicate_deliveries",
    "notify.released_out_of_order",
    "notify.signtest_probes",
    "notify.never_sent",
    "refund.asked_twice_same_key",
    "refund.closed_at_wechat",
    "refund.notification_never_sent",
    "storage.storage_write_failed",
    "storage.storage_write_failed_after",
    "storage.payment_write_failed",
    "storage.payment_write_slow",
    "storage.worker_killed",
    "wechat.paid_during_close",
    *(f"wechat.{e}.{k}" for e in ("create", "query", "close", "refund") for k in ("429", "500", "timeout")),
)


@pytest.mark.timeout(600)
def test_no_payment_is_lost_or_counted_twice_under_chaos(tmp_path: Path) -> None:
    seed = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1 << 31))
    print(f"chaos seed {seed}")
    outcome = run(Options(PURCHASES, seed, data_dir=tmp_path / "chaos"))
    print(report(outcome))

    violations = {c.name: c.violations[:5] for c in outcome.checks if c.violations}
    assert not violations, f"seed {seed}: {violations}"
    assert all(c.checked > 0 for c in outcome.checks), [(c.name, c.checked) for c in outcome.checks]
    missing = [kind for kind in FAULT_KINDS if outcome.faults.get(kind, 0) == 0]
    assert not missing, f"seed {seed}: these faults never happened, so the run proves nothing about them: {missing}"
    assert outcome.mix["refund_full"] and outcome.mix["refund_partial"]
    cleanup(outcome)


def test_the_storage_fault_injector_is_off_unless_its_test_setting_is_given(tmp_path: Path) -> None:
    storage = SqliteStorage(str(tmp_path / "app.sqlite3"))
    assert with_faults(storage, {}) is storage
    assert with_faults(storage, {"TEST_STORAGE_FAULTS": ""}) is storage
    assert isinstance(with_faults(storage, {"TEST_STORAGE_FAULTS": str(tmp_path)}), FaultyStorage)


SERVER_PURCHASES = 120  # a shorter run per server: the SQL is the adapters', the faults and checks the same


@pytest.mark.timeout(600)
@pytest.mark.parametrize("dialect", ["postgresql", "mysql"])
def test_no_payment_is_lost_or_counted_twice_under_chaos_on_a_sql_server(tmp_path: Path, dialect: str) -> None:
    """The same run with a PostgreSQL or MySQL/MariaDB server as the functions' storage (a fresh, migrated
    namespace): the adapters' conditional writes hold under the same faults and racing worker processes."""
    from tests.integration.test_storage_sql_servers import SERVERS

    server = SERVERS[dialect]
    namespace = server.create_namespace()
    seed = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1 << 31))
    print(f"chaos seed {seed} on {dialect}")
    outcome = run(Options(SERVER_PURCHASES, seed, data_dir=tmp_path / "chaos", storage_url=server.url_for(namespace)))
    print(report(outcome))

    violations = {c.name: c.violations[:5] for c in outcome.checks if c.violations}
    assert not violations, f"seed {seed} on {dialect}: {violations}"
    assert all(c.checked > 0 for c in outcome.checks), [(c.name, c.checked) for c in outcome.checks]
    assert (
        outcome.faults.get("storage.storage_write_failed", 0) > 0 and outcome.faults.get("notify.answered_5xx", 0) > 0
    )
    cleanup(outcome)
    server.drop_namespace(namespace)
