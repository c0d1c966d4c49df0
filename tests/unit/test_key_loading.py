"""Keys are loaded once per instance and cheaply: PEM loaders reached without the `serialization` package, and the
merchant's own RSA key loaded without OpenSSL's consistency check — by us and, through one hook, by wechatpayv3."""

from __future__ import annotations

import base64

import pytest
import wechatpayv3.core
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from wechatpayv3 import WeChatPay, WeChatPayType

from shared.wechatpay import _pem
from shared.wechatpay._sdk_transport import trust_merchant_key
from shared.wechatpay.signing import load_private_key, sign_message
from tests.fixtures import keys


def test_the_fast_pem_loaders_are_cryptographys_own_functions() -> None:
    """If a cryptography upgrade moves them, this fails (and _pem falls back to the public API)."""
    assert _pem.load_pem_public_key is serialization.load_pem_public_key
    assert _pem.load_pem_private_key is serialization.load_pem_private_key


def test_the_merchant_key_loaded_without_the_consistency_check_signs_like_the_checked_one() -> None:
    pem = keys.text("merchant_private_key.pem")
    trusted = load_private_key(pem)
    checked = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(checked, rsa.RSAPrivateKey)
    assert trusted.private_numbers() == checked.private_numbers()
    signature = sign_message(trusted, b"message")
    checked.public_key().verify(base64.b64decode(signature), b"message", padding.PKCS1v15(), hashes.SHA256())


def test_a_merchant_key_without_armour_still_loads() -> None:
    body = "".join(line for line in keys.text("merchant_private_key.pem").splitlines() if "-----" not in line)
    assert isinstance(load_private_key(body), rsa.RSAPrivateKey)


def test_an_unreadable_merchant_key_is_refused() -> None:
    with pytest.raises(ValueError):
        load_private_key("not a key")


def sdk(private_key: str) -> WeChatPay:
    return WeChatPay(
        WeChatPayType.NATIVE,
        keys.MCHID,
        private_key,
        keys.MERCHANT_SERIAL_NO,
        keys.APPID,
        keys.apiv3_key(),
        public_key=keys.text("wechatpay_public_key.pem"),
        public_key_id=keys.PUBLIC_KEY_ID,
    )


def test_wechatpayv3_constructed_after_the_hook_holds_the_same_key_and_refuses_a_bad_one_as_before() -> None:
    assert hasattr(wechatpayv3.core, "load_private_key"), "the SDK-internals hook moved: re-check _sdk_transport"
    trust_merchant_key()
    client = sdk(keys.text("merchant_private_key.pem"))
    assert client._core._private_key.private_numbers() == keys.private_key("merchant").private_numbers()
    with pytest.raises(Exception, match="failed to load private key"):
        sdk("not a key")
