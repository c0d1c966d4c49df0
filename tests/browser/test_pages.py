"""The options and popup pages in real Chromium: a licence bought in another browser restored by key (the device
limit explained, then respected), deactivated to free its slot; the pages in Chinese by default; the server's QR
SVG accepted as a drawing and refused when it carries anything else."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from scripts.stack import Stack
from tests.browser.conftest import CHROMIUM_LOCALES, ExtensionBrowser
from tests.support.emulator import RunningEmulator, wait_for
from tests.support.shop import Shop, new_install_id


def activate(shop: Shop, key: str, install_id: str) -> requests.Response:
    return shop.call("POST", "/v1/licenses/activate", json={"license_key": key, "install_id": install_id})


def test_a_licence_bought_elsewhere_is_restored_by_key_within_the_device_limit_then_deactivated(
    browser: ExtensionBrowser, stack: Stack, emulator: RunningEmulator
) -> None:
    shop = Shop(stack)
    order = shop.order("pro-monthly")  # another browser's purchase: 3 devices
    emulator.pay(order["order_id"])
    key = wait_for(lambda: (s := shop.status(order))["license"] and s["license"]["license_key"], timeout=20)
    others = [new_install_id(), new_install_id()]
    assert [activate(shop, key, install).status_code for install in others] == [200, 200]

    options = browser.open("options.html")
    expect(options.locator("#licences .empty")).to_have_text("No licence in this browser yet.")
    options.get_by_label("Bought in another browser? Enter your licence key.").fill(f" {key.lower()} ")
    options.get_by_role("button", name="Restore", exact=True).click()

    result = options.locator("#restore-result")
    expect(result).to_contain_text("already active in the maximum number of browsers")
    expect(result).to_have_attribute("data-action", "deactivate_elsewhere")
    browser.screenshot(options, "1-device-limit")

    shop.call("POST", "/v1/licenses/deactivate", json={"license_key": key, "install_id": others[0]})
    options.get_by_role("button", name="Restore", exact=True).click()

    expect(result).to_have_text("Licence restored.")
    card = options.locator(".licence[data-state=valid]")
    expect(card.locator("h3")).to_have_text("Pro features, 30 days")
    expect(card.locator(".licence-key")).to_have_text(key)
    browser.screenshot(options, "2-restored")

    card.get_by_role("button", name="Deactivate in this browser").click()

    expect(options.locator("#licences-status")).to_contain_text(key)
    expect(options.locator(".licence")).to_have_count(0)
    assert activate(shop, key, new_install_id()).status_code == 200, "the slot was not freed"


def test_with_the_network_down_the_checkout_offers_a_retry_that_works(browser: ExtensionBrowser) -> None:
    page = browser.open("checkout.html", before=lambda p: p.route("**/v1/products", lambda route: route.abort()))

    problem = page.locator("#problem")
    expect(problem).to_contain_text("Cannot reach the server")
    browser.screenshot(page, "offline")
    page.unroute("**/v1/products")
    problem.get_by_role("button", name="Retry").click()

    expect(page.locator(".product")).to_have_count(3)
    expect(problem).to_be_hidden()


@pytest.mark.skipif(
    not (CHROMIUM_LOCALES / "zh-CN.pak").exists(),
    reason="Chromium has only its en-US UI here: apt-get install -y chromium-l10n",
)
@pytest.mark.parametrize("lang", ["zh-CN", "fr-FR"])
def test_the_pages_speak_chinese_to_chinese_browsers_and_by_default(
    launch: Callable[..., ExtensionBrowser], extension_dir: Path, lang: str
) -> None:
    browser = launch(extension_dir, lang=lang)
    popup = browser.open("popup.html")
    expect(popup.locator("h1")).to_have_text("我的授权")
    expect(popup.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(popup.locator("#buy")).to_have_text("购买授权")

    checkout = browser.open("checkout.html")
    expect(checkout.locator("h1")).to_have_text("购买授权")
    expect(checkout.locator('button[data-product-id="pro-monthly"]')).to_have_text("微信支付")
    expect(checkout.locator(".product .terms").first).to_contain_text("天授权")
    browser.screenshot(checkout, "checkout")


HOSTILE_SVGS = [
    '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><path d="M0 0h1v1H0z"/></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div>'
    "</foreignObject></svg>",
    '<svg xmlns="http://www.w3.org/2000/svg"><image href="https://evil.example/x.png"/></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"><path d="M0 0h1v1H0z"/></a></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg"><path fill="url(https://evil.example/#p)" d="M0 0h1v1H0z"/></svg>',
    '<html xmlns="http://www.w3.org/1999/xhtml"><body>not a drawing</body></html>',
    "<svg>not closed",
    "",
]


def test_the_qr_svg_is_shown_only_when_it_is_a_plain_drawing(browser: ExtensionBrowser, stack: Stack) -> None:
    genuine = Shop(stack).order("pro-monthly")["qr_svg"]
    page = browser.open("checkout.html")
    verdicts = page.evaluate(
        """async (svgs) => {
            const { safeSvgDataUrl } = await import("/src/ui/qr.js");
            return svgs.map((svg) => safeSvgDataUrl(svg));
        }""",
        [genuine, *HOSTILE_SVGS],
    )
    assert verdicts[0].startswith("data:image/svg+xml;charset=utf-8,")
    assert verdicts[1:] == [None] * len(HOSTILE_SVGS)
