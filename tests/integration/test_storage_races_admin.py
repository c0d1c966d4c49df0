"""Rate-limit counters hit by racing function instances, on every backend (the `race` fixture of
test_storage_races_jobs: processes on the SQL backends, threads on the Tablestore fake): no hit is lost and no two
hits read the same value."""

from __future__ import annotations

from shared.storage.port import Storage
from tests.integration import test_storage_races_jobs as races
from tests.integration.conftest import T0
from tests.integration.test_storage_races_jobs import RACERS, Race

race = races.race  # the fixture

HITS = 15  # per racer


def _hit_many(storage: Storage, worker: int, name: str) -> list[int]:
    return [storage.hit_counter(name, 7, T0 + 600) for _ in range(HITS)]


def test_racing_hits_on_one_counter_are_each_counted_once(race: Race) -> None:
    seen = race.run(_hit_many, "auth:203.0.113.7")
    values = [value for per_racer in seen for value in per_racer]
    assert sorted(values) == list(range(1, RACERS * HITS + 1))  # distinct, and none lost
    for per_racer in seen:
        assert per_racer == sorted(per_racer)  # each racer sees its own hits rise
    assert race.storage.hit_counter("auth:203.0.113.7", 7, T0 + 600) == RACERS * HITS + 1
    assert race.storage.hit_counter("auth:203.0.113.7", 8, T0 + 600) == 1
