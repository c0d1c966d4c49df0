"""The notify endpoint's use case: verify -> decrypt -> apply through the payment or the refund path (reference §6,
§7, design §5).

Duplicates are normal and answered 204 without work; anything that did not complete raises, so that WeChat
retries: the notification is recorded as processed only after its effects are stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from shared import errors, log
from shared.domain.orders import PaymentReport
from shared.services.payments import PaymentService
from shared.services.refund_ledger import RefundLedger, report_from_notification
from shared.storage.port import Storage
from shared.wechatpay import errors as wx
from shared.wechatpay.models import Transaction, epoch
from shared.wechatpay.notification import PaymentNotification, parse_notification
from shared.wechatpay.verify import KeyRing


class NotificationRejected(errors.AppError):
    """Not a genuine, readable notification from WeChat: rejected so that WeChat retries a correct one."""

    status, code = 401, "FAIL"


class NotificationUnreadable(NotificationRejected):
    """Signed correctly but undecryptable or malformed (a wrong APIv3 key shows up here)."""

    status = 400


class NotificationService:
    def __init__(
        self,
        storage: Storage,
        payments: PaymentService,
        refunds: RefundLedger,
        keyring: KeyRing,
        apiv3_key: bytes,
        clock: Callable[[], int],
    ):
        self._storage, self._payments, self._refunds, self._keyring = storage, payments, refunds, keyring
        self._apiv3_key, self._clock = apiv3_key, clock

    def handle(self, headers: Mapping[str, str], body: bytes) -> str:
        """Returns the outcome; raises NotificationRejected (4xx) or lets storage errors through (5xx)."""
        try:
            notification = parse_notification(headers, body, self._keyring, self._apiv3_key, self._clock())
        except wx.SignatureError as exc:
            rejected(rejection_reason(exc), error=type(exc).__name__)
            raise NotificationRejected("signature verification failed") from exc
        except (wx.DecryptError, wx.MalformedPayload) as exc:
            rejected(rejection_reason(exc), error=type(exc).__name__)
            raise NotificationUnreadable("notification could not be read") from exc
        if self._storage.notification_processed(notification.id):
            return "DUPLICATE"
        reference = f"notify:{notification.id}"
        if isinstance(notification, PaymentNotification):
            outcome = self._payments.apply(report_of(notification.transaction), reference=reference).value
            order_id, kind = notification.transaction.out_trade_no, "payment"
        else:
            outcome = self._refunds.apply(report_from_notification(notification.refund), reference=reference)
            order_id, kind = notification.refund.out_trade_no, "refund"
        if outcome in _NOT_APPLIED:
            # Genuine and acknowledged (a retry would say the same), but not applied: an anomaly was recorded.
            rejected(_NOT_APPLIED[outcome], kind=kind)
        self._storage.record_notification(notification.id, notification.event_type, order_id, self._clock())
        return outcome


# What a genuine notification's content can come to without being applied (payments and refund_ledger outcomes).
_NOT_APPLIED = {"MISMATCH": "mismatch", "UNKNOWN_ORDER": "unknown_order", "UNKNOWN_STATUS": "unknown_status"}


def rejection_reason(exc: Exception) -> str:
    """The `reason` dimension of notify_rejected: a small fixed set, most specific first."""
    if isinstance(exc, wx.SignTestProbe):
        return "signtest_probe"
    if isinstance(exc, wx.StaleTimestamp):
        return "stale_timestamp"
    if isinstance(exc, wx.UnknownSerial):
        return "unknown_serial"
    if isinstance(exc, wx.SignatureError):
        return "bad_signature"  # missing or malformed Wechatpay-* headers, or a signature that does not verify
    if isinstance(exc, wx.DecryptError):
        return "decrypt_failed"
    return "malformed"


def rejected(reason: str, kind: str | None = None, **details: str) -> None:
    """A notification not applied: one warning line and one notify_rejected metric line (`kind`, payment or
    refund, once the notification could be read)."""
    log.warning("notify_rejected", reason=reason, kind=kind, **details)
    log.metric("notify_rejected", reason=reason, kind=kind)


def report_of(tx: Transaction) -> PaymentReport:
    return PaymentReport(
        out_trade_no=tx.out_trade_no,
        trade_state=tx.trade_state,
        mchid=tx.mchid,
        appid=tx.appid,
        amount_total=tx.amount_total,
        currency=tx.currency,
        transaction_id=tx.transaction_id,
        success_time=epoch(tx.success_time),
        payer_openid=tx.payer_openid,
    )
