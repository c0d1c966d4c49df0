"""The commands on orders and licences, over the admin HTTP API."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any

from scripts.admin.api import AdminApi, ApiError, path_id
from scripts.admin.output import Output, compact, when, yuan


def cmd_orders(api: AdminApi, args: argparse.Namespace, output: Output) -> int:
    page = api.get("/v1/admin/orders", **filters(args), cursor=args.cursor, limit=args.limit)
    output.show(page, lambda: output.table("Orders", ORDER_COLUMNS, [_order_row(o) for o in page["orders"]]))
    if page.get("next_cursor") and not output.as_json:
        output.error(f"more: --cursor {page['next_cursor']}")
    return 0


def filters(args: argparse.Namespace) -> dict[str, Any]:
    """The order search filters that the command line was given (None: not given)."""
    names = ("status", "from", "to", "order_id", "transaction_id", "product_id")
    return {name: getattr(args, name, None) for name in names}


ORDER_COLUMNS = ("order_id", "status", "product", "amount ¥", "created (UTC+8)", "paid (UTC+8)", "transaction_id")


def _order_row(order: Mapping[str, Any]) -> list[Any]:
    return [
        order["order_id"],
        order["status"],
        order["product_id"],
        yuan(order["amount_fen"]),
        when(order["created_at"]),
        when(order.get("paid_at")),
        order.get("transaction_id"),
    ]


def cmd_order(api: AdminApi, args: argparse.Namespace, output: Output) -> int:
    detail = api.get(f"/v1/admin/orders/{path_id(args.order_id)}")
    output.show(detail, lambda: _order_detail(detail, output))
    return 0


def _order_detail(detail: Mapping[str, Any], output: Output) -> None:
    order, licence = detail["order"], detail.get("licence")
    output.fields(
        "Order", [*zip(ORDER_COLUMNS, _order_row(order), strict=True), *_extra(order, "closed_at", "expires_at")]
    )
    if licence:
        output.fields("Licence", _licence_fields(licence))
    refunds = detail.get("refunds") or []
    if refunds:
        output.table("Refunds", REFUND_COLUMNS, [_refund_row(r) for r in refunds])
    rows = [[when(e["at"]), e["kind"], compact(e.get("details"))] for e in detail.get("events") or []]
    output.table("Timeline", ("at (UTC+8)", "event", "details"), rows)


def _extra(record: Mapping[str, Any], *times: str) -> list[tuple[str, Any]]:
    return [(f"{name.removesuffix('_at')} (UTC+8)", when(record.get(name))) for name in times if record.get(name)]


def _licence_fields(licence: Mapping[str, Any]) -> list[tuple[str, Any]]:
    devices = f"{len(licence.get('activations') or [])} of {licence['max_devices']}"
    return [
        ("licence_id", licence["licence_id"]),
        ("status", licence["status"]),
        ("issued (UTC+8)", when(licence.get("issued_at"))),
        ("expires (UTC+8)", when(licence.get("expires_at"))),
        ("devices", devices),
        ("revoke reason", licence.get("revoke_reason")),
    ]


REFUND_COLUMNS = ("out_refund_no", "amount ¥", "status", "reason", "by", "requested (UTC+8)", "succeeded (UTC+8)")


def _refund_row(refund: Mapping[str, Any]) -> list[Any]:
    return [
        refund["out_refund_no"],
        yuan(refund["amount_fen"]),
        refund["status"],
        refund.get("reason"),
        refund.get("requested_by"),
        when(refund.get("requested_at")),
        when(refund.get("success_at")),
    ]


def cmd_refund(api: AdminApi, args: argparse.Namespace, output: Output) -> int:
    body = {"amount_fen": args.amount, "reason": args.reason, "request_key": args.request_key}
    refund = api.post(f"/v1/admin/orders/{path_id(args.order_id)}/refund", body)
    fields = [*zip(REFUND_COLUMNS, _refund_row(refund), strict=True), ("order status", refund.get("order_status"))]
    output.show(refund, lambda: output.fields("Refund", fields))
    return 0


def cmd_confirm_paid(api: AdminApi, args: argparse.Namespace, output: Output) -> int:
    results: list[dict[str, Any]] = []
    with output.progress(len(args.order_ids), "confirming") as advance:
        for order_id in args.order_ids:
            try:
                answer = api.post(f"/v1/admin/orders/{path_id(order_id)}/confirm-paid", {})
                results.append({"order_id": order_id, **answer})
            except ApiError as exc:
                if exc.status in (0, 401, 403, 429):  # the next ones would fail the same way
                    raise
                results.append({"order_id": order_id, **exc.as_json()})
            advance(1)
    rows = [[r["order_id"], *_confirmed(r)] for r in results]
    output.show(results, lambda: output.table("Confirm paid", ("order_id", "outcome", "status"), rows))
    return 1 if any("error" in r for r in results) else 0


def _confirmed(result: Mapping[str, Any]) -> list[Any]:
    if "error" in result:
        return [result["error"]["code"], result["error"]["message"]]
    return [result.get("outcome"), (result.get("order") or {}).get("status")]


def licence_command(action: str) -> Callable[[AdminApi, argparse.Namespace, Output], int]:
    def run(api: AdminApi, args: argparse.Namespace, output: Output) -> int:
        body = {"reason": args.reason} if action != "reset-devices" else {}
        answer = api.post(f"/v1/admin/licences/{path_id(args.licence_id)}/{action}", body)
        licence = answer.get("licence", answer)
        fields = _licence_fields(licence) + ([("devices removed", answer["removed"])] if "removed" in answer else [])
        output.show(answer, lambda: output.fields("Licence", fields))
        return 0

    return run
