"""create_order: `GET /v1/products`, `POST /v1/orders` (design §3), and the API's description at
`GET /v1/openapi.json` (generated from shared/api by `python -m scripts.openapi`; read here as a file, so that no
model library is imported)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import shared
from shared.bootstrap import container
from shared.http.app import Router, serve
from shared.http.request import Request, Response
from shared.qr import qr_svg


def products(request: Request, params: Mapping[str, str]) -> Response:
    return Response.json(200, {"products": [p.public() for p in container().purchases.products()]})


def create(request: Request, params: Mapping[str, str]) -> Response:
    body = request.json()
    install_id = str(body.get("install_id", ""))
    c = container()
    c.rate_limits.orders(request.source_ip, install_id)
    created = c.purchases.create(str(body.get("product_id", "")), install_id, request.headers.get("idempotency-key"))
    order = created.order
    return Response.json(
        200 if created.replayed else 201,
        {
            "order_id": order.order_id,
            "status": order.status.value,
            "amount_fen": order.amount_fen,
            "currency": order.currency,
            "description": order.description,
            "code_url": order.code_url,
            "qr_svg": qr_svg(order.code_url or ""),
            "expires_at": order.expires_at,
            "poll_token": created.poll_token,
        },
    )


OPENAPI_FILE = Path(shared.__file__).resolve().parent / "api" / "openapi.json"
_openapi: list[bytes] = []  # the file's bytes, read at the first request for it


def openapi(request: Request, params: Mapping[str, str]) -> Response:
    if not _openapi:
        _openapi.append(OPENAPI_FILE.read_bytes())
    # The same document until the next deploy: clients and caches may keep it five minutes (every other answer is
    # no-store).
    return Response(
        200, _openapi[0], {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "public, max-age=300"}
    )


router = Router()
router.add("GET", "/v1/products", products)
router.add("POST", "/v1/orders", create, max_body=4096)
router.add("GET", "/v1/openapi.json", openapi)
router.add_health(lambda: container().storage.ping())


def handler(event: Any, context: Any) -> Any:
    return serve(event, context, router, function="create_order")


main_handler = handler  # Tencent SCF's default handler name
