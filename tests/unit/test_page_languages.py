"""A Danish browser reads the problem pages in Danish, an English one in English as before, and
the merchant's page speaks both from the one catalogue: each service's pages over HTTP into its
app, nothing behind it connected."""

import html
import re
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest

from kobling_econ_auth.app import create_app as econ_auth_app
from kobling_install.app import create_app as install_app
from kobling_install.settings import InstallSettings
from kobling_shared.links import status_page_url
from kobling_status.app import create_app as status_app
from kobling_status.projection import (
    AccountStatus,
    AwaitingConsent,
    EconomicSection,
    StripeSection,
)
from kobling_status.settings import StatusSettings
from tests.fakes.econ_auth import fake_deps
from tests.in_process import client_of

DANISH = {"Accept-Language": "da-DK,da;q=0.9,en;q=0.8"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


def heading(page: httpx.Response) -> str:
    match = re.search(r"<h1>(.*?)</h1>", page.text)
    assert match, page.text
    return match.group(1)


def lang(page: httpx.Response) -> str:
    match = re.search(r'<html lang="(\w+)">', page.text)
    assert match, page.text
    return match.group(1)


@pytest.fixture
async def econ_auth():
    deps = fake_deps()
    app = econ_auth_app(deps.settings)  # no lifespan: nothing connects
    app.state.deps = deps
    async with client_of(app, "http://econ-auth") as client:
        yield client


async def test_econ_auth_answers_a_danish_browser_in_danish(econ_auth) -> None:
    page = await econ_auth.get("/economic/callback", headers=DANISH)
    assert page.status_code == 400 and lang(page) == "da"
    assert heading(page) == "Start fra dit Stripe Dashboard"
    assert "så intet blev forbundet" in page.text and "Åbn Stripe Dashboard" in page.text

    link = await econ_auth.get("/economic/connect", params={"link": "forged"}, headers=DANISH)
    assert link.status_code == 400 and heading(link) == "Dette link kan ikke bruges"


async def test_econ_auth_answers_an_english_browser_as_before(econ_auth) -> None:
    page = await econ_auth.get("/economic/callback", headers=ENGLISH)
    assert page.status_code == 400 and lang(page) == "en"
    assert heading(page) == "Start from your Stripe Dashboard"
    assert "Open the Stripe Dashboard" in page.text
    bare = await econ_auth.get("/economic/callback", params={"state": "old"})
    assert "started before an update of Kobling" in bare.text and lang(bare) == "en"


async def test_install_answers_a_danish_browser_in_danish() -> None:
    app = install_app(InstallSettings())  # no lifespan: nothing connects
    async with client_of(app, "http://install") as client:
        back = await client.get(
            "/stripe/oauth/callback", params={"error": "access_denied"}, headers=DANISH
        )
        english = await client.get("/stripe/oauth/callback", params={"error": "access_denied"})
    assert back.status_code == 400 and lang(back) == "da"
    assert heading(back) == "Kobling blev ikke installeret"
    assert "Tilbage til Stripe App Marketplace" in back.text
    assert heading(english) == "Kobling was not installed" and lang(english) == "en"


async def test_a_stale_status_link_speaks_the_pages_locale_or_the_browsers() -> None:
    app = status_app(StatusSettings())  # no lifespan: nothing connects
    async with client_of(app, "http://status") as client:
        danish = await client.get("/accounts/acct_1", params={"t": "forged"}, headers=DANISH)
        asked = await client.get("/accounts/acct_1", params={"t": "forged", "locale": "da-DK"})
        english = await client.get("/accounts/acct_1", params={"t": "forged"})
    assert danish.status_code == asked.status_code == 403
    assert heading(danish) == heading(asked) == "Linket til denne side er udløbet"
    assert heading(english) == "This page link has expired"


class OneAccount:
    """The status store, holding one account's status."""

    def __init__(self, status: AccountStatus) -> None:
        self.status = status

    async def get(self, account_id: str, livemode: bool) -> AccountStatus | None:
        return self.status if account_id == self.status.account_id else None


ECONOMIC = {
    "connected": EconomicSection(
        state="connected",
        agreement_number=123,
        company_name="Acme ApS",
        connected_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
        warning="agreement_shared",
        shared_with=["acct_2", "acct_3"],
    ),
    "failed": EconomicSection(state="failed", reason="permission_refused"),
    "disconnected": EconomicSection(state="disconnected", reason="merchant_request"),
    "not_connected": EconomicSection(),
    # Back from e-conomic with a company another Stripe account is connected to (issue 23, 6).
    "awaiting_consent": EconomicSection(
        awaiting_consent=AwaitingConsent(
            agreement_number=123,
            company_name="Acme ApS",
            expires_at=datetime(2026, 1, 9, 3, 4, tzinfo=UTC),
        )
    ),
}
SAID = {
    ("connected", None): ["✓ Connected", "Acme ApS", "connected to 2 other Stripe account(s)"],
    ("connected", "da-DK"): ["✓ Forbundet", "Aftalenummer", "forbundet til 2 anden/andre"],
    ("failed", None): [
        "We couldn't connect e-conomic",
        "lacks a role Kobling requires",
        "Try again",
    ],
    ("failed", "da-DK"): ["Vi kunne ikke forbinde e-conomic", "mangler en rolle"],
    ("disconnected", None): ["You disconnected e-conomic.", "Settings → Extensions → Apps"],
    ("disconnected", "da-DK"): ["Du afbrød forbindelsen til e-conomic.", "Forbind igen"],
    ("not_connected", None): ["Not connected", "Connect e-conomic", "test mode"],
    ("not_connected", "da-DK"): ["Ikke forbundet", "Forbind e-conomic", "testtilstand"],
    ("awaiting_consent", None): [
        "Waiting for Acme ApS to approve in the Stripe account already connected to it",
        "If nobody answers by 2026-01-09",
    ],
    ("awaiting_consent", "da-DK"): ["Venter på, at Acme ApS godkender", "inden 2026-01-09"],
}


@pytest.mark.parametrize(("state", "locale"), list(SAID))
async def test_the_merchants_page_says_each_state_in_its_language(state, locale) -> None:
    settings = StatusSettings()
    status = AccountStatus(
        account_id="acct_1",
        livemode=False,
        updated_at=datetime.now(UTC),
        stripe=StripeSection(installed=True),
        economic=ECONOMIC[state],
    )
    app = status_app(settings)  # no lifespan: nothing connects
    app.state.deps = replace(app.state.deps, store=OneAccount(status))
    query = {"locale": locale} if locale else {}
    link = status_page_url("http://status", settings.page_link_key, "acct_1", False, **query)
    async with client_of(app, "http://status") as client:
        page = await client.get(link)
    assert page.status_code == 200 and lang(page) == ("da" if locale else "en")
    for words in SAID[(state, locale)]:
        assert words in html.unescape(page.text)
