"""The `storage` fixture runs every conformance test once per adapter, each on fresh, empty storage.

To add an adapter, add one generator to ADAPTERS: it yields an empty Storage (or calls pytest.skip when its server
is not reachable) and cleans up afterwards. The tests themselves do not change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.domain.licences import Licence, LicenceStatus, licence_id_for
from shared.domain.orders import Order, OrderStatus
from shared.domain.refunds import Refund, RefundStatus, out_refund_no_for
from shared.storage.factory import open_storage
from shared.storage.port import Storage
from tests.integration.fake_tablestore import empty_tablestore
from tests.integration.test_storage_sql_servers import (
    mysql_spare_storage,
    mysql_storage,
    postgresql_spare_storage,
    postgresql_storage,
)

T0 = 1_780_000_000  # a fixed "now": times are passed in, never read from a clock


def _sqlite(tmp_path: Path, name: str = "storage.sqlite3") -> Iterator[Storage]:
    storage = open_storage(f"sqlite:///{tmp_path / name}")
    yield storage
    storage.close()  # type: ignore[attr-defined]


ADAPTERS: dict[str, Callable[[Path], Iterator[Storage]]] = {
    "sqlite": _sqlite,
    # The servers .ci/run starts: a migrated namespace per session, emptied before each test.
    "postgresql": postgresql_storage,
    "mysql": mysql_storage,
    # No Tablestore emulator exists: the SDK-level fake, pages cut short so every range read pages.
    "tablestore": lambda _: empty_tablestore(page_size=2),
}


# A second, empty instance of the same kind, beside the first: a backup restored into a fresh deployment.
SPARES: dict[str, Callable[[Path], Iterator[Storage]]] = {
    "sqlite": lambda tmp_path: _sqlite(tmp_path, "spare.sqlite3"),
    "postgresql": postgresql_spare_storage,
    "mysql": mysql_spare_storage,
    "tablestore": lambda _: empty_tablestore(page_size=2),
}


@pytest.fixture(params=sorted(ADAPTERS))
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    yield from ADAPTERS[request.param](tmp_path)


@pytest.fixture
def spare_storage(request: pytest.FixtureRequest, storage: Storage, tmp_path: Path) -> Iterator[Storage]:
    """Another empty storage of the kind `storage` is."""
    yield from SPARES[request.node.callspec.params["storage"]](tmp_path)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "live: needs a real cloud service and its keys; runs only when -m selects it")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Live tests are deselected (not skipped) unless a -m expression names them (`-m live`)."""
    if "live" in config.getoption("markexpr"):
        return
    live = [item for item in items if item.get_closest_marker("live")]
    if live:
        config.hook.pytest_deselected(items=live)
        items[:] = [item for item in items if not item.get_closest_marker("live")]


_counter = iter(range(1, 1_000_000))


def make_order(**overrides: Any) -> Order:
    """A PENDING order with unique ids; any field can be overridden."""
    n = next(_counter)
    fields: dict[str, Any] = {
        "order_id": f"ord_test_{n:06d}",
        "product_id": "pro",
        "install_hash": "install-hash-a",
        "amount_fen": 1990,
        "currency": "CNY",
        "description": "专业版 Pro licence",
        "mchid": "1900000109",
        "appid": "wxd678efh567hg6787",
        "status": OrderStatus.PENDING,
        "created_at": T0 + n,
        "expires_at": T0 + n + 7200,
        "poll_token_hash": f"poll-hash-{n}",
    }
    fields.update(overrides)
    return Order(**fields)


def make_licence(order: Order, **overrides: Any) -> Licence:
    """The ACTIVE licence of `order`, as the service would issue it; any field can be overridden."""
    licence = Licence(
        licence_id=licence_id_for(order.order_id),
        order_id=order.order_id,
        product_id=order.product_id,
        key_hash=f"key-hash-{order.order_id}",
        status=LicenceStatus.ACTIVE,
        entitlements=("pro", "sync"),
        max_devices=3,
        issued_at=T0 + 100,
        expires_at=T0 + 100 + 365 * 86400,
    )
    return dataclasses.replace(licence, **overrides)


def make_refund(order: Order, **overrides: Any) -> Refund:
    """A REQUESTED refund of part of `order`, with a unique out_refund_no; any field can be overridden."""
    n = next(_counter)
    refund = Refund(
        out_refund_no=out_refund_no_for(order.order_id, f"request-{n}"),
        order_id=order.order_id,
        amount_fen=500,
        status=RefundStatus.REQUESTED,
        reason="用户申请退款 customer asked",
        requested_by="operator@example.com",
        requested_at=T0 + 1000 + n,
    )
    return dataclasses.replace(refund, **overrides)


@pytest.fixture(name="make_order")
def make_order_fixture() -> Callable[..., Order]:
    return make_order


@pytest.fixture(name="make_licence")
def make_licence_fixture() -> Callable[..., Licence]:
    return make_licence


@pytest.fixture(name="make_refund")
def make_refund_fixture() -> Callable[..., Refund]:
    return make_refund
