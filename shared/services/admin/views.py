"""What the admin API shows of each object: plain JSON-able dicts, built from the domain records (pure)."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from typing import Any

from shared.domain.admin import AdminKey, AuditEntry
from shared.domain.licences import Activation, Licence
from shared.domain.orders import Order

# Secrets of the buyer's side: the poll token's hash opens the order's status, the install hash names the device.
HIDDEN_ORDER_FIELDS = frozenset({"poll_token_hash", "install_hash"})


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def order_view(order: Order) -> dict[str, Any]:
    """Every stored field of the order but the buyer's secrets; `payer_hash` (a hash of the openid) is shown."""
    return {
        field.name: _plain(getattr(order, field.name))
        for field in dataclasses.fields(order)
        if field.name not in HIDDEN_ORDER_FIELDS
    }


def licence_view(licence: Licence, activations: Sequence[Activation]) -> dict[str, Any]:
    return {
        "licence_id": licence.licence_id,
        "order_id": licence.order_id,
        "product_id": licence.product_id,
        "status": licence.status.value,
        "entitlements": list(licence.entitlements),
        "max_devices": licence.max_devices,
        "issued_at": licence.issued_at,
        "expires_at": licence.expires_at,
        "revoked_at": licence.revoked_at,
        "revoke_reason": licence.revoke_reason,
        "activations": [{"install_hash": a.install_hash, "activated_at": a.activated_at} for a in activations],
    }


def key_view(key: AdminKey) -> dict[str, Any]:
    """An admin key as listed: never its hash."""
    return {
        "key_id": key.key_id,
        "name": key.name,
        "role": key.role.value,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
    }


def audit_view(entry: AuditEntry) -> dict[str, Any]:
    return {
        "audit_id": entry.audit_id,
        "at": entry.at,
        "actor": entry.actor,
        "actor_name": entry.actor_name,
        "role": entry.role,
        "action": entry.action,
        "target": entry.target,
        "outcome": entry.outcome,
        "before": dict(entry.before) if entry.before is not None else None,
        "after": dict(entry.after) if entry.after is not None else None,
        "request_id": entry.request_id,
        "source_ip": entry.source_ip,
    }


def report_summary(report: dict[str, Any]) -> dict[str, Any]:
    """A reconciliation report in a list: its status, totals and how many differences of each kind."""
    summary: dict[str, Any] = {"status": report.get("status"), "totals": report.get("totals")}
    for name in ("missing_here", "missing_there", "amount_mismatch", "state_mismatch"):
        value = report.get(name)
        summary[name] = len(value) if isinstance(value, list) else 0
    return summary
