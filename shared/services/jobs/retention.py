"""Retention (README, "Retention"): what is kept only as long as it serves its purpose is deleted in batches.

Idempotency keys only replay a checkout's retries; processed-notification ids only need to outlive WeChat's
retries (about 24 h); the rate-limit and security-event counters only their window. Orders, refunds, licences, activations, the order timeline, anomalies and reports are the
merchant's books and are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared.storage.port import Storage

DAY = 86400
MAX_ROUNDS = 20  # batches per dataset and run: the rest waits for the next run


class Retention:
    def __init__(
        self, storage: Storage, clock: Callable[[], int], batch: int, *, idempotency_days: int, notification_days: int
    ):
        self._storage, self._clock, self._batch = storage, clock, batch
        # Names in the summary avoid "key": the log's denylist would drop the field.
        self._datasets = (
            ("idempotency_keys", "purged_idempotency", idempotency_days),
            ("notifications", "purged_notifications", notification_days),
            ("rate_limits", "purged_counters", 0),  # counters past their window's expiry
        )

    def __call__(self, options: Mapping[str, Any]) -> dict[str, Any]:
        now = self._clock()
        counts: dict[str, Any] = {}
        for dataset, label, days in self._datasets:
            purged = 0
            for _ in range(MAX_ROUNDS):
                deleted = self._storage.purge(dataset, now - days * DAY, self._batch)
                purged += deleted
                if deleted < self._batch:
                    break
            counts[label] = purged
        return counts
