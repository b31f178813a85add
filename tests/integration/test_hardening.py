"""The edges a security review hardened, each tried over HTTP against the running stack: dates
ahead of the clock, JSON nested too deeply, pages that could be framed, cached or sent on as a
referrer, and links that could end up in a log."""

import time
from pathlib import Path

import httpx
import pytest

from kobling_devkit.infra import Infra
from kobling_devkit.kafka_topics import events_for
from kobling_devkit.merchant import (
    ECON_AUTH,
    INSTALL,
    INTERNAL,
    STATUS,
    confirm_page,
    connect_link,
    grant_page,
    install,
    press_ok,
    status,
    view_body,
)
from kobling_devkit.stack import Service
from kobling_devkit.stripe_signing import body_of, install_event, sign
from kobling_shared.events import INSTALLS_TOPIC
from kobling_shared.links import status_page_url
from kobling_shared.settings import DEV_SECRETS

pytestmark = pytest.mark.usefixtures("stack")

WEBHOOK_SECRET = DEV_SECRETS["stripe_webhook_secret"]
APP_SECRET = DEV_SECRETS["stripe_app_secret"]


async def test_a_webhook_dated_ahead_of_the_clock_is_refused_like_a_stale_one(
    http: httpx.AsyncClient, account: str, infra: Infra
) -> None:
    body = body_of(install_event(account))
    ahead = sign(body, WEBHOOK_SECRET, int(time.time()) + 600)
    response = await http.post(
        f"{INSTALL}/stripe/webhooks", content=body, headers={"Stripe-Signature": ahead}
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_signature",
        "message": "signature timestamp is in the future",
    }
    # A clock a little ahead is within the same five minutes a late delivery gets.
    skewed = sign(body, WEBHOOK_SECRET, int(time.time()) + 120)
    accepted = await http.post(
        f"{INSTALL}/stripe/webhooks", content=body, headers={"Stripe-Signature": skewed}
    )
    assert accepted.status_code == 200
    assert len(await events_for(infra.kafka, INSTALLS_TOPIC, account)) == 1


async def test_a_view_request_dated_ahead_of_the_clock_is_refused(
    http: httpx.AsyncClient, account: str
) -> None:
    await install(http, account)
    payload = view_body(account, "connect")
    response = await http.post(
        f"{ECON_AUTH}/api/connect-link",
        content=payload,
        headers={"Stripe-Signature": sign(payload, APP_SECRET, int(time.time()) + 600)},
    )
    assert response.status_code == 401
    assert "future" in response.text


def nested(depth: int = 20_000) -> bytes:  # 40 KB: under the body limit
    return b"[" * depth + b"]" * depth


async def test_deeply_nested_json_is_a_400_on_every_endpoint(
    http: httpx.AsyncClient, stack: dict[str, Service]
) -> None:
    """Every endpoint each service documents as taking JSON, signed and authorised where it asks
    for it, so the body is what gets judged."""
    body = nested()
    # One header for the webhook and the view endpoints alike (they verify the raw body before
    # reading it): Stripe's scheme passes when any v1 matches.
    now = int(time.time())
    for_the_view = sign(body, APP_SECRET, now).split(",")[1]
    headers = {
        "Content-Type": "application/json",
        "Stripe-Signature": f"{sign(body, WEBHOOK_SECRET, now)},{for_the_view}",
        **INTERNAL,
    }
    answers = {}
    for name in ("install", "econ-auth", "status"):
        url = stack[name].url
        schema = (await http.get(f"{url}/openapi.json")).json()
        for path, operations in schema["paths"].items():
            takes = operations.get("post", {}).get("requestBody", {}).get("content", {})
            if "application/json" in takes:
                response = await http.post(f"{url}{path}", content=body, headers=headers)
                answers[f"{name} {path}"] = response.status_code
    assert "install /stripe/webhooks" in answers and "status /api/status" in answers
    assert {endpoint: code for endpoint, code in answers.items() if code != 400} == {}


async def pages_reached_by_a_secret_in_their_url(
    http: httpx.AsyncClient, account: str
) -> dict[str, httpx.Response]:
    """A page or redirect for each kind of secret a URL of ours carries."""
    await install(http, account)
    page = status_page_url(STATUS, DEV_SECRETS["page_link_key"], account, False)
    link = await connect_link(http, account)
    confirm = await confirm_page(http, link)
    return {
        "status page (t=)": await http.get(page),
        "connect link's confirmation (link=)": confirm,
        "its OK (link= in the form)": await press_ok(http, confirm),
        "used connect link (link=)": await http.get(link),
        "e-conomic callback (state=, token=)": await http.get(
            f"{ECON_AUTH}/economic/callback", params={"state": "s" * 40, "token": "g" * 40}
        ),
        "Stripe's redirect (code=, state=)": await http.get(
            f"{INSTALL}/stripe/oauth/callback", params={"code": "ac_x", "state": "s" * 40}
        ),
    }


async def test_pages_cannot_be_framed_cached_or_sent_on_as_a_referrer(
    http: httpx.AsyncClient, account: str
) -> None:
    pages = await pages_reached_by_a_secret_in_their_url(http, account)
    assert pages["status page (t=)"].status_code == 200
    assert pages["connect link's confirmation (link=)"].status_code == 200
    assert pages["its OK (link= in the form)"].status_code == 303
    wrong = {}
    for name, response in pages.items():
        seen = (
            response.headers.get("content-security-policy"),
            response.headers.get("referrer-policy"),
            response.headers.get("cache-control"),
        )
        if seen != ("frame-ancestors 'none'", "no-referrer", "no-store"):
            wrong[name] = seen
    assert wrong == {}


async def test_no_link_token_reaches_a_log(
    http: httpx.AsyncClient, account: str, stack: dict[str, Service]
) -> None:
    await install(http, account)
    link = await connect_link(http, account)
    token = link.split("link=", 1)[1]
    assert (await grant_page(http, link)).startswith("http")  # confirmation page, then OK
    await http.get(link)  # used: the problem page
    # The access log line is written as the response goes out; the next request's line follows.
    await status(http, account)
    log = Path(stack["econ-auth"].log_path).read_text(errors="replace")
    assert "/economic/connect?link=[redacted]" in log
    assert token not in log
