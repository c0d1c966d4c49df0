"""A fresh process standing in for one function instance: `python -I scripts/bench/child.py SPEC.json`.

Standard library only until the measured import: `-I` keeps the user's environment and the script's folder off
sys.path, and the code root is put first on it, as the FC / SCF runtimes put /code (/var/user) there.

Modes: `startup` (the interpreter alone), `handler` (import functions.<name>.index, serve the first event, then
the warm ones), `eager` (the same after importing and building everything up front), `sdk` (wechatpayv3's
`callback()` on the same notifications), `parse` (our own verify + decrypt of them, its like-for-like
counterpart) and `floor` (the unavoidable primitives, from scripts.bench.floors).
The answer is a JSON file; the parent reads this process's peak RSS from wait4.
"""

from __future__ import annotations

import sys
import time

TYPE_CHECKING = False  # not `typing`: nothing is imported before the measured import that it might not need
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Answer = dict[str, Any]
    Served = tuple[dict[str, Any], list[float]]

STARTED = time.monotonic()
FIRST_CPU: float | None = None  # CPU seconds of this process when the first answer was ready
HEAVY = (
    "requests",
    "urllib3",
    "wechatpayv3",
    "qrcode",
    "pydantic",
    "tablestore",
    "charset_normalizer",
    "idna",
    "boto3",
)


class Context:
    """The few attributes of FC's / SCF's context object the functions read."""

    def __init__(self, function: str) -> None:
        self.request_id = "bench-" + function
        self.function_name = function


def _lines(path: str | None) -> list[bytes]:
    if not path:
        return []
    with open(path, "rb") as handle:
        return [line.rstrip(b"\n") for line in handle if line.strip()]


def _serve(call: Callable[[bytes], Answer], first: bytes, warm: list[bytes]) -> tuple[float, list[Answer], list[float]]:
    answer = call(first)
    first_done = time.monotonic()
    global FIRST_CPU
    FIRST_CPU = time.process_time()
    statuses, latencies = [answer], []
    for event in warm:
        begin = time.perf_counter()
        answer = call(event)
        latencies.append((time.perf_counter() - begin) * 1000)
        statuses.append(answer)
    return first_done, statuses, latencies


def _handler(spec: dict[str, Any]) -> Served:
    import importlib

    context = Context(spec["function"])
    first = _lines(spec["first"])[0]
    module = importlib.import_module("functions." + spec["function"] + ".index")
    imported = time.monotonic()
    first_done, answers, latencies = _serve(
        lambda event: module.handler(event, context), first, _lines(spec.get("warm"))
    )
    return {"imported": imported, "first_done": first_done, "statuses": [a["statusCode"] for a in answers]}, latencies


def _eager(spec: dict[str, Any]) -> Served:
    """What a handler looks like that imports and builds everything at module level."""
    import qrcode.image.svg  # noqa: F401
    import requests  # noqa: F401
    import wechatpayv3  # noqa: F401

    import shared.storage.sqlite
    import shared.wechatpay.sdk_gateway  # noqa: F401
    from shared import bootstrap

    built = bootstrap.container()
    for name in ("storage", "catalogue", "signing_keys", "licences", "payments", "notifications", "purchases"):
        getattr(built, name)
    built.gateway()
    for name in ("status", "history"):
        getattr(built, name)
    return _handler(spec)


def _sdk(spec: dict[str, Any]) -> Served:
    """wechatpayv3's own verification + decryption of the same notifications (no timestamp window, no probes)."""
    import json
    import os

    from wechatpayv3 import WeChatPay, WeChatPayType

    env = os.environ
    client = WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE,
        mchid=env["WECHATPAY_MCHID"],
        private_key=env["WECHATPAY_MERCHANT_PRIVATE_KEY"],
        cert_serial_no=env["WECHATPAY_MERCHANT_SERIAL_NO"],
        appid=env["WECHATPAY_APPID"],
        apiv3_key=env["WECHATPAY_APIV3_KEY"],
        notify_url=env["WECHATPAY_NOTIFY_URL"],
        public_key=env["WECHATPAY_PUBLIC_KEY"],
        public_key_id=env["WECHATPAY_PUBLIC_KEY_ID"],
    )
    imported = time.monotonic()

    def callback(event: bytes) -> Answer:
        data = json.loads(event)
        result = client.callback(data["headers"], data["body"])
        ok = result is not None and result["resource"]["trade_state"] == "SUCCESS"
        return {"statusCode": 204 if ok else 401}

    first_done, answers, latencies = _serve(callback, _lines(spec["first"])[0], _lines(spec.get("warm")))
    return {"imported": imported, "first_done": first_done, "statuses": [a["statusCode"] for a in answers]}, latencies


def _parse(spec: dict[str, Any]) -> Served:
    """Our own verification + decryption of the same notifications (shared.wechatpay.notification), the
    like-for-like counterpart of `_sdk`: same keys from the environment, no storage."""
    import json
    import os

    from shared.config import WeChatPaySettings
    from shared.wechatpay.notification import parse_notification
    from shared.wechatpay.verify import KeyRing

    settings = WeChatPaySettings.from_env(os.environ, outbound=False)
    keyring = KeyRing.from_pem(public_key_pem=settings.public_key_pem, public_key_id=settings.public_key_id)
    apiv3_key = settings.apiv3_key.encode()
    imported = time.monotonic()

    def parse(event: bytes) -> Answer:
        data = json.loads(event)
        notification = parse_notification(data["headers"], data["body"].encode(), keyring, apiv3_key, int(time.time()))
        return {"statusCode": 204 if notification.event_type == "TRANSACTION.SUCCESS" else 400}

    first_done, answers, latencies = _serve(parse, _lines(spec["first"])[0], _lines(spec.get("warm")))
    return {"imported": imported, "first_done": first_done, "statuses": [a["statusCode"] for a in answers]}, latencies


def _floor(spec: dict[str, Any]) -> Served:
    from scripts.bench import floors

    latencies = floors.run(spec["function"], _lines(spec["warm"]))
    return {"statuses": []}, latencies


def _peak_rss_kb() -> int | None:
    """VmHWM: the peak RSS of this program. wait4's ru_maxrss would also count the parent's pages at fork time."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def main() -> None:
    import json

    with open(sys.argv[1], "rb") as handle:
        spec = json.loads(handle.read())
    sys.path.insert(0, spec["code_root"])
    mode = spec["mode"]
    result: dict[str, Any] = {"statuses": []}
    latencies: list[float] = []
    if mode != "startup":
        result, latencies = {"handler": _handler, "eager": _eager, "sdk": _sdk, "parse": _parse, "floor": _floor}[mode](
            spec
        )
    result["started"] = STARTED
    result["latencies_ms"] = latencies
    result["heavy"] = [m for m in HEAVY if m in sys.modules]
    result["peak_rss_kb"] = _peak_rss_kb()
    result["first_cpu"] = FIRST_CPU
    if spec.get("modules"):
        result["modules"] = {
            name: module.__file__ for name, module in sys.modules.items() if getattr(module, "__file__", None)
        }
    with open(spec["result"], "w", encoding="utf-8") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
