"""Connecting from the Stripe App view: a signed request mints a one-time connect link, the
merchant's browser confirms it and goes on to e-conomic's grant page (grant_callback.py takes
them back); a signed request disconnects."""

import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from kobling_econ_auth import connection as domain
from kobling_econ_auth.connection import Connection
from kobling_econ_auth.deps import Deps, change
from kobling_econ_auth.ports import PendingState, SignatureSpent
from kobling_shared.events import account_key, now
from kobling_shared.links import (
    CONNECT,
    CONNECT_LINK_MAX_AGE,
    BadSignature,
    LinkSigner,
    connect_url,
)


class LinkInvalid(Exception):
    """A connect link that is forged, expired or already used."""


class NotInstalled(Exception):
    pass


async def mint_connect_link(
    account_id: str, livemode: bool, deps: Deps, signature_id: str, user_id: str | None = None
) -> tuple[str, datetime]:
    """For a signed request from the app view by `user_id` (`signature_id`: its id,
    kobling_shared.app_view). The install event may trail the merchant's click by a moment, so
    wait briefly for it before calling the account unknown."""

    async def installed() -> bool:
        conn = await deps.store.get(account_id, livemode)
        return conn is not None and conn.installed

    if not await deps.arrivals.wait_for(account_key(account_id, livemode), installed):
        raise NotInstalled(account_id)
    settings = deps.settings
    url = connect_url(
        settings.econ_auth_public_url, settings.connect_link_key, account_id, livemode, user_id
    )
    # Spent only once it makes a link: one that found no install yet may be asked again (the
    # view's "Try again"), and of any number of replays exactly one wins the unique record.
    if not await deps.store.use_once("view", signature_id):
        raise SignatureSpent
    return url, now() + timedelta(seconds=CONNECT_LINK_MAX_AGE)


@dataclass(frozen=True)
class ConnectAttempt:
    """What a valid, unused connect link is for."""

    account_id: str
    livemode: bool
    nonce: str
    minted_at: datetime
    user_id: str | None = None
    # The name Stripe shows for the account, when its install told us: not part of the link.
    account_name: str | None = None


async def read_connect_link(link: str, deps: Deps) -> ConnectAttempt:
    """The attempt a connect link stands for, without spending it (the confirmation page shows
    whose account it connects before anything happens)."""
    signer = LinkSigner(deps.settings.connect_link_key, CONNECT)
    try:
        payload = signer.unsign(link, CONNECT_LINK_MAX_AGE)
        attempt = ConnectAttempt(
            str(payload["a"]),
            bool(payload["l"]),
            str(payload["n"]),
            datetime.fromtimestamp(float(payload["i"]), UTC),
            str(payload["u"]) if "u" in payload else None,
        )
    except (BadSignature, KeyError, TypeError, ValueError) as error:
        raise LinkInvalid("expired" if "expired" in str(error).lower() else "invalid") from None
    if await deps.store.was_used("link", attempt.nonce):
        raise LinkInvalid("used")
    conn = await deps.store.get(attempt.account_id, attempt.livemode)
    if conn is None or not domain.may_start_grant(conn, attempt.minted_at):
        raise LinkInvalid("uninstalled")
    return replace(attempt, account_name=conn.account_name)


async def open_connect_link(link: str, locale: str, browser: str, deps: Deps) -> str:
    """Spends a connect link for the browser that confirmed it, and answers the e-conomic grant
    page URL with a fresh state bound to that browser (its id's digest)."""
    attempt = await read_connect_link(link, deps)
    if not await deps.store.use_once("link", attempt.nonce):
        raise LinkInvalid("used")
    state = secrets.token_urlsafe(32)
    expires_at = now() + timedelta(seconds=deps.settings.state_ttl_seconds)
    pending = PendingState(
        attempt.account_id,
        attempt.livemode,
        expires_at,
        locale,
        browser,
        attempt.minted_at,
        attempt.user_id,
    )
    await deps.store.save_state(state, pending)
    # The state rides in the path: however e-conomic appends `token` (`?` or `&`), it cannot
    # disturb it, and a callback that comes back without a token still names its attempt.
    callback = f"{deps.settings.econ_auth_public_url}/economic/callback/{state}"
    query = urlencode(
        {
            "appPublicToken": deps.settings.economic_app_public_token,
            "redirectUrl": callback,
            "locale": locale,
        }
    )
    return f"{deps.settings.economic_grant_url}?{query}"


async def disconnect(
    account_id: str, livemode: bool, deps: Deps, signature_id: str, user_id: str | None = None
) -> Connection | None:
    """For a signed request from the app view by `user_id`, spent first: replayed after the
    merchant reconnected, it would disconnect them again."""
    if not await deps.store.use_once("view", signature_id):
        raise SignatureSpent
    return await change(
        deps, account_id, livemode, lambda c: domain.disconnect(c, "merchant_request", user_id)
    )
