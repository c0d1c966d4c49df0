"""Platform-certificate mode (reference §2): the signed `GET /v3/certificates` request, its answer checked,
and the cert_dir cache that wechatpayv3 reads at construction. No network here: callers do the HTTP.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from shared.wechatpay.aead import decrypt_certificates
from shared.wechatpay.constants import (
    HEADER_ACCEPT,
    HEADER_AUTHORIZATION,
    HEADER_USER_AGENT,
    JSON_CONTENT_TYPE,
    PATH_CERTIFICATES,
)
from shared.wechatpay.signing import authorization_header, new_nonce
from shared.wechatpay.verify import KeyRing, certificate_serial, is_valid_at, verify_signed_message

USER_AGENT = "wxpay-licensing/0.1 (+certificates)"


def certificates_request_headers(
    *, mchid: str, serial_no: str, private_key: rsa.RSAPrivateKey, now: int
) -> dict[str, str]:
    """Headers of the signed `GET /v3/certificates` (Accept and User-Agent are required, reference §1)."""
    authorization = authorization_header(
        mchid=mchid,
        serial_no=serial_no,
        private_key=private_key,
        method="GET",
        canonical_url=PATH_CERTIFICATES,
        body=b"",
        timestamp=now,
        nonce=new_nonce(),
    )
    return {HEADER_AUTHORIZATION: authorization, HEADER_ACCEPT: JSON_CONTENT_TYPE, HEADER_USER_AGENT: USER_AGENT}


def valid_at(certificates: Iterable[x509.Certificate], now: int) -> list[x509.Certificate]:
    """The certificates whose validity period contains `now` (Unix seconds)."""
    return [certificate for certificate in certificates if is_valid_at(certificate, now)]


def certificates_from_answer(
    apiv3_key: bytes, headers: Mapping[str, str], body: bytes, now: int
) -> list[x509.Certificate]:
    """The currently valid certificates of a 200 answer, after checking that one of them signed it.

    The AEAD seal under the APIv3 key is what makes the list trustworthy; the signature check on top is
    wechatpay-go's bootstrap rule and catches an answer altered in transit (reference §2, D15).
    """
    certificates = valid_at(decrypt_certificates(apiv3_key, body), now)
    verify_signed_message(headers, body, KeyRing(certificates=tuple(certificates)), now)
    return certificates


def default_cert_dir(mchid: str, base_url: str) -> str:
    """A per-merchant, per-host folder under the writable temp dir (the only writable path on FC/SCF)."""
    host = base_url.split("://", 1)[-1].replace(":", "_").replace("/", "_")
    return os.path.join(tempfile.gettempdir(), f"wechatpay-certs-{mchid}-{host}")


def read_cert_dir(cert_dir: str, now: int) -> list[x509.Certificate]:
    """The currently valid certificates cached in `cert_dir` (unreadable files are skipped)."""
    folder = Path(cert_dir)
    if not folder.is_dir():
        return []
    loaded = []
    for path in sorted(folder.glob("*.pem")):
        try:
            loaded.append(x509.load_pem_x509_certificate(path.read_bytes()))
        except (OSError, ValueError):
            continue
    return valid_at(loaded, now)


def write_cert_dir(cert_dir: str, certificates: Iterable[x509.Certificate]) -> None:
    """Make `cert_dir` hold exactly `certificates`, as `<SERIAL>.pem` files the way wechatpayv3 names them."""
    folder = Path(cert_dir)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    keep = set()
    for certificate in certificates:
        name = f"{certificate_serial(certificate)}.pem"
        keep.add(name)
        # Write then rename, so a concurrent reader never sees half a certificate.
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as handle:
            handle.write(certificate.public_bytes(Encoding.PEM))
        os.replace(handle.name, folder / name)
    for stale in folder.glob("*.pem"):
        if stale.name not in keep:
            stale.unlink(missing_ok=True)
