"""The Native payment QR code as SVG, for the extension to show as is (qrcode's pure-Python SVG path image)."""

from __future__ import annotations

import io


def qr_svg(data: str) -> str:
    if not data:
        return ""
    import qrcode  # ~20 ms: only create_order pays for it
    from qrcode.image.svg import SvgPathImage

    image = qrcode.make(data, image_factory=SvgPathImage, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()
