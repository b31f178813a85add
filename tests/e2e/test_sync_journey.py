"""The sync in the merchant's hands (issue 25), in a real browser against the real services, Kafka,
database and the sandbox: install from the Marketplace → connect e-conomic (a company of its own)
→ "Sync settings": accept the suggestions, pick the five accounts, save → pay an invoice → its
panel says "Synced · invoice N" → e-conomic's books hold the invoice and its payment → an invoice
Stripe charged no VAT on stops at the totals gate and its panel shows both totals → the VAT zone
changed to the exempt one → Replay → synced. A screenshot of each step lands in
test-artifacts/journey/sync-NN-<step>.png (the install and connect steps, which the connect
journey shows, in test-artifacts/sync-journey-setup/)."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Locator, Page, expect

from kobling_devkit.waiting import eventually
from tests.e2e.conftest import Shots
from tests.e2e.test_journey import connect_e_conomic, install_from_marketplace

pytestmark = [pytest.mark.usefixtures("stack"), pytest.mark.browser]

# The merchant's choices for the accounts, by the settings page's labels (sync suggests none).
ACCOUNTS = {
    "Bank account": "5820",
    "Stripe clearing account": "5830",
    "Stripe fees account": "7220",
    "Suspense account": "5890",
    "Exchange differences account": "8330",
}
# invoice.paid → install → Kafka → sync → the brokers → e-conomic, on a loaded machine.
SYNC_SECONDS = 90
# A page that asks sync (the settings read e-conomic's lists through the broker; Replay books).
# Playwright's `expect` waits 5 s unless told.
SLOW_MS = 60_000


def folded(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


async def panel_says(page: Page, wanted: str) -> str:
    """Reloads the invoice page, as the merchant would, until its app panel shows `wanted`, and
    answers the panel's text; fails saying what the panel showed last."""
    panel = page.locator("#app-panel")

    async def read() -> str:
        await page.reload()
        return folded(await panel.inner_text())

    return await eventually(
        read,
        lambda text: wanted in text,
        timeout=SYNC_SECONDS,
        interval=1.0,
        what=f'the invoice panel to show "{wanted}" ({page.url})',
    )


def figure(page: Page, label: str) -> Locator:
    """The value the panel shows beside a label."""
    term = page.locator("#app-panel dt", has_text=label)
    return term.locator("xpath=following-sibling::dd[1]")


async def fill_invoice(page: Page, amount: str, vat: str, description: str) -> None:
    """The Dashboard's "Pay an invoice" form: a customer pays such an invoice by card."""
    await page.get_by_label("Description", exact=True).fill(description)
    await page.get_by_label("Amount without VAT (DKK)").fill(amount)
    await page.get_by_label("VAT %").fill(vat)


async def open_invoice(page: Page, total: str) -> str:
    """Opens the Dashboard's invoice of that total; answers its id (in_…)."""
    item = page.get_by_role("listitem").filter(has_text=total)
    await expect(item).to_have_count(1, timeout=SLOW_MS)
    await item.get_by_role("link").click()
    heading = page.get_by_role("heading", name=re.compile(r"^Invoice "))
    await expect(heading).to_be_visible(timeout=SLOW_MS)
    invoice = urlsplit(page.url).path.rsplit("/", 1)[1]
    assert invoice.startswith("in_"), page.url
    return invoice


async def save_settings(page: Page) -> None:
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_role("status")).to_have_text("Saved. Sync is on.", timeout=SLOW_MS)


async def open_sync_settings(page: Page) -> None:
    await page.get_by_role("link", name="Sync settings").click()
    heading = page.get_by_role("heading", name="Sync settings", exact=True)
    await expect(heading).to_be_visible(timeout=SLOW_MS)
    # The settings were read from sync, not "Kobling could not be reached".
    await expect(page.get_by_label("VAT zone", exact=True)).to_be_visible()


async def test_a_merchant_sets_up_the_sync_and_replays_an_invoice_after_a_fix(
    page: Page,
) -> None:
    page.set_default_timeout(30_000)
    setup = Shots(page, "sync-journey-setup")
    shots = Shots(page, "journey", prefix="sync-")

    # Installed from the Marketplace (install holds the account's tokens), then connected to a
    # company nobody else has connected.
    account = await install_from_marketplace(page, setup)
    await connect_e_conomic(page, setup, email=f"owner@{account[5:]}.test")
    await page.get_by_role("button", name="Add app").click()
    await expect(page.get_by_role("status")).to_have_text("✓ Connected")
    await page.get_by_role("link", name="Continue").click()
    await expect(page.get_by_role("heading", name="Stripe Dashboard")).to_be_visible()
    dashboard = page.url
    state_line = page.locator("p").filter(has_text=re.compile(r"^e-conomic: "))
    await expect(state_line).to_have_text(re.compile(r"^e-conomic: connected · "))
    await shots.take("dashboard")

    # The sync settings: sync's suggestions preselected, the five accounts picked.
    await open_sync_settings(page)
    await expect(page.get_by_text("Kobling filled in suggestions")).to_be_visible()
    await expect(page.get_by_text("Sync is off until these are chosen")).to_be_visible()
    for label, number in ACCOUNTS.items():
        await page.get_by_label(label, exact=True).select_option(number)
    await shots.take("settings")
    await save_settings(page)
    for label, number in ACCOUNTS.items():
        await expect(page.get_by_label(label, exact=True)).to_have_value(number)
    await shots.take("settings-saved")

    # An invoice of 1,000.00 + 25 % VAT, paid: booked in e-conomic with its payment.
    await page.get_by_role("link", name="← Dashboard").click()
    await fill_invoice(page, "1000.00", "25", "Kaffebønner, 10 kg")
    await shots.take("pay-an-invoice")
    await page.get_by_role("button", name="Pay an invoice").click()
    first = await open_invoice(page, "1,250.00 DKK")
    shown = await panel_says(page, "Synced · invoice")
    found = re.search(r"Synced · invoice (\d+)", shown)
    assert found, shown
    booked_number = found.group(1)
    await expect(figure(page, "e-conomic invoice")).to_have_text(booked_number)
    await expect(figure(page, "Voucher")).to_have_text(re.compile(r"^\d+$"))
    await shots.take("invoice-synced")

    # e-conomic's books: the booked invoice, 1,250.00 with its Stripe id, and the payment.
    await page.get_by_role("link", name="← Dashboard").click()
    await page.get_by_role("link", name="What reached the books in e-conomic").click()
    await expect(page.get_by_role("heading", name=re.compile(r"^Books of "))).to_be_visible()
    invoices = page.get_by_role("region", name=re.compile(r"^Booked invoices"))
    booked = invoices.get_by_role("row").filter(has_text=first)
    await expect(booked).to_have_count(1)
    await expect(booked.get_by_role("cell").first).to_have_text(booked_number)
    await expect(booked).to_contain_text("1250.00 DKK")
    vouchers = page.get_by_role("region", name=re.compile(r"^Journal vouchers"))
    payment = vouchers.get_by_role("row").filter(has_text=first)
    await expect(payment.first).to_contain_text("1250.00")
    await shots.take("economic-books")

    # An invoice Stripe charged no VAT on: e-conomic prices the product with 25 %, so the totals
    # gate stops it before booking, and the panel says why with both totals.
    await page.goto(dashboard)
    await fill_invoice(page, "400.00", "0", "Kursus, momsfrit")
    await page.get_by_role("button", name="Pay an invoice").click()
    await open_invoice(page, "400.00 DKK")
    second = page.url
    await panel_says(page, "Needs attention")
    panel = page.locator("#app-panel")
    await expect(panel).to_contain_text("e-conomic priced the invoice differently from Stripe")
    await expect(figure(page, "Stripe's total")).to_have_text("400.00 DKK")
    await expect(figure(page, "e-conomic's total")).to_have_text("500.00 DKK")
    await expect(panel.get_by_role("button", name="Replay")).to_be_visible()
    await shots.take("needs-attention")

    # The fix: such sales go to the VAT-exempt zone.
    await page.get_by_role("link", name="← Dashboard").click()
    await open_sync_settings(page)
    zone = page.get_by_label("VAT zone", exact=True)
    exempt = await zone.locator("option", has_text="exempt").get_attribute("value")
    assert exempt, await zone.inner_html()
    await zone.select_option(exempt)
    await save_settings(page)
    await expect(zone).to_have_value(exempt)
    await shots.take("settings-exempt")

    # Replay: the invoice goes on from the draft, now priced without VAT, and is booked.
    await page.goto(second)
    await expect(panel).to_contain_text("Needs attention")
    async with page.expect_navigation(timeout=SLOW_MS):
        await panel.get_by_role("button", name="Replay").click()
    shown = await panel_says(page, "Synced · invoice")
    assert "Needs attention" not in shown and "Replay was refused" not in shown, shown
    await shots.take("replayed")
