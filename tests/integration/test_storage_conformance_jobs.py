"""The port's contract for job leases, reports and retention, run once per adapter (see conftest)."""

from __future__ import annotations

import pytest

from shared.storage.port import IdempotencyRecord, Storage
from tests.integration.conftest import T0

# -- leases ----------------------------------------------------------------------------------------------


def test_a_free_lease_is_taken_and_refused_to_anyone_else_until_it_expires(storage: Storage) -> None:
    assert storage.acquire_lease("close-expired", "run-a", now=T0, ttl=60) is True
    assert storage.acquire_lease("close-expired", "run-b", now=T0 + 1, ttl=60) is False
    assert storage.acquire_lease("close-expired", "run-b", now=T0 + 59, ttl=60) is False
    assert storage.acquire_lease("close-expired", "run-b", now=T0 + 60, ttl=60) is True  # expired at T0 + 60
    assert storage.acquire_lease("close-expired", "run-a", now=T0 + 61, ttl=60) is False


def test_the_holder_renews_its_lease(storage: Storage) -> None:
    assert storage.acquire_lease("reconcile", "run-a", now=T0, ttl=60)
    assert storage.acquire_lease("reconcile", "run-a", now=T0 + 50, ttl=60) is True  # now held until T0 + 110
    assert storage.acquire_lease("reconcile", "run-a", now=T0 + 50, ttl=60) is True  # the same values again
    assert storage.acquire_lease("reconcile", "run-b", now=T0 + 100, ttl=60) is False
    assert storage.acquire_lease("reconcile", "run-b", now=T0 + 110, ttl=60) is True


def test_leases_of_different_names_are_independent(storage: Storage) -> None:
    assert storage.acquire_lease("job-1", "run-a", T0, 60)
    assert storage.acquire_lease("job-2", "run-b", T0, 60)
    assert storage.acquire_lease("job-2", "run-a", T0, 60) is False


def test_a_released_lease_is_free_at_once_but_only_its_holder_releases_it(storage: Storage) -> None:
    assert storage.acquire_lease("bill", "run-a", T0, 600)
    storage.release_lease("bill", "run-b")
    assert storage.acquire_lease("bill", "run-b", T0 + 1, 600) is False
    storage.release_lease("bill", "run-a")
    assert storage.acquire_lease("bill", "run-b", T0 + 2, 600) is True
    storage.release_lease("bill", "run-a")  # no longer its holder: changes nothing
    assert storage.acquire_lease("bill", "run-c", T0 + 3, 600) is False
    storage.release_lease("never-taken", "run-a")


@pytest.mark.parametrize("ttl", [0, -5])
def test_a_lease_without_a_positive_ttl_is_refused(storage: Storage, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        storage.acquire_lease("job", "run-a", T0, ttl)
    assert storage.acquire_lease("job", "run-b", T0, 60) is True


# -- reports ---------------------------------------------------------------------------------------------


def test_a_report_is_stored_replaced_and_read_by_kind_and_key(storage: Storage) -> None:
    first = {"missing_here": ["4200000001"], "amounts": {"expected": 1990, "billed": 1}, "note": "账单 bill"}
    storage.save_report("reconciliation", "2026-05-01", first, at=T0)
    assert storage.get_report("reconciliation", "2026-05-01") == first
    second = {"missing_here": [], "clean": True}
    storage.save_report("reconciliation", "2026-05-01", second, at=T0 + 60)
    assert storage.get_report("reconciliation", "2026-05-01") == second
    storage.save_report("reconciliation", "2026-05-02", {"n": 2}, at=T0)
    storage.save_report("retention", "2026-05-01", {"n": 3}, at=T0)
    assert storage.get_report("reconciliation", "2026-05-01") == second
    assert storage.get_report("retention", "2026-05-01") == {"n": 3}
    assert storage.get_report("reconciliation", "2026-04-30") is None
    assert storage.get_report("nothing", "2026-05-01") is None


# -- retention -------------------------------------------------------------------------------------------


def test_purging_idempotency_keys_deletes_the_oldest_before_a_time_up_to_a_limit(storage: Storage) -> None:
    for n, at in enumerate((30, 10, 20, 40)):
        storage.claim_idempotency_key(IdempotencyRecord(f"idem-{n}", f"fp-{n}", f"ord-{n}", T0 + at))
    assert storage.purge("idempotency_keys", before=T0 + 40, limit=2) == 2  # created at 10 and 20
    assert storage.purge("idempotency_keys", before=T0 + 40, limit=10) == 1  # at 30; 40 is not before
    assert storage.purge("idempotency_keys", before=T0 + 40, limit=10) == 0
    kept = storage.claim_idempotency_key(IdempotencyRecord("idem-3", "other", "ord-x", T0 + 50))
    assert kept == IdempotencyRecord("idem-3", "fp-3", "ord-3", T0 + 40)
    fresh = IdempotencyRecord("idem-1", "fp-new", "ord-new", T0 + 50)
    assert storage.claim_idempotency_key(fresh) == fresh  # purged: the key can name a new request


def test_purging_notifications_forgets_only_the_old_ones(storage: Storage) -> None:
    for n, at in enumerate((10, 20, 30)):
        storage.record_notification(f"notif-{n}", "TRANSACTION.SUCCESS", f"ord-{n}", T0 + at)
    assert storage.purge("notifications", before=T0 + 25, limit=100) == 2
    assert [storage.notification_processed(f"notif-{n}") for n in range(3)] == [False, False, True]
    assert storage.purge("notifications", before=T0 + 99, limit=0) == 0
    assert storage.notification_processed("notif-2") is True


@pytest.mark.parametrize("dataset", ["orders", "licences", "order_events", "nothing"])
def test_only_idempotency_keys_and_notifications_can_be_purged(storage: Storage, dataset: str) -> None:
    with pytest.raises(ValueError, match="purge"):
        storage.purge(dataset, before=T0, limit=10)
