"""Our side of WeChat Pay APIv3: signing, verification, AES-GCM, notification parsing and the PayGateway port.

Submodules are imported explicitly by their users; nothing is imported here so that the notify function's cold
start pays only for what it uses (design.md §9: it must not import wechatpayv3, requests or pydantic).
"""
