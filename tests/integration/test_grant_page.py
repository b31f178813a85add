"""e-conomic's grant page and what /self tells about the agreement (issue 11, item 6): the
locales it takes, developer agreements, the roles an app requires. Real services and sandbox."""

import pytest

from kobling_devkit.infra import Infra
from kobling_devkit.kafka_topics import events_for
from kobling_devkit.merchant import (
    STATUS,
    confirm_page,
    connect_link,
    connected,
    install,
    press_ok,
    wait_for,
)
from kobling_shared.events import CONNECTIONS_TOPIC
from kobling_shared.links import status_page_url
from kobling_shared.settings import DEV_SECRETS

pytestmark = pytest.mark.usefixtures("stack")


@pytest.mark.parametrize(
    ("accept_language", "locale"),
    [
        ("en-GB,en;q=0.9", "en-US"),
        ("da-DK,da;q=0.9", "da-DK"),
        ("sv-SE", "sv-SE"),
        ("nb-NO", "nb-NO"),
        ("no", "nb-NO"),
        ("fr-FR,fr;q=0.9", "en-US"),
    ],
)
async def test_e_conomic_gets_a_locale_it_supports(
    http, account, accept_language: str, locale: str
) -> None:
    await install(http, account)
    link = await connect_link(http, account)
    confirm = await http.get(link, headers={"Accept-Language": accept_language})
    assert confirm.status_code == 200
    opened = await press_ok(http, confirm)
    assert opened.status_code == 303
    grant_url = opened.headers["location"]
    assert f"&locale={locale}" in grant_url
    page = await http.get(grant_url)
    assert page.status_code == 200 and "Log in to Visma" in page.text


async def test_a_developer_agreement_is_connected_with_a_warning(
    http, account, infra: Infra
) -> None:
    await install(http, account)
    grant = await connected(http, account, email="developer@kobling.test")
    doc = await wait_for(http, account, lambda d: d["economic"]["state"] == "connected")
    assert doc["economic"]["developer_agreement"] is True
    held = await events_for(infra.kafka, CONNECTIONS_TOPIC, account)
    connected_events = [e for e in held if e["type"] == "com.kobling.economic.connected.v1"]
    assert [e["data"]["developer_agreement"] for e in connected_events] == [True]
    assert grant.agreement == 901234
    link = status_page_url(STATUS, DEV_SECRETS["page_link_key"], account, False)
    page = await http.get(link)
    assert "Connected to a developer agreement" in page.text
    assert "cannot sync anything to it" in page.text and "✓ Connected" not in page.text


async def test_a_company_agreement_is_a_plain_connection(http, account) -> None:
    await install(http, account)
    await connected(http, account)
    doc = await wait_for(http, account, lambda d: d["economic"]["state"] == "connected")
    assert doc["economic"]["developer_agreement"] is False


async def test_the_merchant_hears_of_the_required_roles_before_leaving(http, account) -> None:
    """Our confirmation page, the last before e-conomic's, says who can add an app there."""
    await install(http, account)
    page = await confirm_page(http, await connect_link(http, account))
    assert "roles include the role Kobling requires" in page.text
    assert "administrator" not in page.text
