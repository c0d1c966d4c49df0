"""Rate limits and security events over the in-memory storage: the window arithmetic, what is counted and what is
audited. The limits across real instances are tested over the gateway (tests/e2e/test_rate_limits.py)."""

from __future__ import annotations

import pytest

from shared import errors
from shared.config import RateLimitSettings
from shared.errors import ConfigError
from shared.services.ratelimit import Limit, RateLimiter, RateLimits
from shared.services.security import SecurityEvents
from tests.unit.conftest import Lines
from tests.unit.fake_storage import FakeStorage

T0 = 1_780_000_200  # 200 s into a 600 s window (1_780_000_000 is not a multiple of 600: 1_779_999_600 is)


class Clock:
    def __init__(self, now: int = T0):
        self.now = now

    def __call__(self) -> int:
        return self.now


def world(clock: Clock | None = None) -> tuple[FakeStorage, RateLimiter, Clock]:
    storage, clock = FakeStorage(), clock or Clock()
    return storage, RateLimiter(storage, SecurityEvents(lambda: storage, clock), clock), clock


def test_a_subject_gets_its_count_then_429_until_the_window_ends() -> None:
    _, limiter, clock = world()
    limit = Limit("orders_per_install", 3, 600)
    for _ in range(3):
        limiter.check(limit, "install-a")
    with pytest.raises(errors.RateLimited) as refused:
        limiter.check(limit, "install-a")
    window_end = (T0 // 600 + 1) * 600
    assert refused.value.retry_after == window_end - T0 and refused.value.status == 429
    limiter.check(limit, "install-b")  # another subject has its own count
    clock.now = window_end  # a new window
    limiter.check(limit, "install-a")


def test_subjects_are_counted_under_a_hash_never_in_the_clear() -> None:
    storage, limiter, _ = world()
    limiter.check(Limit("orders_per_install", 5, 600), "the-install-secret")
    ((name, _window),) = storage.counters
    assert "the-install-secret" not in name and name.startswith("rl:orders_per_install:")


def test_a_zero_limit_or_a_missing_subject_counts_nothing() -> None:
    storage, limiter, _ = world()
    for _ in range(10):
        limiter.check(Limit("orders_per_ip", 0, 600), "10.0.0.1")
        limiter.check(Limit("orders_per_ip", 1, 600), None)
    assert storage.counters == {}


def test_the_first_refusal_of_a_window_is_audited_once_and_every_refusal_counted(lines: Lines) -> None:
    storage, limiter, _ = world()
    limit = Limit("activations_per_ip", 1, 600)
    limiter.check(limit, "10.0.0.9")
    for _ in range(3):
        with pytest.raises(errors.RateLimited):
            limiter.check(limit, "10.0.0.9")
    (entry,) = storage.audit.values()
    assert entry.action == "security.rate_limit_exceeded" and entry.actor == "anonymous"
    assert entry.after is not None and entry.after["limit"] == "activations_per_ip"
    assert "10.0.0.9" not in entry.target
    metrics = [x for x in lines() if x["event"] == "metric"]
    assert [m["metric"] for m in metrics].count("rate_limited") == 3
    assert [(m["kind"]) for m in metrics if m["metric"] == "security_events"] == ["rate_limit_exceeded"]


def test_security_events_are_counted_each_time_and_audited_once_a_minute_per_kind_and_reason(
    lines: Lines,
) -> None:
    storage, clock = FakeStorage(), Clock()
    events = SecurityEvents(lambda: storage, clock)
    for _ in range(5):
        events.record("notify_rejected", reason="bad_signature", source_ip="10.1.1.1")
    events.record("notify_rejected", reason="stale_timestamp")
    clock.now += 60
    events.record("notify_rejected", reason="bad_signature")
    audited = sorted((e.action, e.outcome, e.at) for e in storage.audit.values())
    assert audited == [
        ("security.notify_rejected", "bad_signature", T0),
        ("security.notify_rejected", "bad_signature", T0 + 60),
        ("security.notify_rejected", "stale_timestamp", T0),
    ]
    counted = [x for x in lines() if x["event"] == "metric" and x["metric"] == "security_events"]
    assert len(counted) == 7


def test_a_security_event_never_fails_the_request_that_caused_it(lines: Lines) -> None:
    def unreachable() -> FakeStorage:
        raise errors.StorageError("down")

    SecurityEvents(unreachable, Clock()).record("admin_auth_failed", reference="address:10.0.0.1")
    assert any(x["event"] == "security_event_not_audited" for x in lines())


def test_the_public_limits_check_address_and_install() -> None:
    _, limiter, _ = world()
    settings = RateLimitSettings((100, 600), (2, 600), (100, 600), (1, 600))
    limits = RateLimits(limiter, settings)
    limits.orders("10.0.0.1", "install-a")
    limits.orders("10.0.0.1", "install-a")
    with pytest.raises(errors.RateLimited):
        limits.orders("10.0.0.1", "install-a")
    limits.activations("10.0.0.1", "install-a")
    with pytest.raises(errors.RateLimited):
        limits.activations("10.0.0.2", "install-a")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", (120, 600)), ("30/60", (30, 60)), (" 5 / 10 ", (5, 10)), ("0", (0, 1)), ("off", (0, 1))],
)
def test_rate_settings_read_n_per_seconds(raw: str, expected: tuple[int, int]) -> None:
    assert RateLimitSettings.from_env({"RATE_LIMIT_ORDERS_PER_IP": raw}).orders_per_ip == expected


@pytest.mark.parametrize("raw", ["30", "30/0", "-1/60", "lots", "30/60/90"])
def test_a_malformed_rate_setting_stops_start_up_naming_it(raw: str) -> None:
    with pytest.raises(ConfigError, match="RATE_LIMIT_ACTIVATIONS_PER_IP"):
        RateLimitSettings.from_env({"RATE_LIMIT_ACTIVATIONS_PER_IP": raw})
