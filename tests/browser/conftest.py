"""Browser fixtures: a real ``lapor dev`` (as tests/e2e starts it) and Debian's chromium driven by Playwright.

Playwright's own browser download is not reachable on these machines: the tests launch the system chromium
(``LAPOR_CHROMIUM``, default /usr/bin/chromium), which ``make test`` installs. Without it, or without the
playwright package, the tests skip with the reason, except in CI (``CI`` set), where they fail: a green CI must
have driven a browser.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from e2e.conftest import DevServer, start_lapor_dev, stop_lapor_dev

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("LAPOR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
PHONE = {"width": 360, "height": 640}
SAMARINDA = {"latitude": -0.5022, "longitude": 117.1536}


def _unavailable(reason: str) -> None:
    message = f"browser tests need {reason} (make test installs it: apt-get install chromium; pip install -e '.[dev]')"
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"CI: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The browser's path, once it is known the tests can drive it (else skip, or fail under CI)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright package")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"chromium at {CHROMIUM}")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium):
    """One chromium per test module: Playwright's event loop never outlives the browser tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, chromium) -> DevServer:
    """The session's ``lapor dev``, serving the web app at / beside the API."""
    server = start_lapor_dev(tmp_path_factory.mktemp("lapor-dev-browser"))
    yield server
    stop_lapor_dev(server)


@pytest.fixture
def context(browser, site):
    """A fresh phone-sized browser (empty cache and storage), Indonesian, in Samarinda, with position allowed."""
    context = browser.new_context(viewport=PHONE, locale="id-ID", timezone_id="Asia/Makassar",
                                  base_url=site.url, geolocation=SAMARINDA,
                                  permissions=["geolocation", "clipboard-read", "clipboard-write"])
    yield context
    context.close()


class ConsoleLog:
    """Console errors and uncaught exceptions of a page.

    ``ignore_failed_loads_from(origin)`` leaves out one kind of error only: the browser's own "Failed to load
    resource" line for a request to that origin (a map tile the tests make fail, as it fails on a machine without
    internet). Chromium logs a network failure as a console error whatever the page does about it; an error from
    the page's code, a refused Content-Security-Policy or a failure from anywhere else still counts."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self._ignored_origins: tuple[str, ...] = ()

    def attach(self, page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _console(self, message) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url") or ""
        if (message.text.startswith("Failed to load resource: net::ERR_")
                and any(url.startswith(f"{origin}/") for origin in self._ignored_origins)):
            return
        self.errors.append(message.text)

    def ignore_failed_loads_from(self, origin: str) -> None:
        self._ignored_origins += (origin.rstrip("/"),)

    def unexpected(self, *allowed: str) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in allowed)]


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def page(context, console):
    page = context.new_page()
    console.attach(page)
    yield page
    page.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the pages' screenshots go: docs/screenshots (the README's) only with LAPOR_UPDATE_SCREENSHOTS=1,
    else pytest's temporary folder. They are taken either way (rendering is exercised), but hold random ids and
    times: written on every run, they would dirty the checkout."""
    if os.environ.get("LAPOR_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")
