"""The daily reconciliation over real HTTP: WeChat's trade bill for a day (downloaded from the emulator, its SHA1
checked) against our books, with planted discrepancies of every kind, reported, stored and alerted."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest

from tests.support.backoffice import Backoffice
from tests.support.emulator import RunningEmulator, wait_for
from tests.support.raw import RawClient
from tests.support.shop import Shop

CST = dt.timezone(dt.timedelta(hours=8))


def business_time(emulator: RunningEmulator, moment: dt.datetime) -> None:
    """Move WeChat's clock (payments' success_time, bill days); signatures keep real time."""
    now = emulator.control("GET", "/_emulator/clock")["now"]
    emulator.control("POST", "/_emulator/clock", {"advance_seconds": moment.timestamp() - now})


def bought(shop: Shop, emulator: RunningEmulator) -> dict[str, Any]:
    order = shop.order()
    emulator.pay(order["order_id"])
    wait_for(lambda: shop.status(order)["status"] == "PAID", timeout=20)
    return order


def test_a_bill_with_planted_discrepancies_is_reported_stored_and_alerted(
    shop: Shop, emulator: RunningEmulator, office: Backoffice, capsys: pytest.CaptureFixture[str]
) -> None:
    day = dt.datetime.now(CST).date() - dt.timedelta(days=10)  # a day no other test trades on
    noon = dt.datetime.combine(day, dt.time(12), CST)
    business_time(emulator, noon)
    agreed, refunded, tampered = bought(shop, emulator), bought(shop, emulator), bought(shop, emulator)
    office.refund(refunded["order_id"], 300)
    wait_for(lambda: shop.status(refunded)["status"] == "PARTIALLY_REFUNDED", timeout=20)
    storage = shop.storage()
    storage.update_order(tampered["order_id"], {"amount_fen": 1990})  # our record says more than was paid
    unseen = shop.order()
    emulator.pay(unseen["order_id"], mode="drop")  # paid at WeChat; we still think PENDING (nobody polls)
    theirs_only = "X" + uuid.uuid4().hex[:20]  # a payment WeChat has and we never heard of
    raw = RawClient(emulator.base_url, emulator.merchant)
    raw.call(
        "POST", "/v3/pay/transactions/native", raw.native_order(theirs_only, amount={"total": 500, "currency": "CNY"})
    )
    emulator.pay(theirs_only, mode="drop")
    ours_only = shop.order()  # we think it paid; WeChat never took the money
    storage.update_order(ours_only["order_id"], {"status": "PAID", "paid_at": int(noon.timestamp()) + 600})
    business_time(emulator, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(10), CST))

    summary = office.run_jobs_here("reconcile_bill", date=day.isoformat())["reconcile_bill"]

    assert summary["outcome"] == "OK" and summary["status"] == "DISCREPANCIES"
    assert [summary[k] for k in ("missing_here", "missing_there", "amount_mismatch", "state_mismatch")] == [1, 1, 1, 1]
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    alerts = [r for r in records if r.get("event") == "reconcile_discrepancies"]
    assert [(a["level"], a["date"]) for a in alerts] == [("error", day.isoformat())]

    code, report = office.ops("report", day.isoformat())
    assert code == 0 and report["status"] == "DISCREPANCIES"
    assert [(x["kind"], x["id"], x["amount_fen"]) for x in report["missing_here"]] == [("payment", theirs_only, 500)]
    assert [(x["kind"], x["id"]) for x in report["missing_there"]] == [("payment", ours_only["order_id"])]
    assert report["amount_mismatch"] == [
        {"kind": "payment", "id": tampered["order_id"], "ours_fen": 1990, "theirs_fen": 990}
    ]
    assert report["state_mismatch"] == [
        {"kind": "payment", "id": unseen["order_id"], "ours": "PENDING", "theirs": "SUCCESS"}
    ]
    assert report["totals"] == {
        "ours": {"payments": 4, "payments_fen": 990 * 3 + 1990, "refunds": 1, "refunds_fen": 300},
        "theirs": {"payments": 5, "payments_fen": 990 * 4 + 500, "refunds": 1, "refunds_fen": 300},
    }
    assert report["bill"]["summary_consistent"] is True and report["bill"]["rows"] == 6
    assert agreed["order_id"] not in json.dumps([report[k] for k in ("missing_here", "missing_there")])


def test_books_that_agree_with_the_bill_report_ok_and_a_bill_not_yet_made_is_waited_for(
    shop: Shop, emulator: RunningEmulator, office: Backoffice
) -> None:
    day = dt.datetime.now(CST).date() - dt.timedelta(days=20)
    business_time(emulator, dt.datetime.combine(day, dt.time(23, 59), CST))
    bought(shop, emulator)
    business_time(emulator, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(8), CST))
    assert office.run_jobs("reconcile_bill", date=day.isoformat())["reconcile_bill"]["bill"] == "NOT_READY"
    business_time(emulator, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(10), CST))
    summary = office.run_jobs("reconcile_bill", date=day.isoformat())["reconcile_bill"]
    assert (summary["status"], summary["bill_rows"]) == ("OK", 1)
    assert office.ops("report", day.isoformat())[1]["totals"]["theirs"]["payments"] == 1
