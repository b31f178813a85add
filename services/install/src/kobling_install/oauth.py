"""The OAuth install: our state, the code exchange, the tokens kept, the install published."""

import asyncio
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from faststream.kafka import KafkaBroker

from kobling_install.ports import States
from kobling_install.settings import InstallSettings
from kobling_install.store import Installs, TokenVault
from kobling_install.stripe_events import SOURCE, oauth_is_news
from kobling_install.stripe_oauth import InvalidGrant, StripeOAuth, StripeTokens
from kobling_shared.crypto import TokenCipher
from kobling_shared.events import InstallData, StripeAppInstalled, account_key, now
from kobling_shared.kafka import publish

log = logging.getLogger(__name__)

STATE_TTL = timedelta(minutes=10)
# Anyone may open /stripe/install, and each visit stores a state for STATE_TTL. One bound for all
# (a client's address or cookie is theirs to change): about 16 installs a second sustained, far
# above real ones; past it our own Install links wait, and a Marketplace install (no state)
# does not notice.
MAX_OUTSTANDING_STATES = 10_000
# Stripe's authorization codes: `ac_` and letters and digits. Anything else is not worth a call
# to Stripe (a Marketplace install tries two keys: two calls per guess).
STRIPE_CODE = re.compile(r"ac_[A-Za-z0-9]{1,255}")
# Stripe's access tokens live one hour and say nothing of it (no expires_in); refresh before.
ACCESS_TOKEN_TTL = timedelta(minutes=55)


@dataclass(frozen=True)
class OAuthDeps:
    settings: InstallSettings
    broker: KafkaBroker
    states: States
    installs: Installs
    vault: TokenVault
    cipher: TokenCipher
    stripe: StripeOAuth


@dataclass(frozen=True)
class Installed:
    account_id: str
    livemode: bool
    event_id: str  # the event that announced the install: ours, or the webhook's


class TooManyStates(Exception):
    """MAX_OUTSTANDING_STATES installs are under way: try again once some have expired."""


def stripes_code(code: str) -> bool:
    return STRIPE_CODE.fullmatch(code) is not None


async def start_install(livemode: bool, browser: str, deps: OAuthDeps) -> str:
    """The Marketplace authorize URL with a state we can recognise on the way back, in the
    browser (`browser`: its id's digest) that asked for it and only there."""
    if await deps.states.outstanding() >= MAX_OUTSTANDING_STATES:
        log.warning(
            "%d install states outstanding: /stripe/install refused", MAX_OUTSTANDING_STATES
        )
        raise TooManyStates()
    state = secrets.token_urlsafe(32)
    await deps.states.save(state, livemode, now() + STATE_TTL, browser)
    # Each mode has its own client id, and its own link (the External test link before publication).
    query = {
        "client_id": deps.settings.stripe_client_id_for(livemode),
        "redirect_uri": f"{deps.settings.install_public_url}/stripe/oauth/callback",
        "state": state,
    }
    return f"{deps.settings.stripe_authorize_url_for(livemode)}?{urlencode(query)}"


class OtherBrowser(Exception):
    """Our state, in a browser other than the one that started the install."""


async def spend_state(state: str, browser: str | None, deps: OAuthDeps) -> bool | None:
    """Spends our state and answers the mode (livemode) our install link was for; None when it
    is unknown, used or expired. `browser`: the digest of the browser id this request came with
    (kobling_shared.binding), None without one. Raises OtherBrowser, and spends nothing, when it
    came back in another browser: someone stopped at Stripe's redirect and sent the URL on, so
    the code in it is theirs."""
    bound = await deps.states.browser_of(state)
    if bound is not None and not _same_browser(browser, bound):
        raise OtherBrowser()
    return await deps.states.spend(state)


def _same_browser(browser: str | None, bound: str) -> bool:
    return browser is not None and hmac.compare_digest(browser, bound)


async def complete_install(code: str, livemode: bool | None, deps: OAuthDeps) -> Installed:
    """Exchanges the code with the key of the install's mode, keeps the tokens encrypted and
    announces the install once. Without our state (a Marketplace install) the mode is unknown:
    the live key first, then the test one (a code the other mode's key cannot find is not spent)."""
    tokens = await _exchange(code, livemode, deps)
    key = account_key(tokens.stripe_user_id, tokens.livemode)
    # To the second, as Stripe's `created`: an uninstall in the same second is the later one.
    installed_at = now().replace(microsecond=0)
    fields = {
        **_sealed(tokens.access_token, tokens.refresh_token, deps),
        "installed_at": installed_at,
    }
    # The name the connect page shows beside the account id, read as Stripe knows it (with the
    # install's own token), while the tokens are stored: side by side.
    _, name = await asyncio.gather(
        deps.vault.put(key, fields, None), deps.stripe.account_name(tokens.access_token)
    )
    event = StripeAppInstalled(
        source=SOURCE,
        subject=tokens.stripe_user_id,
        livemode=tokens.livemode,
        time=installed_at,
        data=InstallData(via="oauth", account_name=name),
    )
    # Announced before it is published, as the webhook path does: of the two signals of one
    # install, the later one sees the earlier and stays quiet (both publish only if they cross
    # within a round trip, which no consumer minds).
    await deps.installs.announced_by_oauth(key, installed_at)
    webhook = await deps.installs.webhook_announced(key)
    if webhook is not None and not oauth_is_news(installed_at, webhook[0]):
        # The install's webhook came first: the merchant's page waits for that event.
        return Installed(tokens.stripe_user_id, tokens.livemode, webhook[1])
    try:
        await publish(deps.broker, event)
    except BaseException:
        await deps.installs.unannounce_oauth(key, installed_at)
        raise
    return Installed(tokens.stripe_user_id, tokens.livemode, event.id)


async def _exchange(code: str, livemode: bool | None, deps: OAuthDeps) -> StripeTokens:
    if livemode is not None:
        return await deps.stripe.exchange_code(code, livemode)
    try:
        return await deps.stripe.exchange_code(code, True)
    except InvalidGrant:
        return await deps.stripe.exchange_code(code, False)


class NoTokens(LookupError):
    """No Stripe tokens for the install: never installed through OAuth, or uninstalled since."""


_refresh_locks: dict[str, asyncio.Lock] = {}


async def access_token(account_id: str, livemode: bool, deps: OAuthDeps) -> str:
    """A live access token for the install, refreshing it when it is about to die.

    Every refresh voids the refresh token it used. One refresh at a time per install in this
    process (the lock); across processes the revision guard keeps the winner's tokens, and a loser
    that Stripe refused (invalid_grant) waits for the tokens the winner stores.
    """
    key = account_key(account_id, livemode)
    deadline = asyncio.get_running_loop().time() + REFRESH_SETTLES_SECONDS
    async with _refresh_locks.setdefault(key, asyncio.Lock()):
        while True:
            doc = await deps.vault.get(key)
            if doc is None:
                raise NoTokens(key)
            if doc["access_expires_at"] > now():
                return deps.cipher.decrypt(doc["access_token"])
            try:
                refresh = deps.cipher.decrypt(doc["refresh_token"])
                tokens = await deps.stripe.refresh(refresh, livemode)
            except InvalidGrant:
                # Another process spent this refresh token first, and its write follows its
                # refresh: rereading at once (as this did) could find the old tokens three times
                # and give up on an install that is fine.
                if not await _stored_since(key, doc["rev"], deadline, deps):
                    raise
                continue
            fields = _sealed(tokens.access_token, tokens.refresh_token, deps)
            if await deps.vault.put(key, fields, expected_rev=doc["rev"]):
                return tokens.access_token


# How long a refresh Stripe refused waits for another process's tokens to be stored; after that
# the refresh token is taken to be revoked.
REFRESH_SETTLES_SECONDS = 5.0


async def _stored_since(key: str, rev: int, deadline: float, deps: OAuthDeps) -> bool:
    """Whether the install's tokens moved past revision `rev` before `deadline`."""
    pause = 0.02
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        doc = await deps.vault.get(key)
        if doc is None or doc["rev"] != rev:
            return True
        await asyncio.sleep(min(pause, max(0.0, deadline - loop.time())))
        pause = min(pause * 2, 0.25)
    return False


def _sealed(access: str, refresh: str, deps: OAuthDeps) -> dict[str, object]:
    return {
        "access_token": deps.cipher.encrypt(access),
        "refresh_token": deps.cipher.encrypt(refresh),
        "access_expires_at": now() + ACCESS_TOKEN_TTL,
    }
