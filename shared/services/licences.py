"""Licences: issue exactly one per paid order, activate on a device, validate (refresh), deactivate (design §4)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared import errors, log
from shared.domain.catalogue import Catalogue
from shared.domain.licences import (
    ActivationOutcome,
    Licence,
    LicenceStatus,
    PartialRefundPolicy,
    invalid_reason,
    licence_id_for,
    new_licence,
    revocation_reason,
)
from shared.domain.orders import Order
from shared.licensing.install import install_hash, valid_install_id
from shared.licensing.licence_keys import licence_key_for, licence_key_hash, normalize_licence_key
from shared.licensing.tokens import TokenInvalid, licence_payload, sign_token, verify_token
from shared.storage.port import Storage

if TYPE_CHECKING:
    from shared.licensing.keys import SigningKeys


@dataclass(frozen=True)
class IssuedToken:
    """A signed licence token and when it expires."""

    token: str
    expires_at: int


class LicenceService:
    def __init__(
        self,
        storage: Storage,
        catalogue: Catalogue,
        keys: SigningKeys | Callable[[], SigningKeys],
        key_secret: bytes,
        clock: Callable[[], int],
        partial_refund_policy: PartialRefundPolicy = PartialRefundPolicy.KEEP,
    ):
        """`keys` may be a callable that loads them: called once, on the first signature or verification, so that
        the notify function (which issues licences but never signs a token) does not load Ed25519 at all."""
        self._storage, self._catalogue, self._keys_source = storage, catalogue, keys
        self._loaded_keys: SigningKeys | None = None
        self._key_secret, self._clock = key_secret, clock
        self._partial_refund_policy = partial_refund_policy

    @property
    def _keys(self) -> SigningKeys:
        if self._loaded_keys is None:
            source = self._keys_source
            self._loaded_keys = source() if callable(source) else source
        return self._loaded_keys

    def licence_key(self, order_id: str) -> str:
        return licence_key_for(self._key_secret, order_id)

    def ensure_issued(self, order: Order) -> Licence:
        """Exactly one licence per paid order, however many notifications and polls race here; the buyer's own
        install is activated with it so the extension unlocks at once."""
        product = self._catalogue.get(order.product_id)
        if product is None:
            raise errors.ConfigError(f"product {order.product_id} of a paid order is missing from the catalogue")
        now = self._clock()
        normalized = normalize_licence_key(self.licence_key(order.order_id))
        assert normalized is not None, "a derived licence key always normalizes"
        key_hash = licence_key_hash(normalized)
        if self._storage.insert_licence(new_licence(order, product, key_hash, now)):
            self._storage.append_order_event(
                order.order_id, "LICENCE_ISSUED", now, {"licence_id": licence_id_for(order.order_id)}
            )
            log.info("licence_issued", order_id=order.order_id, licence_id=licence_id_for(order.order_id))
        licence = self._storage.get_licence(licence_id_for(order.order_id))
        if licence is None:
            raise errors.StorageError("licence vanished after insert")
        self._storage.activate(licence.licence_id, order.install_hash, licence.max_devices, now)
        # Read the order again after the licence exists: a refund that landed meanwhile either sees the licence
        # (and revokes it) or is seen here — never neither.
        return self.enforce_refund_policy(self._storage.get_order(order.order_id) or order) or licence

    def enforce_refund_policy(self, order: Order) -> Licence | None:
        """Revoke the order's licence when its refunds say so (full refund; partial per PARTIAL_REFUND_POLICY).
        A compare-and-set ACTIVE -> REVOKED: safe to call again and from racing instances. The revocation reaches
        a user at the next validate or refresh (tokens live a few days)."""
        licence = self._storage.get_licence(licence_id_for(order.order_id))
        reason = revocation_reason(order.status, self._partial_refund_policy)
        if licence is None or reason is None or licence.status is not LicenceStatus.ACTIVE:
            return licence
        now = self._clock()
        changes = {"status": LicenceStatus.REVOKED, "revoked_at": now, "revoke_reason": reason}
        if self._storage.update_licence(licence.licence_id, changes, expect_status=[LicenceStatus.ACTIVE]):
            self._storage.append_order_event(
                order.order_id, "LICENCE_REVOKED", now, {"licence_id": licence.licence_id, "reason": reason}
            )
            log.info("licence_revoked", order_id=order.order_id, licence_id=licence.licence_id, reason=reason)
            log.metric("licences_revoked", reason=reason)
        return self._storage.get_licence(licence.licence_id)

    def token_for(self, licence: Licence, install_hash_: str) -> IssuedToken:
        payload = licence_payload(licence, install_hash_, self._keys.active_kid, self._clock())
        return IssuedToken(sign_token(payload, self._keys), int(payload["exp"]))

    def public_keys(self) -> dict[str, str]:
        return self._keys.public_keys()

    # -- the licence function's operations ----------------------------------------------------------------

    def activate(self, licence_key: str, install_id: str) -> dict[str, Any]:
        licence, device = self._licence_and_device(licence_key, install_id)
        result = self._storage.activate(licence.licence_id, device, licence.max_devices, self._clock())
        if result.outcome is ActivationOutcome.LIMIT_REACHED:
            raise errors.Conflict(
                "this licence is active on the maximum number of devices: deactivate one first",
                code="DEVICE_LIMIT_REACHED",
                details={"max_devices": licence.max_devices},
            )
        token = self.token_for(licence, device)
        return {"token": token.token, "expires_at": token.expires_at, **_licence_view(licence)}

    def deactivate(self, licence_key: str, install_id: str) -> dict[str, Any]:
        licence, device = self._licence_and_device(licence_key, install_id, allow_invalid=True)
        return {"deactivated": self._storage.deactivate(licence.licence_id, device)}

    def validate_token(self, token: str) -> dict[str, Any]:
        try:
            payload = verify_token(token, self._keys.to_public(), self._clock())
        except TokenInvalid as exc:
            return {"valid": False, "status": None, "reason": exc.reason}
        licence = self._storage.get_licence(str(payload["lic"]))
        if licence is None:
            return {"valid": False, "status": None, "reason": "UNKNOWN_LICENSE"}
        log.bind(order_id=licence.order_id)
        return self._refresh(licence, str(payload["ins"]))

    def validate_key(self, licence_key: str, install_id: str) -> dict[str, Any]:
        licence, device = self._licence_and_device(licence_key, install_id, allow_invalid=True)
        return self._refresh(licence, device)

    def _refresh(self, licence: Licence, device: str) -> dict[str, Any]:
        reason = invalid_reason(licence, self._clock())
        if reason is None and device not in {a.install_hash for a in self._storage.activations(licence.licence_id)}:
            reason = "NOT_ACTIVATED"
        if reason is not None:
            return {"valid": False, "status": licence.status.value, "reason": reason}
        token = self.token_for(licence, device)
        return {
            "valid": True,
            "status": licence.status.value,
            "reason": None,
            "token": token.token,
            "expires_at": token.expires_at,
        }

    def _licence_and_device(
        self, licence_key: str, install_id: str, *, allow_invalid: bool = False
    ) -> tuple[Licence, str]:
        normalized = normalize_licence_key(licence_key)
        if normalized is None:
            raise errors.ValidationFailed("license_key is not a licence key", code="INVALID_LICENSE_KEY")
        if not valid_install_id(install_id):
            raise errors.ValidationFailed(
                "install_id must be 22-64 characters of A-Z a-z 0-9 _ -", code="INVALID_INSTALL_ID"
            )
        licence = self._storage.get_licence_by_key_hash(licence_key_hash(normalized))
        if licence is None:
            raise errors.NotFound("no licence has this key", code="LICENSE_NOT_FOUND")
        log.bind(order_id=licence.order_id)
        reason = invalid_reason(licence, self._clock())
        if reason is not None and not allow_invalid:
            raise errors.Conflict(f"this licence is {reason.lower()}", code=f"LICENSE_{reason}")
        return licence, install_hash(install_id)


def _licence_view(licence: Licence) -> dict[str, Any]:
    return {
        "license_id": licence.licence_id,
        "product_id": licence.product_id,
        "status": licence.status.value,
        "entitlements": list(licence.entitlements),
        "max_devices": licence.max_devices,
        "license_expires_at": licence.expires_at,
    }
