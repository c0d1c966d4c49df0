"""The purchases of a chaos run: a seeded plan (which purchase meets which fate), and each one carried out as the
buyer, WeChat and the operator would, through the public API, the emulator's control API and the refund service."""

from __future__ import annotations

import random
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from scripts.chaos.faults import Injector
from scripts.chaos.world import Api, ApiError, Backoffice

# Outcome -> weight in the mix. "killed" is not drawn: a fixed few purchases get it (each kill restarts the pool).
WEIGHTS = {
    "normal": 25,
    "notify_5xx": 9,
    "notify_timeout": 3,
    "duplicated": 10,
    "out_of_order": 10,
    "signtest": 8,
    "never_notified": 10,
    "abandoned": 9,
    "pay_on_close": 5,
}
REFUNDABLE = ("normal", "duplicated")
PRODUCTS = ("pro-monthly", "pro-lifetime", "course-python")
PAID = ("PAID", "REFUNDING", "REFUNDED", "PARTIALLY_REFUNDED")
OUT_OF_ORDER_BATCH = 4
NOTIFY_TIMEOUT = 1.5  # the emulator's: a payment write slower than this makes WeChat give up on the answer


@dataclass(frozen=True)
class Plan:
    index: int
    outcome: str
    product_id: str
    poll: bool  # the buyer keeps the checkout open and polls (for never_notified: the poll's query finds it)
    signtest_first: bool
    fail_times: int
    refund: str | None  # None, "full" or "partial"
    refund_twice: str | None  # None, "after" (a repeat) or "together" (two at once), with the same request key


@dataclass
class Purchase:
    plan: Plan
    order_id: str = ""
    poll_token: str = ""
    amount_fen: int = 0
    notification_id: str | None = None
    status: str | None = None
    refunds: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def make_plans(count: int, seed: int) -> list[Plan]:
    rng = random.Random(seed)  # noqa: S311 - a reproducible plan, not a secret
    kills = max(2, count // 100)
    # Every outcome at least once, then the seeded mix.
    outcomes = ["killed"] * kills + list(WEIGHTS)
    outcomes += rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()), k=count - len(outcomes))
    rng.shuffle(outcomes)
    plans = []
    for index, outcome in enumerate(outcomes):
        refund = rng.choice(("full", "partial")) if outcome in REFUNDABLE and rng.random() < 0.45 else None
        plans.append(
            Plan(
                index=index,
                outcome=outcome,
                product_id=rng.choice(PRODUCTS),
                poll=outcome in REFUNDABLE or rng.random() < 0.5,
                signtest_first=rng.random() < 0.5,
                fail_times=rng.randint(1, 3),
                refund=refund,
                refund_twice=rng.choice((None, None, "after", "together")) if refund else None,
            )
        )
    return plans


class Buyers:
    """Carries out plans; thread-safe (one instance shared by the pool)."""

    def __init__(self, shop: Api, control: Api, office: Backoffice, faults: Injector):
        self._shop, self._control, self._office, self._faults = shop, control, office, faults
        self._held: list[str] = []
        self._lock = threading.Lock()

    def carry_out(self, plan: Plan) -> Purchase:
        purchase = Purchase(plan)
        try:
            self._create(purchase)
            getattr(self, "_" + plan.outcome)(purchase)
            if plan.poll:
                self._wait_paid(purchase, expect=plan.outcome not in ("abandoned", "pay_on_close"))
            if plan.refund and purchase.status in PAID:
                self._refund(purchase)
        except ApiError as exc:
            purchase.problems.append(str(exc))
        return purchase

    # -- the buyer ---------------------------------------------------------------------------------------
    def _create(self, purchase: Purchase) -> None:
        install_id = secrets.token_urlsafe(16)
        key = secrets.token_urlsafe(12)  # the same key on every retry: one order however often it is asked
        created = self._shop.call(
            "POST",
            "/v1/orders",
            body={"product_id": purchase.plan.product_id, "install_id": install_id},
            headers={"Idempotency-Key": key},
        )
        purchase.order_id, purchase.poll_token = created["order_id"], created["poll_token"]
        purchase.amount_fen = int(created["amount_fen"])

    def _wait_paid(self, purchase: Purchase, *, expect: bool, timeout: float = 30.0) -> None:
        auth = {"Authorization": f"Bearer {purchase.poll_token}"}
        deadline = time.monotonic() + (timeout if expect else 1.5)
        while True:
            status = self._shop.call("GET", f"/v1/orders/{purchase.order_id}", headers=auth)
            purchase.status = status["status"]
            if status["status"] in PAID and status["license"]:
                return
            if time.monotonic() > deadline:
                if expect:
                    purchase.problems.append(f"still {status['status']} after {timeout:.0f} s of polling")
                return
            time.sleep(0.2)

    # -- WeChat's side, one method per outcome -----------------------------------------------------------
    def _pay(self, purchase: Purchase, **delivery: Any) -> str:
        paid = self._control.call("POST", "/_emulator/pay", body={"out_trade_no": purchase.order_id, **delivery})
        purchase.notification_id = str(paid["notification_id"])
        return purchase.notification_id

    def _normal(self, purchase: Purchase) -> None:
        self._pay(purchase)

    def _notify_5xx(self, purchase: Purchase) -> None:
        self._faults.fail_payment(purchase.order_id, purchase.plan.fail_times)
        self._pay(purchase)

    def _notify_timeout(self, purchase: Purchase) -> None:
        self._faults.slow_payment(purchase.order_id, NOTIFY_TIMEOUT + 0.5)
        self._pay(purchase)

    def _duplicated(self, purchase: Purchase) -> None:
        self._pay(purchase, duplicates=3)

    def _out_of_order(self, purchase: Purchase) -> None:
        held = self._pay(purchase, mode="hold")
        with self._lock:
            self._held.append(held)
            batch = self._held if len(self._held) >= OUT_OF_ORDER_BATCH else []
            if batch:
                self._held = []
        self._release(batch)

    def release_held(self) -> None:
        with self._lock:
            batch, self._held = self._held, []
        self._release(batch)

    def _release(self, batch: list[str]) -> None:
        if batch:
            self._control.call("POST", "/_emulator/notifications/release", body={"ids": batch[::-1]})
            self._faults.note("notify.released_out_of_order", len(batch))

    def _signtest(self, purchase: Purchase) -> None:
        if purchase.plan.signtest_first:
            self._pay(purchase, signtest=True)  # WeChat's probe comes first; the real notification is a retry
        else:
            notification_id = self._pay(purchase)
            self._control.call("POST", f"/_emulator/notifications/{notification_id}/signtest", body={})

    def _never_notified(self, purchase: Purchase) -> None:
        self._pay(purchase, mode="drop")

    def _abandoned(self, purchase: Purchase) -> None:
        pass

    def _pay_on_close(self, purchase: Purchase) -> None:
        self._control.call("POST", f"/_emulator/orders/{purchase.order_id}/pay-on-close", body={})

    def _killed(self, purchase: Purchase) -> None:
        """The instance handling this notification dies after the order is PAID and licensed, before answering."""
        held = self._pay(purchase, mode="hold")
        self._faults.kill_on(held)
        self._control.call("POST", "/_emulator/notifications/release", body={"ids": [held]})

    # -- the operator ------------------------------------------------------------------------------------
    def _refund(self, purchase: Purchase) -> None:
        plan = purchase.plan
        amount = None if plan.refund == "full" else max(1, purchase.amount_fen // 3)
        key = f"chaos-{plan.index}-{plan.refund}"

        def ask() -> None:
            try:
                purchase.refunds.append(self._office.refund(purchase.order_id, amount, key))
            except Exception as exc:  # an operator's error, not a money problem; the invariants judge the money
                purchase.problems.append(f"refund: {type(exc).__name__}: {exc}")

        if plan.refund_twice == "together":
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(lambda _: ask(), range(2)))
        else:
            ask()
            if plan.refund_twice == "after":
                ask()
        if plan.refund_twice:
            self._faults.note("refund.asked_twice_same_key")
