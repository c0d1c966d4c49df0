"""Real Chromium with the built extension loaded, against the local stack (gateway + emulator + SQLite).

Recipe: ../shared/docs/extension-testing.md — Debian's /usr/bin/chromium driven by Python Playwright (no browser
download), a persistent context per test with a fresh profile and a throwaway TMPDIR, the extension built at test
time against the test stack's gateway URL and its published licence keys. Without Chromium, Playwright or node the
tests are skipped, with the reason.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from scripts.stack import Stack
from tests.support.emulator import RunningEmulator
from tests.support.stacks import FAST_QUERIES, own_stack

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Playwright, Worker

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_LOCALES = Path(os.environ.get("CHROMIUM_LOCALES", "/usr/lib/chromium/locales"))  # Debian's chromium-l10n
SCREENSHOTS = ROOT / ".data" / "screenshots"
SHORT_TTL_SECONDS = 60  # the server's minimum ORDER_TTL_SECONDS


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "Python Playwright is not installed (pip install playwright; no browser download needed)"
    if shutil.which("node") is None:
        return "node is needed to build the extension"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing()
    if reason is None:
        return
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.skip(reason=reason))


def build_extension(gateway_url: str, out: Path) -> Path:
    """`extension/build.mjs` for this stack: its URL as the API base, its published keys embedded."""
    answer = requests.get(f"{gateway_url}/v1/licenses/keys", timeout=10).json()
    keys = {k["kid"]: k["public_key"] for k in answer["keys"]}
    subprocess.run(
        [
            "node",
            str(ROOT / "extension" / "build.mjs"),
            "--env",
            "local",
            "--out",
            str(out),
            "--api-base",
            gateway_url,
            "--public-keys",
            json.dumps(keys),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return out


@pytest.fixture(scope="session")
def extension_dir(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_extension(stack.gateway.base_url, tmp_path_factory.mktemp("extension") / "dist")


@pytest.fixture(scope="session")
def short_ttl_stack(emulator_server: RunningEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A second gateway whose orders expire after a minute (the expired-QR path), sharing the emulator."""
    data_dir = tmp_path_factory.mktemp("short-ttl-stack")
    with own_stack(emulator_server, data_dir, **FAST_QUERIES, ORDER_TTL_SECONDS=str(SHORT_TTL_SECONDS)) as running:
        yield running


@pytest.fixture(scope="session")
def short_ttl_extension_dir(short_ttl_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_extension(short_ttl_stack.gateway.base_url, tmp_path_factory.mktemp("extension-short") / "dist")


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@dataclass
class ExtensionBrowser:
    """Chromium with the unpacked extension loaded: its pages in tabs, its service worker, its storage."""

    context: BrowserContext
    extension_id: str
    shots: list[Path]
    name: str
    requested_urls: list[str] = field(default_factory=list)

    def url(self, page: str) -> str:
        return f"chrome-extension://{self.extension_id}/{page}"

    def open(self, page_name: str, before: Callable[[Page], None] | None = None) -> Page:
        page = self.context.new_page()
        if before:
            before(page)
        page.goto(self.url(page_name))
        return page

    def worker(self) -> Worker:
        prefix = self.url("")
        for worker in self.context.service_workers:
            if worker.url.startswith(prefix):
                return worker
        return self.context.wait_for_event("serviceworker", predicate=lambda w: w.url.startswith(prefix))

    def storage(self) -> dict[str, Any]:
        result: dict[str, Any] = self.worker().evaluate("chrome.storage.local.get(null)")
        return result

    def screenshot(self, page: Page, step: str) -> Path:
        name = f"{self.name}-{step}.png"
        first, second = self.shots[0] / name, self.shots[1] / name
        page.screenshot(path=str(first), full_page=True)
        shutil.copyfile(first, second)
        return first


@pytest.fixture
def launch(
    playwright: Playwright, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Callable[..., ExtensionBrowser]]:
    """Start Chromium with an extension build; a fresh profile and TMPDIR each time; closed after the test."""
    shots = [tmp_path_factory.getbasetemp() / "screenshots", SCREENSHOTS]
    for folder in shots:
        folder.mkdir(parents=True, exist_ok=True)
    contexts: list[BrowserContext] = []
    # Chromium puts its singleton socket under TMPDIR: keep the path short (a UNIX socket path is <= 107 bytes).
    tmpdirs: list[str] = []

    def start(extension: Path, *, lang: str = "en-US") -> ExtensionBrowser:
        scratch = tmp_path / f"browser-{len(contexts)}"
        tmpdirs.append(tempfile.mkdtemp(prefix="chromium-"))
        context = playwright.chromium.launch_persistent_context(
            str(scratch / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=[
                f"--disable-extensions-except={extension}",
                f"--load-extension={extension}",
                "--no-sandbox",  # required as root
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--lang={lang}",
            ],
            env={**os.environ, "TMPDIR": tmpdirs[-1], "LANGUAGE": lang.replace("-", "_")},
            viewport={"width": 900, "height": 760},
        )
        contexts.append(context)
        prefix = "chrome-extension://"
        worker = next((w for w in context.service_workers if w.url.startswith(prefix)), None)
        worker = worker or context.wait_for_event("serviceworker", predicate=lambda w: w.url.startswith(prefix))
        extension_id = worker.url.split("/")[2]
        name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name).strip("-")[:80]
        browser = ExtensionBrowser(context, extension_id, shots, name)
        context.on("request", lambda r: browser.requested_urls.append(r.url))
        return browser

    yield start
    for context in contexts:
        context.close()
    for folder in tmpdirs:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def browser(launch: Callable[..., ExtensionBrowser], extension_dir: Path) -> ExtensionBrowser:
    return launch(extension_dir)
