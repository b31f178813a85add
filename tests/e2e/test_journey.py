"""The merchant's journey in a real browser, against the real services, Kafka, database and the
sandbox: Marketplace → authorize → Dashboard → Connect e-conomic → log in → Add app → Connected →
Continue. A screenshot of each step lands in test-artifacts/journey/."""

import re
import time
from urllib.parse import unquote

import httpx
import pytest
from playwright.async_api import Page, expect

from kobling_devkit.merchant import release_company
from tests.e2e.conftest import Shots

pytestmark = [pytest.mark.usefixtures("stack"), pytest.mark.browser]

SANDBOX = "http://127.0.0.1:8010"
STATUS = "http://127.0.0.1:8003"
ACME = 123456  # the sandbox's Acme ApS, whose user jane@acme.test walks the journey


async def install_from_marketplace(page: Page, shots: Shots) -> str:
    await page.goto(f"{SANDBOX}/")
    await expect(page.get_by_role("heading", name="Kobling")).to_be_visible()
    await shots.take("marketplace")
    await page.get_by_role("link", name="Install app").click()
    account = await page.get_by_label("Account").input_value()
    await shots.take("authorize")
    await page.get_by_role("button", name="Connect").click()
    await expect(page.get_by_role("heading", name="Stripe Dashboard")).to_be_visible()
    return account


async def connect_e_conomic(page: Page, shots: Shots, email: str = "jane@acme.test") -> None:
    await page.get_by_role("link", name="Connect e-conomic").click()
    await expect(page.get_by_text("You will be taken to e-conomic")).to_be_visible()
    await shots.take("confirm")
    await page.get_by_role("button", name="OK").click()
    await expect(page.get_by_role("heading", name="Log in to Visma")).to_be_visible()
    await page.get_by_label("Email").fill(email)
    await shots.take("economic-email")
    await page.get_by_role("button", name="Next").click()
    await page.get_by_label("Password").fill("secret")
    await shots.take("economic-password")
    await page.get_by_role("button", name="Sign In").click()


async def test_a_merchant_installs_connects_and_continues(page: Page) -> None:
    # Acme ApS (123456) is the journey's company: whoever connected it before (an earlier run)
    # lets go first, so this connection is its first and is not held for their approval.
    async with httpx.AsyncClient(timeout=10) as http:
        await release_company(http, ACME)
    shots = Shots(page, "journey")
    account = await install_from_marketplace(page, shots)
    await expect(page.get_by_text(account)).to_be_visible()
    await shots.take("dashboard")

    await connect_e_conomic(page, shots)
    await expect(page.get_by_text("Acme ApS")).to_be_visible()
    await shots.take("economic-consent")
    started = time.monotonic()
    await page.get_by_role("button", name="Add app").click()

    # The whole status line: "Not connected" must not pass for "Connected".
    await expect(page.get_by_role("status")).to_have_text("✓ Connected")
    await expect(page.locator("dd", has_text="Acme ApS")).to_be_visible()
    elapsed_ms = (time.monotonic() - started) * 1000
    # The agreement number, and the company's CVR (which contains it: match whole values).
    await expect(page.locator("dd", has_text=re.compile(r"^123456$"))).to_be_visible()
    await expect(page.locator("dd", has_text=re.compile(r"^12345678$"))).to_be_visible()
    assert page.url.startswith(f"{STATUS}/accounts/{account}")
    print(f"\n'Add app' to 'Connected' on screen: {elapsed_ms:.0f} ms")
    await shots.take("connected")

    await page.get_by_role("link", name="Continue").click()
    await expect(page.get_by_role("heading", name="Stripe Dashboard")).to_be_visible()
    # Stripe's documented deep link: the account's test Dashboard with our app's drawer open.
    assert page.url.startswith(f"{SANDBOX}/dashboard/{account}/test/dashboard?apps")
    assert "[drawer]=stripe.dashboard.drawer.default" in unquote(page.url)
    # The app's state as the Dashboard shows it, whole: "not connected" is not "connected".
    state_line = page.locator("p").filter(has_text=re.compile(r"^e-conomic: "))
    await expect(state_line).to_have_text("e-conomic: connected · Acme ApS")
    await shots.take("back-in-stripe")
