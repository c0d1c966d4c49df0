"""The test merchant and WeChat Pay's keys, generated on first start and kept in the data directory.

Everything here is TEST ONLY material for the local emulator; it survives a restart and a state reset so that
configured clients stay valid.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from emulator import crypto


@dataclass(frozen=True)
class Credentials:
    mchid: str
    appid: str
    apiv3_key: str
    merchant_private_key: str
    merchant_public_key: str
    merchant_serial_no: str
    wechatpay_public_key: str
    wechatpay_public_key_id: str
    wechatpay_private_key: str
    platform_certificate: str
    platform_serial_no: str
    platform_private_key: str

    def public_view(self) -> dict[str, str]:
        """What `GET /_emulator/merchant` hands out: the merchant's side, never WeChat's private keys."""
        view = asdict(self)
        del view["wechatpay_private_key"], view["platform_private_key"], view["merchant_public_key"]
        return view


@dataclass(frozen=True)
class KeyMaterial:
    credentials: Credentials
    merchant_public: rsa.RSAPublicKey
    wechatpay_private: rsa.RSAPrivateKey
    platform_private: rsa.RSAPrivateKey


def generate(mchid: str | None = None, appid: str | None = None) -> Credentials:
    merchant = crypto.new_rsa_key()
    merchant_serial = secrets.randbits(159) | (1 << 158)
    wechatpay = crypto.new_rsa_key()
    platform = crypto.new_rsa_key()
    platform_serial = secrets.randbits(159) | (1 << 158)
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    cert = crypto.self_signed_certificate(platform, "Tenpay.com Root CA", platform_serial, now, 5 * 365)
    mchid = mchid or "19" + crypto.random_token(8, "0123456789")
    return Credentials(
        mchid=mchid,
        appid=appid or "wx" + secrets.token_hex(8),
        apiv3_key=crypto.random_token(32),
        merchant_private_key=crypto.private_pem(merchant),
        merchant_public_key=crypto.public_pem(merchant.public_key()),
        merchant_serial_no=format(merchant_serial, "X"),
        wechatpay_public_key=crypto.public_pem(wechatpay.public_key()),
        wechatpay_public_key_id="PUB_KEY_ID_01" + mchid + now.strftime("%Y%m%d") + "0000000001",
        wechatpay_private_key=crypto.private_pem(wechatpay),
        platform_certificate=crypto.certificate_pem(cert),
        platform_serial_no=crypto.serial_hex(cert),
        platform_private_key=crypto.private_pem(platform),
    )


def load_or_create(path: Path, mchid: str | None = None, appid: str | None = None) -> KeyMaterial:
    if path.exists():
        credentials = Credentials(**json.loads(path.read_text()))
    else:
        credentials = generate(mchid, appid)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(credentials), indent=1))
        tmp.chmod(0o600)
        tmp.replace(path)
    return KeyMaterial(
        credentials=credentials,
        merchant_public=crypto.load_public(credentials.merchant_public_key),
        wechatpay_private=crypto.load_private(credentials.wechatpay_private_key),
        platform_private=crypto.load_private(credentials.platform_private_key),
    )
