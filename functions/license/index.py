"""license: activate, validate (refresh), deactivate, and the public keys that verify tokens (design §3, §4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared import errors
from shared.bootstrap import container
from shared.http.app import Router, serve
from shared.http.request import Request, Response


def _fields(request: Request, *names: str) -> list[str]:
    body = request.json()
    values = [body.get(name) for name in names]
    for name, value in zip(names, values, strict=True):
        if not isinstance(value, str) or not value:
            raise errors.ValidationFailed(f"{name} is required", code="MISSING_FIELD", details={"field": name})
    return [str(v) for v in values]


def _key_and_install(request: Request) -> tuple[str, str]:
    """The licence key and install id of a call that presents a key: counted against the rate limits first."""
    key, install_id = _fields(request, "license_key", "install_id")
    container().rate_limits.activations(request.source_ip, install_id)
    return key, install_id


def activate(request: Request, params: Mapping[str, str]) -> Response:
    key, install_id = _key_and_install(request)
    try:
        return Response.json(200, container().licences.activate(key, install_id))
    except errors.Conflict as exc:
        if exc.code == "DEVICE_LIMIT_REACHED":
            container().security_events.record("device_limit_reached", source_ip=request.source_ip)
        raise


def validate(request: Request, params: Mapping[str, str]) -> Response:
    body = request.json()
    if isinstance(body.get("token"), str):
        return Response.json(200, container().licences.validate_token(body["token"]))
    key, install_id = _key_and_install(request)
    return Response.json(200, container().licences.validate_key(key, install_id))


def deactivate(request: Request, params: Mapping[str, str]) -> Response:
    key, install_id = _key_and_install(request)
    return Response.json(200, container().licences.deactivate(key, install_id))


def public_keys(request: Request, params: Mapping[str, str]) -> Response:
    keys = container().licences.public_keys()
    return Response.json(
        200, {"algorithm": "Ed25519", "keys": [{"kid": kid, "public_key": key} for kid, key in keys.items()]}
    )


router = Router()
router.add("POST", "/v1/licenses/activate", activate, max_body=4096)
router.add("POST", "/v1/licenses/validate", validate, max_body=8192)
router.add("POST", "/v1/licenses/deactivate", deactivate, max_body=4096)
router.add("GET", "/v1/licenses/keys", public_keys)
router.add_health(lambda: container().storage.ping())


def handler(event: Any, context: Any) -> Any:
    return serve(event, context, router, function="license")


main_handler = handler
