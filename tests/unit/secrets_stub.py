"""Shared by the secrets tests: their stub services listen on 127.0.0.1, and nothing else may be reached."""

from __future__ import annotations

import socket
from typing import Any

import pytest


def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise RuntimeError("secrets tests reach only their stub on 127.0.0.1")
        real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
