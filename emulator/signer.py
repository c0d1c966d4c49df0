"""WeChat's signatures on answers and notifications, in public-key mode, certificate mode or the transition.

- ``public_key``: WeChat Pay public key (`Wechatpay-Serial: PUB_KEY_ID_…`); `/v3/certificates` is 404, as for
  merchants created since late 2024.
- ``certificate``: the platform certificate (hex serial), listed by `/v3/certificates`.
- ``transition``: both exist; an answer follows the request (a `PUB_KEY_ID_…` in the request's
  `Wechatpay-Serial` gets a public-key signature), notifications alternate between the two keys (reference §2).
"""

from __future__ import annotations

import itertools
import time

from cryptography.hazmat.primitives.asymmetric import rsa

from emulator import crypto
from emulator.keys import KeyMaterial
from emulator.store import Store

MODES = ("public_key", "certificate", "transition")
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
SIGNTEST_PREFIX = "WECHATPAY/SIGNTEST/"


class Signer:
    def __init__(self, keys: KeyMaterial, store: Store, default_mode: str):
        if default_mode not in MODES:
            raise ValueError(f"signing mode must be one of {MODES}, not {default_mode!r}")
        self._keys = keys
        self._store = store
        self._default_mode = default_mode
        self._alternate = itertools.count()

    @property
    def mode(self) -> str:
        return self._store.get_kv("signing_mode", self._default_mode)

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"signing mode must be one of {MODES}")
        self._store.set_kv("signing_mode", mode)

    @property
    def certificates_available(self) -> bool:
        return self.mode != "public_key"

    def _public_key(self) -> tuple[str, rsa.RSAPrivateKey]:
        return self._keys.credentials.wechatpay_public_key_id, self._keys.wechatpay_private

    def _platform(self) -> tuple[str, rsa.RSAPrivateKey]:
        return self._keys.credentials.platform_serial_no, self._keys.platform_private

    def answer_key(self, request_serial: str | None) -> tuple[str, rsa.RSAPrivateKey]:
        mode = self.mode
        if mode == "public_key":
            return self._public_key()
        if mode == "certificate":
            return self._platform()
        if request_serial == self._keys.credentials.wechatpay_public_key_id:
            return self._public_key()
        return self._platform()

    def notification_key(self) -> tuple[str, rsa.RSAPrivateKey]:
        mode = self.mode
        if mode == "transition":
            return self._public_key() if next(self._alternate) % 2 == 0 else self._platform()
        return self._public_key() if mode == "public_key" else self._platform()

    @staticmethod
    def headers(
        body: bytes, serial: str, key: rsa.RSAPrivateKey, *, probe: bool = False, corrupt: bool = False
    ) -> dict[str, str]:
        timestamp = str(int(time.time()))
        nonce = crypto.random_token(32)
        if probe:
            signature = SIGNTEST_PREFIX + crypto.random_token(300)
        else:
            signature = crypto.sign(key, crypto.answer_message(timestamp, nonce, body))
            if corrupt:  # a valid base64 signature over another message
                signature = crypto.sign(key, crypto.answer_message(timestamp, nonce, body + b" "))
        return {
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": serial,
            "Wechatpay-Signature": signature,
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
            "Wechatpay-Timestamp": timestamp,
        }
