"""A client of the public v1 API for end-to-end tests: what the extension does, over real HTTP."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import requests

from scripts.stack import Stack
from shared.storage.sqlite import SqliteStorage


class Shop:
    def __init__(self, stack: Stack):
        self.base_url = stack.gateway.base_url
        self.http = requests.Session()
        self.http.trust_env = False
        self.db_path = Path(stack.gateway.env["STORAGE_URL"].removeprefix("sqlite:///"))

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, self.base_url + path, timeout=30, **kwargs)

    def order(self, product_id: str = "pro-monthly", install_id: str | None = None, **headers: str) -> dict[str, Any]:
        install_id = install_id or new_install_id()
        response = self.call(
            "POST", "/v1/orders", json={"product_id": product_id, "install_id": install_id}, headers=headers
        )
        assert response.status_code in (200, 201), response.text
        created: dict[str, Any] = response.json()
        created["install_id"] = install_id
        return created

    def status(self, order: dict[str, Any]) -> dict[str, Any]:
        response = self.call(
            "GET", f"/v1/orders/{order['order_id']}", headers={"Authorization": f"Bearer {order['poll_token']}"}
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def storage(self) -> SqliteStorage:
        return SqliteStorage(str(self.db_path))

    def public_keys(self) -> dict[str, str]:
        return {k["kid"]: k["public_key"] for k in self.call("GET", "/v1/licenses/keys").json()["keys"]}


def new_install_id() -> str:
    return secrets.token_urlsafe(16)
