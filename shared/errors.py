"""One family of errors, each with an HTTP status and a code, rendered to clients in one place (shared.http)."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """An error a client may see: status, a stable SNAKE_CASE code, a human message, optional details."""

    status = 500
    code = "INTERNAL"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None):
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code


class ValidationFailed(AppError):
    """The request is malformed or a field is invalid."""

    status, code = 400, "VALIDATION_FAILED"


class Unauthorized(AppError):
    """Missing or wrong credentials (poll token, licence key, signature)."""

    status, code = 401, "UNAUTHORIZED"


class Unauthenticated(Unauthorized):
    """No usable credentials for a protected API (an admin key that is missing, malformed, unknown, wrong or
    revoked): answered with `WWW-Authenticate: Bearer`, and the message never says which."""

    code = "UNAUTHENTICATED"


class Forbidden(AppError):
    """Authenticated, but not allowed."""

    status, code = 403, "FORBIDDEN"


class NotFound(AppError):
    """No such resource (or not yours)."""

    status, code = 404, "NOT_FOUND"


class MethodNotAllowed(AppError):
    """The route exists, the method does not."""

    status, code = 405, "METHOD_NOT_ALLOWED"


class Conflict(AppError):
    """The resource's state forbids the operation."""

    status, code = 409, "CONFLICT"


class PayloadTooLarge(AppError):
    """The body is larger than the route accepts."""

    status, code = 413, "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(AppError):
    """The body is not JSON."""

    status, code = 415, "UNSUPPORTED_MEDIA_TYPE"


class RateLimited(AppError):
    """Too many requests: retry later (after `retry_after` seconds when known: the `Retry-After` header)."""

    status, code = 429, "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: int | None = None, code: str | None = None, details: Any = None):
        super().__init__(message, code=code, details=details)
        self.retry_after = retry_after


class UpstreamFailed(AppError):
    """WeChat Pay refused or failed: the operation did not happen."""

    status, code = 502, "UPSTREAM_FAILED"


class Unavailable(AppError):
    """A dependency (storage, WeChat Pay) is unavailable or its outcome unknown: retry with the same request."""

    status, code = 503, "UNAVAILABLE"


class ConfigError(Exception):
    """A required setting is missing or invalid: the function cannot start."""


class StorageError(Exception):
    """The storage backend failed (connection, timeout): the caller answers 5xx so the request is retried."""
