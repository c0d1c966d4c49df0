"""The public API's bodies (design.md §3) as the handlers really read and write them (functions/*/index.py and the
services' views). Answers are closed (`additionalProperties: false`) so that any drift between this description and
the code fails the contract test; requests are open where the handler ignores unknown fields."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel
from pydantic.json_schema import SkipJsonSchema

OrderStatus = Literal["PENDING", "PAID", "REFUNDING", "REFUNDED", "PARTIALLY_REFUNDED", "CLOSED"]
LicenceStatus = Literal["ACTIVE", "REVOKED"]
# shared.licensing.tokens.Reason, then the licence's own: why validate answers `valid: false`.
InvalidReason = Literal[
    "MALFORMED",
    "UNKNOWN_KEY",
    "BAD_SIGNATURE",
    "EXPIRED",
    "UNSUPPORTED_VERSION",
    "UNKNOWN_LICENSE",
    "REVOKED",
    "NOT_ACTIVATED",
]
UnixSeconds = Annotated[int, Field(description="Unix time, seconds")]
Fen = Annotated[int, Field(ge=0, description="money in fen (0.01 CNY)")]
InstallId = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9_-]{22,64}$",
        description="the extension's secret random install id (>= 128 bits); the server keeps only its hash",
        examples=["Zm9vYmFyYmF6cXV4cXV1eDEyMzQ"],
    ),
]
ErrorCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$", description="stable SNAKE_CASE code")]


class Closed(BaseModel):
    """An object with exactly these fields."""

    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """A request object: fields not listed here are ignored."""

    model_config = ConfigDict(extra="allow")


# -- errors ------------------------------------------------------------------------------------------------------
class ErrorBody(Closed):
    code: ErrorCode
    message: str
    details: Any = Field(default=None, description="present when there is more to say (a field, a limit...)")


class Error(Closed):
    """Every error of the API but the notification endpoint's (shared/http/app.py `error_response`)."""

    error: ErrorBody


class WeChatFailure(Closed):
    """The notification endpoint's failure answer, in WeChat Pay's shape: WeChat retries the notification."""

    code: Literal["FAIL"]
    message: str


# -- health and catalogue ----------------------------------------------------------------------------------------
class Health(BaseModel):
    """Liveness and storage reachability. A function names itself (`function`); the local gateway answers for
    itself (`service`)."""

    model_config = ConfigDict(extra="allow")
    status: Literal["ok"]


class HealthUnavailable(Closed):
    status: Literal["unavailable"]


class Product(Closed):
    id: str
    title: str
    price_fen: Annotated[int, Field(ge=1)]
    currency: str
    licence_days: Annotated[int, Field(ge=1)] | None = Field(description="null: perpetual")
    max_devices: Annotated[int, Field(ge=1, le=100)]


class Products(Closed):
    products: list[Product]


# -- orders ------------------------------------------------------------------------------------------------------
class CreateOrder(Open):
    product_id: str = Field(description="a product of GET /v1/products", examples=["pro-monthly"])
    install_id: InstallId


class CreatedOrder(Closed):
    order_id: str
    status: OrderStatus
    amount_fen: Fen
    currency: str
    description: str
    code_url: str | None = Field(description="the Native payment URL to show as a QR code")
    qr_svg: str = Field(description="code_url as an SVG QR code")
    expires_at: UnixSeconds
    poll_token: str = Field(description="shown once: send it as `Authorization: Bearer` to GET /v1/orders/{id}")


class OrderLicence(Closed):
    license_key: str
    license_id: str
    status: LicenceStatus
    token: str | None = Field(description="a fresh licence token; null when the licence is revoked or expired")
    token_expires_at: UnixSeconds | None
    expires_at: UnixSeconds | None = Field(description="the licence's end; null: perpetual")


class OrderView(Closed):
    order_id: str
    status: OrderStatus
    product_id: str
    amount_fen: Fen
    currency: str
    created_at: UnixSeconds
    expires_at: UnixSeconds
    paid_at: UnixSeconds | None
    license: OrderLicence | None = Field(description="once the order is paid and its licence issued")


class HistoryOrder(Closed):
    order_id: str
    product_id: str
    description: str
    amount_fen: Fen
    currency: str
    status: OrderStatus
    created_at: UnixSeconds
    paid_at: UnixSeconds | None
    license_key: str | None = Field(description="once paid")


class History(Closed):
    orders: list[HistoryOrder] = Field(max_length=50, description="newest first, at most 50")


# -- licences ----------------------------------------------------------------------------------------------------
class LicenceKeyRequest(Open):
    license_key: str = Field(min_length=1, description="25 Crockford base32 characters; case, spaces, hyphens forgiven")
    install_id: str = Field(min_length=1, description="22-64 characters of A-Z a-z 0-9 _ -")


class TokenRequest(Open):
    token: str = Field(description="a licence token to refresh")


class ValidateRequest(RootModel[TokenRequest | LicenceKeyRequest]):
    """A token to refresh; or, when `token` is not a string, a licence key and install id."""


class Activation(Closed):
    token: str
    expires_at: UnixSeconds = Field(description="the token's expiry")
    license_id: str
    product_id: str
    status: LicenceStatus
    entitlements: list[str]
    max_devices: int
    license_expires_at: UnixSeconds | None = Field(description="the licence's end; null: perpetual")


class Validation(Closed):
    valid: bool
    status: LicenceStatus | None = Field(description="null when the token names no licence")
    reason: InvalidReason | None = Field(description="why not valid; null when valid")
    # Absent, never null, when not valid (SkipJsonSchema keeps None out of the schema).
    token: str | SkipJsonSchema[None] = Field(default=None, description="when valid: a fresh token")
    expires_at: UnixSeconds | SkipJsonSchema[None] = Field(default=None, description="when valid: its expiry")


class Deactivation(Closed):
    deactivated: bool = Field(description="false when this install held no slot")


class PublicKey(Closed):
    kid: str
    public_key: str = Field(description="raw Ed25519 public key, base64url")


class PublicKeys(Closed):
    algorithm: Literal["Ed25519"]
    keys: list[PublicKey]


# -- WeChat Pay's notification (reference §6) ---------------------------------------------------------------------
class NotificationResource(Open):
    algorithm: str = Field(examples=["AEAD_AES_256_GCM"])
    ciphertext: str
    nonce: str
    associated_data: str | None = None
    original_type: str | None = None


class Notification(Open):
    """Signed by WeChat Pay over the exact body bytes (Wechatpay-* headers); the resource is AES-256-GCM sealed."""

    id: str
    create_time: str
    event_type: str = Field(examples=["TRANSACTION.SUCCESS", "REFUND.SUCCESS"])
    resource_type: str = Field(examples=["encrypt-resource"])
    resource: NotificationResource
    summary: str | None = None
