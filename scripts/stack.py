"""The local system in one place: dev secrets, the WeChat Pay emulator, and the gateway configured against it.

Used by `make dev` (scripts/dev.py) and by the end-to-end tests, so both run exactly the same stack.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from emulator.app import Emulator, Settings
from emulator.server import EmulatorServer
from scripts.gateway import Gateway
from shared.config import LOCAL_STACK


def dev_secrets(data_dir: Path) -> dict[str, str]:
    """Generated on first run into DATA_DIR (git-ignored), reused after: never committed, never printed."""
    from shared.licensing.keys import generate_entry

    path = data_dir / "dev-secrets.json"
    if path.exists():
        loaded: dict[str, str] = json.loads(path.read_text())
        return loaded
    values = {"SERVER_SECRET": secrets.token_urlsafe(48), "LICENSE_SIGNING_KEYS": generate_entry("dev-1")}
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


def function_env(data_dir: Path, merchant: dict[str, str], emulator_url: str, gateway_url: str) -> dict[str, str]:
    """The settings every function reads, as a deployment would set them, pointed at the emulator. LOCAL_STACK=1
    (this stack only, never a deployment) lets the emulator's and the gateway's http:// URLs through
    (shared/config.py); the functions log `insecure_local_stack` once when they read it."""
    return {
        **dev_secrets(data_dir),
        LOCAL_STACK: "1",
        "DATA_DIR": str(data_dir),
        "STORAGE_URL": f"sqlite:///{(data_dir / 'app.sqlite3').resolve()}",
        "WECHATPAY_MCHID": merchant["mchid"],
        "WECHATPAY_APPID": merchant["appid"],
        "WECHATPAY_APIV3_KEY": merchant["apiv3_key"],
        "WECHATPAY_MERCHANT_SERIAL_NO": merchant["merchant_serial_no"],
        "WECHATPAY_MERCHANT_PRIVATE_KEY": merchant["merchant_private_key"],
        "WECHATPAY_PUBLIC_KEY": merchant["wechatpay_public_key"],
        "WECHATPAY_PUBLIC_KEY_ID": merchant["wechatpay_public_key_id"],
        "WECHATPAY_PLATFORM_CERTIFICATES": merchant["platform_certificate"],
        "WECHATPAY_BASE_URL": emulator_url,
        "WECHATPAY_NOTIFY_URL": f"{gateway_url}/v1/notify/wechatpay",
        # Every local request comes from 127.0.0.1 (demos, benchmarks, the chaos run, the tests): the per address
        # and per install limits are wide open here; tests of the limits set their own.
        "RATE_LIMIT_ORDERS_PER_IP": "1000000/60",
        "RATE_LIMIT_ORDERS_PER_INSTALL": "1000000/60",
        "RATE_LIMIT_ACTIVATIONS_PER_IP": "1000000/60",
        "RATE_LIMIT_ACTIVATIONS_PER_INSTALL": "1000000/60",
    }


@dataclass
class Stack:
    emulator: EmulatorServer
    gateway: Gateway

    def stop(self) -> None:
        self.gateway.stop()
        self.emulator.stop()


def start_stack(
    data_dir: Path,
    *,
    port: int,
    emulator_port: int,
    platform: str = "fc3",
    workers: int = 0,
    emulator: EmulatorServer | None = None,
    extra_env: dict[str, str] | None = None,
) -> Stack:
    if emulator is None:
        emulator = EmulatorServer(
            Emulator(Settings(data_dir=data_dir / "emulator", port=emulator_port)), ("127.0.0.1", emulator_port)
        )
        emulator.start()
    merchant = emulator.emulator.keys.credentials.public_view()
    # Bind first, so that the notify URL names the real port even when `port` is 0 (tests).
    gateway = Gateway(("127.0.0.1", port), platform=platform, workers=0, env={})
    env = {**function_env(data_dir, merchant, emulator.base_url, gateway.base_url), **(extra_env or {})}
    gateway.configure(env, workers=workers)
    gateway.start()
    return Stack(emulator, gateway)
