"""The operators' CLI against the local system over real HTTP — gateway (worker processes, FC 3.0 events), the
WeChat Pay emulator and SQLite: keys made and revoked in storage, then orders, refunds, licences, figures, the audit
log and a CSV export through the admin API, as an operator runs them against a deployment."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts import admin
from scripts.admin import keys as admin_keys
from scripts.stack import Stack
from shared import log
from tests.support.emulator import RunningEmulator, wait_for
from tests.support.shop import Shop

CST = dt.timezone(dt.timedelta(hours=8))


class Cli:
    def __init__(self, stack: Stack):
        self.env = {**stack.gateway.env, "ADMIN_URL": stack.gateway.base_url}

    def run(self, *argv: str, key: str | None = None) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        env = {**self.env, **({"ADMIN_API_KEY": key} if key else {})}
        with log.request_scope():
            code = admin.main(list(argv), env=env, out=out, err=err)
        return code, out.getvalue(), err.getvalue()

    def json(self, *argv: str, key: str | None = None) -> Any:
        code, out, err = self.run("--json", *argv, key=key)
        assert code == 0, err
        return json.loads(out)

    def new_key(self, role: str, name: str = "e2e operator") -> str:
        created = self.json("keys", "create", "--name", name, "--role", role)
        key: str = created["key"]
        return key


@pytest.fixture
def cli(stack: Stack) -> Cli:
    return Cli(stack)


@pytest.fixture
def shop(stack: Stack, emulator: RunningEmulator) -> Shop:
    return Shop(stack)


@pytest.fixture
def operator(cli: Cli) -> Iterator[str]:
    key = cli.new_key("operator")
    yield key


def bought(shop: Shop, emulator: RunningEmulator) -> dict[str, Any]:
    order = shop.order("pro-monthly")
    emulator.pay(order["order_id"])
    wait_for(lambda: shop.status(order)["status"] == "PAID", timeout=20)
    return order


def today() -> str:
    return dt.datetime.now(CST).date().isoformat()


def rows(tsv: str) -> list[dict[str, str]]:
    header, *lines = tsv.splitlines()
    return [dict(zip(header.split("\t"), line.split("\t"), strict=True)) for line in lines]


def test_a_key_is_created_shown_once_listed_without_its_secret_and_revoked_for_good(cli: Cli) -> None:
    code, out, err = cli.run("keys", "create", "--name", "Alice (ops)", "--role", "viewer")
    assert code == 0, err
    fields = dict(line.split("\t", 1) for line in out.splitlines())
    key, key_id = fields["key"], fields["key_id"]
    assert key.startswith(f"wxak_{key_id}_") and "shown once" in err
    assert '"event":"admin_action"' in err and '"event"' not in out  # service logs go to stderr only

    listed = {k["key_id"]: k for k in cli.json("keys", "list")}
    assert listed[key_id]["name"] == "Alice (ops)" and listed[key_id]["revoked_at"] is None
    assert key not in json.dumps(listed)
    assert cli.json("orders", "--limit", "1", key=key)["orders"] is not None

    assert cli.json("keys", "revoke", key_id)["revoked_at"] is not None
    code, _, err = cli.run("orders", key=key)
    assert code == 1 and "401 UNAUTHENTICATED" in err
    code, _, err = cli.run("keys", "revoke", key_id)
    assert code == 1 and "KEY_REVOKED" in err

    audit = cli.json("audit", "--target", f"admin_key:{key_id}", key=cli.new_key("viewer"))["entries"]
    assert sorted((e["action"], e["outcome"]) for e in audit) == [  # within one second, in no particular order
        ("admin_key.create", "ok"),
        ("admin_key.revoke", "KEY_REVOKED"),
        ("admin_key.revoke", "ok"),
    ]
    assert {e["actor"] for e in audit} == {f"cli:{admin_keys.user()}"}


def test_orders_are_found_by_filters_and_shown_as_a_table_and_in_detail(
    cli: Cli, shop: Shop, emulator: RunningEmulator, operator: str
) -> None:
    paid = bought(shop, emulator)
    pending = shop.order("pro-monthly")

    code, out, err = cli.run("orders", "--order-id", paid["order_id"], key=operator)
    assert code == 0, err
    (row,) = rows(out)
    assert (row["order_id"], row["status"], row["amount ¥"]) == (paid["order_id"], "PAID", "9.90")
    found = cli.json("orders", "--status", "PENDING", "--from", today(), "--limit", "200", key=operator)
    assert pending["order_id"] in {o["order_id"] for o in found["orders"]}
    assert all(o["status"] == "PENDING" and "poll_token_hash" not in o for o in found["orders"])

    code, out, err = cli.run("order", paid["order_id"], key=operator)
    assert code == 0, err
    assert "licence_id\t" in out and "\tCREATED\t" in out and "\tPAID\t" in out and "\tLICENCE_ISSUED\t" in out


def test_a_refund_through_the_cli_refunds_once_and_a_viewer_may_not_refund(
    cli: Cli, shop: Shop, emulator: RunningEmulator, operator: str
) -> None:
    order = bought(shop, emulator)
    viewer = cli.new_key("viewer", "e2e viewer")
    code, _, err = cli.run("refund", order["order_id"], "--reason", "不满意", key=viewer)
    assert code == 1 and "403 FORBIDDEN" in err

    argv = ("refund", order["order_id"], "--amount", "300", "--reason", "部分退款", "--request-key", "e2e-cli-1")
    first = cli.json(*argv, key=operator)
    again = cli.json(*argv, key=operator)
    assert (first["amount_fen"], first["out_refund_no"]) == (300, again["out_refund_no"])
    wait_for(lambda: shop.status(order)["status"] == "PARTIALLY_REFUNDED", timeout=20)
    detail = cli.json("order", order["order_id"], key=operator)
    assert [r["amount_fen"] for r in detail["refunds"]] == [300]

    code, _, err = cli.run("refund", order["order_id"], "--amount", "99999", "--reason", "too much", key=operator)
    assert code == 1 and err.startswith("error: 4")


def test_confirm_paid_settles_orders_whose_notifications_were_lost_and_reports_each(
    cli: Cli, shop: Shop, emulator: RunningEmulator, operator: str
) -> None:
    lost = [shop.order("pro-monthly") for _ in range(2)]
    for order in lost:
        emulator.pay(order["order_id"], mode="drop")
    argv = ("--json", "confirm-paid", *(o["order_id"] for o in lost), "oNoSuchOrder000000000000")
    code, out, _ = cli.run(*argv, key=operator)
    results = json.loads(out)
    assert code == 1  # one of them failed; the others were still confirmed
    assert [r["order"]["status"] for r in results[:2]] == ["PAID", "PAID"]
    assert results[2]["error"]["code"] == "ORDER_NOT_FOUND"
    code, out, _ = cli.run("confirm-paid", lost[0]["order_id"], key=operator)
    assert code == 0 and rows(out)[0]["status"] == "PAID"


def test_a_licence_is_revoked_once_reinstated_and_its_devices_reset(
    cli: Cli, shop: Shop, emulator: RunningEmulator, operator: str
) -> None:
    order = bought(shop, emulator)
    licence_id = cli.json("order", order["order_id"], key=operator)["licence"]["licence_id"]
    assert cli.json("revoke", licence_id, "--reason", "chargeback", key=operator)["status"] == "REVOKED"
    code, _, err = cli.run("revoke", licence_id, "--reason", "again", key=operator)
    assert code == 1 and "409 LICENSE_REVOKED" in err
    assert cli.json("reinstate", licence_id, "--reason", "resolved", key=operator)["status"] == "ACTIVE"
    reset = cli.json("reset-devices", licence_id, key=operator)
    assert reset["removed"] == 1 and reset["licence"]["activations"] == []


def test_stats_show_each_day_and_the_totals(cli: Cli, shop: Shop, emulator: RunningEmulator, operator: str) -> None:
    bought(shop, emulator)
    stats = cli.json("stats", "--from", today(), "--to", today(), key=operator)
    (day,) = stats["days"]
    assert day["date"] == today() and day["orders_paid"] >= 1 and stats["totals"]["revenue_fen"] >= 990
    code, out, err = cli.run("stats", "--from", today(), "--to", today(), key=operator)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split("\t") == ["day", "created", "paid", "payments", "revenue ¥", "refunded ¥"]
    assert lines[1].startswith(today() + "\t")
    assert any(line.startswith("conversion\t") and line.endswith("%") for line in lines)

    code, _, err = cli.run("stats", "--from", "2026-13-01", key=operator)
    assert code == 2 and "YYYY-MM-DD" in err


def test_export_orders_pages_through_every_order_of_the_days_into_a_csv(
    cli: Cli, shop: Shop, emulator: RunningEmulator, operator: str, tmp_path: Path
) -> None:
    paid = bought(shop, emulator)
    ours = {paid["order_id"], *(shop.order("pro-monthly")["order_id"] for _ in range(3))}
    target = tmp_path / "orders.csv"
    summary = cli.json("export-orders", "--from", today(), "--to", today(), "--out", str(target), key=operator)

    with target.open(encoding="utf-8-sig", newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert summary == {"file": str(target), "orders": len(exported)}
    by_id = {row["order_id"]: row for row in exported}
    assert ours <= set(by_id) and len(by_id) == len(exported)
    row = by_id[paid["order_id"]]
    assert (row["status"], row["amount_fen"], row["currency"]) == ("PAID", "990", "CNY")
    assert dt.datetime.fromisoformat(row["paid_at"]).utcoffset() == dt.timedelta(hours=8)
    assert "poll_token_hash" not in row and "install_hash" not in row

    code, _, err = cli.run("export-orders", "--from", today(), "--to", today(), "--out", str(target), key=operator)
    assert code == 2 and "exists" in err
    assert not (tmp_path / "orders.csv.part").exists()


def test_reports_and_the_audit_log_are_listed(cli: Cli, operator: str) -> None:
    assert "reports" in cli.json("reports", key=operator)
    code, _, err = cli.run("reports", "1999-01-01", key=operator)
    assert code == 1 and "404 REPORT_NOT_FOUND" in err
    code, out, err = cli.run("audit", "--limit", "5", key=operator)
    assert code == 0, err
    assert out.splitlines()[0].split("\t")[:6] == ["at (UTC+8)", "actor", "name", "role", "action", "target"]


def test_without_a_key_in_the_environment_the_cli_stops_before_calling(cli: Cli) -> None:
    code, out, err = cli.run("orders")
    assert (code, out) == (2, "") and "ADMIN_API_KEY" in err and "shell history" in err
    code, _, err = cli.run("--url", "http://shop.example.com", "orders", key="wxak_x")
    assert code == 2 and "https" in err
