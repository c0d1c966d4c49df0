"""order_status: `GET /v1/orders/{order_id}` (poll token) and `GET /v1/history` (X-Install-Id) (design §3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.bootstrap import container
from shared.http.app import Router, serve
from shared.http.request import Request, Response


def order_status(request: Request, params: Mapping[str, str]) -> Response:
    authorization = request.headers.get("authorization") or ""
    token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
    return Response.json(200, container().status.get(params["order_id"], token))


def history(request: Request, params: Mapping[str, str]) -> Response:
    return Response.json(200, container().history.for_install(request.headers.get("x-install-id")))


router = Router()
router.add("GET", "/v1/orders/{order_id}", order_status)
router.add("GET", "/v1/history", history)
router.add_health(lambda: container().storage.ping())


def handler(event: Any, context: Any) -> Any:
    return serve(event, context, router, function="order_status")


main_handler = handler
