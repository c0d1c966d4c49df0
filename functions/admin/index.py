"""admin: the operators' API under /v1/admin (docs/admin.md) and the dashboard's static files under /admin/.

Every API route authenticates the Bearer admin key first; GET routes need any key, POST routes an operator key
(checked, and the call audited whatever its outcome, by the operations service).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from shared.bootstrap import container, now
from shared.http.app import Router, serve
from shared.http.request import Request, Response
from shared.services.admin import Admin, Caller, params, web

STATIC = Path(__file__).resolve().parent / "static"  # beside index.py, in the repository and in the package
Params = Mapping[str, str]


def _admin() -> Admin:
    return container().admin


def _caller(request: Request) -> Caller:
    key = _admin().auth.authenticate(request.headers.get("authorization"), request.source_ip)
    return Caller.of_key(key, request.request_id, request.source_ip)


def _body(request: Request) -> Callable[[], Mapping[str, Any]]:
    return lambda: request.json() if request.body.strip() else {}


def _ok(answer: Mapping[str, Any]) -> Response:
    return Response.json(200, answer)


# -- reads: any valid key ------------------------------------------------------------------------------------
def me(request: Request, p: Params) -> Response:
    caller = _caller(request)
    return _ok({"key_id": caller.actor, "name": caller.name, "role": caller.role})


def orders(request: Request, p: Params) -> Response:
    _caller(request)
    return _ok(_admin().queries.search(params.order_search(request.query)))


def order(request: Request, p: Params) -> Response:
    _caller(request)
    params.only(request.query, ())
    return _ok(_admin().queries.order(p["order_id"]))


def stats(request: Request, p: Params) -> Response:
    _caller(request)
    return _ok(_admin().queries.stats(params.stats_range(request.query, now())))


def reports(request: Request, p: Params) -> Response:
    _caller(request)
    return _ok(_admin().queries.reports(params.list_limit(request.query, 30)))


def report(request: Request, p: Params) -> Response:
    _caller(request)
    params.only(request.query, ())
    return _ok(_admin().queries.report(params.report_date(p["date"])))


def anomalies(request: Request, p: Params) -> Response:
    _caller(request)
    return _ok(_admin().queries.anomalies(params.list_limit(request.query)))


def audit(request: Request, p: Params) -> Response:
    _caller(request)
    return _ok(_admin().queries.audit(params.audit_page(request.query)))


# -- changes: an operator key, audited -------------------------------------------------------------------------
def refund(request: Request, p: Params) -> Response:
    return _ok(_admin().operations.refund(_caller(request), p["order_id"], _body(request)))


def confirm_paid(request: Request, p: Params) -> Response:
    return _ok(_admin().operations.confirm_paid(_caller(request), p["order_id"], _body(request)))


def revoke(request: Request, p: Params) -> Response:
    return _ok(_admin().operations.revoke(_caller(request), p["licence_id"], _body(request)))


def reinstate(request: Request, p: Params) -> Response:
    return _ok(_admin().operations.reinstate(_caller(request), p["licence_id"], _body(request)))


def reset_devices(request: Request, p: Params) -> Response:
    return _ok(_admin().operations.reset_devices(_caller(request), p["licence_id"], _body(request)))


# -- the dashboard ---------------------------------------------------------------------------------------------
def dashboard_root(request: Request, p: Params) -> Response:
    return web.redirect("/admin/")


def dashboard_index(request: Request, p: Params) -> Response:
    return web.static_file(STATIC, "index.html")


def dashboard_file(request: Request, p: Params) -> Response:
    return web.static_file(STATIC, p["name"])


def _allowed_origins() -> frozenset[str]:
    return container().admin_settings.allowed_origins


def _preflight(methods: frozenset[str]) -> Callable[[Request, Params], Response]:
    return lambda request, p: web.preflight(request, _allowed_origins(), methods)


API = [
    ("GET", "/v1/admin/me", me),
    ("GET", "/v1/admin/orders", orders),
    ("GET", "/v1/admin/orders/{order_id}", order),
    ("POST", "/v1/admin/orders/{order_id}/refund", refund),
    ("POST", "/v1/admin/orders/{order_id}/confirm-paid", confirm_paid),
    ("POST", "/v1/admin/licences/{licence_id}/revoke", revoke),
    ("POST", "/v1/admin/licences/{licence_id}/reinstate", reinstate),
    ("POST", "/v1/admin/licences/{licence_id}/reset-devices", reset_devices),
    ("GET", "/v1/admin/stats", stats),
    ("GET", "/v1/admin/reports", reports),
    ("GET", "/v1/admin/reports/{date}", report),
    ("GET", "/v1/admin/anomalies", anomalies),
    ("GET", "/v1/admin/audit", audit),
]

router = Router()
for _method, _template, _handler in API:
    router.add(_method, _template, _handler, max_body=4096)
    router.add("OPTIONS", _template, _preflight(frozenset({_method})), name=f"OPTIONS {_template}")
router.add("GET", "/admin", dashboard_root)
router.add("GET", "/admin/", dashboard_index)
router.add("GET", "/admin/{name}", dashboard_file)
router.add_health(lambda: container().storage.ping())
router.add_finisher(lambda request, response: web.finish(request, response, _allowed_origins()))


def handler(event: Any, context: Any) -> Any:
    return serve(event, context, router, function="admin")


main_handler = handler
