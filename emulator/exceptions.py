"""WeChat Pay's error answers, with the status codes and codes the real API uses (reference §1, §3–§9)."""

from __future__ import annotations

from typing import Any


class WeChatError(Exception):
    """An error answer: HTTP status, WeChat's code, its message and an optional `detail` object."""

    status = 400
    code = "INVALID_REQUEST"
    platform_code = 268435456  # the numeric suffix WeChat appends to Request-ID (reference §9)

    def __init__(self, message: str, detail: dict[str, Any] | None = None, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.detail = detail
        if code is not None:
            self.code = code

    def with_status(self, status: int) -> WeChatError:
        self.status = status
        return self

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            body["detail"] = self.detail
        return body


class SignError(WeChatError):
    """The Authorization header is missing, malformed, stale or does not verify."""

    status = 401
    code = "SIGN_ERROR"


class InvalidRequest(WeChatError):
    """The request is well formed but not acceptable (headers, re-entry mismatch, paid order...)."""

    status = 400
    code = "INVALID_REQUEST"


class ParamError(WeChatError):
    """A field is missing or has an invalid value."""

    status = 400
    code = "PARAM_ERROR"

    @classmethod
    def field(cls, pointer: str, issue: str, value: Any = None) -> ParamError:
        detail: dict[str, Any] = {"field": pointer, "issue": issue, "location": "body"}
        if value is not None:
            detail["value"] = value
        return cls(f"输入源“/body{pointer}”映射到值字段“{pointer.rsplit('/', 1)[-1]}”{issue}", detail)


class MchNotExists(WeChatError):
    """The merchant id is not known."""

    status = 400
    code = "MCH_NOT_EXISTS"


class AppidMchidNotMatch(WeChatError):
    """The appid is not bound to the merchant."""

    status = 400
    code = "APPID_MCHID_NOT_MATCH"


class OrderClosed(WeChatError):
    """The order is closed (by the merchant or by expiry)."""

    status = 400
    code = "ORDER_CLOSED"
    platform_code = 268498690


class OrderPaid(WeChatError):
    """The order is already paid: it cannot be closed (use a refund)."""

    status = 400
    code = "ORDER_PAID"
    platform_code = 268449538


class AlreadyPaid(WeChatError):
    """A re-entrant order call for an order that is already paid (reference §3: "订单已支付")."""

    status = 400
    code = "INVALID_REQUEST"
    platform_code = 268449538


class OrderNotExist(WeChatError):
    """No such order."""

    status = 404
    code = "ORDER_NOT_EXIST"
    platform_code = 268512771


class ResourceNotExists(WeChatError):
    """No such resource (refund, platform certificates, order to refund)."""

    status = 404
    code = "RESOURCE_NOT_EXISTS"


class NotEnough(WeChatError):
    """The refund exceeds what can still be refunded."""

    status = 403
    code = "NOT_ENOUGH"


class FrequencyLimited(WeChatError):
    """Too many requests."""

    status = 429
    code = "FREQUENCY_LIMITED"
    platform_code = 268447840


class SystemError_(WeChatError):
    """WeChat's side failed: retry with the same parameters."""

    status = 500
    code = "SYSTEM_ERROR"


class NoStatementExist(WeChatError):
    """No bill for that day."""

    status = 400
    code = "NO_STATEMENT_EXIST"


class StatementCreating(WeChatError):
    """The bill for that day is not generated yet."""

    status = 400
    code = "STATEMENT_CREATING"


class NotFound(WeChatError):
    """No such endpoint."""

    status = 404
    code = "NOT_FOUND"
