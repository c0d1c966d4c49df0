"""The public API's rate limits over the real gateway: counted in storage, so they hold across two worker processes
(two function instances); the refusal is a clear 429 with Retry-After, writes no order, and is audited once."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.stack import Stack
from tests.support.emulator import RunningEmulator
from tests.support.shop import Shop, new_install_id
from tests.support.stacks import own_stack


@pytest.fixture(scope="module")
def limited(emulator_server: RunningEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    limits = {
        "RATE_LIMIT_ORDERS_PER_INSTALL": "3/3600",
        "RATE_LIMIT_ORDERS_PER_IP": "1000/3600",
        "RATE_LIMIT_ACTIVATIONS_PER_IP": "4/3600",
        "RATE_LIMIT_ACTIVATIONS_PER_INSTALL": "1000/3600",
    }
    with own_stack(emulator_server, tmp_path_factory.mktemp("limited"), workers=2, **limits) as running:
        yield running


def _count(shop: Shop, sql: str) -> int:
    with sqlite3.connect(f"file:{Path(shop.db_path)}?mode=ro", uri=True) as connection:
        value: int = connection.execute(sql).fetchone()[0]
        return value


def test_an_install_creating_too_many_orders_gets_429_on_every_instance(limited: Stack) -> None:
    shop = Shop(limited)
    install_id = new_install_id()
    for _ in range(3):  # two worker processes share the requests: the count is the storage's, not an instance's
        shop.order(install_id=install_id)
    orders_before = _count(shop, "SELECT COUNT(*) FROM orders")
    for _ in range(2):
        refused = shop.call("POST", "/v1/orders", json={"product_id": "pro-monthly", "install_id": install_id})
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "RATE_LIMITED"
        assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert _count(shop, "SELECT COUNT(*) FROM orders") == orders_before  # nothing written
    shop.order(install_id=new_install_id())  # another install is not limited
    audited = _count(shop, "SELECT COUNT(*) FROM audit_log WHERE action = 'security.rate_limit_exceeded'")
    assert audited == 1  # the first refusal of the window, once


def test_guessing_licence_keys_from_one_address_is_limited(limited: Stack) -> None:
    shop = Shop(limited)
    answers = [
        shop.call("POST", "/v1/licenses/activate", json={"license_key": f"WXL-GUESS-{n:04d}", "install_id": "x" * 22})
        for n in range(6)
    ]
    assert all(a.status_code in (400, 404) for a in answers[:4]), [a.text for a in answers]
    assert [a.status_code for a in answers[4:]] == [429, 429]
    assert answers[4].headers["Retry-After"].isdigit()


def test_a_forged_notification_is_a_security_event_in_the_audit_log(limited: Stack) -> None:
    shop = Shop(limited)
    headers = {
        "Content-Type": "application/json",
        "Wechatpay-Serial": "PUB_KEY_ID_0000000000000000000000",
        "Wechatpay-Signature": "Zm9yZ2Vk" * 43,
        "Wechatpay-Timestamp": str(int(time.time())),
        "Wechatpay-Nonce": "n" * 32,
    }
    for _ in range(3):
        answer = shop.call("POST", "/v1/notify/wechatpay", data=b'{"id": "forged"}', headers=headers)
        assert answer.status_code == 401 and answer.json()["code"] == "FAIL"
    rows = _count(shop, "SELECT COUNT(*) FROM audit_log WHERE action = 'security.notify_rejected'")
    assert rows in (1, 2)  # counted three times in the metrics, audited once a minute (2: a minute began between)
    assert _count(shop, "SELECT COUNT(*) FROM notifications") == 0
