"""The composition root: builds each service once per cold start, lazily, from frozen settings.

A function touches only the parts it uses, so the notify function never imports the outbound SDK (requests,
wechatpayv3) and no function imports a storage driver it is not configured for (design §9).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING

from shared.config import (
    AdminSettings,
    AppSettings,
    BackupSettings,
    LicensingSettings,
    LifecycleSettings,
    WeChatPaySettings,
)
from shared.domain.catalogue import Catalogue

if TYPE_CHECKING:
    from shared.licensing.keys import SigningKeys
    from shared.services.admin import Admin
    from shared.services.history import HistoryService
    from shared.services.jobs.bill import ReconcileBill
    from shared.services.jobs.orders import CloseExpired, ReconcilePending
    from shared.services.jobs.refunds import ReconcileRefunds
    from shared.services.jobs.retention import Retention
    from shared.services.licences import LicenceService
    from shared.services.notifications import NotificationService
    from shared.services.payments import PaymentService
    from shared.services.purchase import PurchaseService
    from shared.services.ratelimit import RateLimits
    from shared.services.refund_ledger import RefundLedger
    from shared.services.refunds import RefundService
    from shared.services.security import SecurityEvents
    from shared.services.status import StatusService
    from shared.storage.port import Storage
    from shared.wechatpay.gateway import PayGateway


def now() -> int:
    return int(time.time())


class Container:
    def __init__(self, env: Mapping[str, str] | None = None):
        self._env = dict(os.environ if env is None else env)

    # -- settings ----------------------------------------------------------------------------------------
    @cached_property
    def app(self) -> AppSettings:
        return AppSettings.from_env(self._env)

    @cached_property
    def lifecycle(self) -> LifecycleSettings:
        return LifecycleSettings.from_env(self._env)

    @cached_property
    def admin_settings(self) -> AdminSettings:
        return AdminSettings.from_env(self._env)

    @cached_property
    def backup_settings(self) -> BackupSettings:
        """Read on the backup job's first run only: a deployment without backups configured fails that job alone."""
        return BackupSettings.from_env(self._env)

    @cached_property
    def wechatpay_inbound(self) -> WeChatPaySettings:
        return WeChatPaySettings.from_env(self._env, outbound=False)

    @cached_property
    def wechatpay_outbound(self) -> WeChatPaySettings:
        return WeChatPaySettings.from_env(self._env, outbound=True)

    # -- adapters ----------------------------------------------------------------------------------------
    @cached_property
    def storage(self) -> Storage:
        from shared.storage.factory import open_storage

        storage = open_storage(self.app.storage_url)
        if self._env.get("TEST_STORAGE_FAULTS"):  # the chaos run's fault injector only: shared/storage/faulty.py
            from shared.storage.faulty import with_faults

            storage = with_faults(storage, self._env)
        return storage

    @cached_property
    def catalogue(self) -> Catalogue:
        return Catalogue.from_json(self.app.products_file.read_text(encoding="utf-8"))

    @cached_property
    def signing_keys(self) -> SigningKeys:
        from shared.licensing.keys import SigningKeys

        return SigningKeys.parse(LicensingSettings.from_env(self._env).signing_keys)

    def gateway(self) -> PayGateway:
        """Built on first use: an order-status poll that needs no query never pays for the SDK's import."""
        return self._gateway

    @cached_property
    def _gateway(self) -> PayGateway:
        from shared.wechatpay.sdk_gateway import GatewayConfig, SdkPayGateway

        s = self.wechatpay_outbound
        assert s.merchant_private_key is not None and s.merchant_serial_no is not None
        return SdkPayGateway(
            GatewayConfig(
                mchid=s.mchid,
                appid=s.appid,
                private_key_pem=s.merchant_private_key,
                merchant_serial_no=s.merchant_serial_no,
                apiv3_key=s.apiv3_key,
                notify_url=s.notify_url,
                base_url=s.base_url,
                public_key_pem=s.public_key_pem,
                public_key_id=s.public_key_id,
            )
        )

    # -- services ----------------------------------------------------------------------------------------
    @cached_property
    def licences(self) -> LicenceService:
        from shared.domain.licences import PartialRefundPolicy
        from shared.licensing.derive import derive
        from shared.services.licences import LicenceService

        return LicenceService(
            self.storage,
            self.catalogue,
            lambda: self.signing_keys,
            derive(self.app.server_secret, "licence-key"),
            now,
            PartialRefundPolicy(self.lifecycle.partial_refund_policy),
        )

    @cached_property
    def payments(self) -> PaymentService:
        from shared.services.payments import PaymentService

        return PaymentService(self.storage, self.licences, now)

    @cached_property
    def notifications(self) -> NotificationService:
        from shared.services.notifications import NotificationService
        from shared.wechatpay.verify import KeyRing

        s = self.wechatpay_inbound
        keyring = KeyRing.from_pem(
            public_key_pem=s.public_key_pem, public_key_id=s.public_key_id, certificate_pems=s.platform_certificates
        )
        return NotificationService(self.storage, self.payments, self.refund_ledger, keyring, s.apiv3_key.encode(), now)

    @cached_property
    def refund_ledger(self) -> RefundLedger:
        from shared.services.refund_ledger import RefundLedger

        return RefundLedger(self.storage, self.licences, now)

    @cached_property
    def refunds(self) -> RefundService:
        from shared.services.refunds import RefundService

        # Refund notifications go to the same endpoint as payment notifications (WECHATPAY_NOTIFY_URL).
        notify_url = self.wechatpay_outbound.notify_url
        return RefundService(self.storage, self.refund_ledger, self.gateway, notify_url, now)

    @cached_property
    def purchases(self) -> PurchaseService:
        from shared.services.purchase import Merchant, PurchaseService

        s = self.wechatpay_outbound
        return PurchaseService(
            self.storage,
            self.catalogue,
            self.gateway,
            Merchant(s.mchid, s.appid, s.notify_url),
            self.app.server_secret,
            self.app.order_ttl_seconds,
            now,
        )

    @cached_property
    def status(self) -> StatusService:
        from shared.services.status import StatusService

        return StatusService(
            self.storage,
            self.payments,
            self.licences,
            self.gateway,
            now,
            query_after=self.app.query_after_seconds,
            query_every=self.app.query_every_seconds,
        )

    @cached_property
    def history(self) -> HistoryService:
        from shared.services.history import HistoryService

        return HistoryService(self.storage, self.licences)

    @cached_property
    def security_events(self) -> SecurityEvents:
        from shared.services.security import SecurityEvents

        return SecurityEvents(lambda: self.storage, now)

    @cached_property
    def rate_limits(self) -> RateLimits:
        from shared.config import RateLimitSettings
        from shared.services.ratelimit import RateLimiter, RateLimits

        return RateLimits(RateLimiter(self.storage, self.security_events, now), RateLimitSettings.from_env(self._env))

    @cached_property
    def admin(self) -> Admin:
        """The admin API's services. Refunds and payments are built on the first call that needs them, so that
        reading orders never loads the WeChat Pay settings."""
        from shared.services.admin import Admin, AdminAuth, AdminOperations, AdminQueries, Auditor, KeyManagement

        auditor = Auditor(self.storage, now)
        operations = AdminOperations(
            self.storage, auditor, lambda: self.refunds, lambda: self.payments, self.gateway, now
        )
        return Admin(
            auth=AdminAuth(self.storage, self.admin_settings, now, self.security_events),
            queries=AdminQueries(self.storage),
            operations=operations,
            keys=KeyManagement(self.storage, auditor, now),
        )

    # -- timer jobs (functions/jobs) ----------------------------------------------------------------------
    @cached_property
    def close_expired(self) -> CloseExpired:
        from shared.services.jobs.orders import CloseExpired

        return CloseExpired(self.storage, self.payments, self.gateway, now, self.lifecycle.job_batch_size)

    @cached_property
    def reconcile_pending(self) -> ReconcilePending:
        from shared.services.jobs.orders import ReconcilePending

        s = self.lifecycle
        return ReconcilePending(
            self.storage,
            self.payments,
            self.gateway,
            now,
            s.job_batch_size,
            after=s.reconcile_after_seconds,
            max_interval=s.reconcile_max_interval_seconds,
        )

    @cached_property
    def reconcile_refunds(self) -> ReconcileRefunds:
        from shared.services.jobs.refunds import ReconcileRefunds

        s = self.lifecycle
        return ReconcileRefunds(
            self.storage,
            self.refunds,
            self.refund_ledger,
            now,
            s.job_batch_size,
            resend_after=s.refund_resend_after_seconds,
        )

    @cached_property
    def reconcile_bill(self) -> ReconcileBill:
        from shared.services.jobs.bill import ReconcileBill

        return ReconcileBill(self.storage, self.gateway, now)

    @cached_property
    def retention(self) -> Retention:
        from shared.services.jobs.retention import Retention

        s = self.lifecycle
        return Retention(
            self.storage,
            now,
            s.job_batch_size * 10,
            idempotency_days=s.idempotency_retention_days,
            notification_days=s.notification_retention_days,
        )


_container: Container | None = None


def container() -> Container:
    """The instance's container: built on the first request of a cold start, reused while warm."""
    global _container
    if _container is None:
        _container = Container()
    return _container


def reset(env: Mapping[str, str] | None = None) -> Container:
    """Start over with new settings (the local gateway after a restart, and tests)."""
    global _container
    _container = Container(env)
    return _container
