"""What a cold start imports. A function imported in a fresh interpreter serves a real first request without the
outbound SDK's stack (requests, urllib3, wechatpayv3), qrcode or, for a public-key-mode merchant, x509: the notify
function needs cryptography and the standard library only (design §9). Behaviour, not timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scripts.stack import function_env
from shared.config import CODE_ROOT
from shared.domain.orders import Order, OrderStatus
from shared.http import fc3
from shared.licensing.derive import poll_token_for, token_hash
from shared.licensing.install import install_hash
from shared.storage.sqlite import SqliteStorage
from tests.support.emulator import RunningEmulator
from tests.support.wechat import genuine_notification, paid_resource, signed

HEAVY = ("requests", "urllib3", "wechatpayv3", "qrcode", "charset_normalizer", "idna", "pydantic", "tablestore")
CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
import importlib
handler = importlib.import_module("functions." + sys.argv[2] + ".index").handler
answer = handler(open(sys.argv[3], "rb").read(), None)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in sys.argv[4].split(",") or m == "cryptography.x509")
print("RESULT " + json.dumps({"status": answer["statusCode"], "heavy": heavy}))
"""


def pending_order(storage: SqliteStorage, merchant: dict[str, str], secret: bytes) -> Order:
    now = int(time.time())
    order_id = "ocold" + os.urandom(8).hex()
    order = Order(
        order_id=order_id,
        product_id="pro-monthly",
        install_hash=install_hash("cold-path-install-0000000001"),
        amount_fen=990,
        currency="CNY",
        description="Pro features, 30 days",
        mchid=merchant["mchid"],
        appid=merchant["appid"],
        status=OrderStatus.PENDING,
        created_at=now,
        expires_at=now + 900,
        poll_token_hash=token_hash(poll_token_for(secret, order_id)),
        code_url="weixin://wxpay/bizpayurl?pr=coldpath",
        updated_at=now,
    )
    assert storage.insert_order(order)
    return order


def fresh_process(env: dict[str, str], function: str, event: bytes, tmp_path: Path) -> dict[str, object]:
    (tmp_path / "event").write_bytes(event)
    child_env = {**env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    done = subprocess.run(
        [sys.executable, "-I", "-c", CHILD, str(CODE_ROOT), function, str(tmp_path / "event"), ",".join(HEAVY)],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    result: dict[str, object] = json.loads(line.removeprefix("RESULT "))
    return result


@pytest.fixture
def setup(emulator: RunningEmulator, tmp_path: Path) -> tuple[dict[str, str], SqliteStorage, Order]:
    env = function_env(tmp_path, emulator.merchant, emulator.base_url, "http://unused.invalid")
    env.pop("WECHATPAY_PLATFORM_CERTIFICATES")  # a merchant in public-key mode, as every new merchant is
    storage = SqliteStorage(env["STORAGE_URL"].removeprefix("sqlite:///"))
    return env, storage, pending_order(storage, emulator.merchant, env["SERVER_SECRET"].encode())


def test_payment_notify_pays_an_order_in_a_fresh_process_importing_no_outbound_sdk_qrcode_or_x509(
    emulator: RunningEmulator, setup: tuple[dict[str, str], SqliteStorage, Order], tmp_path: Path
) -> None:
    env, storage, order = setup
    body = genuine_notification(emulator, paid_resource(emulator, order.order_id, order.amount_fen))
    event = fc3.build_event("POST", "/v1/notify/wechatpay", headers=signed(emulator, body), body=body)
    result = fresh_process(env, "payment_notify", event, tmp_path)
    assert result == {"status": 204, "heavy": []}
    paid = storage.get_order(order.order_id)
    assert paid is not None and paid.status is OrderStatus.PAID


def test_order_status_answers_a_recent_order_in_a_fresh_process_without_the_sdk(
    setup: tuple[dict[str, str], SqliteStorage, Order], tmp_path: Path
) -> None:
    env, _, order = setup
    token = poll_token_for(env["SERVER_SECRET"].encode(), order.order_id)
    event = fc3.build_event("GET", f"/v1/orders/{order.order_id}", headers={"Authorization": f"Bearer {token}"})
    assert fresh_process(env, "order_status", event, tmp_path) == {"status": 200, "heavy": []}


def test_license_answers_in_a_fresh_process_without_the_sdk(
    setup: tuple[dict[str, str], SqliteStorage, Order], tmp_path: Path
) -> None:
    env, _, _ = setup
    event = fc3.build_event("GET", "/v1/licenses/keys")
    assert fresh_process(env, "license", event, tmp_path) == {"status": 200, "heavy": []}
