"""Payment and refund notifications (reference §6, §7): verify -> parse envelope -> decrypt -> typed result.

Imports only the standard library and `cryptography`: the notify function's cold start matters (design §9).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from shared.wechatpay._fields import as_object, opt_str, parse_json, req_str, req_time
from shared.wechatpay.aead import decrypt_resource
from shared.wechatpay.constants import (
    AEAD_ALGORITHM,
    ORIGINAL_TYPE_REFUND,
    ORIGINAL_TYPE_TRANSACTION,
    PAYMENT_EVENTS,
    REFUND_EVENTS,
    RESOURCE_TYPE_ENCRYPTED,
)
from shared.wechatpay.errors import MalformedNotification, MalformedPayload
from shared.wechatpay.models import RefundResult, Transaction, parse_refund_result, parse_transaction
from shared.wechatpay.verify import KeyRing, verify_signed_message


@dataclass(frozen=True)
class PaymentNotification:
    """A verified, decrypted TRANSACTION.SUCCESS notification."""

    id: str
    create_time: datetime
    event_type: str
    summary: str
    transaction: Transaction


@dataclass(frozen=True)
class RefundNotification:
    """A verified, decrypted REFUND.SUCCESS / REFUND.ABNORMAL / REFUND.CLOSED notification."""

    id: str
    create_time: datetime
    event_type: str
    summary: str
    refund: RefundResult


Notification: TypeAlias = PaymentNotification | RefundNotification


class _Envelope:
    """The notification's plaintext fields and its still-encrypted resource (a plain class: cheaper to define at
    cold start than a dataclass, and never compared or printed)."""

    __slots__ = ("create_time", "event_type", "id", "resource", "summary")

    def __init__(
        self, *, id: str, create_time: datetime, event_type: str, summary: str, resource: Mapping[str, Any]
    ) -> None:
        self.id, self.create_time, self.event_type, self.summary = id, create_time, event_type, summary
        self.resource = resource


def _expected_original_type(event_type: str) -> str:
    if event_type in PAYMENT_EVENTS:
        return ORIGINAL_TYPE_TRANSACTION
    if event_type in REFUND_EVENTS:
        return ORIGINAL_TYPE_REFUND
    raise MalformedNotification(f"unknown event_type {event_type!r}")


def _parse_envelope(body: bytes) -> _Envelope:
    obj = as_object(parse_json(body, "notification body"), "notification")
    if obj.get("resource_type") != RESOURCE_TYPE_ENCRYPTED:
        raise MalformedNotification(f"resource_type must be {RESOURCE_TYPE_ENCRYPTED!r}")
    event_type = req_str(obj, "event_type")
    resource = as_object(obj.get("resource"), "field 'resource'")
    if resource.get("algorithm") != AEAD_ALGORITHM:
        raise MalformedNotification(f"resource algorithm must be {AEAD_ALGORITHM!r}")
    if opt_str(resource, "original_type") not in (None, _expected_original_type(event_type)):
        raise MalformedNotification(f"original_type does not match event_type {event_type!r}")
    return _Envelope(
        id=req_str(obj, "id"),
        create_time=req_time(obj, "create_time"),
        event_type=event_type,
        summary=opt_str(obj, "summary") or "",
        resource=resource,
    )


def _open_resource(resource: Mapping[str, Any], apiv3_key: bytes) -> Any:
    plaintext = decrypt_resource(
        apiv3_key,
        nonce=req_str(resource, "nonce"),
        associated_data=opt_str(resource, "associated_data") or "",
        ciphertext=req_str(resource, "ciphertext"),
    )
    return parse_json(plaintext, "decrypted resource")


def _typed(envelope: _Envelope, resource: Any) -> Notification:
    head = (envelope.id, envelope.create_time, envelope.event_type, envelope.summary)
    if envelope.event_type in PAYMENT_EVENTS:
        return PaymentNotification(*head, transaction=parse_transaction(resource))
    return RefundNotification(*head, refund=parse_refund_result(resource))


def parse_notification(
    headers: Mapping[str, str], body: bytes, keyring: KeyRing, apiv3_key: bytes, now: int
) -> Notification:
    """Authenticate, decrypt and type a notification from its raw headers and body bytes.

    Raises a SignatureError subclass (reject; WeChat retries), DecryptError, or MalformedNotification.
    """
    verify_signed_message(headers, body, keyring, now)
    try:
        envelope = _parse_envelope(body)
        return _typed(envelope, _open_resource(envelope.resource, apiv3_key))
    except MalformedNotification:
        raise
    except MalformedPayload as exc:
        raise MalformedNotification(str(exc)) from exc
