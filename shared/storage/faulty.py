"""A TEST-ONLY fault injector around the storage port: never enabled by default, never set in a deployment.

The composition root wraps its storage in `FaultyStorage` only when its settings carry `TEST_STORAGE_FAULTS`, which
only the chaos run (`python -m scripts.chaos`, tests/e2e/test_chaos.py) sets, naming a folder that drives it. The
folder is read while the functions run, so that the run can turn faults on and off and aim them at one order:

- `plan.json` `{"write_failure_rate": r, "after_write_share": s, "seed": n}`: a fraction `r` of all writes raise
  StorageError; of those, a share `s` fail *after* the write (it is stored, but the caller is told it failed: a
  lost acknowledgement), the others before it (nothing stored). Re-read when the file changes; absent: no failures.
- `fail/<order_id>` (a number n): the write that marks that order paid fails its first n times.
- `slow/<order_id>` (seconds): the write that marks that order paid waits that long first, once.
- `kill/<notification_id>`: recording that notification as processed ends the process instead, once — a function
  instance that dies after the state change and before answering (WeChat retries the notification).

Each injected fault appends one line to `injected.log` (`<kind>\\t<detail>`), across processes, so the run can
count what really happened.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

from shared.errors import StorageError
from shared.storage.port import Storage

SETTING = "TEST_STORAGE_FAULTS"
KILLED_EXIT_CODE = 70
# Port methods that change state: every one of them may fail.
_WRITES = ("insert_", "update_", "record_", "append_", "claim_", "acquire_", "release_", "save_", "activate")
_WRITES_ALSO = frozenset({"deactivate", "purge", "import_rows", "revoke_admin_key", "hit_counter"})


def with_faults(storage: Storage, env: Mapping[str, str]) -> Storage:
    """`storage` wrapped when TEST_STORAGE_FAULTS is set, else `storage` itself."""
    folder = env.get(SETTING, "").strip()
    return cast(Storage, FaultyStorage(storage, Path(folder))) if folder else storage


class FaultyStorage:
    """Delegates every call to the wrapped storage, failing the writes the folder asks for."""

    def __init__(self, inner: Storage, folder: Path):
        self._inner, self._folder = inner, folder
        self._plan: dict[str, Any] = {}
        self._plan_stamp: int | None = None
        self._random = random.Random()  # noqa: S311 - fault injection, not security
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not callable(attribute) or not (name.startswith(_WRITES) or name in _WRITES_ALSO):
            return attribute
        return self._faulty(name, attribute)

    def update_order(self, order_id: str, changes: Mapping[str, Any], **kwargs: Any) -> bool:
        if changes.get("status") == "PAID":
            self._payment_write(order_id)
        return bool(self._faulty("update_order", self._inner.update_order)(order_id, changes, **kwargs))

    def record_notification(self, notification_id: str, *args: Any) -> bool:
        if self._once(f"kill/{notification_id}"):
            self._injected("worker_killed", notification_id)
            os._exit(KILLED_EXIT_CODE)
        return bool(self._faulty("record_notification", self._inner.record_notification)(notification_id, *args))

    # -- what the folder asks for ------------------------------------------------------------------------
    def _faulty(self, name: str, write: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            plan = self._current_plan()
            rate = float(plan.get("write_failure_rate", 0))
            if rate <= 0 or self._draw() >= rate:
                return write(*args, **kwargs)
            if self._draw() < float(plan.get("after_write_share", 0)):
                write(*args, **kwargs)
                self._injected("storage_write_failed_after", name)
                raise StorageError(f"injected: {name} was stored but its acknowledgement was lost")
            self._injected("storage_write_failed", name)
            raise StorageError(f"injected: {name} failed")

        return call

    def _payment_write(self, order_id: str) -> None:
        slow = self._folder / "slow" / order_id
        if slow.exists() and self._once(f"slow/{order_id}"):
            self._injected("payment_write_slow", order_id)
            time.sleep(float(slow.read_text() or "0"))
        fail = self._folder / "fail" / order_id
        if fail.exists():
            for attempt in range(int(fail.read_text() or "0")):
                if self._once(f"fail/{order_id}.{attempt}"):
                    self._injected("payment_write_failed", order_id)
                    raise StorageError(f"injected: the payment of {order_id} could not be stored")

    def _once(self, name: str) -> bool:
        """True the first time any process asks for `name` when its rule file exists (an exclusive create)."""
        rule = self._folder / name.split(".")[0]
        if not rule.exists():
            return False
        try:
            os.close(os.open(self._folder / (name + ".used"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True

    def _current_plan(self) -> dict[str, Any]:
        path = self._folder / "plan.json"
        try:
            stamp = path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        with self._lock:
            if stamp != self._plan_stamp:
                self._plan, self._plan_stamp = json.loads(path.read_text() or "{}"), stamp
                self._random.seed(f"{self._plan.get('seed', 0)}:{os.getpid()}")
            return self._plan

    def _draw(self) -> float:
        with self._lock:
            return self._random.random()

    def _injected(self, kind: str, detail: str) -> None:
        with open(self._folder / "injected.log", "a", encoding="utf-8") as log:
            log.write(f"{kind}\t{detail}\n")
