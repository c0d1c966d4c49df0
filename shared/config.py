"""Settings: frozen, read from the environment here and nowhere else.

Each function builds only the sections it needs (the composition root asks lazily), and a missing required
setting stops start-up with a message naming it — never its value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shared.errors import ConfigError

CODE_ROOT = Path(__file__).resolve().parent.parent  # the repository, or a function's package root (/code)
DEFAULT_WECHATPAY_BASE_URL = "https://api.mch.weixin.qq.com"
_PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"missing required setting {name}")
    return value


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"setting {name} must be an integer") from exc
    if value < minimum:
        raise ConfigError(f"setting {name} must be at least {minimum}")
    return value


def _pem(value: str) -> str:
    """PEM text from an environment variable, where newlines are often written as literal \\n."""
    return value.replace("\\n", "\n")


@dataclass(frozen=True)
class AppSettings:
    """What every function needs: storage, catalogue, the server secret and order timings."""

    storage_url: str
    products_file: Path
    server_secret: bytes = field(repr=False)
    order_ttl_seconds: int
    query_after_seconds: int
    query_every_seconds: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AppSettings:
        secret = _required(env, "SERVER_SECRET")
        if len(secret) < 32:
            raise ConfigError("setting SERVER_SECRET must be at least 32 characters of random data")
        data_dir = Path(env.get("DATA_DIR", ".data"))
        products = Path(env.get("PRODUCTS_FILE", "config/products.json"))
        return cls(
            storage_url=env.get("STORAGE_URL", "").strip() or f"sqlite:///{data_dir / 'app.sqlite3'}",
            products_file=products if products.is_absolute() else CODE_ROOT / products,
            server_secret=secret.encode(),
            # WeChat bumps anything under a minute to a minute (reference §3); 15 min is a checkout's patience.
            order_ttl_seconds=_int(env, "ORDER_TTL_SECONDS", 900, minimum=60),
            query_after_seconds=_int(env, "ORDER_QUERY_AFTER_SECONDS", 10),
            query_every_seconds=_int(env, "ORDER_QUERY_EVERY_SECONDS", 5),
        )


@dataclass(frozen=True)
class WeChatPaySettings:
    """The merchant's WeChat Pay configuration: ids, keys, and where to call and be called."""

    mchid: str
    appid: str
    apiv3_key: str = field(repr=False)
    notify_url: str
    base_url: str
    merchant_serial_no: str | None
    merchant_private_key: str | None = field(repr=False)
    public_key_pem: str | None = field(repr=False)
    public_key_id: str | None
    platform_certificates: tuple[str, ...] = field(repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, outbound: bool) -> WeChatPaySettings:
        """`outbound`: the function calls WeChat (needs the merchant's signing key), else it only verifies."""
        apiv3_key = _required(env, "WECHATPAY_APIV3_KEY")
        if len(apiv3_key.encode()) != 32:
            raise ConfigError("setting WECHATPAY_APIV3_KEY must be the 32-character APIv3 key")
        public_key = env.get("WECHATPAY_PUBLIC_KEY", "").strip()
        public_key_id = env.get("WECHATPAY_PUBLIC_KEY_ID", "").strip()
        if bool(public_key) != bool(public_key_id):
            raise ConfigError("settings WECHATPAY_PUBLIC_KEY and WECHATPAY_PUBLIC_KEY_ID go together")
        certificates = tuple(_PEM_BLOCK.findall(_pem(env.get("WECHATPAY_PLATFORM_CERTIFICATES", ""))))
        if not public_key and not certificates and not outbound:
            raise ConfigError("missing required setting WECHATPAY_PUBLIC_KEY (or WECHATPAY_PLATFORM_CERTIFICATES)")
        return cls(
            mchid=_required(env, "WECHATPAY_MCHID"),
            appid=_required(env, "WECHATPAY_APPID"),
            apiv3_key=apiv3_key,
            notify_url=_required(env, "WECHATPAY_NOTIFY_URL") if outbound else env.get("WECHATPAY_NOTIFY_URL", ""),
            base_url=env.get("WECHATPAY_BASE_URL", "").strip().rstrip("/") or DEFAULT_WECHATPAY_BASE_URL,
            merchant_serial_no=_required(env, "WECHATPAY_MERCHANT_SERIAL_NO") if outbound else None,
            merchant_private_key=_pem(_required(env, "WECHATPAY_MERCHANT_PRIVATE_KEY")) if outbound else None,
            public_key_pem=_pem(public_key) or None,
            public_key_id=public_key_id or None,
            platform_certificates=certificates,
        )


@dataclass(frozen=True)
class LicensingSettings:
    """The Ed25519 licence-signing keys setting (parsed by shared.licensing.keys)."""

    signing_keys: str = field(repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LicensingSettings:
        return cls(signing_keys=_required(env, "LICENSE_SIGNING_KEYS"))
