"""Read your writes with two status instances, each serving accounts from memory
(kobling_status.read_cache): the merchant's page after e-conomic's callback shows "Connected",
and from then on neither instance, asked directly, shows the account as it was before.

Both instances first hold the account as "Not connected" (each was asked for it). Whichever
instance's projection owns the account's partition writes it and tells the other, before the
event counts as applied: the page waits for that. What the other instance may still take is its
marker's delivery; the test allows it MARKER_DELIVERY_S and prints what it took."""

import time

import httpx
import pytest

from kobling_devkit.merchant import INTERNAL, add_app, connect_link, grant_page, install, wait_for
from kobling_devkit.merchant import view_request as signed_view
from kobling_devkit.stripe_signing import new_account

pytestmark = pytest.mark.usefixtures("stack")

INSTANCES = ("http://127.0.0.1:8103", "http://127.0.0.1:8203")  # status-1, status-2
ACCOUNTS = 4  # partitions spread over the two instances: some written by each
MARKER_DELIVERY_S = 0.5
READS_AFTER = 20  # then each instance, read again and again, never goes back


async def states(http: httpx.AsyncClient, base: str, account: str) -> tuple[str, str]:
    """The account's e-conomic state in the view's answer and in the internal API's."""
    view = await http.post(f"{base}/api/status", **signed_view(account, "status"))
    internal = await http.get(
        f"{base}/v1/accounts/{account}", params={"livemode": False}, headers=INTERNAL
    )
    assert (view.status_code, internal.status_code) == (200, 200), (view.text, internal.text)
    return view.json()["economic"]["state"], internal.json()["economic"]["state"]


async def test_neither_instance_shows_an_account_older_than_the_merchants_page() -> None:
    took: list[float] = []
    older_first = 0  # first answers after the page that were still the older state
    async with (
        httpx.AsyncClient(timeout=30) as http,
        httpx.AsyncClient(timeout=30, follow_redirects=False) as browser,
    ):
        for _ in range(ACCOUNTS):
            account = new_account()
            await install(http, account)
            await wait_for(http, account, lambda d: d["stripe"]["installed"], timeout=60)
            for base in INSTANCES:
                assert await states(http, base, account) == ("not_connected", "not_connected")

            grant = await add_app(
                browser, await grant_page(browser, await connect_link(browser, account))
            )
            back = await browser.get(grant.callback)
            assert back.status_code == 303, back.text
            page = await browser.get(back.headers["location"])
            assert page.status_code == 200 and "Connected" in page.text, page.text
            seen = time.monotonic()

            for base in INSTANCES:
                now_seen = await states(http, base, account)
                older_first += now_seen != ("connected", "connected")
                while now_seen != ("connected", "connected"):
                    waited = time.monotonic() - seen
                    assert waited < MARKER_DELIVERY_S, f"{base} still shows {now_seen}"
                    now_seen = await states(http, base, account)
                took.append(time.monotonic() - seen)
            for _ in range(READS_AFTER):
                for base in INSTANCES:
                    assert await states(http, base, account) == ("connected", "connected")
    print(
        f"\nthe page said Connected → both instances said so: max {max(took) * 1000:.0f} ms;"
        f" {older_first} of {len(took)} first answers still the older state"
    )
