"""`make dev`: the whole system locally — WeChat Pay emulator, gateway, SQLite — with URLs and a terminal QR."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

from emulator.app import Emulator, Settings
from emulator.server import EmulatorServer
from scripts.stack import start_stack


def terminal_qr(text: str) -> str:
    import qrcode

    qr = qrcode.QRCode(border=1)
    qr.add_data(text)
    out = io.StringIO()
    qr.print_ascii(out=out, invert=True)
    return out.getvalue()


# What the deployed timer triggers run, on a faster clock: the frequent jobs every JOBS_EVERY_SECONDS (0: never),
# the daily ones every hour.
FREQUENT_JOBS = "close_expired,reconcile_pending,reconcile_refunds"
DAILY_JOBS = "reconcile_bill,retention"


class Timers(threading.Thread):
    """Fires the jobs function with the timer events of the gateway's platform, as FC / SCF timer triggers do."""

    def __init__(self, platform: str, every: float, daily_every: float):
        super().__init__(name="timers", daemon=True)
        self.platform, self.every, self.daily_every = platform, every, daily_every
        self.stopped = threading.Event()

    def run(self) -> None:
        last_daily = 0.0
        while not self.stopped.wait(self.every):
            now = time.monotonic()
            names = FREQUENT_JOBS
            if now - last_daily >= self.daily_every:
                names, last_daily = f"{FREQUENT_JOBS},{DAILY_JOBS}", now
            self.fire(names)

    def fire(self, names: str) -> None:
        from functions.jobs import index as jobs

        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        event: object
        if self.platform == "scf":
            event = {"Type": "Timer", "TriggerName": "dev-timer", "Time": stamp, "Message": names}
        else:
            event = json.dumps({"triggerTime": stamp, "triggerName": "dev-timer", "payload": names}).encode()
        try:
            jobs.handler(event, SimpleNamespace(request_id=f"timer-{stamp}"))
        except Exception as exc:  # logged by the jobs already; the next tick tries again
            print(json.dumps({"event": "timer_failed", "error": type(exc).__name__, "message": str(exc)[:200]}))


def main() -> int:
    data_dir = Path(os.environ.get("DATA_DIR", ".data"))
    port = int(os.environ.get("PORT", "8080"))
    emulator_port = int(os.environ.get("EMULATOR_PORT", "8090"))
    settings = Settings.from_env()
    emulator = EmulatorServer(Emulator(settings), (settings.host, emulator_port))
    emulator.start()
    workers = int(os.environ.get("GATEWAY_WORKERS", "0"))
    stack = start_stack(
        data_dir,
        port=port,
        emulator_port=emulator_port,
        emulator=emulator,
        workers=workers,
        platform="scf" if os.environ.get("GATEWAY_PLATFORM") == "scf" else "fc3",
    )
    # The jobs run in this process, with the functions' settings (the gateway's workers have their own copy).
    os.environ.update(stack.gateway.env)
    from shared import bootstrap

    bootstrap.reset()  # a composition root built from these settings, whatever ran before
    timers = Timers(stack.gateway.platform, float(os.environ.get("JOBS_EVERY_SECONDS", "30")), 3600.0)
    if timers.every > 0:
        timers.start()
    phone = f"{emulator.base_url}/phone"
    print(terminal_qr(phone))
    print("LOCAL_STACK=1    http:// allowed: local stack only (a deployment refuses http:// URLs)", flush=True)
    print(
        f"API gateway      {stack.gateway.base_url}   (GET /v1/products, POST /v1/orders, ...; {stack.gateway.platform} events)"
    )
    print(f"WeChat Pay emu   {emulator.base_url}   (merchant {emulator.emulator.keys.credentials.mchid})")
    print(f"Pay page         {phone}   (the QR above opens it)")
    print(f"Data             {data_dir.resolve()}   (SQLite, dev keys, emulator state)")
    print("Try a whole purchase in another terminal:  make demo", flush=True)
    if timers.every > 0:
        print(f"Timer jobs       every {timers.every:g} s: {FREQUENT_JOBS}; hourly: {DAILY_JOBS}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    timers.stopped.set()
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
