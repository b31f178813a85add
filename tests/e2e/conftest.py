from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from kobling_devkit.paths import ARTIFACTS

CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright's own download cannot work offline
# Keep Chromium off the network: this machine refuses every outside connection, and Chromium
# otherwise tries many at start.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=FLAGS
        )
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 420, "height": 860}, locale="en-GB")
    page = await context.new_page()
    page.set_default_timeout(10_000)
    yield page
    await context.close()


class Shots:
    """Numbered screenshots of a journey, under test-artifacts/<name>/, each named
    <prefix><number>-<step>.png (a prefix keeps two journeys apart in one folder)."""

    def __init__(self, page: Page, name: str, prefix: str = "") -> None:
        self.page, self.folder, self.count = page, ARTIFACTS / name, 0
        self.prefix = prefix
        self.folder.mkdir(parents=True, exist_ok=True)

    async def take(self, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.prefix}{self.count:02d}-{step}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path
