"""The third-party wechatpayv3 SDK configured with the emulator's test merchant, unmodified but for its host."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wechatpayv3 import WeChatPay, WeChatPayType


def sdk_client(
    merchant: dict[str, str],
    base_url: str | None,
    *,
    cert_dir: Path | None = None,
    timeout: tuple[float, float] = (3, 10),
) -> WeChatPay:
    """Public-key mode, or certificate mode when `cert_dir` is given. `base_url=None` keeps WeChat's real host
    (the SDK is then only used offline, e.g. for callback())."""
    common: dict[str, Any] = {
        "wechatpay_type": WeChatPayType.NATIVE,
        "mchid": merchant["mchid"],
        "private_key": merchant["merchant_private_key"],
        "cert_serial_no": merchant["merchant_serial_no"],
        "appid": merchant["appid"],
        "apiv3_key": merchant["apiv3_key"],
        "timeout": timeout,
    }
    if cert_dir is None:
        client = WeChatPay(
            **common, public_key=merchant["wechatpay_public_key"], public_key_id=merchant["wechatpay_public_key_id"]
        )
    else:
        # The SDK fetches certificates from its hard-coded host at construction: seed its cert_dir instead.
        cert_dir.mkdir(parents=True, exist_ok=True)
        (cert_dir / f"{merchant['platform_serial_no']}.pem").write_text(merchant["platform_certificate"])
        client = WeChatPay(**common, cert_dir=str(cert_dir))
    if base_url is not None:
        client._core._gate_way = base_url
    return client
