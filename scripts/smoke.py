"""`make smoke`: one whole purchase against any deployment of the API, or the local gateway.

    python -m scripts.smoke https://pay.example.com                       # a real deployment: you pay the QR code
    python -m scripts.smoke http://127.0.0.1:8080 --pay-with-emulator http://127.0.0.1:8090
    python -m scripts.smoke --function-url create_order=https://... --function-url order_status=https://... \\
                            --function-url license=https://...          # SCF function URLs without a domain

The flow of `make demo` (scripts/demo.py): catalogue, order (with an Idempotency-Key), the QR code, payment, polling
until PAID with a licence, the licence token verified offline with the published keys, then validated online.
Against a real deployment nothing can pay for you: it prints the QR code and polls until it is paid or `--timeout`.
Exit status 0 only when every step gave the right answer.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from scripts.demo import call

# Which function serves which path prefix (as the FC domain and the local gateway route them).
FUNCTION_OF = {"/v1/products": "create_order", "/v1/orders": "create_order", "/v1/licenses": "license"}


class Api:
    """Base URL, or one URL per function (SCF function URLs); `url(path)` picks the right one."""

    def __init__(self, base: str | None, function_urls: Mapping[str, str]) -> None:
        self.base, self.function_urls = (base or "").rstrip("/"), {k: v.rstrip("/") for k, v in function_urls.items()}

    def url(self, path: str) -> str:
        function = "order_status" if path.startswith("/v1/orders/") or path == "/v1/history" else None
        function = function or next((f for prefix, f in FUNCTION_OF.items() if path.startswith(prefix)), "")
        base = self.function_urls.get(function) or self.base
        if not base:
            raise SystemExit(f"no URL for {path}: give a base URL or --function-url {function}=URL")
        return base + path


def show_qr(code_url: str) -> None:
    try:
        import qrcode

        qr = qrcode.QRCode(border=1)
        qr.add_data(code_url)
        qr.print_ascii(invert=True)
    except ImportError:  # the QR is also shown as its text: any QR generator will do
        pass
    print(f"   scan with WeChat and pay: {code_url}")


def purchase(
    api: Api,
    *,
    product_id: str | None = None,
    pay: Callable[[str], None] | None = None,
    timeout: float = 300,
    interval: float = 2,
) -> dict[str, Any]:
    from shared.licensing.install import install_hash
    from shared.licensing.keys import PublicKeys
    from shared.licensing.tokens import verify_token

    products = call("GET", api.url("/v1/products"))["products"]
    product = next(p for p in products if p["id"] == (product_id or products[0]["id"]))
    install_id = secrets.token_urlsafe(16)
    print(f"1. {len(products)} products; buying {product['id']} for ¥{product['price_fen'] / 100:.2f}")
    order = call(
        "POST",
        api.url("/v1/orders"),
        json={"product_id": product["id"], "install_id": install_id},
        headers={"Idempotency-Key": secrets.token_urlsafe(12)},
    )
    assert order["status"] == "PENDING" and order["code_url"], order
    print(f"2. order {order['order_id']} PENDING, expires at {order['expires_at']}")
    show_qr(order["code_url"])
    if pay is not None:
        pay(order["order_id"])
        print("3. paid through the emulator")
    else:
        print(f"3. waiting up to {timeout:.0f} s for the payment ...")
    auth = {"Authorization": f"Bearer {order['poll_token']}"}
    deadline = time.monotonic() + timeout
    while True:
        status = call("GET", api.url(f"/v1/orders/{order['order_id']}"), headers=auth)
        if status["status"] == "PAID" and status.get("license"):
            break
        if status["status"] not in ("PENDING", "PAID") or time.monotonic() > deadline:
            raise SystemExit(f"the order is {status['status']} after {timeout:.0f} s: not paid")
        time.sleep(interval)
    licence = status["license"]
    print(f"4. PAID; licence key {licence['license_key']}")
    keys = call("GET", api.url("/v1/licenses/keys"))
    public = PublicKeys.from_mapping({k["kid"]: k["public_key"] for k in keys["keys"]})
    payload = verify_token(licence["token"], public, int(time.time()))
    assert payload["ins"] == install_hash(install_id), "the token names another install"
    checked = call("POST", api.url("/v1/licenses/validate"), json={"token": licence["token"]})
    assert checked["valid"] is True, checked
    print(f"5. token verified offline (kid {payload['kid']}) and valid online")
    return {"order": order, "status": status, "payload": payload}


def emulator_payer(emulator_url: str) -> Callable[[str], None]:
    def pay(order_id: str) -> None:
        call("POST", f"{emulator_url.rstrip('/')}/_emulator/pay", json={"out_trade_no": order_id})

    return pay


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base_url", nargs="?", help="the API's origin, e.g. https://pay.example.com")
    parser.add_argument("--function-url", action="append", default=[], metavar="FUNCTION=URL")
    parser.add_argument("--pay-with-emulator", metavar="URL", help="pay through this WeChat Pay emulator")
    parser.add_argument("--product", help="product id (default: the first)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the payment")
    args = parser.parse_args(argv)
    urls = dict(value.split("=", 1) for value in args.function_url if "=" in value)
    if not args.base_url and not urls:
        parser.error("give a base URL or --function-url FUNCTION=URL")
    pay = emulator_payer(args.pay_with_emulator) if args.pay_with_emulator else None
    purchase(Api(args.base_url, urls), product_id=args.product, pay=pay, timeout=args.timeout)
    print("smoke: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
