"""Which settings each function is given, and what the templates may and may not contain.

The lists follow what each function's code path reads (README, Configuration, "needed by"); the package smoke test
(tests/e2e/test_packages.py) runs every function with exactly its list and nothing else, so a missing name fails
there, and the dry run checks both templates against the lists.
"""

from __future__ import annotations

from collections.abc import Mapping

FUNCTIONS = ("create_order", "order_status", "payment_notify", "license", "jobs", "admin")
HTTP_FUNCTIONS = ("create_order", "order_status", "payment_notify", "license", "admin")
TIMER_FUNCTIONS = ("jobs",)

APP = (
    "SERVER_SECRET",
    "LICENSE_SIGNING_KEYS",
    "STORAGE_URL",
    "PRODUCTS_FILE",
    "DATA_DIR",
    "ORDER_TTL_SECONDS",
    "ORDER_QUERY_AFTER_SECONDS",
    "ORDER_QUERY_EVERY_SECONDS",
    "LOG_LEVEL",
    "SECRETS_TIMEOUT_SECONDS",
)
INBOUND = (
    "WECHATPAY_MCHID",
    "WECHATPAY_APPID",
    "WECHATPAY_APIV3_KEY",
    "WECHATPAY_PUBLIC_KEY",
    "WECHATPAY_PUBLIC_KEY_ID",
    "WECHATPAY_PLATFORM_CERTIFICATES",
)
OUTBOUND = (
    *INBOUND,
    "WECHATPAY_MERCHANT_PRIVATE_KEY",
    "WECHATPAY_MERCHANT_SERIAL_NO",
    "WECHATPAY_NOTIFY_URL",
    "WECHATPAY_BASE_URL",
)
# Refunds, jobs and retention (LifecycleSettings): every function, so that all agree on the partial-refund policy.
LIFECYCLE = (
    "PARTIAL_REFUND_POLICY",
    "JOB_BATCH_SIZE",
    "JOB_LEASE_SECONDS",
    "RECONCILE_AFTER_SECONDS",
    "RECONCILE_MAX_INTERVAL_SECONDS",
    "REFUND_RESEND_AFTER_SECONDS",
    "RETENTION_IDEMPOTENCY_DAYS",
    "RETENTION_NOTIFICATIONS_DAYS",
)
# Backups (BackupSettings): the jobs function only.
BACKUP = (
    "BACKUP_S3_ENDPOINT",
    "BACKUP_S3_BUCKET",
    "BACKUP_S3_PREFIX",
    "BACKUP_S3_REGION",
    "BACKUP_S3_ADDRESSING_STYLE",
    "BACKUP_ACCESS_KEY_ID",
    "BACKUP_SECRET_ACCESS_KEY",
    "BACKUP_ENCRYPTION_KEY",
)
# Rate limits (RateLimitSettings): order creation in create_order, licence use in license.
ORDER_LIMITS = ("RATE_LIMIT_ORDERS_PER_IP", "RATE_LIMIT_ORDERS_PER_INSTALL")
ACTIVATION_LIMITS = ("RATE_LIMIT_ACTIVATIONS_PER_IP", "RATE_LIMIT_ACTIVATIONS_PER_INSTALL")
# The admin API (AdminSettings): the admin function only.
ADMIN = ("ADMIN_AUTH_MAX_FAILURES", "ADMIN_AUTH_WINDOW_SECONDS", "ADMIN_ALLOWED_ORIGINS")
# The merchant's private key goes only where requests to WeChat are signed; the licence service needs no WeChat key.
FUNCTION_SETTINGS: Mapping[str, tuple[str, ...]] = {
    "create_order": (*APP, *LIFECYCLE, *OUTBOUND, *ORDER_LIMITS),
    "order_status": (*APP, *LIFECYCLE, *OUTBOUND),
    "payment_notify": (*APP, *LIFECYCLE, *INBOUND),
    "license": (*APP, *LIFECYCLE, *ACTIVATION_LIMITS),
    "jobs": (*APP, *LIFECYCLE, *OUTBOUND, *BACKUP),
    "admin": (*APP, *LIFECYCLE, *OUTBOUND, *ADMIN),  # refunds and confirm-paid call WeChat
}
# Settings of one cloud's secrets provider only.
CLOUD_SETTINGS: Mapping[str, tuple[str, ...]] = {
    "fc": ("SECRETS_KMS_ENDPOINT",),
    "scf": ("SECRETS_SSM_REGION", "SECRETS_SSM_ENDPOINT"),
}
# Set by the platform in every function's environment, never by a template (documented in docs/deploy.md).
PLATFORM_PROVIDED = (
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_SECURITY_TOKEN",
    "FC_REGION",
    "TENCENTCLOUD_SECRETID",
    "TENCENTCLOUD_SECRETKEY",
    "TENCENTCLOUD_SESSIONTOKEN",
    "TENCENTCLOUD_REGION",
)
# Read by the code but never given by a template: LOCAL_STACK=1 (scripts/stack.py only) allows http:// URLs.
LOCAL_ONLY = ("LOCAL_STACK",)
# URLs the functions call or give out: https:// only in a deployment (shared/config.py refuses http:// at start-up;
# scripts/deploy refuses it before the tool runs).
HTTPS_SETTINGS = ("WECHATPAY_NOTIFY_URL", "WECHATPAY_BASE_URL", "BACKUP_S3_ENDPOINT")
# Never a literal in a template: only the deploying shell's value, with no default.
SECRET_SETTINGS = (
    "SERVER_SECRET",
    "LICENSE_SIGNING_KEYS",
    "STORAGE_URL",
    "WECHATPAY_APIV3_KEY",
    "WECHATPAY_MERCHANT_PRIVATE_KEY",
    "BACKUP_SECRET_ACCESS_KEY",
    "BACKUP_ENCRYPTION_KEY",
)
# The only literal values a template may give a setting: /tmp is the one writable folder on both clouds.
LITERALS: Mapping[str, str] = {"DATA_DIR": "/tmp"}  # noqa: S108
# Defaults of the optional settings: s.yaml writes them inline (except secrets, which have none in a template);
# serverless-cloud-framework has no default syntax. scripts/deploy puts them in both tools' environments when the
# shell has none.
DEFAULTS: Mapping[str, str] = {
    "PRODUCTS_FILE": "config/products.json",
    "ORDER_TTL_SECONDS": "900",
    "ORDER_QUERY_AFTER_SECONDS": "10",
    "ORDER_QUERY_EVERY_SECONDS": "5",
    "LOG_LEVEL": "info",
    "WECHATPAY_BASE_URL": "https://api.mch.weixin.qq.com",
    "WECHATPAY_PUBLIC_KEY": "",
    "WECHATPAY_PUBLIC_KEY_ID": "",
    "WECHATPAY_PLATFORM_CERTIFICATES": "",
    "SECRETS_TIMEOUT_SECONDS": "3",
    "SECRETS_KMS_ENDPOINT": "",
    "SECRETS_SSM_ENDPOINT": "",
    "PARTIAL_REFUND_POLICY": "keep",
    "JOB_BATCH_SIZE": "100",
    "JOB_LEASE_SECONDS": "300",
    "RECONCILE_AFTER_SECONDS": "60",
    "RECONCILE_MAX_INTERVAL_SECONDS": "1800",
    "REFUND_RESEND_AFTER_SECONDS": "120",
    "RETENTION_IDEMPOTENCY_DAYS": "7",
    "RETENTION_NOTIFICATIONS_DAYS": "30",
    # Backups are off until BACKUP_S3_BUCKET is set (then BackupSettings names whatever else is missing).
    "BACKUP_S3_ENDPOINT": "",
    "BACKUP_S3_BUCKET": "",
    "BACKUP_S3_PREFIX": "backups",
    "BACKUP_S3_REGION": "",
    "BACKUP_S3_ADDRESSING_STYLE": "virtual",
    "BACKUP_ACCESS_KEY_ID": "",
    "BACKUP_SECRET_ACCESS_KEY": "",
    "BACKUP_ENCRYPTION_KEY": "",
    "ADMIN_AUTH_MAX_FAILURES": "10",
    "ADMIN_AUTH_WINDOW_SECONDS": "300",
    "ADMIN_ALLOWED_ORIGINS": "",  # CORS closed: the dashboard is same-origin
    "RATE_LIMIT_ORDERS_PER_IP": "120/600",
    "RATE_LIMIT_ORDERS_PER_INSTALL": "20/600",
    "RATE_LIMIT_ACTIVATIONS_PER_IP": "120/600",
    "RATE_LIMIT_ACTIVATIONS_PER_INSTALL": "30/600",
}
# Deploy-time knobs (never a function's setting), with their defaults; documented in docs/deploy.md.
DEPLOY_DEFAULTS: Mapping[str, Mapping[str, str]] = {
    "fc": {"DEPLOY_STAGE": "dev", "DEPLOY_REGION": "cn-hangzhou", "DEPLOY_ROLE": "wxpay-functions"},
    "scf": {"DEPLOY_STAGE": "dev", "DEPLOY_REGION": "ap-guangzhou", "DEPLOY_ROLE": "wxpay-functions"},
}
DEPLOY_VARIABLES = (
    "DEPLOY_ACCESS",
    "DEPLOY_STAGE",
    "DEPLOY_REGION",
    "DEPLOY_ROLE",
    "DEPLOY_QUALIFIER",
    "DEPLOY_DOMAIN",
    "DEPLOY_TLS_CERT_FILE",
    "DEPLOY_TLS_KEY_FILE",
)
ENV_LIMIT_BYTES = 4096  # FC and SCF both cap a function's environment variables at 4 KB
