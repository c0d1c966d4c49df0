"""Settings: frozen, read from the environment here and nowhere else.

Each function builds only the sections it needs (the composition root asks lazily), and a missing required
setting stops start-up with a message naming it — never its value. A value may name a secret instead of holding it
(`kms://...`, `ssm://...`: see shared/secrets): it is fetched on first read, once per instance.

Every URL the functions call or give out (WECHATPAY_BASE_URL, WECHATPAY_NOTIFY_URL, BACKUP_S3_ENDPOINT) must be
`https://`. Only the local stack (scripts/stack.py, which `make dev` and the tests run) sets `LOCAL_STACK=1`, which
also allows `http://` (its emulator and gateway listen on plain HTTP on 127.0.0.1); the first settings read of such
an instance logs the warning `insecure_local_stack`. A deployment never sets it (the dry run refuses a template that
does).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from shared.errors import ConfigError
from shared.secrets import resolved_env

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


LOCAL_STACK = "LOCAL_STACK"
NOTIFY_URL_MAX_LENGTH = 255  # WeChat's notify_url limit (wechatpay-v3-reference §3)
_warned_local_stack = False


def local_stack(env: Mapping[str, str]) -> bool:
    """True only in the local stack (`LOCAL_STACK=1`, set by scripts/stack.py): `http://` URLs are then allowed.
    The first call that finds it set logs one warning per process, so that a deployment that has it says so."""
    global _warned_local_stack
    raw = env.get(LOCAL_STACK, "").strip()
    if raw in ("", "0"):
        return False
    if raw != "1":
        raise ConfigError(f"setting {LOCAL_STACK} must be 1 (the local stack only) or unset")
    if not _warned_local_stack:
        _warned_local_stack = True
        from shared import log

        log.warning("insecure_local_stack", message="http:// allowed: local stack only")
    return True


def https_url(
    env: Mapping[str, str], name: str, value: str, *, what: str = "an https:// URL", bare: bool = True
) -> str:
    """`value` checked as an absolute https:// URL with a host and no credentials (http:// too in the local stack);
    `bare` (default): no query string or fragment either. Messages name the setting, never its value: a URL may hold
    credentials."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError on a port that is not a number)
    except ValueError:
        raise ConfigError(f"setting {name} must be {what}") from None
    scheme = parts.scheme.lower()
    if scheme == "http" and not local_stack(env):
        raise ConfigError(f"setting {name} must be an https:// URL (http:// only in the local stack, {LOCAL_STACK}=1)")
    if scheme not in ("https", "http") or not parts.hostname or any(c.isspace() for c in value):
        raise ConfigError(f"setting {name} must be {what}")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(f"setting {name} must not carry credentials (user:password@)")
    if bare and (parts.query or parts.fragment or "?" in value or "#" in value):
        raise ConfigError(f"setting {name} must have no query string or fragment")
    return value


def notify_url(env: Mapping[str, str], name: str = "WECHATPAY_NOTIFY_URL") -> str:
    """WeChat's rules for a notify_url (wechatpay-v3-reference §3): absolute, https://, reachable from the internet
    without parameters (no query string, no fragment), at most 255 characters. Empty stays empty: the notify
    function reads the setting without needing it."""
    value = env.get(name, "").strip()
    if not value:
        return ""
    https_url(env, name, value, what="an https:// URL with a host (WeChat's notify_url rules)", bare=True)
    if len(value) > NOTIFY_URL_MAX_LENGTH:
        raise ConfigError(f"setting {name} must be at most {NOTIFY_URL_MAX_LENGTH} characters")
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
        env = resolved_env(env)
        local_stack(env)  # every function reads these first: a local stack says so at once
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
        env = resolved_env(env)
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
        notify = notify_url(env)
        if outbound and not notify:
            raise ConfigError("missing required setting WECHATPAY_NOTIFY_URL")
        return cls(
            mchid=_required(env, "WECHATPAY_MCHID"),
            appid=_required(env, "WECHATPAY_APPID"),
            apiv3_key=apiv3_key,
            notify_url=notify,
            base_url=_base_url(env),
            merchant_serial_no=_required(env, "WECHATPAY_MERCHANT_SERIAL_NO") if outbound else None,
            merchant_private_key=_pem(_required(env, "WECHATPAY_MERCHANT_PRIVATE_KEY")) if outbound else None,
            public_key_pem=_pem(public_key) or None,
            public_key_id=public_key_id or None,
            platform_certificates=certificates,
        )


def _base_url(env: Mapping[str, str]) -> str:
    value = env.get("WECHATPAY_BASE_URL", "").strip().rstrip("/")
    if not value:
        return DEFAULT_WECHATPAY_BASE_URL
    return https_url(env, "WECHATPAY_BASE_URL", value, what="an https:// URL (WeChat Pay's API host)", bare=True)


@dataclass(frozen=True)
class LicensingSettings:
    """The Ed25519 licence-signing keys setting (parsed by shared.licensing.keys)."""

    signing_keys: str = field(repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LicensingSettings:
        env = resolved_env(env)
        return cls(signing_keys=_required(env, "LICENSE_SIGNING_KEYS"))


BACKUP_ADDRESSING_STYLES = ("virtual", "path")
_BACKUP_KEY = re.compile(r"[A-Za-z0-9_-]{43}=?")  # 32 bytes, base64url, padding optional
# The credentials each cloud injects for the function's role (serverless-reference.md): id, secret, session token.
_ROLE_CREDENTIALS = (
    ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"),
    ("TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN"),
)


@dataclass(frozen=True)
class BackupSettings:
    """Where backups go (an S3-compatible bucket: Alibaba OSS, Tencent COS), with which credentials, under which
    encryption key; and the storage a restore writes into."""

    endpoint: str
    bucket: str
    prefix: str
    region: str
    addressing_style: str
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(repr=False)
    encryption_key: bytes = field(repr=False)
    storage_url: str = field(repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> BackupSettings:
        env = resolved_env(env)
        endpoint = _required(env, "BACKUP_S3_ENDPOINT").rstrip("/")
        https_url(
            env, "BACKUP_S3_ENDPOINT", endpoint, what="an https:// URL (the bucket's S3-compatible endpoint)", bare=True
        )
        style = env.get("BACKUP_S3_ADDRESSING_STYLE", "").strip().lower() or "virtual"
        if style not in BACKUP_ADDRESSING_STYLES:
            raise ConfigError("setting BACKUP_S3_ADDRESSING_STYLE must be virtual or path")
        key_id, secret, token = _backup_credentials(env)
        data_dir = Path(env.get("DATA_DIR", ".data"))
        return cls(
            endpoint=endpoint,
            bucket=_required(env, "BACKUP_S3_BUCKET"),
            prefix=env.get("BACKUP_S3_PREFIX", "").strip().strip("/") or "backups",
            region=_required(env, "BACKUP_S3_REGION"),
            addressing_style=style,
            access_key_id=key_id,
            secret_access_key=secret,
            session_token=token,
            encryption_key=_backup_key(_required(env, "BACKUP_ENCRYPTION_KEY")),
            storage_url=env.get("STORAGE_URL", "").strip() or f"sqlite:///{data_dir / 'app.sqlite3'}",
        )


def _backup_credentials(env: Mapping[str, str]) -> tuple[str, str, str | None]:
    """BACKUP_ACCESS_KEY_ID / BACKUP_SECRET_ACCESS_KEY when set, else the function role's credentials."""
    key_id = env.get("BACKUP_ACCESS_KEY_ID", "").strip()
    secret = env.get("BACKUP_SECRET_ACCESS_KEY", "").strip()
    if bool(key_id) != bool(secret):
        raise ConfigError("settings BACKUP_ACCESS_KEY_ID and BACKUP_SECRET_ACCESS_KEY go together")
    if key_id:
        return key_id, secret, None
    for id_name, secret_name, token_name in _ROLE_CREDENTIALS:
        if env.get(id_name, "").strip() and env.get(secret_name, "").strip():
            return env[id_name].strip(), env[secret_name].strip(), env.get(token_name, "").strip() or None
    raise ConfigError("missing required setting BACKUP_ACCESS_KEY_ID (or the function role's credentials)")


def _backup_key(text: str) -> bytes:
    import base64

    if not _BACKUP_KEY.fullmatch(text):
        raise ConfigError("setting BACKUP_ENCRYPTION_KEY must be 32 random bytes, base64url-encoded")
    return base64.urlsafe_b64decode(text.rstrip("=") + "=")


@dataclass(frozen=True)
class LifecycleSettings:
    """Refunds, timer jobs and retention: what happens to an order after its purchase."""

    partial_refund_policy: str  # "keep" | "revoke": what a partial refund does to the licence
    job_batch_size: int  # the most orders or refunds one job handles per run (the rest wait for the next run)
    job_lease_seconds: int  # how long a job's lease holds if the run dies without releasing it
    reconcile_after_seconds: int  # a PENDING order is first asked about at WeChat at this age
    reconcile_max_interval_seconds: int  # ...then again at growing intervals, at most this long
    refund_resend_after_seconds: int  # a refund WeChat never heard of is sent again after this long
    idempotency_retention_days: int
    notification_retention_days: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LifecycleSettings:
        env = resolved_env(env)
        policy = env.get("PARTIAL_REFUND_POLICY", "").strip().lower() or "keep"
        if policy not in ("keep", "revoke"):
            raise ConfigError("setting PARTIAL_REFUND_POLICY must be keep or revoke")
        return cls(
            partial_refund_policy=policy,
            job_batch_size=_int(env, "JOB_BATCH_SIZE", 100, minimum=1),
            job_lease_seconds=_int(env, "JOB_LEASE_SECONDS", 300, minimum=10),
            reconcile_after_seconds=_int(env, "RECONCILE_AFTER_SECONDS", 60),
            reconcile_max_interval_seconds=_int(env, "RECONCILE_MAX_INTERVAL_SECONDS", 1800, minimum=1),
            # Longer than a refund call can take with its retries (3 attempts of 3 + 10 s), so never while the
            # operator's own request may still be waiting for WeChat's answer.
            refund_resend_after_seconds=_int(env, "REFUND_RESEND_AFTER_SECONDS", 120, minimum=60),
            # An Idempotency-Key only replays a checkout's retries (an order lives 15 minutes).
            idempotency_retention_days=_int(env, "RETENTION_IDEMPOTENCY_DAYS", 7, minimum=1),
            # WeChat retries a notification for about 24 h: its id must be remembered at least that long.
            notification_retention_days=_int(env, "RETENTION_NOTIFICATIONS_DAYS", 30, minimum=2),
        )


@dataclass(frozen=True)
class AdminSettings:
    """The admin API: how many failed authentications an address may make per window, and the origins (if any)
    allowed to call it from a browser page other than the dashboard's own."""

    auth_max_failures: int
    auth_window_seconds: int
    allowed_origins: frozenset[str]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AdminSettings:
        env = resolved_env(env)
        origins = frozenset(
            o.strip().rstrip("/").lower() for o in env.get("ADMIN_ALLOWED_ORIGINS", "").split(",") if o.strip()
        )
        for origin in origins:
            if not _HTTPS_ORIGIN.fullmatch(origin):
                raise ConfigError("setting ADMIN_ALLOWED_ORIGINS must list https:// origins (scheme and host only)")
        return cls(
            auth_max_failures=_int(env, "ADMIN_AUTH_MAX_FAILURES", 10, minimum=1),
            auth_window_seconds=_int(env, "ADMIN_AUTH_WINDOW_SECONDS", 300, minimum=1),
            allowed_origins=origins,
        )


_HTTPS_ORIGIN = re.compile(r"https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?")


_RATE = re.compile(r"\s*(\d{1,9})\s*/\s*(\d{1,9})\s*")


def _rate(env: Mapping[str, str], name: str, default: tuple[int, int]) -> tuple[int, int]:
    """`N/SECONDS` (N requests per window of SECONDS); `0` or `off` turns the limit off (count 0)."""
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("0", "off"):
        return 0, 1
    match = _RATE.fullmatch(raw)
    if match is None or int(match.group(2)) < 1:
        raise ConfigError(f"setting {name} must read N/SECONDS (e.g. 30/600), 0 or off")
    return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True)
class RateLimitSettings:
    """Fixed-window request limits, counted in storage so that they hold across function instances. Per address
    limits are generous: many buyers in China share one address behind carrier NAT; per install ones are tight."""

    orders_per_ip: tuple[int, int]
    orders_per_install: tuple[int, int]
    activations_per_ip: tuple[int, int]
    activations_per_install: tuple[int, int]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RateLimitSettings:
        env = resolved_env(env)
        return cls(
            orders_per_ip=_rate(env, "RATE_LIMIT_ORDERS_PER_IP", (120, 600)),
            orders_per_install=_rate(env, "RATE_LIMIT_ORDERS_PER_INSTALL", (20, 600)),
            activations_per_ip=_rate(env, "RATE_LIMIT_ACTIVATIONS_PER_IP", (120, 600)),
            activations_per_install=_rate(env, "RATE_LIMIT_ACTIVATIONS_PER_INSTALL", (30, 600)),
        )
