"""`python -m emulator`: run the emulator, or drive a running one (in the spirit of `stripe trigger`)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import urllib.error
import urllib.request
from typing import Any


def _serve(args: argparse.Namespace) -> int:
    from emulator.app import Emulator, Settings
    from emulator.server import EmulatorServer

    settings = Settings.from_env()
    server = EmulatorServer(Emulator(settings), (settings.host, settings.port))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    credentials = server.emulator.keys.credentials
    print(
        f"WeChat Pay APIv3 emulator on {server.base_url}  (mode {server.emulator.signer.mode},"
        f" time factor {settings.time_factor})",
        flush=True,
    )
    print(f"  mchid {credentials.mchid}  appid {credentials.appid}", flush=True)
    print(f"  credentials: {server.base_url}/_emulator/merchant   phone: {server.base_url}/phone", flush=True)
    server.emulator.start_worker()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.emulator.close()
    return 0


def _call(args: argparse.Namespace, method: str, path: str, body: dict[str, Any] | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    if not args.url.startswith(("http://", "https://")):
        print(f"--url must be an http(s) URL, not {args.url!r}", file=sys.stderr)
        return 2
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        args.url.rstrip("/") + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=60) as response:
            payload = response.read()
            status = 0
    except urllib.error.HTTPError as exc:
        payload, status = exc.read(), 1
    except OSError as exc:
        print(f"emulator not reachable at {args.url}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(json.loads(payload), ensure_ascii=False, indent=2))
    return status


def _delivery(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if args.hold:
        options["mode"] = "hold"
    if args.drop:
        options["mode"] = "drop"
    if args.delay:
        options["delay"] = args.delay
    if args.signtest:
        options["signtest"] = True
    if args.duplicates:
        options["duplicates"] = args.duplicates
    return options


def _pay(args: argparse.Namespace) -> int:
    key = "code_url" if args.order.startswith("weixin://") else "out_trade_no"
    body = {key: args.order, **_delivery(args)}
    if args.openid:
        body["openid"] = args.openid
    return _call(args, "POST", "/_emulator/pay", body)


def _fault(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"endpoint": args.endpoint, "action": args.action, "count": args.count}
    for name in ("status", "code", "delay"):
        if getattr(args, name) is not None:
            body[name] = getattr(args, name)
    if args.execute is not None:
        body["execute"] = args.execute == "yes"
    return _call(args, "POST", "/_emulator/faults", body)


def _delivery_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hold", action="store_true", help="keep the notification until `release`")
    parser.add_argument("--drop", action="store_true", help="never deliver it (until `release`)")
    parser.add_argument("--delay", type=float, help="deliver it this many seconds late")
    parser.add_argument("--signtest", action="store_true", help="send a WECHATPAY/SIGNTEST/ probe first")
    parser.add_argument("--duplicates", type=int, help="also send this many duplicates at once")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    default_url = f"http://127.0.0.1:{os.environ.get('EMULATOR_PORT', '8090')}"
    parser.add_argument("--url", default=os.environ.get("EMULATOR_URL", default_url), help="a running emulator")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the emulator (env: EMULATOR_PORT, DATA_DIR, EMULATOR_SIGNING_MODE, ...)")
    sub.add_parser("merchant", help="the test merchant's credentials")
    pay = sub.add_parser("pay", help="pay an order as a user would (out_trade_no or code_url)")
    pay.add_argument("order")
    pay.add_argument("--openid")
    _delivery_flags(pay)
    notes = sub.add_parser("notifications", help="notifications and every delivery attempt")
    notes.add_argument("--order", help="only this out_trade_no")
    for name, text in (("resend", "deliver a notification once more"), ("signtest", "send a SIGNTEST probe")):
        sub.add_parser(name, help=text).add_argument("id")
    duplicate = sub.add_parser("duplicate", help="deliver a notification several times at once")
    duplicate.add_argument("id")
    duplicate.add_argument("--count", type=int, default=3)
    release = sub.add_parser("release", help="deliver held notifications now, in the order given")
    release.add_argument("ids", nargs="+")
    outcome = sub.add_parser("refund-outcome", help="make the next refund(s) end ABNORMAL or CLOSED")
    outcome.add_argument("status", choices=("SUCCESS", "ABNORMAL", "CLOSED"))
    outcome.add_argument("--count", type=int, default=1)
    outcome.add_argument("--drop", action="store_true", help="and never deliver their notifications")
    settle = sub.add_parser("settle", help="settle a PROCESSING refund now")
    settle.add_argument("out_refund_no")
    settle.add_argument("--status", choices=("SUCCESS", "ABNORMAL", "CLOSED"))
    race = sub.add_parser("pay-on-close", help="the close/pay race: the next close of this order pays it first")
    race.add_argument("out_trade_no")
    fault = sub.add_parser("fault", help="inject a fault on an endpoint")
    fault.add_argument("endpoint")
    fault.add_argument("action", choices=("error", "timeout", "slow", "drop", "bad_signature", "unsigned"))
    fault.add_argument("--status", type=int)
    fault.add_argument("--code")
    fault.add_argument("--delay", type=float)
    fault.add_argument("--count", type=int, default=1)
    fault.add_argument("--execute", choices=("yes", "no"))
    faults = sub.add_parser("faults", help="list armed faults")
    faults.add_argument("--clear", action="store_true")
    clock = sub.add_parser("clock", help="advance business time (order expiry, bill days)")
    clock.add_argument("--advance", type=float, default=0.0, help="seconds")
    mode = sub.add_parser("mode", help="switch signing mode")
    mode.add_argument("mode", choices=("public_key", "certificate", "transition"))
    sub.add_parser("reset", help="forget every order, refund, notification and fault (keys are kept)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    simple: dict[str, tuple[str, str, dict[str, Any] | None]] = {
        "merchant": ("GET", "/_emulator/merchant", None),
        "reset": ("POST", "/_emulator/reset", {}),
        "notifications": (
            "GET",
            "/_emulator/notifications" + (f"?out_trade_no={args.order}" if getattr(args, "order", None) else ""),
            None,
        ),
    }
    if args.command == "serve":
        return _serve(args)
    if args.command in simple:
        return _call(args, *simple[args.command])
    if args.command == "pay":
        return _pay(args)
    if args.command == "fault":
        return _fault(args)
    if args.command in ("resend", "signtest"):
        return _call(args, "POST", f"/_emulator/notifications/{args.id}/{args.command}", {})
    if args.command == "duplicate":
        return _call(args, "POST", f"/_emulator/notifications/{args.id}/duplicate", {"count": args.count})
    if args.command == "release":
        return _call(args, "POST", "/_emulator/notifications/release", {"ids": args.ids})
    if args.command == "refund-outcome":
        body = {"status": args.status, "count": args.count, **({"mode": "drop"} if args.drop else {})}
        return _call(args, "POST", "/_emulator/refunds/outcome", body)
    if args.command == "settle":
        body = {"status": args.status} if args.status else {}
        return _call(args, "POST", f"/_emulator/refunds/{args.out_refund_no}/settle", body)
    if args.command == "pay-on-close":
        return _call(args, "POST", f"/_emulator/orders/{args.out_trade_no}/pay-on-close", {})
    if args.command == "faults":
        return _call(args, "DELETE" if args.clear else "GET", "/_emulator/faults", None)
    if args.command == "clock":
        return _call(args, "POST", "/_emulator/clock", {"advance_seconds": args.advance})
    return _call(args, "POST", "/_emulator/config", {"signing_mode": args.mode})
