"""The notify endpoint's use case: verify -> decrypt -> apply through the payment or the refund path (reference §6,
§7, design §5).

Duplicates are normal and answered 204 without work; anything that did not complete raises, so that WeChat
retries: the notification is recorded as processed only after its effects are stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from shared import errors, log
from shared.domain.orders import PaymentReport
from shared.services.payments import PaymentService
from shared.services.refund_ledger import RefundLedger, report_from_notification
from shared.storage.port import Storage
from shared.wechatpay import errors as wx
from shared.wechatpay.models import Transaction
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
            log.warning("notify_rejected", reason=type(exc).__name__)
            raise NotificationRejected("signature verification failed") from exc
        except (wx.DecryptError, wx.MalformedPayload) as exc:
            log.warning("notify_rejected", reason=type(exc).__name__)
            raise NotificationUnreadable("notification could not be read") from exc
        if self._storage.notification_processed(notification.id):
            return "DUPLICATE"
        reference = f"notify:{notification.id}"
        if isinstance(notification, PaymentNotification):
            outcome = self._payments.apply(report_of(notification.transaction), reference=reference).value
            order_id = notification.transaction.out_trade_no
        else:
            outcome = self._refunds.apply(report_from_notification(notification.refund), reference=reference)
            order_id = notification.refund.out_trade_no
        self._storage.record_notification(notification.id, notification.event_type, order_id, self._clock())
        return outcome


def report_of(tx: Transaction) -> PaymentReport:
    return PaymentReport(
        out_trade_no=tx.out_trade_no,
        trade_state=tx.trade_state,
        mchid=tx.mchid,
        appid=tx.appid,
        amount_total=tx.amount_total,
        currency=tx.currency,
        transaction_id=tx.transaction_id,
        success_time=_epoch(tx.success_time),
        payer_openid=tx.payer_openid,
    )


def _epoch(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None
