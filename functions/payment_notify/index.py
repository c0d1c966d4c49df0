"""payment_notify: `POST /v1/notify/wechatpay`, WeChat Pay's signed, encrypted notifications (reference §6).

Imports neither wechatpayv3 nor requests: WeChat waits 5 s for an answer, and the cold start counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.bootstrap import container
from shared.http.app import Router, serve
from shared.http.request import Request, Response
from shared.services.notifications import NotificationRejected


def notify(request: Request, params: Mapping[str, str]) -> Response:
    # Duplicated Wechatpay-* headers are ambiguous: which signature is WeChat's? Refuse, WeChat retries.
    for name in ("wechatpay-signature", "wechatpay-serial", "wechatpay-timestamp", "wechatpay-nonce"):
        if request.headers.duplicated(name):
            from shared.services.notifications import rejected  # the service's module, loaded on this rare path

            rejected("duplicated_header", header=name)
            container().security_events.record(
                "notify_rejected", reason="duplicated_header", source_ip=request.source_ip
            )
            return Response.json(400, {"code": "FAIL", "message": f"duplicated {name} header"})
    c = container()
    try:
        c.notifications.handle(request.headers, request.body)
    except NotificationRejected as exc:
        from shared.services.notifications import rejection_reason

        reason = rejection_reason(exc.__cause__) if isinstance(exc.__cause__, Exception) else "malformed"
        c.security_events.record("notify_rejected", reason=reason, source_ip=request.source_ip)
        raise
    return Response.empty(204)


router = Router()
router.add("POST", "/v1/notify/wechatpay", notify, max_body=65536, wechat_errors=True)
router.add_health(lambda: container().storage.ping())


def handler(event: Any, context: Any) -> Any:
    return serve(event, context, router, function="payment_notify")


main_handler = handler
