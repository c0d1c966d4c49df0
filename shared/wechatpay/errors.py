"""The exceptions raised by shared.wechatpay: one small family under WeChatPayError."""

from __future__ import annotations


class WeChatPayError(Exception):
    """Base of every error raised by shared.wechatpay."""


class SignatureError(WeChatPayError):
    """A signed message (response or notification) could not be authenticated."""


class SignTestProbe(SignatureError):
    """WeChat's deliberate WECHATPAY/SIGNTEST/ probe: must be rejected, a correct retry follows."""


class StaleTimestamp(SignatureError):
    """Wechatpay-Timestamp is 5 minutes or more away from now (in the past or the future)."""


class UnknownSerial(SignatureError):
    """Wechatpay-Serial names no configured public key id nor any currently valid platform certificate."""


class DecryptError(WeChatPayError):
    """An AEAD_AES_256_GCM resource did not decrypt: wrong APIv3 key or tampered data."""


class MalformedPayload(WeChatPayError):
    """A WeChat JSON object is not valid JSON, lacks a field or has a field of the wrong type."""


class MalformedNotification(MalformedPayload):
    """A notification envelope or its decrypted resource is malformed or of an unknown event type."""


class BillHashMismatch(WeChatPayError):
    """A downloaded bill does not match the hash WeChat announced for it."""


class GatewayError(WeChatPayError):
    """WeChat answered an outbound call with an error status and code: the call was not carried out."""

    def __init__(self, status: int, code: str, message: str, request_id: str | None = None) -> None:
        super().__init__(f"{status} {code}: {message} (Request-ID {request_id or 'unknown'})")
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id


class GatewayUnknown(WeChatPayError):
    """The outcome of an outbound call is unknown (timeout, 5xx, 429, unverifiable answer): query first."""
