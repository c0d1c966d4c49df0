"""The purchase as a user lives it, in real Chromium with the extension loaded, against the local stack: the
checkout tab, the QR, the payment in the (emulated) WeChat app, the licence verified offline, the history, the
expired QR, and the service worker finishing the job after the tab is closed."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playwright.sync_api import expect

from tests.browser.conftest import SHORT_TTL_SECONDS, ExtensionBrowser
from tests.support.emulator import RunningEmulator, wait_for

if TYPE_CHECKING:
    from playwright.sync_api import Page

PAID_WITHIN_MS = 20_000

# Runs in an extension page: the licences as the extension itself sees them (WebCrypto Ed25519, embedded keys).
VERIFIED_LICENCES = """async () => {
  const { createIntegration } = await import("/src/app.js");
  return (await createIntegration().licences()).map((view) => ({
    state: view.state,
    valid: view.verification.valid,
    sub: view.payload.sub,
    ent: view.payload.ent,
    ord: view.payload.ord,
  }));
}"""

# The same verifier on the stored token with one payload character changed: Chromium's Ed25519 must refuse it.
TAMPERED_TOKEN_REASON = """async () => {
  const { createIntegration } = await import("/src/app.js");
  const integration = createIntegration();
  const [view] = await integration.licences();
  const token = view.licence.token;
  const swapped = token.replace(/^(.{30})(.)/, (_, head, c) => head + (c === "A" ? "B" : "A"));
  const { installHashOf } = await import("/src/licence-verifier.js");
  const installHash = await installHashOf(crypto.subtle, await integration.installId());
  const result = await integration.licenceBook.verifier.verify(swapped, { installHash, now: Date.now() / 1000 });
  return result.reason;
}"""


def choose(page: Page, product_id: str) -> str:
    """Pick a product on the checkout page; the QR of its new order shows; returns the order id."""
    page.locator(f'button[data-product-id="{product_id}"]').click()
    payment = page.locator("#payment")
    expect(payment).to_have_attribute("data-order-id", re.compile(r"^o[A-Za-z0-9_-]+$"))
    qr = page.locator("#qr")
    expect(qr).to_be_visible()
    assert page.evaluate("document.getElementById('qr').naturalWidth") > 0, "the QR image did not render"
    order_id = payment.get_attribute("data-order-id")
    assert order_id
    expect(qr).to_have_attribute("alt", f"WeChat Pay QR code for order {order_id}")
    return order_id


def expect_licence_shown(page: Page) -> None:
    expect(page.locator("#done")).to_be_visible(timeout=PAID_WITHIN_MS)
    expect(page.locator("#done .licence .badge")).to_have_text("Valid, verified offline")
    expect(page.locator("#done .licence-key")).to_have_text(re.compile(r"^([0-9A-Z]{5}-){4}[0-9A-Z]{5}$"))


def test_a_purchase_shows_the_qr_then_a_licence_verified_offline_and_the_order_in_the_history(
    browser: ExtensionBrowser, emulator: RunningEmulator
) -> None:
    page = browser.open("checkout.html")
    expect(page.locator("h1")).to_have_text("Buy a licence")
    expect(page.locator('button[data-product-id="pro-lifetime"]')).to_be_visible()
    browser.screenshot(page, "0-products")
    order_id = choose(page, "pro-monthly")
    expect(page.locator("#pay-amount")).to_have_text("¥9.90")
    expect(page.locator("#countdown")).to_contain_text(re.compile(r"expires in 1[45]:\d\d"))
    expect(page.locator("#pay-status")).to_have_text("Waiting for your payment…")
    browser.screenshot(page, "1-qr")

    emulator.pay(order_id)

    expect_licence_shown(page)
    expect(page.locator("#done .licence")).to_contain_text("pro")
    browser.screenshot(page, "2-licence")
    verified = page.evaluate(VERIFIED_LICENCES)
    assert verified == [{"state": "valid", "valid": True, "sub": "pro-monthly", "ent": ["pro"], "ord": order_id}]
    assert page.evaluate(TAMPERED_TOKEN_REASON) in ("BAD_SIGNATURE", "MALFORMED")

    options = browser.open("options.html")
    row = options.locator(f'tr[data-order-id="{order_id}"]')
    expect(row).to_contain_text("Paid")
    expect(row).to_contain_text("¥9.90")
    expect(options.locator(".licence[data-state=valid]")).to_have_count(1)
    browser.screenshot(options, "3-options")

    install_id = browser.storage()["installId"]
    assert browser.requested_urls and not [u for u in browser.requested_urls if install_id in u]


def test_an_expired_qr_offers_a_new_one_that_can_be_paid(
    launch: Callable[..., ExtensionBrowser], short_ttl_extension_dir: Path, emulator: RunningEmulator
) -> None:
    browser = launch(short_ttl_extension_dir)
    page = browser.open("checkout.html", before=lambda p: p.clock.install())
    first = choose(page, "pro-monthly")
    expect(page.locator("#countdown")).to_contain_text(re.compile(r"expires in (1:00|0:5\d)"))

    page.clock.fast_forward((SHORT_TTL_SECONDS + 5) * 1000)

    problem = page.locator("#problem")
    expect(problem).to_contain_text("This QR code has expired")
    expect(page.locator("#countdown")).to_have_text("The QR code has expired")
    browser.screenshot(page, "1-expired")
    problem.get_by_role("button", name="Get a new QR code").click()

    payment = page.locator("#payment")
    expect(payment).to_have_attribute("data-order-id", re.compile(rf"^(?!{first}$)o[A-Za-z0-9_-]+$"))
    second = payment.get_attribute("data-order-id")
    assert second and second != first
    expect(page.locator("#qr")).to_be_visible()
    expect(page.locator("#countdown")).to_contain_text(re.compile(r"expires in (1:00|0:5\d)"))
    expect(problem).to_be_hidden()
    browser.screenshot(page, "2-new-qr")

    emulator.pay(second)
    expect_licence_shown(page)
    assert [v["ord"] for v in page.evaluate(VERIFIED_LICENCES)] == [second]


def test_the_service_worker_keeps_polling_after_the_checkout_tab_closes_and_keeps_the_licence(
    browser: ExtensionBrowser, emulator: RunningEmulator
) -> None:
    page = browser.open("checkout.html")
    order_id = choose(page, "pro-lifetime")
    page.close()

    emulator.pay(order_id)

    def stored_licence() -> dict[str, Any] | None:
        return next((v for k, v in browser.storage().items() if k.startswith("licence:")), None)

    licence = wait_for(stored_licence, timeout=PAID_WITHIN_MS / 1000, interval=0.2)
    assert licence["order_id"] == order_id and licence["status"] == "ACTIVE"
    assert f"order:{order_id}" not in browser.storage()
    notifications = browser.worker().evaluate("chrome.notifications.getAll()")
    assert f"paid:{order_id}" in notifications

    popup = browser.open("popup.html")
    expect(popup.locator(".licence[data-state=valid] .badge")).to_have_text("Valid, verified offline")
    expect(popup.locator(".licence")).to_contain_text("Never (lifetime)")
    browser.screenshot(popup, "popup")
