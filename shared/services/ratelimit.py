"""Fixed-window rate limits kept in storage (`Storage.hit_counter`), so that they hold across function instances.

A subject (an address, an install id) is counted under a hash, never in the clear: an install id is a secret and an
address is personal data. The first request over a limit in a window is a security event: counted as a metric and
written to the audit log once per (limit, subject, window); the following ones only count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared import errors, log
from shared.config import RateLimitSettings

if TYPE_CHECKING:
    from shared.services.security import SecurityEvents
    from shared.storage.port import Storage


@dataclass(frozen=True)
class Limit:
    name: str  # e.g. "orders_per_ip"
    count: int  # requests allowed per window; 0: no limit
    window: int  # seconds


class RateLimiter:
    def __init__(self, storage: Storage, events: SecurityEvents, clock: Callable[[], int]):
        self._storage, self._events, self._clock = storage, events, clock

    def check(self, limit: Limit, subject: str | None) -> None:
        """Count one request of `subject` against `limit`; 429 RATE_LIMITED with Retry-After once over it."""
        if limit.count <= 0 or not subject:
            return
        now = self._clock()
        window = now // limit.window
        window_end = (window + 1) * limit.window
        digest = hashlib.sha256(subject.encode("utf-8")).hexdigest()[:32]
        hits = self._storage.hit_counter(f"rl:{limit.name}:{digest}", window, window_end + limit.window)
        if hits <= limit.count:
            return
        retry_after = max(1, window_end - now)
        log.metric("rate_limited", limit=limit.name)
        if hits == limit.count + 1:  # the first refusal of this window: audited once
            self._events.record(
                "rate_limit_exceeded",
                reference=f"{limit.name}:{digest}:{window}",
                details={"limit": limit.name, "allowed": limit.count, "window_seconds": limit.window},
            )
        raise errors.RateLimited(
            "too many requests: try again later", retry_after=retry_after, details={"retry_after": retry_after}
        )


class RateLimits:
    """The public API's limits (settings RATE_LIMIT_*): order creation and licence use, per address and install."""

    def __init__(self, limiter: RateLimiter, settings: RateLimitSettings):
        self._limiter, self._settings = limiter, settings

    def orders(self, source_ip: str | None, install_id: str) -> None:
        s = self._settings
        self._limiter.check(Limit("orders_per_ip", *s.orders_per_ip), source_ip)
        self._limiter.check(Limit("orders_per_install", *s.orders_per_install), install_id)

    def activations(self, source_ip: str | None, install_id: str) -> None:
        """Licence activation, validation by key and deactivation: what a licence-key guesser would call."""
        s = self._settings
        self._limiter.check(Limit("activations_per_ip", *s.activations_per_ip), source_ip)
        self._limiter.check(Limit("activations_per_install", *s.activations_per_install), install_id)
