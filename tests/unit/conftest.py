"""Fixtures for unit tests of shared.wechatpay, built on the TEST ONLY keys of tests/fixtures."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shared import log
from shared.wechatpay.verify import KeyRing
from tests.fixtures import keys

Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def apiv3_key() -> bytes:
    return keys.apiv3_key().encode()


@pytest.fixture
def public_key_ring() -> KeyRing:
    pem = keys.text("wechatpay_public_key.pem")
    return KeyRing.from_pem(public_key_pem=pem, public_key_id=keys.PUBLIC_KEY_ID)


@pytest.fixture
def full_key_ring(public_key_ring: KeyRing) -> KeyRing:
    """Public key plus the two current platform certificates and the expired one (transition + rotation)."""
    certificates = [keys.certificate(name) for name in ("platform", "platform2", "platform_expired")]
    return public_key_ring.with_certificates(certificates)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never reach a network: an SDK that tried to would fail loudly instead of hanging."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("unit tests must not open network connections")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.fixture
def fresh_log_context() -> Iterator[None]:
    """Run the test in its own log context: services bind order_id, which must not leak into later tests."""
    from shared import log

    with log.request_scope():
        yield


@pytest.fixture
def lines() -> Iterator[Lines]:
    """Logs go to an injected stream at debug level (`lines()` parses what was written so far); the previous level
    and stdout are restored afterwards."""
    previous = log.level()
    stream = io.StringIO()
    log.configure(level="debug", stream=stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    log.configure(level=previous, stream=None)
