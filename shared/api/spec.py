"""The OpenAPI 3.1 document of the public API (design.md §3) and the admin API (docs/admin.md), built from the models
in shared/api. Every status listed is one the handlers really answer (functions/*/index.py, shared/services,
shared/http/app.py); `python -m scripts.openapi` writes it to shared/api/openapi.json."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, get_args

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from shared.api import admin_models as a
from shared.api import models as m

OPENAPI_VERSION = "3.1.0"
SCHEMAS = "#/components/schemas/"
JSON = "application/json"
Obj = dict[str, Any]

REQUESTS: tuple[type[BaseModel], ...] = (
    m.CreateOrder,
    m.LicenceKeyRequest,
    m.TokenRequest,
    m.ValidateRequest,
    m.Notification,
    a.RefundRequest,
    a.ReasonRequest,
    a.NoFields,
)
ANSWERS: tuple[type[BaseModel], ...] = (
    m.Error,
    m.WeChatFailure,
    m.Health,
    m.HealthUnavailable,
    m.Products,
    m.CreatedOrder,
    m.OrderView,
    m.History,
    m.Activation,
    m.Validation,
    m.Deactivation,
    m.PublicKeys,
    a.Me,
    a.OrderPage,
    a.OrderDetail,
    a.Refund,
    a.ConfirmedPayment,
    a.Licence,
    a.DevicesReset,
    a.Stats,
    a.Reports,
    a.Anomalies,
    a.AuditPage,
)


# -- building blocks ---------------------------------------------------------------------------------------------
def ref(name: str) -> Obj:
    return {"$ref": SCHEMAS + name}


def header(description: str, schema: Obj | None = None) -> Obj:
    return {"description": description, "required": True, "schema": schema or {"type": "string"}}


HEADERS: Obj = {
    "RequestId": header("this request's id, also in the function's log lines"),
    "WwwAuthenticate": header("the scheme to use", {"type": "string", "const": "Bearer"}),
    "RetryAfter": header("seconds to wait", {"type": "string", "pattern": "^[0-9]+$"}),
}
REQUEST_ID = {"X-Request-Id": {"$ref": "#/components/headers/RequestId"}}


def answer(description: str, schema: str | None = None, headers: Mapping[str, Obj] | None = None) -> Obj:
    """A response of a function: always with X-Request-Id; a JSON body of `schema` unless None."""
    response: Obj = {"description": description, "headers": {**REQUEST_ID, **(headers or {})}}
    if schema is not None:
        response["content"] = {JSON: {"schema": ref(schema)}}
    return response


def error(description: str, headers: Mapping[str, Obj] | None = None) -> Obj:
    return answer(description, "Error", headers)


def wechat_failure(description: str) -> Obj:
    return answer(description, "WeChatFailure")


def body(schema: str, *, required: bool = True) -> Obj:
    return {"required": required, "content": {JSON: {"schema": ref(schema)}}}


def operation(
    operation_id: str,
    summary: str,
    tag: str,
    responses: Mapping[str, Obj],
    *,
    parameters: Iterable[Obj] = (),
    request_body: Obj | None = None,
    security: list[Obj] | None = None,
    description: str | None = None,
) -> Obj:
    op: Obj = {"operationId": operation_id, "summary": summary, "tags": [tag], "responses": dict(responses)}
    if description:
        op["description"] = description
    if parameters:
        op["parameters"] = list(parameters)
    if request_body is not None:
        op["requestBody"] = request_body
    op["security"] = security if security is not None else []
    return op


def param(name: str, where: str, schema: Obj, description: str, *, required: bool = False) -> Obj:
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "schema": schema,
        "description": description,
    }


# Answers many operations give, described once.
RESPONSES: Obj = {
    "InternalError": error("INTERNAL: an unexpected failure (storage unavailable, for one), details in the log only"),
    "PayloadTooLarge": error("PAYLOAD_TOO_LARGE: the body is larger than the route accepts"),
    "UnsupportedMediaType": error("UNSUPPORTED_MEDIA_TYPE: Content-Type must be application/json (UTF-8)"),
    "Unauthenticated": error(
        "UNAUTHENTICATED: no admin key, or not a valid one (never says which)",
        {"WWW-Authenticate": {"$ref": "#/components/headers/WwwAuthenticate"}},
    ),
    "RateLimited": error(
        "RATE_LIMITED: this address failed authentication too often; every request waits out the window",
        {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}},
    ),
    "Forbidden": error("FORBIDDEN: a viewer key; an operator key is needed"),
    "TooManyRequests": error(
        "RATE_LIMITED: too many requests from this address or install (settings RATE_LIMIT_*); retry after the "
        "Retry-After seconds",
        {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}},
    ),
}
INTERNAL = {"$ref": "#/components/responses/InternalError"}
TOO_LARGE = {"$ref": "#/components/responses/PayloadTooLarge"}
NOT_JSON = {"$ref": "#/components/responses/UnsupportedMediaType"}
TOO_MANY = {"$ref": "#/components/responses/TooManyRequests"}


# -- the public API ----------------------------------------------------------------------------------------------
INSTALL_ID = {"type": "string", "pattern": r"^[A-Za-z0-9_-]{22,64}$"}
POLL_TOKEN: list[Obj] = [{"pollToken": []}]


def public_paths() -> Obj:
    return {
        "/healthz": {
            "get": operation(
                "health",
                "Liveness and storage reachability",
                "health",
                {
                    "200": {"description": "ready", "content": {JSON: {"schema": ref("Health")}}},
                    "503": {
                        "description": "storage unreachable",
                        "content": {JSON: {"schema": ref("HealthUnavailable")}},
                    },
                },
                description="Every function answers it; the local gateway answers it for itself.",
            )
        },
        "/v1/openapi.json": {
            "get": operation(
                "openapi",
                "This description (OpenAPI 3.1)",
                "meta",
                {
                    "200": {
                        "description": "the document",
                        "headers": REQUEST_ID,
                        "content": {JSON: {"schema": {"type": "object"}}},
                    },
                    "500": INTERNAL,
                },
            )
        },
        "/v1/products": {
            "get": operation(
                "listProducts",
                "The catalogue",
                "orders",
                {"200": answer("every product for sale", "Products"), "500": INTERNAL},
            )
        },
        "/v1/orders": {
            "post": operation(
                "createOrder",
                "Create an order and its WeChat Pay Native QR code",
                "orders",
                {
                    "201": answer("created", "CreatedOrder"),
                    "200": answer("an Idempotency-Key repeated: the first answer, with a fresh code", "CreatedOrder"),
                    "400": error(
                        "VALIDATION_FAILED (body not a JSON object), UNKNOWN_PRODUCT, INVALID_INSTALL_ID, "
                        "INVALID_IDEMPOTENCY_KEY"
                    ),
                    "409": error("IDEMPOTENCY_KEY_REUSED: the key was used by this install for another product"),
                    "413": TOO_LARGE,
                    "429": TOO_MANY,
                    "415": NOT_JSON,
                    "500": INTERNAL,
                    "502": error("WECHATPAY_REFUSED: WeChat Pay refused the order; try again"),
                    "503": error(
                        "WECHATPAY_UNAVAILABLE: WeChat Pay did not answer; retry with the same Idempotency-Key"
                    ),
                },
                parameters=[
                    param(
                        "Idempotency-Key",
                        "header",
                        {"type": "string", "pattern": r"^[A-Za-z0-9_-]{8,64}$"},
                        "retries with the same key (from the same install) converge on one order",
                    )
                ],
                request_body=body("CreateOrder"),
            )
        },
        "/v1/orders/{order_id}": {
            "get": operation(
                "getOrder",
                "An order's status, with its licence once paid",
                "orders",
                {
                    "200": answer("the order", "OrderView"),
                    "404": error(
                        "ORDER_NOT_FOUND: no such order, or no poll token, or not this order's (one answer for all "
                        "three, so that it tells no one which orders exist)"
                    ),
                    "500": INTERNAL,
                },
                parameters=[param("order_id", "path", {"type": "string", "minLength": 1}, "the order's id")],
                security=POLL_TOKEN,
                description="A PENDING order that is overdue is first queried at WeChat Pay.",
            )
        },
        "/v1/history": {
            "get": operation(
                "history",
                "The install's own orders",
                "orders",
                {
                    "200": answer("newest first", "History"),
                    "401": error("INVALID_INSTALL_ID: no X-Install-Id header, or not an install id"),
                    "500": INTERNAL,
                },
                parameters=[
                    param(
                        "X-Install-Id",
                        "header",
                        INSTALL_ID,
                        "the extension's secret install id (never in a URL)",
                        required=True,
                    )
                ],
            )
        },
        "/v1/notify/wechatpay": {"post": notify_operation()},
        **licence_paths(),
    }


def notify_operation() -> Obj:
    signed = [
        param(name, "header", {"type": "string"}, description, required=True)
        for name, description in (
            ("Wechatpay-Serial", "PUB_KEY_ID_... or the platform certificate's serial"),
            ("Wechatpay-Signature", "base64 SHA256-RSA signature of timestamp, nonce and the raw body"),
            ("Wechatpay-Timestamp", "Unix seconds; refused outside 5 minutes"),
            ("Wechatpay-Nonce", "random string"),
        )
    ]
    return operation(
        "wechatpayNotify",
        "WeChat Pay's payment and refund notifications",
        "notifications",
        {
            "204": answer("applied, or a duplicate of one applied"),
            "400": wechat_failure(
                "a duplicated Wechatpay-* header, or a notification that cannot be decrypted or read"
            ),
            "401": wechat_failure(
                "signature verification failed (missing headers, stale timestamp, unknown serial, "
                "SIGNTEST probe, wrong signature)"
            ),
            "413": wechat_failure("the body is larger than 64 KiB"),
            "500": wechat_failure("not applied (storage failed): WeChat retries"),
        },
        parameters=signed,
        request_body=body("Notification"),
        description="Verified over the raw body bytes; failures answer in WeChat Pay's `{code, message}` shape.",
    )


def licence_paths() -> Obj:
    key_errors = "MISSING_FIELD, INVALID_LICENSE_KEY, INVALID_INSTALL_ID, VALIDATION_FAILED (body not a JSON object)"
    return {
        "/v1/licenses/activate": {
            "post": operation(
                "activateLicence",
                "Bind the licence to this install and get a signed licence token",
                "licences",
                {
                    "200": answer("activated (or already active on this install)", "Activation"),
                    "400": error(key_errors),
                    "404": error("LICENSE_NOT_FOUND"),
                    "409": error("DEVICE_LIMIT_REACHED, LICENSE_REVOKED, LICENSE_EXPIRED"),
                    "413": TOO_LARGE,
                    "429": TOO_MANY,
                    "415": NOT_JSON,
                    "500": INTERNAL,
                },
                request_body=body("LicenceKeyRequest"),
            )
        },
        "/v1/licenses/validate": {
            "post": operation(
                "validateLicence",
                "Check a token or a key, and refresh the token",
                "licences",
                {
                    "200": answer("valid (with a fresh token) or not (with the reason)", "Validation"),
                    "400": error(key_errors),
                    "404": error("LICENSE_NOT_FOUND (a key no licence has)"),
                    "413": TOO_LARGE,
                    "429": TOO_MANY,
                    "415": NOT_JSON,
                    "500": INTERNAL,
                },
                request_body=body("ValidateRequest"),
            )
        },
        "/v1/licenses/deactivate": {
            "post": operation(
                "deactivateLicence",
                "Free this install's device slot",
                "licences",
                {
                    "200": answer("done", "Deactivation"),
                    "400": error(key_errors),
                    "404": error("LICENSE_NOT_FOUND"),
                    "413": TOO_LARGE,
                    "429": TOO_MANY,
                    "415": NOT_JSON,
                    "500": INTERNAL,
                },
                request_body=body("LicenceKeyRequest"),
            )
        },
        "/v1/licenses/keys": {
            "get": operation(
                "licenceKeys",
                "The Ed25519 public keys that verify licence tokens, by key id",
                "licences",
                {"200": answer("every key that may have signed a live token", "PublicKeys"), "500": INTERNAL},
            )
        },
    }


# -- the admin API -----------------------------------------------------------------------------------------------
ADMIN: list[Obj] = [{"adminKey": []}]
DAY = {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
LIMIT = {"type": "integer", "minimum": 1, "maximum": 200}


def admin_errors(*, mutating: bool) -> Obj:
    responses = {
        "401": {"$ref": "#/components/responses/Unauthenticated"},
        "429": {"$ref": "#/components/responses/RateLimited"},
        "500": INTERNAL,
    }
    if mutating:
        responses.update({"403": {"$ref": "#/components/responses/Forbidden"}, "413": TOO_LARGE, "415": NOT_JSON})
    return responses


def admin_read(
    operation_id: str, summary: str, schema: str, parameters: Iterable[Obj] = (), not_found: str | None = None
) -> Obj:
    responses = {
        "200": answer("found", schema),
        "400": error("a query parameter is invalid or unknown (UNKNOWN_PARAMETER, INVALID_*, RANGE_TOO_LONG)"),
        **admin_errors(mutating=False),
    }
    if not_found:
        responses["404"] = error(not_found)
    return operation(operation_id, summary, "admin", responses, parameters=parameters, security=ADMIN)


def admin_change(
    operation_id: str,
    summary: str,
    schema: str,
    request: str,
    outcomes: Mapping[str, Obj],
    *,
    body_required: bool = True,
    path_param: str,
) -> Obj:
    responses = {"200": answer("done (and audited)", schema), **admin_errors(mutating=True), **outcomes}
    return operation(
        operation_id,
        summary,
        "admin",
        responses,
        parameters=[param(path_param, "path", {"type": "string", "minLength": 1}, "")],
        request_body=body(request, required=body_required),
        security=ADMIN,
        description="Audited whatever its outcome.",
    )


def query(name: str, schema: Obj, description: str) -> Obj:
    return param(name, "query", schema, description)


def admin_paths() -> Obj:
    invalid_body = "UNKNOWN_FIELD, INVALID_REASON, VALIDATION_FAILED (body not a JSON object)"
    order_id = param("order_id", "path", {"type": "string", "minLength": 1}, "")
    return {
        "/v1/admin/me": {"get": admin_read("adminMe", "The calling key", "Me")},
        "/v1/admin/orders": {
            "get": admin_read(
                "adminOrders",
                "Search orders, newest first",
                "OrderPage",
                [
                    query("status", {"type": "string", "enum": list(get_args(m.OrderStatus))}, ""),
                    query("from", DAY, "first day (China time), inclusive"),
                    query("to", DAY, "last day (China time), inclusive"),
                    query("order_id", {"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,64}$"}, ""),
                    query("transaction_id", {"type": "string", "pattern": r"^[0-9A-Za-z]{1,64}$"}, ""),
                    query("product_id", {"type": "string", "pattern": r"^[A-Za-z0-9_.-]{1,64}$"}, ""),
                    query("cursor", {"type": "string", "maxLength": 1024}, "a previous page's next_cursor"),
                    query("limit", LIMIT, "default 50"),
                ],
            )
        },
        "/v1/admin/orders/{order_id}": {
            "get": {
                **admin_read(
                    "adminOrder",
                    "An order, its timeline, refunds and licence",
                    "OrderDetail",
                    not_found="ORDER_NOT_FOUND",
                ),
                "parameters": [order_id],
            }
        },
        "/v1/admin/orders/{order_id}/refund": {
            "post": admin_change(
                "adminRefund",
                "Refund all or part of a paid order",
                "Refund",
                "RefundRequest",
                {
                    "400": error(f"{invalid_body}, INVALID_AMOUNT, INVALID_REQUEST_KEY, or an amount out of bounds"),
                    "404": error("ORDER_NOT_FOUND"),
                    "409": error("the order cannot be refunded now, or REQUEST_KEY_REUSED with another amount"),
                    "502": error("REFUND_REFUSED: WeChat Pay refused the refund"),
                },
                path_param="order_id",
            )
        },
        "/v1/admin/orders/{order_id}/confirm-paid": {
            "post": admin_change(
                "adminConfirmPaid",
                "Ask WeChat Pay about the order and apply what it reports",
                "ConfirmedPayment",
                "NoFields",
                {
                    "400": error("UNKNOWN_FIELD, VALIDATION_FAILED (body not a JSON object)"),
                    "404": error("ORDER_NOT_FOUND"),
                    "409": error("NOT_FOUND_AT_WECHATPAY: WeChat Pay has no such order"),
                    "502": error("WECHATPAY_ERROR: WeChat Pay refused the query"),
                    "503": error("WECHATPAY_UNAVAILABLE: WeChat Pay did not answer; try again"),
                },
                body_required=False,
                path_param="order_id",
            )
        },
        "/v1/admin/licences/{licence_id}/revoke": {
            "post": admin_change(
                "adminRevoke",
                "Revoke a licence",
                "Licence",
                "ReasonRequest",
                {
                    "400": error(invalid_body),
                    "404": error("LICENSE_NOT_FOUND"),
                    "409": error("LICENSE_REVOKED: already revoked"),
                },
                path_param="licence_id",
            )
        },
        "/v1/admin/licences/{licence_id}/reinstate": {
            "post": admin_change(
                "adminReinstate",
                "Reinstate a revoked licence",
                "Licence",
                "ReasonRequest",
                {
                    "400": error(invalid_body),
                    "404": error("LICENSE_NOT_FOUND"),
                    "409": error("LICENSE_ACTIVE: not revoked"),
                },
                path_param="licence_id",
            )
        },
        "/v1/admin/licences/{licence_id}/reset-devices": {
            "post": admin_change(
                "adminResetDevices",
                "Free every device slot of a licence",
                "DevicesReset",
                "NoFields",
                {
                    "400": error("UNKNOWN_FIELD, VALIDATION_FAILED (body not a JSON object)"),
                    "404": error("LICENSE_NOT_FOUND"),
                },
                body_required=False,
                path_param="licence_id",
            )
        },
        "/v1/admin/stats": {
            "get": admin_read(
                "adminStats",
                "Figures per China day (default the last 30 days, at most 366)",
                "Stats",
                [query("from", DAY, "first day, inclusive"), query("to", DAY, "last day, inclusive")],
            )
        },
        "/v1/admin/reports": {
            "get": admin_read(
                "adminReports",
                "Reconciliation reports, newest first",
                "Reports",
                [query("limit", LIMIT, "default 30")],
            )
        },
        "/v1/admin/reports/{date}": {
            "get": {
                **admin_read(
                    "adminReport",
                    "The whole reconciliation report of a bill day",
                    "Report",
                    not_found="REPORT_NOT_FOUND",
                ),
                "parameters": [param("date", "path", DAY, "the bill day")],
            }
        },
        "/v1/admin/anomalies": {
            "get": admin_read(
                "adminAnomalies",
                "What operators must look at, newest first",
                "Anomalies",
                [query("limit", LIMIT, "default 50")],
            )
        },
        "/v1/admin/audit": {
            "get": admin_read(
                "adminAudit",
                "The audit log, newest first",
                "AuditPage",
                [
                    query(
                        "before",
                        {"type": "string", "pattern": r"^[0-9]{10}-[0-9a-f]{1,32}$"},
                        "a previous page's next_before",
                    ),
                    query(
                        "target", {"type": "string", "pattern": r"^[a-z_]+:[A-Za-z0-9_.:-]{1,128}$"}, "e.g. order:<id>"
                    ),
                    query("limit", LIMIT, "default 50"),
                ],
            )
        },
    }


# -- the document ------------------------------------------------------------------------------------------------
def component_schemas() -> Obj:
    pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = [(model, "validation") for model in REQUESTS]
    pairs += [(model, "serialization") for model in ANSWERS]
    _, top = models_json_schema(pairs, ref_template=SCHEMAS + "{model}")
    schemas: Obj = {name: _tidy(schema) for name, schema in top["$defs"].items()}
    schemas["Report"] = {
        "type": "object",
        "description": "a reconciliation report as the bill job stored it (status, totals, differences by kind)",
    }
    return schemas


def _tidy(schema: Obj) -> Obj:
    """Property titles repeat the names; `default: null` would read as "null is sent" where a field is absent."""
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for prop in properties.values():
            prop.pop("title", None)
            if prop.get("default", 0) is None:
                prop.pop("default")
    return schema


def document() -> Obj:
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "WeChat Pay licences for browser extensions",
            "version": "1",
            "description": (
                "The public v1 API (orders, licences, WeChat Pay notifications) and the operators' admin API. "
                'JSON in and out, UTF-8. Errors: `{"error": {"code", "message", "details"?}}`; '
                'the notification endpoint answers failures in WeChat Pay\'s `{"code": "FAIL", "message"}`. '
                "Every answer of a function carries X-Request-Id, Cache-Control: no-store (this document: public, "
                "max-age=300), Strict-Transport-Security, X-Content-Type-Options: nosniff, Referrer-Policy: "
                "no-referrer and X-Frame-Options: DENY; JSON answers also Content-Security-Policy: default-src "
                "'none'; frame-ancestors 'none'. HTTPS only."
            ),
        },
        "tags": [
            {"name": name, "description": text}
            for name, text in (
                ("orders", "catalogue, orders, the install's history"),
                ("licences", "activation, validation (refresh), deactivation, public keys"),
                ("notifications", "WeChat Pay's signed, encrypted notifications"),
                ("admin", "operators (docs/admin.md): an admin key as Bearer; viewer reads, operator changes"),
                ("health", "liveness"),
                ("meta", "this description"),
            )
        ],
        "paths": {**public_paths(), **admin_paths()},
        "components": {
            "schemas": component_schemas(),
            "responses": RESPONSES,
            "headers": HEADERS,
            "securitySchemes": {
                "pollToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the poll_token POST /v1/orders answered, for that order only",
                },
                "adminKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "wxak_<key_id>_<secret>",
                    "description": "an admin API key, made with `python -m scripts.admin keys create`",
                },
            },
        },
    }
