"""What operators change: refunds, confirming a payment WeChat knows of, revoking and reinstating licences,
resetting a licence's devices. Each call goes through the Auditor (one audit entry, whatever the outcome) and
reuses the services the rest of the system uses: RefundService for refunds, the gateway's query and
PaymentService.apply for payments (the same path as notifications and the timer jobs, so it is idempotent).

Only the operations that need them import the payment side (notification parsing, the payment service, the
gateway's types and errors): the admin function's reads never load it, nor the `cryptography` it pulls in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from shared import errors, log
from shared.domain.licences import Licence, LicenceStatus, licence_id_for
from shared.domain.refunds import default_request_key, refund_view
from shared.services.admin.audit import Auditor, Caller
from shared.services.admin.views import licence_view, order_view
from shared.storage.port import Storage

if TYPE_CHECKING:
    from shared.services.payments import PaymentService
    from shared.services.refunds import RefundService
    from shared.wechatpay.gateway import PayGateway
    from shared.wechatpay.models import Transaction

MAX_REASON = 200
Body = Callable[[], Mapping[str, Any]]


class AdminOperations:
    def __init__(
        self,
        storage: Storage,
        auditor: Auditor,
        refunds: Callable[[], RefundService],
        payments: Callable[[], PaymentService],
        gateway: Callable[[], PayGateway],
        clock: Callable[[], int],
    ):
        self._storage, self._auditor, self._refunds, self._payments = storage, auditor, refunds, payments
        self._gateway, self._clock = gateway, clock

    # -- orders --------------------------------------------------------------------------------------------
    def refund(self, caller: Caller, order_id: str, body: Body) -> dict[str, Any]:
        def act() -> dict[str, Any]:
            amount, reason, key = _refund_fields(body())
            operator = f"{caller.name} [{caller.actor}]"
            return self._refunds().request(order_id, amount, reason, key, operator)

        return self._auditor.run(caller, "order.refund", f"order:{order_id}", lambda: self._order(order_id), act)

    def confirm_paid(self, caller: Caller, order_id: str, body: Body) -> dict[str, Any]:
        def act() -> dict[str, Any]:
            from shared.services.notifications import report_of

            _no_fields(body())
            if self._storage.get_order(order_id) is None:
                raise errors.NotFound("no such order", code="ORDER_NOT_FOUND")
            outcome = self._payments().apply(report_of(self._query(order_id)), reference=f"admin:{order_id}")
            current = self._storage.get_order(order_id)
            assert current is not None
            return {"order": order_view(current), "outcome": outcome.value}

        return self._auditor.run(caller, "order.confirm_paid", f"order:{order_id}", lambda: self._order(order_id), act)

    def _query(self, order_id: str) -> Transaction:
        from shared.wechatpay.constants import NOT_FOUND_CODES
        from shared.wechatpay.errors import GatewayError, GatewayUnknown

        try:
            return self._gateway().query_by_out_trade_no(order_id)
        except GatewayUnknown:
            raise errors.Unavailable("WeChat Pay did not answer: try again", code="WECHATPAY_UNAVAILABLE") from None
        except GatewayError as exc:
            if exc.code in NOT_FOUND_CODES:
                raise errors.Conflict(
                    "WeChat Pay has no such order: it was never paid", code="NOT_FOUND_AT_WECHATPAY"
                ) from None
            raise errors.UpstreamFailed(
                f"WeChat Pay refused the query: {exc.code}",
                code="WECHATPAY_ERROR",
                details={"wechatpay_code": exc.code},
            ) from None

    def _order(self, order_id: str) -> dict[str, Any] | None:
        order = self._storage.get_order(order_id)
        if order is None:
            return None
        licence = self._storage.get_licence(licence_id_for(order_id))
        return {
            "order": order_view(order),
            "refunds": [refund_view(r, order.status.value) for r in self._storage.refunds_for_order(order_id)],
            "licence_status": licence.status.value if licence else None,
        }

    # -- licences ------------------------------------------------------------------------------------------
    def revoke(self, caller: Caller, licence_id: str, body: Body) -> dict[str, Any]:
        def act() -> dict[str, Any]:
            reason = _reason(body())
            licence = self._licence(licence_id)
            now = self._clock()
            changes = {"status": LicenceStatus.REVOKED, "revoked_at": now, "revoke_reason": reason}
            if not self._storage.update_licence(licence_id, changes, expect_status=[LicenceStatus.ACTIVE]):
                raise errors.Conflict("this licence is already revoked", code="LICENSE_REVOKED")
            self._event(licence, "LICENCE_REVOKED", now, {"reason": reason, "by": caller.actor})
            # A fixed reason: the operator's own words are free text, no metric dimension.
            log.metric("licences_revoked", reason="operator")
            return self._licence_view(licence_id)

        return self._on_licence(caller, "licence.revoke", licence_id, act)

    def reinstate(self, caller: Caller, licence_id: str, body: Body) -> dict[str, Any]:
        def act() -> dict[str, Any]:
            reason = _reason(body())
            licence = self._licence(licence_id)
            changes = {"status": LicenceStatus.ACTIVE, "revoked_at": None, "revoke_reason": None}
            if not self._storage.update_licence(licence_id, changes, expect_status=[LicenceStatus.REVOKED]):
                raise errors.Conflict("this licence is active", code="LICENSE_ACTIVE")
            self._event(licence, "LICENCE_REINSTATED", self._clock(), {"reason": reason, "by": caller.actor})
            return self._licence_view(licence_id)

        return self._on_licence(caller, "licence.reinstate", licence_id, act)

    def reset_devices(self, caller: Caller, licence_id: str, body: Body) -> dict[str, Any]:
        def act() -> dict[str, Any]:
            _no_fields(body())
            licence = self._licence(licence_id)
            bound = self._storage.activations(licence_id)
            removed = sum(1 for a in bound if self._storage.deactivate(licence_id, a.install_hash))
            self._event(licence, "DEVICES_RESET", self._clock(), {"removed": removed, "by": caller.actor})
            return {"licence": self._licence_view(licence_id), "removed": removed}

        return self._on_licence(caller, "licence.reset_devices", licence_id, act)

    def _on_licence(
        self, caller: Caller, action: str, licence_id: str, act: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        def snapshot() -> dict[str, Any] | None:
            licence = self._storage.get_licence(licence_id)
            return None if licence is None else licence_view(licence, self._storage.activations(licence_id))

        return self._auditor.run(caller, action, f"licence:{licence_id}", snapshot, act)

    def _licence(self, licence_id: str) -> Licence:
        licence = self._storage.get_licence(licence_id)
        if licence is None:
            raise errors.NotFound("no such licence", code="LICENSE_NOT_FOUND")
        return licence

    def _licence_view(self, licence_id: str) -> dict[str, Any]:
        return licence_view(self._licence(licence_id), self._storage.activations(licence_id))

    def _event(self, licence: Licence, kind: str, at: int, details: dict[str, Any]) -> None:
        self._storage.append_order_event(licence.order_id, kind, at, {"licence_id": licence.licence_id, **details})
        log.info("licence_changed_by_operator", kind=kind, licence_id=licence.licence_id, order_id=licence.order_id)


def _refund_fields(body: Mapping[str, Any]) -> tuple[int | None, str, str]:
    _no_fields(body, allowed=("amount_fen", "reason", "request_key"))
    amount = body.get("amount_fen")
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount < 1):
        raise _invalid("amount_fen", "amount_fen must be a whole number of fen, at least 1", "INVALID_AMOUNT")
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise _invalid("reason", "reason is required (WeChat Pay shows it to the user)", "INVALID_REASON")
    key = body.get("request_key")
    if key is not None and not isinstance(key, str):
        raise _invalid("request_key", "request_key must be a string", "INVALID_REQUEST_KEY")
    return amount, reason, key or default_request_key(amount, reason)


def _reason(body: Mapping[str, Any]) -> str:
    _no_fields(body, allowed=("reason",))
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        raise _invalid("reason", f"a reason of 1-{MAX_REASON} characters is required (audit)", "INVALID_REASON")
    return reason.strip()


def _no_fields(body: Mapping[str, Any], allowed: tuple[str, ...] = ()) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise _invalid(unknown[0], f"unknown field {unknown[0]!r}", "UNKNOWN_FIELD")


def _invalid(field: str, message: str, code: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(message, code=code, details={"field": field})
