"""The operators' dashboard (/admin/) in real Chromium against a local stack: sign in with an admin key, find a
paid order with the filters, refund it through the confirmation dialog and watch it become refunded with its licence
revoked, in the audit log too; the page in Chinese; a viewer key sees an order with every action disabled; a wrong,
a revoked and a locked-out key each get their message; pages of orders, confirm-paid, the revenue chart and a
reconciliation report with a difference. The page runs under the admin function's strict CSP: no console error and
no CSP violation is allowed (only the browser's own line for a refused key where a key is meant to be refused)."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import expect

from scripts.stack import Stack
from shared import bootstrap
from tests.browser.conftest import CHROMIUM, SCREENSHOTS
from tests.support.backoffice import Backoffice, configured
from tests.support.emulator import RunningEmulator, wait_for
from tests.support.shop import Shop
from tests.support.stacks import FAST_QUERIES, own_stack

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright

PAGE_SIZE = 50  # the dashboard's page of orders
CST = dt.timezone(dt.timedelta(hours=8))  # the admin API's days are China days
REFUND_SETTLED_MS = 20_000  # the emulator completes a refund and notifies the gateway; the panel re-reads it
# Installed before the page's own scripts (not subject to its CSP): a violation becomes a console error too.
REPORT_CSP_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});"""
REFUSED_KEY = re.compile(r"Failed to load resource: the server responded with a status of 401")
REFUSED_OR_LIMITED = re.compile(r"Failed to load resource: the server responded with a status of (401|429)")


@dataclass
class Dashboard:
    """One browser page on /admin/ with everything it logged."""

    page: Page
    base_url: str
    shots: list[Path]
    console: list[str] = field(default_factory=list)

    def open(self) -> Page:
        self.page.goto(f"{self.base_url}/admin/")
        expect(self.page.locator("html")).to_have_attribute("lang", "en")
        return self.page

    def sign_in(self, key: str) -> None:
        self.page.get_by_label("Admin API key").fill(key)
        self.page.get_by_role("button", name="Sign in").click()

    def screenshot(self, step: str) -> Path:
        name = f"admin-{step}.png"
        first = self.shots[0] / name
        self.page.screenshot(path=str(first), full_page=True)
        for folder in self.shots[1:]:
            shutil.copyfile(first, folder / name)
        return first

    def problems(self, allowed: re.Pattern[str] | None = None) -> list[str]:
        return [line for line in self.console if not (allowed and allowed.search(line))]


@pytest.fixture(scope="module")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    scratch = tempfile.mkdtemp(prefix="chromium-")  # Chromium leaves folders in TMPDIR
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        env={**os.environ, "TMPDIR": scratch},
    )
    yield browser
    browser.close()
    shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="module")
def admin_stack(emulator_server: RunningEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A deployment of these tests' own: failed sign-ins are counted per address in storage, and every request
    here comes from 127.0.0.1, so another module's failures must not lock these tests out (nor theirs them)."""
    with own_stack(emulator_server, tmp_path_factory.mktemp("admin-stack"), **FAST_QUERIES) as running:
        yield running


@pytest.fixture
def dashboard(
    chromium: Browser, admin_stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Dashboard]]:
    """A fresh browser context (its own sessionStorage) on a stack's /admin/ page, per call."""
    shots = [tmp_path_factory.getbasetemp() / "screenshots", SCREENSHOTS]
    for folder in shots:
        folder.mkdir(parents=True, exist_ok=True)
    contexts = []

    def start(stack: Stack = admin_stack) -> Dashboard:
        context = chromium.new_context(locale="en-US", viewport={"width": 1440, "height": 900})
        contexts.append(context)
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        page = context.new_page()
        board = Dashboard(page, stack.gateway.base_url, shots)

        def logged(message: ConsoleMessage) -> None:
            if message.type in ("error", "warning"):
                board.console.append(f"{message.type}: {message.text}")

        page.on("console", logged)
        page.on("pageerror", lambda error: board.console.append(f"pageerror: {error}"))
        return board

    yield start
    for context in contexts:
        context.close()


@pytest.fixture
def shop(admin_stack: Stack, emulator: RunningEmulator) -> Shop:
    return Shop(admin_stack)


def admin_key(stack: Stack, name: str, role: str) -> str:
    """A new admin key, made as `python -m scripts.admin keys create` makes it: straight into the stack's storage."""
    with configured(stack.gateway.env):
        created: dict[str, Any] = bootstrap.container().admin.keys.create("browser-test", name, role)
    key: str = created["key"]
    return key


def bought(shop: Shop, emulator: RunningEmulator, product: str = "pro-monthly") -> dict[str, Any]:
    """An order paid in the (emulated) WeChat app, its licence issued."""
    order = shop.order(product)
    emulator.pay(order["order_id"])
    wait_for(lambda: (s := shop.status(order))["status"] == "PAID" and s["license"], timeout=20)
    return order


def test_an_operator_finds_a_paid_order_refunds_it_and_sees_it_refunded_with_its_licence_revoked(
    dashboard: Callable[..., Dashboard], admin_stack: Stack, shop: Shop, emulator: RunningEmulator
) -> None:
    key = admin_key(admin_stack, "Olga Operator", "operator")
    order = bought(shop, emulator)
    order_id = order["order_id"]
    board = dashboard()
    page = board.open()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    board.sign_in(key)
    expect(page.locator("#who-name")).to_have_text("Olga Operator")
    expect(page.locator("#who-role")).to_have_text("operator")
    expect(page.locator(f'#orders-body tr[data-order-id="{order_id}"]')).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('admin.key')") == key
    board.screenshot("1-signed-in")

    page.get_by_label("Status").select_option("PAID")
    page.get_by_label("Order id / out_trade_no").fill(order_id)
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#orders-body tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("¥9.90")
    expect(rows.first).to_contain_text("pro-monthly")
    expect(rows.first.locator(".badge")).to_have_text("Paid")
    expect(page.locator("#orders-message")).to_have_text("Orders shown: 1.")

    page.get_by_role("button", name=f"Open order {order_id}").click()
    detail = page.locator("#detail")
    expect(detail.get_by_role("heading", name=f"Order {order_id}")).to_be_visible()
    expect(detail.locator('[data-field="amount_fen"] dd')).to_have_text("¥9.90")
    expect(detail.locator('[data-field="refundable"] dd')).to_have_text("¥9.90")
    licence = detail.locator("#licence")
    expect(licence.locator('[data-field="status"] dd')).to_have_text("Active")
    expect(licence.locator("#activations li")).to_have_count(1)
    expect(detail.locator("#timeline")).to_contain_text("PAID")
    expect(detail.get_by_text("No refunds.")).to_be_visible()
    board.screenshot("2-detail")

    detail.get_by_label("Reason (the buyer sees it)").fill("不想要了 / changed my mind")
    detail.get_by_role("button", name="Refund…").click()
    dialog = page.locator("dialog#confirm")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Refund ¥9.90?")
    expect(dialog).to_contain_text(f"¥9.90 of order {order_id} goes back to the buyer")
    expect(dialog).to_contain_text("Reason: 不想要了 / changed my mind")
    expect(dialog).to_contain_text("the licence will be revoked")
    board.screenshot("3-confirm")
    dialog.get_by_role("button", name="Refund ¥9.90").click()

    expect(dialog).to_be_hidden()
    expect(detail.locator("#detail-message")).to_contain_text("of ¥9.90 requested")
    status = detail.locator(".detail-head .badge")
    expect(status).to_have_text("Refunded", timeout=REFUND_SETTLED_MS)
    expect(licence.locator('[data-field="status"] dd')).to_have_text("Revoked")
    expect(licence.locator('[data-field="revoke_reason"] dd')).not_to_be_empty()
    expect(detail.locator("#refunds-table tbody tr")).to_have_count(1)
    expect(detail.locator("#refunds-table tbody tr")).to_contain_text("不想要了 / changed my mind")
    expect(detail.locator("#refunds-table .badge")).to_have_text("Refunded")
    expect(detail.locator('[data-field="refunded"] dd')).to_have_text("¥9.90")
    expect(detail.locator("#refund-form")).to_have_count(0)
    expect(page.locator(f'#orders-body tr[data-order-id="{order_id}"] .badge')).to_have_text("Refunded")
    board.screenshot("4-refunded-and-revoked")
    assert shop.status(order)["status"] == "REFUNDED"

    page.get_by_role("button", name="Audit log").click()
    entry = page.locator("#audit-body tr", has_text=f"order:{order_id}")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("order.refund")
    expect(entry).to_contain_text("Olga Operator")
    expect(entry.locator(".badge")).to_have_text("ok")

    page.get_by_label("Language").select_option("zh_CN")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.get_by_role("button", name="订单").click()
    expect(page.locator("#orders-title")).to_have_text("订单")
    expect(page.get_by_label("订单号 / 商户订单号", exact=True)).to_have_value(order_id)
    expect(status).to_have_text("已退款")
    expect(licence.locator('[data-field="status"] dd')).to_have_text("已吊销")
    expect(detail.locator("#detail-message")).to_contain_text("已申请退款")
    board.screenshot("5-zh_CN")

    page.get_by_role("button", name="退出").click()
    expect(page.locator("#signin-message")).to_have_text("已退出，密钥已从此标签页清除。")
    assert page.evaluate("sessionStorage.getItem('admin.key')") is None
    assert board.problems() == []


def test_a_viewer_sees_the_order_and_its_licence_with_every_action_disabled(
    dashboard: Callable[..., Dashboard], admin_stack: Stack, shop: Shop, emulator: RunningEmulator
) -> None:
    key = admin_key(admin_stack, "Victor Viewer", "viewer")
    order_id = bought(shop, emulator, "pro-lifetime")["order_id"]
    board = dashboard()
    page = board.open()
    board.sign_in(key)
    expect(page.locator("#who-role")).to_have_text("viewer (read only)")

    page.get_by_label("Order id / out_trade_no").fill(order_id)
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#orders-body tr")).to_have_count(1)
    page.get_by_role("button", name=f"Open order {order_id}").click()

    detail = page.locator("#detail")
    expect(detail.locator('[data-field="amount_fen"] dd')).to_have_text("¥99.00")
    expect(detail.locator("#viewer-note")).to_have_text("Your key is read only (viewer): these actions are disabled.")
    expect(detail.get_by_role("button", name="Refund…")).to_be_disabled()
    expect(detail.get_by_role("button", name="Revoke…")).to_be_disabled()
    expect(detail.get_by_role("button", name="Reset devices…")).to_be_disabled()
    expect(detail.locator("form.action button:enabled")).to_have_count(0)
    expect(detail.locator("#licence [data-field='status'] dd")).to_have_text("Active")
    board.screenshot("viewer-detail")

    detail.get_by_role("button", name="Refresh").focus()
    page.keyboard.press("Escape")
    expect(detail).to_be_hidden()
    expect(page.get_by_role("button", name=f"Open order {order_id}")).to_be_focused()
    assert board.problems() == []


def test_a_wrong_key_is_refused_with_a_clear_message_and_is_not_kept(
    dashboard: Callable[..., Dashboard], admin_stack: Stack
) -> None:
    board = dashboard()
    page = board.open()
    board.sign_in("wxak_000000000000_" + "A" * 43)

    expect(page.locator("#signin-message")).to_have_text(
        "This key was not accepted: it is wrong, revoked or mistyped. Check it and try again."
    )
    expect(page.locator("#app")).to_be_hidden()
    expect(page.get_by_label("Admin API key")).to_be_focused()
    assert page.evaluate("sessionStorage.getItem('admin.key')") is None
    board.screenshot("wrong-key")
    assert board.problems(allowed=REFUSED_KEY) == []


def test_the_revenue_chart_draws_a_bar_per_day_and_the_totals(
    dashboard: Callable[..., Dashboard], admin_stack: Stack, shop: Shop, emulator: RunningEmulator
) -> None:
    key = admin_key(admin_stack, "Rita Reader", "viewer")
    bought(shop, emulator, "course-python")
    board = dashboard()
    page = board.open()
    board.sign_in(key)
    page.get_by_role("button", name="Revenue").click()

    bars = page.locator("svg.bars rect.bar")
    expect(bars).to_have_count(30)  # the API's default range: the last 30 days
    expect(bars.last).to_have_attribute("data-revenue", re.compile(r"^[1-9][0-9]*$"))  # today's payments
    expect(page.locator('#totals [data-total="revenue"] dd')).to_have_text(re.compile(r"^¥[0-9,]+\.[0-9]{2}$"))
    expect(page.locator('#totals [data-total="conversion"] dd')).to_have_text(re.compile(r"^[0-9]+\.[0-9]%$"))
    expect(page.locator("#stats-form").get_by_label("From (day)")).not_to_have_value("")
    board.screenshot("revenue")
    assert board.problems() == []


def test_an_operator_pages_through_the_day_s_orders_and_asks_wechat_pay_about_an_unpaid_one(
    dashboard: Callable[..., Dashboard], admin_stack: Stack, shop: Shop, emulator: RunningEmulator
) -> None:
    key = admin_key(admin_stack, "Pat Pager", "operator")
    first_day = dt.datetime.now(CST).date().isoformat()
    created = [shop.order("pro-lifetime")["order_id"] for _ in range(PAGE_SIZE + 1)]
    last_day = dt.datetime.now(CST).date().isoformat()
    board = dashboard()
    page = board.open()
    board.sign_in(key)
    expect(page.locator("#orders-body tr")).to_have_count(PAGE_SIZE)

    filters = page.locator("#filters")
    filters.get_by_label("Status").select_option("PENDING")
    filters.get_by_label("Product").fill("pro-lifetime")
    filters.get_by_label("From (day)").fill(first_day)
    filters.get_by_label("To (day)").fill(last_day)
    filters.get_by_role("button", name="Search").click()
    rows = page.locator("#orders-body tr")
    expect(rows).to_have_count(PAGE_SIZE)
    expect(page.locator("#orders-message")).to_have_text(f"Orders shown: {PAGE_SIZE}; more are available.")
    page.get_by_role("button", name="More").click()
    expect(page.locator("#orders-message")).to_have_text(re.compile(r"^Orders shown: \d+\.$"))
    shown = [row.get_attribute("data-order-id") for row in rows.all()]
    assert set(created) <= set(shown) and len(shown) == len(set(shown))
    assert all(badge == "Pending" for badge in rows.locator(".badge").all_text_contents())

    page.get_by_role("button", name=f"Open order {created[0]}").click()
    detail = page.locator("#detail")
    expect(detail.locator("#refund-form")).to_have_count(0)
    detail.get_by_role("button", name="Confirm paid").click()
    expect(detail.locator("#detail-message")).to_have_text("WeChat Pay answered: not paid yet. The order is Pending.")
    board.screenshot("confirm-paid")
    assert board.problems() == []


def test_a_key_revoked_while_signed_in_sends_the_operator_back_to_sign_in(
    dashboard: Callable[..., Dashboard], admin_stack: Stack
) -> None:
    key = admin_key(admin_stack, "Rex Revoked", "operator")
    board = dashboard()
    page = board.open()
    board.sign_in(key)
    expect(page.locator("#who-name")).to_have_text("Rex Revoked")

    with configured(admin_stack.gateway.env):
        bootstrap.container().admin.keys.revoke("browser-test", key.split("_")[1])
    page.locator("#filters").get_by_role("button", name="Search").click()

    expect(page.locator("#signin-message")).to_have_text(
        "Your key is no longer accepted (revoked or expired). Sign in again."
    )
    expect(page.locator("#app")).to_be_hidden()
    expect(page.locator("#who")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('admin.key')") is None
    assert board.problems(allowed=REFUSED_KEY) == []


def test_an_address_locked_out_after_failed_sign_ins_is_told_how_long_to_wait(
    dashboard: Callable[..., Dashboard], emulator_server: RunningEmulator, tmp_path: Path
) -> None:
    with own_stack(emulator_server, tmp_path / "locking", **FAST_QUERIES, ADMIN_AUTH_MAX_FAILURES="2") as locking:
        board = dashboard(locking)
        page = board.open()
        message = page.locator("#signin-message")
        for _ in range(2):  # the second failure reaches the limit: the address is locked for the window
            board.sign_in("wxak_000000000000_" + "B" * 43)
            expect(message).to_have_text(re.compile(r"^This key was not accepted"))  # "Checking the key…" until then
        board.sign_in(admin_key(locking, "Lou Locked", "operator"))  # even a good key waits for the window's end

        expect(message).to_have_text(
            re.compile(r"^Too many failed sign-ins from this address\. Try again in [0-9]+ (s|min)\.$")
        )
        expect(page.locator("#app")).to_be_hidden()
        board.screenshot("locked-out")
        assert board.problems(allowed=REFUSED_OR_LIMITED) == []


def test_a_reconciled_day_with_a_difference_shows_in_the_reports_with_its_details(
    dashboard: Callable[..., Dashboard], admin_stack: Stack, shop: Shop, emulator: RunningEmulator
) -> None:
    day = dt.datetime.now(CST).date() - dt.timedelta(days=12)
    business_time(emulator, dt.datetime.combine(day, dt.time(12), CST))
    order_id = bought(shop, emulator)["order_id"]
    shop.storage().update_order(order_id, {"amount_fen": 1990})  # our books say more than WeChat Pay took
    business_time(emulator, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(10), CST))
    summary = Backoffice(admin_stack).run_jobs_here("reconcile_bill", date=day.isoformat())["reconcile_bill"]
    assert summary["status"] == "DISCREPANCIES"
    board = dashboard()
    page = board.open()
    board.sign_in(admin_key(admin_stack, "Ada Auditor", "viewer"))

    page.get_by_role("button", name="Reconciliation").click()
    row = page.locator(f'#reports-body tr[data-date="{day.isoformat()}"]')
    expect(row.locator(".badge")).to_have_text("Differences found")
    expect(row).to_contain_text("Amounts differ: 1")
    row.get_by_role("button", name=f"Details of {day.isoformat()}").click()
    report = page.locator("#report")
    expect(report.get_by_role("heading", name=f"Reconciliation of {day.isoformat()}")).to_be_visible()
    expect(report).to_contain_text("Amounts differ (1)")
    mismatch = report.locator("tr", has_text=order_id)
    expect(mismatch).to_contain_text("Payment")
    expect(mismatch).to_contain_text("¥19.90")
    expect(mismatch).to_contain_text("¥9.90")
    board.screenshot("reconciliation")
    mismatch.get_by_role("button", name=order_id).click()
    expect(page.locator("#detail").get_by_role("heading", name=f"Order {order_id}")).to_be_visible()
    expect(page.locator('#detail [data-field="amount_fen"] dd')).to_have_text("¥19.90")
    expect(page.locator("#orders-body tr")).to_have_count(1)

    page.get_by_role("button", name="Anomalies").click()
    expect(page.locator("#anomalies-message")).to_have_text("No anomalies.")
    assert board.problems() == []


def business_time(emulator: RunningEmulator, moment: dt.datetime) -> None:
    """Move WeChat Pay's clock (payments' success_time, bill days); signatures keep real time."""
    now = emulator.control("GET", "/_emulator/clock")["now"]
    emulator.control("POST", "/_emulator/clock", {"advance_seconds": moment.timestamp() - now})
