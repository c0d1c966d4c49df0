"""The floor of each request: the work it cannot avoid, done directly, in a process like the handler's.

- payment_notify: RSA-2048 PKCS#1 v1.5 / SHA-256 verify of the signature, AES-256-GCM decrypt of the resource, and
  the writes the notification performs through the storage port (order compare-and-set to PAID, the PAID and
  LICENCE_ISSUED events, the licence, the buyer's activation, the processed-notification record);
- create_order: the writes (order, CREATED event, code_url) and the signed call to WeChat done by hand: JSON body,
  RSA-2048 signature, one POST on a fresh http.client connection (as the adapter opens one per call: a kept-alive
  one stalls ~40 ms per call here, the emulator's two writes meeting the client's delayed ACK), the answer's
  signature verified;
- order_status: the two reads it makes (order, licence) and the Ed25519 signature of a licence token;
- license (activate): the activation write and the Ed25519 signature of a licence token;
- admin (a page of orders): the admin key's read and constant-time hash comparison, the search for the page of 50
  newest orders, and the page's rows encoded as JSON (the lockout check's read is left out).

Reads that only look a row up are left out of the writers' floors (a lower floor is a stricter ratio). Setup —
keys, connections, parsing the platform event — happens before the clock starts.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from scripts.bench.loadgen import Connection  # TCP_NODELAY, as urllib3 sets it
from shared.config import AppSettings, LicensingSettings, WeChatPaySettings
from shared.domain.admin import key_hash, parse_key
from shared.domain.catalogue import Catalogue
from shared.domain.licences import licence_id_for, new_licence
from shared.domain.orders import Order, OrderStatus
from shared.licensing.derive import derive, poll_token_for, token_hash
from shared.licensing.install import install_hash
from shared.licensing.keys import SigningKeys
from shared.licensing.licence_keys import licence_key_for, licence_key_hash, normalize_licence_key
from shared.storage.factory import open_storage
from shared.storage.port import Storage
from shared.storage.search import OrderQuery
from shared.wechatpay.signing import authorization_header, load_private_key, new_nonce
from shared.wechatpay.verify import load_public_key, response_message

Step = Callable[[], None]
TOKEN_PAYLOAD_BYTES = 330  # the size of a real licence token's first part


def run(function: str, events: list[bytes]) -> list[float]:
    """Per-request floor latencies in ms, one per event (the same events the handler was given)."""
    env = dict(os.environ)
    storage = open_storage(AppSettings.from_env(env).storage_url)
    steps = {
        "payment_notify": _notify,
        "create_order": _create,
        "order_status": _status,
        "license": _activate,
        "admin": _admin_orders,
    }
    prepared = [steps[function](env, storage, json.loads(event)) for event in events]
    latencies = []
    for step in prepared:
        begin = time.perf_counter()
        step()
        latencies.append((time.perf_counter() - begin) * 1000)
    return latencies


def _headers(event: dict[str, Any]) -> dict[str, str]:
    return {name.lower(): value for name, value in event["headers"].items()}


def _notify(env: dict[str, str], storage: Storage, event: dict[str, Any]) -> Step:
    settings = WeChatPaySettings.from_env(env, outbound=False)
    key = _cached("wechatpay_public_key", lambda: load_public_key(settings.public_key_pem or ""))
    cipher = AESGCM(settings.apiv3_key.encode())
    headers, body = _headers(event), event["body"].encode()
    resource = json.loads(body)["resource"]
    order_id = _decrypted_order_id(cipher, resource)
    licence_secret = derive(AppSettings.from_env(env).server_secret, "licence-key")
    order = _order(storage, order_id)  # the handler reads it too; reads stay out of a writer's floor
    product = _catalogue(env).get(order.product_id)
    assert product is not None

    def step() -> None:
        signature = base64.b64decode(headers["wechatpay-signature"])
        message = response_message(headers["wechatpay-timestamp"], headers["wechatpay-nonce"], body)
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        sealed = base64.b64decode(resource["ciphertext"])
        cipher.decrypt(resource["nonce"].encode(), sealed, resource["associated_data"].encode())
        now = int(time.time())
        paid = {"status": OrderStatus.PAID, "transaction_id": "4200", "paid_at": now, "updated_at": now}
        assert storage.update_order(order_id, paid, expect_status=[OrderStatus.PENDING])
        storage.append_order_event(order_id, "PAID", now, {"via": "notify"})
        normalized = normalize_licence_key(licence_key_for(licence_secret, order_id))
        assert normalized is not None
        assert storage.insert_licence(new_licence(order, product, licence_key_hash(normalized), now))
        storage.append_order_event(order_id, "LICENCE_ISSUED", now, {"licence_id": licence_id_for(order_id)})
        storage.activate(licence_id_for(order_id), order.install_hash, product.max_devices, now)
        storage.record_notification(secrets.token_hex(18), "TRANSACTION.SUCCESS", order_id, now)

    return step


def _create(env: dict[str, str], storage: Storage, event: dict[str, Any]) -> Step:
    settings = WeChatPaySettings.from_env(env, outbound=True)
    app = AppSettings.from_env(env)
    call = _NativeCall(settings)
    request = json.loads(event["body"])
    product = _catalogue(env).get(request["product_id"])
    assert product is not None

    def step() -> None:
        now = int(time.time())
        order_id = "o" + secrets.token_urlsafe(16)
        order = Order(
            order_id=order_id,
            product_id=product.id,
            install_hash=install_hash(request["install_id"]),
            amount_fen=product.price_fen,
            currency=product.currency,
            description=product.title,
            mchid=settings.mchid,
            appid=settings.appid,
            status=OrderStatus.PENDING,
            created_at=now,
            expires_at=now + app.order_ttl_seconds,
            poll_token_hash=token_hash(poll_token_for(app.server_secret, order_id)),
            updated_at=now,
        )
        assert storage.insert_order(order)
        storage.append_order_event(order_id, "CREATED", now, {"product_id": product.id})
        code_url = call.create(order, now)
        storage.update_order(order_id, {"code_url": code_url, "updated_at": now})

    return step


class _NativeCall:
    """`POST /v3/pay/transactions/native` by hand: sign, send on a fresh connection, verify the answer."""

    PATH = "/v3/pay/transactions/native"

    def __init__(self, settings: WeChatPaySettings) -> None:
        self._settings = settings
        self._private_key = _cached("merchant_key", lambda: load_private_key(settings.merchant_private_key or ""))
        self._public_key = _cached("wechatpay_public_key", lambda: load_public_key(settings.public_key_pem or ""))
        target = urlsplit(settings.base_url)
        self._host, self._port = target.hostname or "127.0.0.1", target.port

    def create(self, order: Order, now: int) -> str:
        s = self._settings
        expire = time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(order.expires_at + 8 * 3600))
        body = json.dumps(
            {
                "appid": s.appid,
                "mchid": s.mchid,
                "description": order.description,
                "out_trade_no": order.order_id,
                "time_expire": expire,
                "notify_url": s.notify_url,
                "amount": {"total": order.amount_fen, "currency": "CNY"},
            }
        ).encode()
        authorization = authorization_header(
            mchid=s.mchid,
            serial_no=s.merchant_serial_no or "",
            private_key=self._private_key,
            method="POST",
            canonical_url=self.PATH,
            body=body,
            timestamp=now,
            nonce=new_nonce(),
        )
        headers = {"Authorization": authorization, "Accept": "application/json", "Content-Type": "application/json"}
        connection = Connection(self._host, self._port, timeout=10)
        connection.request("POST", self.PATH, body=body, headers={**headers, "User-Agent": "bench-floor/1"})
        answer = connection.getresponse()
        payload = answer.read()
        connection.close()
        assert answer.status == 200, (answer.status, payload)
        signature = base64.b64decode(answer.headers["Wechatpay-Signature"])
        message = response_message(answer.headers["Wechatpay-Timestamp"], answer.headers["Wechatpay-Nonce"], payload)
        self._public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        return str(json.loads(payload)["code_url"])


def _status(env: dict[str, str], storage: Storage, event: dict[str, Any]) -> Step:
    keys = _signing_keys(env)
    order_id = event["rawPath"].rsplit("/", 1)[-1]
    payload = b"x" * TOKEN_PAYLOAD_BYTES

    def step() -> None:
        order = storage.get_order(order_id)
        assert order is not None and order.status is OrderStatus.PAID
        assert storage.get_licence(licence_id_for(order_id)) is not None
        keys.sign(payload)

    return step


def _activate(env: dict[str, str], storage: Storage, event: dict[str, Any]) -> Step:
    keys = _signing_keys(env)
    request = json.loads(event["body"])
    normalized = normalize_licence_key(request["license_key"])
    assert normalized is not None
    licence = storage.get_licence_by_key_hash(licence_key_hash(normalized))
    assert licence is not None
    device = install_hash(request["install_id"])
    payload = b"x" * TOKEN_PAYLOAD_BYTES

    def step() -> None:
        storage.activate(licence.licence_id, device, licence.max_devices, int(time.time()))
        keys.sign(payload)

    return step


def _admin_orders(env: dict[str, str], storage: Storage, event: dict[str, Any]) -> Step:
    presented = _headers(event)["authorization"].partition(" ")[2]
    key_id = parse_key(presented)
    assert key_id is not None
    limit = int(event["queryParameters"]["limit"])

    def step() -> None:
        stored = storage.get_admin_key(key_id)
        assert stored is not None and hmac.compare_digest(stored.key_hash, key_hash(presented))
        page = storage.search_orders(OrderQuery(), None, limit)
        json.dumps([vars(order) for order in page.orders], default=str)

    return step


_CACHE: dict[str, Any] = {}


def _cached(name: str, build: Callable[[], Any]) -> Any:
    """Keys and connections are built once per process, as the handlers build them once per instance."""
    if name not in _CACHE:
        _CACHE[name] = build()
    return _CACHE[name]


def _catalogue(env: dict[str, str]) -> Catalogue:
    app = AppSettings.from_env(env)
    catalogue: Catalogue = _cached("catalogue", lambda: Catalogue.from_json(app.products_file.read_text("utf-8")))
    return catalogue


def _signing_keys(env: dict[str, str]) -> SigningKeys:
    keys: SigningKeys = _cached("keys", lambda: SigningKeys.parse(LicensingSettings.from_env(env).signing_keys))
    return keys


def _order(storage: Storage, order_id: str) -> Order:
    order = storage.get_order(order_id)
    assert order is not None, order_id
    return order


def _decrypted_order_id(cipher: AESGCM, resource: dict[str, Any]) -> str:
    plaintext = cipher.decrypt(
        resource["nonce"].encode(), base64.b64decode(resource["ciphertext"]), resource["associated_data"].encode()
    )
    return str(json.loads(plaintext)["out_trade_no"])
