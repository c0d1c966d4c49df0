"""`make dev`: the whole system locally — WeChat Pay emulator, gateway, SQLite — with URLs and a terminal QR."""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
from pathlib import Path

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
    phone = f"{emulator.base_url}/phone"
    print(terminal_qr(phone))
    print(
        f"API gateway      {stack.gateway.base_url}   (GET /v1/products, POST /v1/orders, ...; {stack.gateway.platform} events)"
    )
    print(f"WeChat Pay emu   {emulator.base_url}   (merchant {emulator.emulator.keys.credentials.mchid})")
    print(f"Pay page         {phone}   (the QR above opens it)")
    print(f"Data             {data_dir.resolve()}   (SQLite, dev keys, emulator state)")
    print("Try a whole purchase in another terminal:  make demo", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
