"""A refund reaches the extension: a licence bought and paid through the checkout tab shows as valid, the operator
refunds the order (the ops CLI, as `python -m scripts.ops refund` runs it), the emulated WeChat Pay completes the
refund and notifies the gateway, which revokes the licence; when the user opens the extension's licences again they
show as revoked, with the next step, and grant nothing."""

from __future__ import annotations

from typing import Any

import requests
from playwright.sync_api import expect

from scripts.stack import Stack
from tests.browser.conftest import ExtensionBrowser
from tests.browser.test_checkout import choose, expect_licence_shown
from tests.support.backoffice import Backoffice
from tests.support.emulator import RunningEmulator, wait_for

REFUND_SETTLED_S = 20  # the emulator completes the refund after a short delay and notifies the gateway

# Runs in an extension page: whether a feature behind "pro" would unlock now.
HAS_PRO = """async () => {
  const { createIntegration } = await import("/src/app.js");
  return createIntegration().hasEntitlement("pro");
}"""


def validate(stack: Stack, token: str) -> dict[str, Any]:
    response = requests.post(f"{stack.gateway.base_url}/v1/licenses/validate", json={"token": token}, timeout=10)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_a_refund_shows_the_licence_as_revoked_when_the_extension_is_opened_again(
    browser: ExtensionBrowser, stack: Stack, emulator: RunningEmulator, office: Backoffice
) -> None:
    checkout = browser.open("checkout.html")
    order_id = choose(checkout, "pro-monthly")
    emulator.pay(order_id)
    expect_licence_shown(checkout)
    checkout.close()

    options = browser.open("options.html")
    card = options.locator(".licence")
    expect(card).to_have_attribute("data-state", "valid")
    expect(options.locator(f'tr[data-order-id="{order_id}"]')).to_contain_text("Paid")
    assert options.evaluate(HAS_PRO) is True
    browser.screenshot(options, "1-valid")
    options.close()
    [licence] = [v for k, v in browser.storage().items() if k.startswith("licence:")]
    assert licence["order_id"] == order_id and licence["status"] == "ACTIVE"

    office.refund(order_id, reason="browser test refund")
    revoked = wait_for(lambda: (a := validate(stack, licence["token"]))["status"] == "REVOKED" and a, REFUND_SETTLED_S)
    assert revoked["valid"] is False and revoked["reason"] == "REVOKED"

    options = browser.open("options.html")
    card = options.locator(".licence")
    expect(card).to_have_attribute("data-state", "revoked")
    expect(card.locator(".badge")).to_have_text("Revoked")
    expect(card.locator(".step")).to_contain_text("This licence was revoked (for example after a refund).")
    expect(card.locator(".licence-key")).to_have_text(licence["license_key"])
    expect(options.locator(f'tr[data-order-id="{order_id}"]')).to_contain_text("Refunded")
    browser.screenshot(options, "2-revoked")
    assert options.evaluate(HAS_PRO) is False

    popup = browser.open("popup.html")  # offline: what the extension now keeps
    expect(popup.locator(".licence[data-state=revoked] .badge")).to_have_text("Revoked")
    browser.screenshot(popup, "3-popup")
    [kept] = [v for k, v in browser.storage().items() if k.startswith("licence:")]
    assert kept["status"] == "REVOKED"
