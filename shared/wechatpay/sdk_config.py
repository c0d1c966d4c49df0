"""Settings of the wechatpayv3-backed gateway (design §9): one frozen object, validated at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.wechatpay.aead import apiv3_key_bytes
from shared.wechatpay.certificates import default_cert_dir
from shared.wechatpay.constants import DEFAULT_BASE_URL, PUBLIC_KEY_ID_PREFIX


@dataclass(frozen=True)
class GatewayConfig:
    """A direct merchant's credentials and the client's limits. Secrets are kept out of repr()."""

    mchid: str
    appid: str
    private_key_pem: str = field(repr=False)
    merchant_serial_no: str
    apiv3_key: str = field(repr=False)
    notify_url: str
    base_url: str = DEFAULT_BASE_URL
    # The SDK's default is no timeout at all; a serverless call must never wait for ever (reference §11).
    timeout: tuple[float, float] = (3.0, 10.0)
    max_attempts: int = 3
    backoff_seconds: float = 0.2
    # Public-key mode (preferred: no network at construction) when both are set, else certificate mode.
    public_key_pem: str | None = field(default=None, repr=False)
    public_key_id: str | None = None
    cert_dir: str | None = None

    def __post_init__(self) -> None:
        apiv3_key_bytes(self.apiv3_key)
        if (self.public_key_pem is None) != (self.public_key_id is None):
            raise ValueError("public_key_pem and public_key_id must be given together")
        if self.public_key_id is not None and not self.public_key_id.startswith(PUBLIC_KEY_ID_PREFIX):
            raise ValueError(f"public_key_id must start with {PUBLIC_KEY_ID_PREFIX}")
        if not self.base_url.startswith(("https://", "http://")) or self.base_url.endswith("/"):
            raise ValueError("base_url must be scheme://host[:port] without a trailing slash")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    @property
    def public_key_mode(self) -> bool:
        """True when answers are verified with the WeChat Pay public key rather than platform certificates."""
        return self.public_key_id is not None

    def certificate_dir(self) -> str:
        """Where platform certificates are cached for the SDK (certificate mode only)."""
        return self.cert_dir or default_cert_dir(self.mchid, self.base_url)
