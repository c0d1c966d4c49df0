"""The admin API's bodies (docs/admin.md) as functions/admin/index.py and shared/services/admin write them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from shared.api.models import Closed, Fen, LicenceStatus, OrderStatus, UnixSeconds

Role = Literal["viewer", "operator"]
RefundStatus = Literal["REQUESTED", "PROCESSING", "SUCCESS", "ABNORMAL", "CLOSED", "FAILED"]
PaymentOutcome = Literal["PAID", "ALREADY_PAID", "CLOSED", "NOT_PAID", "UNKNOWN_ORDER", "MISMATCH"]
Day = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="a China Standard Time day")]
NonBlank = r"\S"


class Me(Closed):
    key_id: str
    name: str
    role: Role


class AdminOrder(Closed):
    """Every stored field of the order but the buyer's secrets (poll_token_hash, install_hash)."""

    order_id: str
    product_id: str
    amount_fen: Fen
    currency: str
    description: str
    mchid: str
    appid: str
    status: OrderStatus
    created_at: UnixSeconds
    expires_at: UnixSeconds
    code_url: str | None
    transaction_id: str | None
    paid_at: UnixSeconds | None
    payer_hash: str | None
    last_queried_at: UnixSeconds | None
    closed_at: UnixSeconds | None
    updated_at: UnixSeconds | None


class OrderPage(Closed):
    orders: list[AdminOrder]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class OrderEvent(Closed):
    kind: str
    at: UnixSeconds
    details: dict[str, Any]


class Refund(Closed):
    out_refund_no: str
    order_id: str
    amount_fen: Fen
    status: RefundStatus
    reason: str
    requested_by: str
    requested_at: UnixSeconds
    refund_id: str | None
    success_at: UnixSeconds | None
    order_status: OrderStatus | None


class LicenceDevice(Closed):
    install_hash: str
    activated_at: UnixSeconds


class Licence(Closed):
    licence_id: str
    order_id: str
    product_id: str
    status: LicenceStatus
    entitlements: list[str]
    max_devices: int
    issued_at: UnixSeconds
    expires_at: UnixSeconds | None
    revoked_at: UnixSeconds | None
    revoke_reason: str | None
    activations: list[LicenceDevice]


class OrderDetail(Closed):
    order: AdminOrder
    events: list[OrderEvent] = Field(description="the order's timeline, oldest first")
    refunds: list[Refund]
    licence: Licence | None


class RefundRequest(Closed):
    amount_fen: Annotated[int, Field(ge=1)] | None = Field(default=None, description="absent: all that is left")
    reason: str = Field(
        min_length=1, max_length=80, pattern=NonBlank, description="WeChat Pay shows it to the user; no emoji"
    )
    request_key: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
        description="repeating a key never refunds twice; absent: derived from amount and reason",
    )


class ConfirmedPayment(Closed):
    order: AdminOrder
    outcome: PaymentOutcome


class ReasonRequest(Closed):
    reason: str = Field(min_length=1, max_length=200, pattern=NonBlank, description="kept in the audit log")


class NoFields(Closed):
    """An empty object (or no body at all)."""


class DevicesReset(Closed):
    licence: Licence
    removed: int = Field(ge=0)


class DayFigures(Closed):
    date: Day
    orders_created: int
    orders_paid: int
    payments: int
    revenue_fen: Fen
    refunded_fen: Fen


class Totals(Closed):
    orders_created: int
    orders_paid: int
    payments: int
    revenue_fen: Fen
    refunded_fen: Fen
    conversion: float | None = Field(description="orders_paid / orders_created; null when none were created")


class Stats(Closed):
    from_: Day = Field(alias="from")
    to: Day
    days: list[DayFigures]
    totals: Totals
    pending: int = Field(description="orders PENDING now")


class ReportSummary(Closed):
    status: Any
    totals: Any
    missing_here: int
    missing_there: int
    amount_mismatch: int
    state_mismatch: int


class ReportItem(Closed):
    date: Day
    at: UnixSeconds
    summary: ReportSummary


class Reports(Closed):
    reports: list[ReportItem] = Field(description="reconciliation reports, newest first")


class Anomaly(Closed):
    kind: str
    order_id: str | None
    reference: str
    details: Any
    at: UnixSeconds


class Anomalies(Closed):
    anomalies: list[Anomaly]


class AuditEntry(Closed):
    audit_id: str
    at: UnixSeconds
    actor: str = Field(description="the key id, or cli:<user>")
    actor_name: str
    role: str
    action: str
    target: str
    outcome: str = Field(description='"ok", or the code of the error the call ended with')
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
    source_ip: str | None


class AuditPage(Closed):
    entries: list[AuditEntry]
    next_before: str | None = Field(description="pass as `before` for the next page")
