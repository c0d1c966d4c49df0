"""Every header name, format and fixed value of the WeChat Pay APIv3 protocol, in one place."""

from __future__ import annotations

from typing import Final

DEFAULT_BASE_URL: Final = "https://api.mch.weixin.qq.com"

# Request signing (reference §1).
AUTH_SCHEME: Final = "WECHATPAY2-SHA256-RSA2048"
HEADER_AUTHORIZATION: Final = "Authorization"
HEADER_ACCEPT: Final = "Accept"
HEADER_CONTENT_TYPE: Final = "Content-Type"
HEADER_USER_AGENT: Final = "User-Agent"
JSON_CONTENT_TYPE: Final = "application/json"

# Response and notification verification (reference §2).
HEADER_SIGNATURE: Final = "Wechatpay-Signature"
HEADER_TIMESTAMP: Final = "Wechatpay-Timestamp"
HEADER_NONCE: Final = "Wechatpay-Nonce"
HEADER_SERIAL: Final = "Wechatpay-Serial"
HEADER_SIGNATURE_TYPE: Final = "Wechatpay-Signature-Type"
HEADER_REQUEST_ID: Final = "Request-ID"
SIGNATURE_TYPE: Final = AUTH_SCHEME
SIGNTEST_PREFIX: Final = "WECHATPAY/SIGNTEST/"
PUBLIC_KEY_ID_PREFIX: Final = "PUB_KEY_ID_"
MAX_CLOCK_SKEW_SECONDS: Final = 300

# Encrypted resources (reference §6).
AEAD_ALGORITHM: Final = "AEAD_AES_256_GCM"
RESOURCE_TYPE_ENCRYPTED: Final = "encrypt-resource"
APIV3_KEY_LENGTH: Final = 32
AEAD_TAG_LENGTH: Final = 16

# Notification event types (reference §6, §7).
EVENT_TRANSACTION_SUCCESS: Final = "TRANSACTION.SUCCESS"
EVENT_REFUND_SUCCESS: Final = "REFUND.SUCCESS"
EVENT_REFUND_ABNORMAL: Final = "REFUND.ABNORMAL"
EVENT_REFUND_CLOSED: Final = "REFUND.CLOSED"
PAYMENT_EVENTS: Final = frozenset({EVENT_TRANSACTION_SUCCESS})
REFUND_EVENTS: Final = frozenset({EVENT_REFUND_SUCCESS, EVENT_REFUND_ABNORMAL, EVENT_REFUND_CLOSED})
ORIGINAL_TYPE_TRANSACTION: Final = "transaction"
ORIGINAL_TYPE_REFUND: Final = "refund"

# API paths (reference §2-§8).
PATH_CERTIFICATES: Final = "/v3/certificates"

# Orders, refunds, bills (reference §3, §7, §8, §9).
CURRENCY_CNY: Final = "CNY"
TIME_EXPIRE_UTC_OFFSET_HOURS: Final = 8
BILL_TAR_TYPE_GZIP: Final = "GZIP"
BILL_TYPES: Final = frozenset({"ALL", "SUCCESS", "REFUND"})
BILL_HASH_TYPE_SHA1: Final = "SHA1"
# Older error tables spell "order not found" differently; refunds use RESOURCE_NOT_EXISTS (reference §4, §7).
NOT_FOUND_CODES: Final = frozenset({"ORDER_NOT_EXIST", "ORDERNOTEXIST", "RESOURCE_NOT_EXISTS"})
