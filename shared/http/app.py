"""Routing and the one place where answers and errors are rendered, for every function on both clouds.

`serve(event, context, router, function=...)` is what a function's `handler` / `main_handler` calls: it detects the
platform from the event's shape, parses it, routes, runs the handler and renders the answer in that platform's
shape. Nothing escapes it: an unreadable event is a 400, an unexpected exception a 500 whose details go to the log
only (an exception escaping to FC or SCF could show the client a stack trace).

Every answer, errors included, leaves `serve` with `X-Request-Id` and the security headers (`SECURITY_HEADERS`:
HSTS, nosniff, no referrer, no framing), a JSON answer also with `JSON_CSP` unless it set its own policy (the admin
dashboard's pages do), and `Cache-Control: no-store` unless it set its own caching (the OpenAPI document does).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from shared import log
from shared.errors import (
    AppError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthenticated,
    ValidationFailed,
)
from shared.http import fc3, scf
from shared.http._events import choose_request_id
from shared.http.request import Request, Response

Handler = Callable[[Request, Mapping[str, str]], Response]
HealthCheck = Callable[[], None]
Finisher = Callable[[Request, Response], Response]

DEFAULT_MAX_BODY = 16384
UNMATCHED_ROUTE = "unmatched"  # the log's `route` for 404, 405 and unreadable events
SECURITY_HEADERS: Mapping[str, str] = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
JSON_CSP = "default-src 'none'; frame-ancestors 'none'"
NO_STORE = "no-store"
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_current_function: ContextVar[str] = ContextVar("shared_http_function", default="")


class RouteMethodNotAllowed(MethodNotAllowed):
    """The path exists with other methods: the answer names them in an `Allow` header."""

    def __init__(self, allow: tuple[str, ...]) -> None:
        super().__init__(f"method not allowed; use {', '.join(allow)}", details={"allow": list(allow)})
        self.allow = allow


@dataclass(frozen=True)
class Route:
    """One registered route: the handler of `method` on paths matching `template`, and its limits."""

    method: str
    template: str
    handler: Handler
    name: str
    max_body: int
    wechat_errors: bool
    pattern: re.Pattern[str]
    param_count: int


def compile_template(template: str) -> re.Pattern[str]:
    """`/v1/orders/{order_id}` -> a pattern where each parameter matches one non-empty path segment."""
    if not template.startswith("/"):
        raise ValueError(f"route template must start with '/': {template!r}")
    parts: list[str] = []
    position = 0
    for match in _PARAM.finditer(template):
        parts.append(re.escape(template[position : match.start()]))
        parts.append(f"(?P<{match.group(1)}>[^/]+)")
        position = match.end()
    parts.append(re.escape(template[position:]))
    literal = _PARAM.sub("", template)
    if "{" in literal or "}" in literal:
        raise ValueError(f"malformed parameter in route template {template!r}")
    try:
        return re.compile("".join(parts))
    except re.error as exc:  # a parameter name used twice
        raise ValueError(f"route template {template!r}: {exc}") from None


class Router:
    """The routes of one function. Built once per cold start, at import time."""

    def __init__(self) -> None:
        self._routes: list[Route] = []
        self._finishers: list[Finisher] = []

    @property
    def routes(self) -> tuple[Route, ...]:
        return tuple(self._routes)

    def add(
        self,
        method: str,
        template: str,
        handler: Handler,
        *,
        name: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        wechat_errors: bool = False,
    ) -> None:
        method = method.upper()
        if any(r.method == method and r.template == template for r in self._routes):
            raise ValueError(f"route {method} {template} is already registered")
        pattern = compile_template(template)
        route_name = name or f"{method} {template}"
        route = Route(method, template, handler, route_name, max_body, wechat_errors, pattern, pattern.groups)
        self._routes.append(route)

    def add_finisher(self, finisher: Finisher) -> None:
        """Run on every answer to a readable request, errors included (headers every answer of a function needs)."""
        self._finishers.append(finisher)

    def finish(self, request: Request, response: Response) -> Response:
        for finisher in self._finishers:
            response = finisher(request, response)
        return response

    def add_health(self, check: HealthCheck) -> None:
        """GET /healthz: 200 with the function's name when `check()` returns, 503 (no details) when it raises."""

        def health(_request: Request, _params: Mapping[str, str]) -> Response:
            try:
                check()
            except Exception as exc:
                # Type only: a driver's message may name hosts or users; the check can log more itself.
                log.warning("health_check_failed", error_type=type(exc).__name__)
                return Response.json(503, {"status": "unavailable"})
            return Response.json(200, {"status": "ok", "function": _current_function.get()})

        self.add("GET", "/healthz", health, name="healthz")

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route for this request and its path parameters; 404 unknown path, 405 known path, other method."""
        matches = [(route, m.groupdict()) for route in self._routes if (m := route.pattern.fullmatch(path))]
        if not matches:
            raise NotFound("no such resource")
        # A literal segment beats a parameter (`/v1/orders/stats` over `/v1/orders/{order_id}`).
        for route, params in sorted(matches, key=lambda match: match[0].param_count):
            if route.method == method:
                return route, params
        raise RouteMethodNotAllowed(tuple(sorted({route.method for route, _ in matches})))


def error_response(exc: AppError, *, wechat: bool = False) -> Response:
    """The one rendering of an AppError: our `{"error": {...}}`, or WeChat's `{"code": "FAIL", ...}`."""
    headers = _error_headers(exc)
    if wechat:
        return Response.json(exc.status, {"code": "FAIL", "message": exc.message}, headers)
    error: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.details is not None:
        error["details"] = exc.details
    try:
        return Response.json(exc.status, {"error": error}, headers)
    except (TypeError, ValueError):  # details that are not JSON must not turn a clear error into a crash
        error.pop("details")
        return Response.json(exc.status, {"error": error}, headers)


def _error_headers(exc: AppError) -> dict[str, str] | None:
    """The headers HTTP asks of some errors: Allow (405), WWW-Authenticate (401 of a Bearer API), Retry-After (429)."""
    if isinstance(exc, RouteMethodNotAllowed):
        return {"Allow": ", ".join(exc.allow)}
    if isinstance(exc, Unauthenticated):
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        return {"Retry-After": str(max(1, int(exc.retry_after)))}
    return None


# Internal records below are plain classes with __slots__, not dataclasses: each frozen dataclass costs a cold start
# about 1 ms to build on this kind of machine, and these need neither equality nor a repr.
class _Platform:
    """How one cloud's events are read and its answers written."""

    __slots__ = ("parse", "render")

    def __init__(self, parse: Callable[[Any, Any], Request], render: Callable[[Response], dict[str, Any]]) -> None:
        self.parse, self.render = parse, render


_FC3 = _Platform(fc3.parse, fc3.render)
_SCF = _Platform(scf.parse, scf.render)


def platform_of(event: object) -> str:
    """The platform ("fc3" or "scf") from the event's shape; anything unrecognisable is answered as FC3."""
    if isinstance(event, Mapping):
        request_context = event.get("requestContext")
        if "rawPath" in event or (isinstance(request_context, Mapping) and "http" in request_context):
            return fc3.PLATFORM
        if "httpMethod" in event:
            return scf.PLATFORM
    return fc3.PLATFORM


class _Result:
    """What one request came to: the answer, and what the access log line needs."""

    __slots__ = ("error_code", "request", "request_id", "response")

    def __init__(
        self, request_id: str, response: Response, request: Request | None = None, error_code: str | None = None
    ) -> None:
        self.request_id, self.response, self.request, self.error_code = request_id, response, request, error_code


def _log_unexpected(exc: BaseException) -> None:
    import traceback  # only on the error path: it pulls in linecache and tokenize

    log.error("unhandled_exception", error_type=type(exc).__name__, traceback="".join(traceback.format_exception(exc)))


def _dispatch(router: Router, request: Request) -> _Result:
    route: Route | None = None
    try:
        log.bind(route=UNMATCHED_ROUTE)  # until a route matches: the field is on every request line
        route, params = router.resolve(request.method, request.path)
        log.bind(route=route.template)
        if len(request.body) > route.max_body:
            raise PayloadTooLarge(f"request body is larger than {route.max_body} bytes")
        response = route.handler(request, params)
        if not isinstance(response, Response):
            raise TypeError(f"handler returned {type(response).__name__}, not a Response")
        return _Result(request.request_id, _finished(router, request, response), request)
    except AppError as exc:
        failure = exc
    except Exception as exc:
        _log_unexpected(exc)
        failure = AppError("internal error")
    wechat = route is not None and route.wechat_errors
    response = _finished(router, request, error_response(failure, wechat=wechat))
    return _Result(request.request_id, response, request, failure.code)


def _finished(router: Router, request: Request, response: Response) -> Response:
    try:
        return router.finish(request, response)
    except Exception as exc:  # a finisher must not turn an answer into an escaped exception
        _log_unexpected(exc)
        return error_response(AppError("internal error"))


def _run(event: Any, context: Any, router: Router, platform: _Platform) -> _Result:
    try:
        request = platform.parse(event, context)
    except Exception as exc:
        request_id = choose_request_id(getattr(context, "request_id", None))
        log.bind(request_id=request_id, route=UNMATCHED_ROUTE)
        if not isinstance(exc, AppError):
            _log_unexpected(exc)
        failure = exc if isinstance(exc, ValidationFailed) else ValidationFailed("the request could not be read")
        return _Result(request_id, error_response(failure), None, failure.code)
    log.bind(request_id=request.request_id)
    return _dispatch(router, request)


def secured(response: Response, request_id: str) -> Response:
    """The headers every answer leaves with. A response's own Cache-Control and Content-Security-Policy win;
    the others are set whatever the handler gave (same names replace, in any case: never a duplicate)."""
    own = {name.lower() for name in response.headers}
    headers = {"X-Request-Id": request_id, **SECURITY_HEADERS}
    if "cache-control" not in own:
        headers["Cache-Control"] = NO_STORE
    content_type = next((v for k, v in response.headers.items() if k.lower() == "content-type"), "")
    if "content-security-policy" not in own and content_type.split(";")[0].strip().lower() == "application/json":
        headers["Content-Security-Policy"] = JSON_CSP
    return response.with_headers(headers)


def _outcome(status: int) -> str:
    return "ok" if status < 400 else "client_error" if status < 500 else "server_error"


def serve(event: Any, context: Any, router: Router, *, function: str) -> dict[str, Any]:
    """Answer one HTTP event from FC 3.0 or SCF, in the same platform's shape. Never raises."""
    started = time.perf_counter()
    if getattr(context, "credentials", None) is not None:  # FC Python <= 3.10: the role's keys, for KMS secrets
        from shared.secrets.resolve import remember_context

        remember_context(context)
    platform = _SCF if platform_of(event) == scf.PLATFORM else _FC3
    with log.request_scope(function=function):
        token = _current_function.set(function)
        try:
            result = _run(event, context, router, platform)
        finally:
            _current_function.reset(token)
        response = secured(result.response, result.request_id)
        level = "error" if response.status >= 500 else "info"
        log.log(
            level,
            "request",
            method=result.request.method if result.request else None,
            status=response.status,
            outcome=_outcome(response.status),
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            error_code=result.error_code,
        )
        return platform.render(response)
