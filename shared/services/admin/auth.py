"""Who is calling the admin API: a Bearer admin key checked against its stored hash in constant time, and a limit
on failed attempts per address kept in storage, so that it holds across function instances.

An address that fails `max_failures` times within a fixed window is locked out for the rest of that window: every
request from it is then answered 429 with Retry-After, even one with a correct key (a guesser that finally hits the
right key learns nothing). The lockout is recorded as a report of kind `admin_auth_lockout` (one per address and
window) — which is also how any instance sees it — and as an anomaly for the operators. A request without any
Authorization header is not an attempt and is not counted.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from shared import errors, log
from shared.config import AdminSettings
from shared.domain.admin import AdminKey, key_hash, matches, parse_key
from shared.services.security import SecurityEvents
from shared.storage.port import Storage

LOCKOUT_REPORT = "admin_auth_lockout"
_COUNTER = "admin_auth_failures:"
_UNKNOWN_ADDRESS = "unknown"
# The one message of every 401: a missing, malformed, unknown, wrong or revoked key must be indistinguishable.
REFUSED = "a valid admin API key is required: Authorization: Bearer <key>"
# Compared against when the key_id is unknown, so that an unknown key costs what a wrong one does.
_DUMMY_HASH = key_hash("wxak_000000000000_" + "A" * 43)


class AdminAuth:
    def __init__(
        self,
        storage: Storage,
        settings: AdminSettings,
        clock: Callable[[], int],
        events: SecurityEvents | None = None,
    ):
        self._storage, self._settings, self._clock, self._events = storage, settings, clock, events

    def authenticate(self, authorization: str | None, source_ip: str | None) -> AdminKey:
        """The admin key presented as `Bearer <key>`: 401 UNAUTHENTICATED (never saying why), or 429 RATE_LIMITED
        while the address is locked out."""
        address = source_ip or _UNKNOWN_ADDRESS
        now = self._clock()
        window = now // self._settings.auth_window_seconds
        if self._storage.get_report(LOCKOUT_REPORT, _lockout_key(address, window)) is not None:
            raise self._limited(now, window)
        if not authorization or not authorization.strip():
            raise errors.Unauthenticated(REFUSED)
        key = self._check(authorization)
        if key is None:
            self._failed(address, now, window)
            raise errors.Unauthenticated(REFUSED)
        return key

    def _check(self, authorization: str) -> AdminKey | None:
        scheme, _, presented = authorization.strip().partition(" ")
        presented = presented.strip()
        key_id = parse_key(presented) if scheme.lower() == "bearer" else None
        stored = self._storage.get_admin_key(key_id) if key_id else None
        if stored is None:
            hmac.compare_digest(_DUMMY_HASH, key_hash(presented))
            return None
        if not matches(stored, presented) or stored.revoked_at is not None:
            return None
        return stored

    def _failed(self, address: str, now: int, window: int) -> None:
        size = self._settings.auth_window_seconds
        failures = self._storage.hit_counter(_COUNTER + address, window, (window + 1) * size)
        log.warning("admin_auth_failed", source_ip=address, failures=failures)
        if self._events is not None:
            self._events.record("admin_auth_failed", reference=f"address:{address}", source_ip=address)
        if failures < self._settings.auth_max_failures:
            return
        lockout = {"source_ip": address, "window_start": window * size, "until": (window + 1) * size}
        self._storage.save_report(LOCKOUT_REPORT, _lockout_key(address, window), {**lockout, "failures": failures}, now)
        if failures == self._settings.auth_max_failures:
            self._storage.record_anomaly("ADMIN_AUTH_LOCKOUT", None, _lockout_key(address, window), lockout, now)
            log.warning("admin_auth_locked_out", source_ip=address, until=lockout["until"])
            if self._events is not None:
                self._events.record("admin_auth_locked_out", reference=f"address:{address}", source_ip=address)

    def _limited(self, now: int, window: int) -> errors.RateLimited:
        retry_after = (window + 1) * self._settings.auth_window_seconds - now
        return errors.RateLimited(
            "too many failed authentications from this address: try again later",
            retry_after=retry_after,
            details={"retry_after": retry_after},
        )


def _lockout_key(address: str, window: int) -> str:
    return f"{address}|{window}"
