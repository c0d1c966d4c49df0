"""The admin function's rules for browsers: security headers on every answer, CORS closed unless an origin is
named in ADMIN_ALLOWED_ORIGINS, and the dashboard's static files.

The dashboard is same-origin (served by this function under /admin/) and needs no CORS at all: a page elsewhere can
call the API only from an https:// origin the deployment names, and never with cookies (keys go in a header).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

from shared import errors
from shared.http.request import Request, Response

SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
STATIC_TYPES: Mapping[str, str] = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "actions.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "audit.js": "text/javascript; charset=utf-8",
    "charts.js": "text/javascript; charset=utf-8",
    "detail.js": "text/javascript; charset=utf-8",
    "dialog.js": "text/javascript; charset=utf-8",
    "dom.js": "text/javascript; charset=utf-8",
    "format.js": "text/javascript; charset=utf-8",
    "i18n.js": "text/javascript; charset=utf-8",
    "messages-en.js": "text/javascript; charset=utf-8",
    "messages-zh.js": "text/javascript; charset=utf-8",
    "nav.js": "text/javascript; charset=utf-8",
    "orders.js": "text/javascript; charset=utf-8",
    "reports.js": "text/javascript; charset=utf-8",
    "state.js": "text/javascript; charset=utf-8",
}
CORS_METHODS = "GET, POST"
CORS_HEADERS = "Authorization, Content-Type"
CORS_MAX_AGE = "600"


def allowed_origin(request: Request, allowed: Collection[str]) -> str | None:
    """The request's Origin when the deployment allows it, else None."""
    origin = (request.headers.get("origin") or "").strip().rstrip("/").lower()
    return origin if origin and origin in allowed else None


def finish(request: Request, response: Response, allowed: Collection[str]) -> Response:
    """Every answer: the security headers, and CORS headers for an allowed origin only."""
    headers = dict(SECURITY_HEADERS)
    if allowed:
        headers["Vary"] = "Origin"
        origin = allowed_origin(request, allowed)
        if origin is not None:
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Expose-Headers"] = "Retry-After, X-Request-Id"
    return response.with_headers(headers)


def preflight(request: Request, allowed: Collection[str], methods: Collection[str]) -> Response:
    """OPTIONS: 204 with what the allowed origin may send; 403 for any other origin (or none)."""
    origin = allowed_origin(request, allowed)
    if origin is None:
        raise errors.Forbidden("cross-origin requests are not allowed here", code="CORS_ORIGIN_NOT_ALLOWED")
    wanted = (request.headers.get("access-control-request-method") or "").upper()
    if wanted and wanted not in methods:
        raise errors.Forbidden(f"{wanted} is not allowed here", code="CORS_METHOD_NOT_ALLOWED")
    return Response.empty(
        204,
        {
            "Access-Control-Allow-Methods": ", ".join(sorted(methods)),
            "Access-Control-Allow-Headers": CORS_HEADERS,
            "Access-Control-Max-Age": CORS_MAX_AGE,
        },
    )


def static_file(folder: Path, name: str) -> Response:
    """One of the dashboard's files, with its type; 404 if the package lacks it."""
    content_type = STATIC_TYPES.get(name)
    path = folder / name
    if content_type is None or not path.is_file():
        raise errors.NotFound("no such file", code="NOT_FOUND")
    return Response(200, path.read_bytes(), {"Content-Type": content_type})


def redirect(location: str) -> Response:
    return Response.empty(301, {"Location": location})
