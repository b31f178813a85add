"""More of what a merchant sees in the browser: cancelling at e-conomic and trying again, an
install we started (our state) leading to our own page, a stale link, the Danish page."""

import httpx
import pytest
from playwright.async_api import Page, expect

from kobling_devkit.merchant import wait_for
from kobling_shared.links import status_page_url
from kobling_shared.settings import DEV_SECRETS
from tests.e2e.conftest import Shots
from tests.e2e.test_journey import STATUS, connect_e_conomic, install_from_marketplace

pytestmark = [pytest.mark.usefixtures("stack"), pytest.mark.browser]

INSTALL = "http://127.0.0.1:8001"


async def test_cancel_at_e_conomic_then_try_again(page: Page) -> None:
    shots = Shots(page, "cancel-and-retry")
    account = await install_from_marketplace(page, shots)
    dashboard = page.url
    await connect_e_conomic(page, shots, email=f"owner@{account[5:]}.test")
    await page.get_by_role("button", name="Cancel").click()
    # e-conomic sends the browser back without a grant: our page says so, and "Try again" leads
    # back to the app in the Stripe Dashboard.
    await expect(
        page.get_by_role("heading", name="You cancelled connecting e-conomic")
    ).to_be_visible()
    await shots.take("cancelled")
    await page.get_by_role("link", name="Try again").click()
    await expect(page.get_by_role("heading", name="Stripe Dashboard")).to_be_visible()
    assert page.url.startswith(dashboard.split("?")[0].rsplit("/", 1)[0])
    await expect(page.get_by_text("not connected")).to_be_visible()
    await connect_e_conomic(page, shots, email=f"owner@{account[5:]}.test")
    await page.get_by_role("button", name="Add app").click()
    await expect(page.get_by_role("status")).to_have_text("✓ Connected")
    await shots.take("connected-after-retry")


async def test_an_install_we_started_connects_through_the_stripe_dashboard(page: Page) -> None:
    shots = Shots(page, "our-install-link")
    await page.goto(f"{INSTALL}/stripe/install")
    account = await page.get_by_label("Account").input_value()
    await page.get_by_role("button", name="Connect").click()
    await expect(page.get_by_text("Kobling is installed")).to_be_visible()
    await expect(page.get_by_role("status")).to_have_text("Not connected")
    await shots.take("onboarding")
    # Our page is read-only: its button leads to the app in the Stripe Dashboard, where the
    # connection starts behind Stripe's signature.
    await page.get_by_role("link", name="Connect e-conomic").click()
    await expect(page.get_by_role("heading", name="Stripe Dashboard")).to_be_visible()
    await page.keyboard.press("Tab")  # the way on is reachable by keyboard
    await connect_e_conomic(page, shots, email=f"owner@{account[5:]}.test")
    await page.get_by_role("button", name="Add app").click()
    await expect(page.get_by_role("status")).to_have_text("✓ Connected")
    await expect(page.get_by_text("use the Kobling app in your Stripe Dashboard")).to_be_visible()
    await expect(page.get_by_role("button", name="Disconnect")).to_have_count(0)
    await shots.take("connected")


async def test_a_stale_or_forged_link_shows_no_account(page: Page) -> None:
    await page.goto(f"{STATUS}/accounts/acct_someone?t=forged")
    await expect(page.get_by_role("heading", name="This page link has expired")).to_be_visible()
    await expect(page.get_by_text("acct_someone")).to_have_count(0)
    link = status_page_url(STATUS, DEV_SECRETS["page_link_key"], "acct_someone", False)
    await page.goto(link.replace("acct_someone?", "acct_other?"))
    await expect(page.get_by_role("heading", name="This page link has expired")).to_be_visible()


async def test_the_page_speaks_danish(page: Page) -> None:
    shots = Shots(page, "danish")
    account = await install_from_marketplace(page, shots)
    # This link carries no event to wait for (the callback's own link does): let the read model
    # take the install before the page is asked for it.
    async with httpx.AsyncClient(timeout=10) as http:
        await wait_for(http, account, lambda s: s["stripe"]["installed"])
    link = status_page_url(STATUS, DEV_SECRETS["page_link_key"], account, False, locale="da-DK")
    await page.goto(link)
    await expect(page.locator("html")).to_have_attribute("lang", "da")
    await expect(page.get_by_text("Kobling er installeret")).to_be_visible()
    await expect(page.get_by_role("status")).to_have_text("Ikke forbundet")
    await expect(page.get_by_role("link", name="Forbind e-conomic")).to_be_visible()
    await shots.take("danish")
