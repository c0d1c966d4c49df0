"""`make demo`: one whole purchase against the running local stack, then the licence verified offline."""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from typing import Any

import requests

GATEWAY = os.environ.get("GATEWAY_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8080')}")
EMULATOR = os.environ.get("EMULATOR_URL", f"http://127.0.0.1:{os.environ.get('EMULATOR_PORT', '8090')}")


def call(method: str, url: str, **kwargs: Any) -> Any:
    response = requests.request(method, url, timeout=15, **kwargs)
    if response.status_code >= 400:
        raise SystemExit(f"{method} {url} -> {response.status_code} {response.text}")
    return response.json() if response.content else None


def purchase(product_id: str | None = None) -> dict[str, Any]:
    from shared.licensing.install import install_hash
    from shared.licensing.keys import PublicKeys
    from shared.licensing.tokens import verify_token

    products = call("GET", f"{GATEWAY}/v1/products")["products"]
    product = next(p for p in products if p["id"] == (product_id or products[0]["id"]))
    install_id = secrets.token_urlsafe(16)
    print(f"1. buying {product['id']} ({product['title']}) for ¥{product['price_fen'] / 100:.2f}")
    order = call(
        "POST",
        f"{GATEWAY}/v1/orders",
        json={"product_id": product["id"], "install_id": install_id},
        headers={"Idempotency-Key": secrets.token_urlsafe(12)},
    )
    print(f"2. order {order['order_id']}: {order['status']}, QR for {order['code_url']}")
    call("POST", f"{EMULATOR}/_emulator/pay", json={"out_trade_no": order["order_id"]})
    print("3. paid in (emulated) WeChat; waiting for the notification ...")
    auth = {"Authorization": f"Bearer {order['poll_token']}"}
    for _ in range(100):
        status = call("GET", f"{GATEWAY}/v1/orders/{order['order_id']}", headers=auth)
        if status["status"] == "PAID" and status["license"]:
            break
        time.sleep(0.2)
    else:
        raise SystemExit("the order did not become PAID")
    licence = status["license"]
    print(f"4. PAID; licence key {licence['license_key']}")
    keys = call("GET", f"{GATEWAY}/v1/licenses/keys")
    public = PublicKeys.from_mapping({k["kid"]: k["public_key"] for k in keys["keys"]})
    payload = verify_token(licence["token"], public, int(time.time()))
    assert payload["ins"] == install_hash(install_id), "the token names another install"
    print("5. token verified offline with the published key; payload:")
    print(json.dumps(payload, indent=2, ensure_ascii=False))
    return {"order": order, "status": status, "payload": payload}


if __name__ == "__main__":
    purchase(sys.argv[1] if len(sys.argv) > 1 else None)
