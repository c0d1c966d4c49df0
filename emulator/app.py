"""The emulator's composition root: settings, state, keys, signer, notifier, backend and the background worker."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from emulator import faults
from emulator.auth import Merchant
from emulator.keys import KeyMaterial, load_or_create
from emulator.models import Backend, Clock, Outbound
from emulator.notifier import Notifier
from emulator.signer import Signer
from emulator.store import Store


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8090
    signing_mode: str = "public_key"
    time_factor: float = 1.0
    notify_timeout: float = 5.0
    refund_delay: float = 1.0
    refund_interval: float = 60.0
    mchid: str | None = None
    appid: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        return cls(
            data_dir=Path(env.get("DATA_DIR", ".data")) / "emulator",
            host=env.get("EMULATOR_HOST", "127.0.0.1"),
            port=int(env.get("EMULATOR_PORT", "8090")),
            signing_mode=env.get("EMULATOR_SIGNING_MODE", "public_key"),
            time_factor=float(env.get("EMULATOR_TIME_FACTOR", "1")),
            notify_timeout=float(env.get("EMULATOR_NOTIFY_TIMEOUT", "5")),
            refund_delay=float(env.get("EMULATOR_REFUND_DELAY", "1")),
            refund_interval=float(env.get("EMULATOR_REFUND_INTERVAL", "60")),
            mchid=env.get("EMULATOR_MCHID") or None,
            appid=env.get("EMULATOR_APPID") or None,
        )


class Emulator:
    """Everything but HTTP; `emulator.server` puts it on a port."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.store = Store(settings.data_dir / "state.sqlite3")
        self.keys: KeyMaterial = load_or_create(settings.data_dir / "merchant.json", settings.mchid, settings.appid)
        credentials = self.keys.credentials
        self.merchant = Merchant(credentials.mchid, credentials.merchant_serial_no, self.keys.merchant_public)
        self.signer = Signer(self.keys, self.store, settings.signing_mode)
        self.notifier = Notifier(
            self.store,
            self.signer,
            credentials.apiv3_key,
            time_factor=settings.time_factor,
            timeout=settings.notify_timeout,
        )
        self.clock = Clock(self.store)
        self.backend = Backend(
            self.store,
            self.clock,
            credentials.mchid,
            credentials.appid,
            self._notify,
            refund_delay=settings.refund_delay * settings.time_factor,
            refund_interval=settings.refund_interval,
        )
        self.faults = faults.FaultBook(self.store)
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None

    def _notify(self, outbound: Outbound, options: dict[str, object]) -> str:
        return self.notifier.enqueue(outbound, dict(options))

    def start_worker(self, interval: float = 0.05) -> None:
        self._worker = threading.Thread(target=self._run, args=(interval,), name="emulator-worker", daemon=True)
        self._worker.start()

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.tick()

    def tick(self) -> None:
        """Settle due refunds and start due notification deliveries."""
        for out_refund_no in self.backend.due_refunds():
            self.backend.settle_refund(out_refund_no)
        self.notifier.tick()

    def reset(self) -> None:
        self.store.reset()

    def close(self) -> None:
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout=2)
        self.notifier.close()
        self.store.close()
