"""How the sandbox's Dashboard plays our app's view talking to sync (issue 25): the request the
view makes, `{livemode, action, ...}` signed as Stripe signs it (stripe.signed_view), posted to
sync's view endpoints, and the view's own words (the shared catalogue) to show the answer in.
Played server-side, as the Dashboard's "Connect e-conomic" is (stripe.dashboard_connect): only
HTTP, the sandbox imports no service. The invoice panel (stripe_invoice_panel) and the sync
settings page (stripe_sync_settings) use it."""

import re
from typing import Any

import httpx
from fastapi import HTTPException

from kobling_sandbox import stripe
from kobling_sandbox.config import settings
from kobling_shared.i18n import CATALOGUES, Words

ACCOUNT = r"^acct_[A-Za-z0-9]{1,64}$"

# sync's view endpoints (kobling_sync.view_routes), each taking exactly its own action.
PATHS = {
    "sync_settings": "/api/sync/settings",
    "save_sync_settings": "/api/sync/settings/save",
    "sync_state": "/api/sync/object",
    "replay": "/api/sync/replay",
    "sync_summary": "/api/sync/summary",
}

# The Dashboard's user reads English (the rest of the sandbox's Dashboard is English too).
words = Words("en")
# Tests put an httpx.MockTransport here: sync answers from inside the test.
transport: httpx.AsyncBaseTransport | None = None


def say(key: str, fallback: str) -> str:
    """The catalogue's text for `key`; `fallback` for a code the catalogue does not know."""
    return CATALOGUES[words.lang].get(key, fallback)


async def ask(
    account: str, livemode: bool, action: str, seconds: float = 15.0, **extra: Any
) -> httpx.Response | None:
    """sync's answer to the view's signed request for `action` within `seconds`; None when sync
    cannot be reached (the view's "Kobling could not be reached")."""
    request = stripe.signed_view(account, livemode, action, **extra)
    async with httpx.AsyncClient(
        base_url=settings().sync_url, transport=transport, timeout=seconds
    ) as http:
        try:
            return await http.post(PATHS[action], **request)
        except httpx.HTTPError:
            return None


def answered(answer: httpx.Response | None) -> dict[str, Any] | None:
    """The JSON object sync answered; None for no answer or anything else."""
    if answer is None:
        return None
    try:
        body = answer.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def mode_path(livemode: bool) -> str:
    return "" if livemode else "/test"


def livemode_of(mode: str) -> bool:
    if mode not in ("live", "test"):
        raise HTTPException(404, "No such page")
    return mode == "live"


def check_account(account: str) -> None:
    if not re.fullmatch(ACCOUNT, account):
        raise HTTPException(404, "No such page")
