"""What econ-auth does: each handler takes its message and the dependencies it needs."""

import asyncio
import json
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Literal
from urllib.parse import urlencode

from prometheus_client import Counter, Gauge

from kobling_econ_auth import connection as domain
from kobling_econ_auth.connection import Connection
from kobling_econ_auth.economic import (
    EconomicUnavailable,
    GrantRejected,
    PermissionRefused,
)
from kobling_econ_auth.ports import Connections, Economic, Grants
from kobling_econ_auth.rejections import RejectionWave, WaveChange
from kobling_econ_auth.settings import EconAuthSettings
from kobling_econ_auth.store import Change, PendingState
from kobling_shared.arrivals import Arrivals
from kobling_shared.crypto import Unreadable
from kobling_shared.events import (
    StripeAppInstalled,
    StripeAppUninstalled,
    account_key,
    now,
    parse_event,
)
from kobling_shared.kafka import Publisher
from kobling_shared.links import (
    CONNECT,
    CONNECT_LINK_MAX_AGE,
    BadSignature,
    LinkSigner,
    connect_url,
)
from kobling_shared.ownership import Owned

log = logging.getLogger(__name__)

OUTCOMES = Counter("kobling_grant_callbacks_total", "e-conomic callbacks by outcome", ["outcome"])
CHECKS = Counter("kobling_grant_checks_total", "Grant checks by result", ["result"])
SUSPECT = Gauge(
    "kobling_economic_credentials_suspect",
    "1 while e-conomic refuses most grants at once: our app secret token, or their outage",
)


@dataclass(frozen=True)
class Deps:
    settings: EconAuthSettings
    store: Connections
    publisher: Publisher
    grants: Grants
    economic: Economic
    arrivals: Arrivals
    rejections: RejectionWave


class LinkInvalid(Exception):
    """A connect link that is forged, expired or already used."""


class NotInstalled(Exception):
    pass


class SignatureSpent(Exception):
    """A signed view request already acted on: Stripe's signature stays valid for 300 s, and a
    captured one must not mint another link or disconnect again after a reconnect."""


# --- installs -----------------------------------------------------------------------------------


async def on_install_events(
    events: list[StripeAppInstalled | StripeAppUninstalled], deps: Deps
) -> None:
    """A batch of installs and uninstalls. Most are first installs: those connections are
    created with one insert for the batch; the rest are applied one by one, in order."""
    by_key: dict[str, list[StripeAppInstalled | StripeAppUninstalled]] = {}
    for event in events:
        by_key.setdefault(event.account_key, []).append(event)
    fresh = {}
    for key, evs in by_key.items():
        conn = domain.new_connection(evs[0].subject, evs[0].livemode)
        for event in evs:
            conn = domain.on_install_event(conn, event, now()) or conn
        if not conn.outbox:
            fresh[key] = conn
    existing = await deps.store.create(list(fresh.values()))
    for key, evs in by_key.items():
        if key not in fresh or key in existing:
            for event in evs:
                await on_install_event(event, deps)
    for evs in by_key.values():
        if any(isinstance(event, StripeAppUninstalled) for event in evs):
            await _destroy_key_if_uninstalled(evs[0].subject, evs[0].livemode, deps)


async def _destroy_key_if_uninstalled(account_id: str, livemode: bool, deps: Deps) -> None:
    now_stored = await deps.store.get(account_id, livemode)
    if now_stored is None or not now_stored.installed:
        # Whatever grant this install ever had is unreadable from here on, backups too.
        await deps.grants.destroy(account_id, livemode)


async def on_install_event(event: StripeAppInstalled | StripeAppUninstalled, deps: Deps) -> None:
    changed = await deps.store.change(
        event.subject, event.livemode, lambda conn: domain.on_install_event(conn, event, now())
    )
    if changed:
        await relay(changed, deps)


# --- connecting ---------------------------------------------------------------------------------


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
        settings.econ_auth_public_url, settings.link_signing_key, account_id, livemode, user_id
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


async def read_connect_link(link: str, deps: Deps) -> ConnectAttempt:
    """The attempt a connect link stands for, without spending it (the confirmation page shows
    whose account it connects before anything happens)."""
    signer = LinkSigner(deps.settings.link_signing_key, CONNECT)
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
    if not domain.may_start_grant(conn, attempt.minted_at):
        raise LinkInvalid("uninstalled")
    return attempt


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


Outcome = Literal[
    "connected", "grant_rejected", "permission_refused", "economic_unavailable", "state_expired"
]


@dataclass(frozen=True)
class CallbackResult:
    account_id: str
    livemode: bool
    outcome: Outcome
    event_id: str | None
    locale: str


class StateInvalid(Exception):
    """Unknown, used or foreign: we cannot tell whose callback this is, so nothing connects."""


class TokenMalformed(Exception):
    """A grant token no HTTP header can carry: not e-conomic's, and it could not be sent to it.
    Refused before the state is looked up, so the state stays for a callback that is real."""


# What an HTTP header value carries (visible ASCII), within the route's 2,000 characters.
GRANT_TOKEN = re.compile(r"[\x21-\x7e]{1,2000}")


class OtherBrowser(Exception):
    """A real state, in a browser other than the one that started the attempt: a link that
    travelled. Nothing connects, and the state stays for the browser it belongs to."""


async def complete_grant(
    state: str, grant_token: str, same_browser: Callable[[str], bool], deps: Deps
) -> CallbackResult:
    """`same_browser(digest)` tells whether this request comes from the browser whose id has
    that digest."""
    if not GRANT_TOKEN.fullmatch(grant_token):
        OUTCOMES.labels("token_malformed").inc()
        raise TokenMalformed()
    pending = await deps.store.find_state(state)
    if pending is None:
        OUTCOMES.labels("state_invalid").inc()
        raise StateInvalid()
    if not same_browser(pending.browser):
        OUTCOMES.labels("other_browser").inc()
        raise OtherBrowser()
    account_id, livemode = pending.account_id, pending.livemode
    # Spending the state and reading the connection do not wait on each other: one round trip.
    first_use, conn = await asyncio.gather(
        deps.store.use_once("state", state), deps.store.get(account_id, livemode)
    )
    if not first_use:
        OUTCOMES.labels("state_invalid").inc()
        raise StateInvalid()
    started_at = pending.started_at
    if started_at is None or not domain.may_start_grant(conn, started_at):
        OUTCOMES.labels("uninstalled").inc()
        raise StateInvalid()

    def result(outcome: Outcome, conn: Connection | None) -> CallbackResult:
        OUTCOMES.labels(outcome).inc()
        event_id = conn.outbox[-1]["id"] if conn and conn.outbox else None
        return CallbackResult(account_id, livemode, outcome, event_id, pending.locale)

    if pending.expires_at < now():
        conn = await _change(deps, account_id, livemode, lambda c: domain.fail(c, "state_invalid"))
        return result("state_expired", conn)
    try:
        agreement = await deps.economic.self_info(grant_token)
    except GrantRejected:
        # A token from a browser proves nothing yet: its 401 is not heard (anyone could send
        # garbage until we suspected our own secret). During a wave the grants we hold saw, the
        # token is as likely fine and our secret at fault.
        why: Outcome = "economic_unavailable" if deps.rejections.in_wave else "grant_rejected"
        conn = await _change(deps, account_id, livemode, lambda c: domain.fail(c, why))
        return result(why, conn)
    except PermissionRefused:
        conn = await _change(
            deps, account_id, livemode, lambda c: domain.fail(c, "permission_refused")
        )
        return result("permission_refused", conn)
    except EconomicUnavailable:
        conn = await _change(
            deps, account_id, livemode, lambda c: domain.fail(c, "economic_unavailable")
        )
        return result("economic_unavailable", conn)
    sealed = await deps.grants.seal(account_id, livemode, grant_token)

    def connect(c: Connection) -> Connection | None:
        # Checked again on the connection as it is written: an uninstall applied since the check
        # above (while e-conomic answered) wins, and no grant is stored for it.
        if not domain.may_start_grant(c, started_at):
            return None
        return domain.connect(c, sealed, agreement, now(), pending.user_id)

    connected = await deps.store.change(account_id, livemode, connect)
    if connected is None:
        # The seal may have made a data key after the uninstall destroyed the last one.
        await _destroy_key_if_uninstalled(account_id, livemode, deps)
        OUTCOMES.labels("uninstalled").inc()
        raise StateInvalid()
    connected_event = connected.outbox[-1]["id"] if connected.outbox else None
    # Publishing the event (and clearing it from the outbox) and looking for other installs on
    # the same agreement touch different documents and wait on different servers: side by side,
    # the merchant waits for the longer of the two, not for both (a third of the callback).
    _, others = await asyncio.gather(
        relay(connected, deps),
        deps.store.connected_elsewhere(agreement.agreement_number, account_id),
    )
    if others:
        log.warning(
            "agreement %s is connected to several Stripe accounts", agreement.agreement_number
        )
        shared = await _change(
            deps, account_id, livemode, lambda c: domain.agreement_shared(c, _ids(others))
        )
        # The merchant's page waits for the warning too, not only for "Connected".
        connected_event = shared.outbox[-1]["id"] if shared and shared.outbox else connected_event
        # Each account already connected to the company is told as well: the newcomer may be
        # someone who should not have the books, and only the earlier merchant can tell.
        for other, other_livemode in others:
            everyone_else = _ids([*others, (account_id, livemode)], but=other)
            tell = partial(domain.agreement_shared, other_accounts=everyone_else)
            await _change(deps, other, other_livemode, tell)
    OUTCOMES.labels("connected").inc()
    return CallbackResult(account_id, livemode, "connected", connected_event, pending.locale)


def _ids(installs: list[tuple[str, bool]], but: str | None = None) -> list[str]:
    return sorted({account for account, _ in installs if account != but})


async def cancel_grant(
    state: str, same_browser: Callable[[str], bool], deps: Deps
) -> PendingState | None:
    """The merchant came back without a grant: they backed out of e-conomic's page. The state is
    spent (it can no longer carry a grant) and nothing else changes; None for a state that is
    unknown or used, or that belongs to another browser (which keeps it)."""
    pending = await deps.store.find_state(state)
    if pending is None or not same_browser(pending.browser):
        OUTCOMES.labels("state_invalid").inc()
        return None
    if not await deps.store.use_once("state", state):
        OUTCOMES.labels("state_invalid").inc()
        return None
    OUTCOMES.labels("cancelled").inc()
    return pending


async def disconnect(
    account_id: str, livemode: bool, deps: Deps, signature_id: str, user_id: str | None = None
) -> Connection | None:
    """For a signed request from the app view by `user_id`, spent first: replayed after the
    merchant reconnected, it would disconnect them again."""
    if not await deps.store.use_once("view", signature_id):
        raise SignatureSpent
    return await _change(
        deps, account_id, livemode, lambda c: domain.disconnect(c, "merchant_request", user_id)
    )


# --- grant checks -------------------------------------------------------------------------------


async def check_grant(
    account_id: str, livemode: bool, deps: Deps, round_: int | None = None
) -> domain.CheckResult | Literal["unreadable"] | None:
    """Calls /self for one connected grant, within the agreement's daily budget and at most once
    in a round. A grant no key opens (restored from before an uninstall, or moved from another
    account) is never sent."""
    today = now().date().isoformat()
    limit = deps.settings.grant_checks_per_agreement_per_day
    counted = await deps.store.change(
        account_id, livemode, lambda c: domain.may_check(c, today, limit, round_)
    )
    if counted is None or counted.grant_ciphertext is None:
        return None
    try:
        grant = await deps.grants.open(account_id, livemode, counted.grant_ciphertext)
    except Unreadable:
        log.warning("the grant of %s opens with no key we hold", account_id)
        CHECKS.labels("unreadable").inc()
        return "unreadable"
    result: domain.CheckResult
    try:
        await deps.economic.self_info(grant)
        result = "valid"
        heard(deps, False, account_key(account_id, livemode))
    except GrantRejected:
        result = "withheld" if heard(deps, True, account_key(account_id, livemode)) else "revoked"
    except PermissionRefused:
        result = "forbidden"
    except EconomicUnavailable:
        result = "unavailable"
    CHECKS.labels(result).inc()
    strikes = deps.settings.revocation_strikes
    await _change(deps, account_id, livemode, lambda c: domain.after_check(c, result, strikes))
    return result


def heard(deps: Deps, rejected: bool, grant: str) -> bool:
    """Takes one of e-conomic's answers about a grant that once worked (the grant check, the
    broker: never a token a browser brought), `grant` naming it (`account_key`); answers whether
    most grants are being refused at once, so that a 401 proves nothing."""
    noted(deps.rejections.record(now(), rejected, grant))
    return deps.rejections.in_wave


def settle_wave(deps: Deps) -> None:
    """Lets a wave end once its answers are old, though no new answer came."""
    noted(deps.rejections.settle(now()))


def noted(change: WaveChange | None) -> None:
    if change == "began":
        SUSPECT.set(1)
        log.error(
            "e-conomic refuses most grants at once (401): suspect ECONOMIC_APP_SECRET_TOKEN "
            "(reset or mistyped) or an e-conomic outage; revocation strikes are paused and no "
            "grant is deleted until e-conomic accepts grants again"
        )
    elif change == "ended":
        SUSPECT.set(0)
        log.warning("e-conomic accepts grants again: revocation strikes count again")


# Grants checked at once by one instance: each waits on e-conomic, whose /self answers in
# hundreds of ms; one at a time, a million grants would not fit a round (docs/scaling.md).
CHECKS_AT_ONCE = 16


async def check_all_grants(deps: Deps, owned: Owned, round_: int) -> None:
    """One round: the grants of the accounts whose partition this instance holds. The round is
    claimed per grant in the database, so a grant whose partition moved to another instance
    mid-round (a rebalance) is still checked once."""
    # The checkers share one stream of the connected accounts, so a round over a million holds
    # the driver's batch of keys in memory, not a million documents; each key goes to one checker.
    keys, turn = deps.store.connected_accounts(), asyncio.Lock()

    async def mine() -> tuple[str, bool] | None:
        async with turn:  # an async generator serves one caller at a time
            async for account_id, livemode in keys:
                if owned.owns(account_id):
                    return account_id, livemode
            return None

    async def checker() -> None:
        while (key := await mine()) is not None:
            await check_grant(*key, deps, round_)

    await asyncio.gather(*(checker() for _ in range(CHECKS_AT_ONCE)))


# --- the outbox ---------------------------------------------------------------------------------


async def _change(deps: Deps, account_id: str, livemode: bool, change: Change) -> Connection | None:
    changed = await deps.store.change(account_id, livemode, change)
    if changed is not None and changed.outbox:
        await relay(changed, deps)
    return changed


async def relay(conn: Connection, deps: Deps) -> None:
    """Publishes a connection's pending events in order; what fails stays for the next relay."""
    sent: set[str] = set()
    try:
        for raw in conn.outbox:
            await deps.publisher.publish(parse_event(json.dumps(raw)))
            sent.add(raw["id"])
    except Exception as error:
        log.warning("outbox of %s kept for later: %s", conn.account_id, type(error).__name__)
    if sent:
        await deps.store.sent(conn, sent)


# The request that wrote an event publishes it at once; the background relay takes only what that
# publish left behind (a crash, a broker outage), so the two do not publish the same event twice.
RELAY_GRACE = timedelta(seconds=5)


async def relay_all(deps: Deps, owned: Owned) -> None:
    """What the writers left behind, for the accounts this instance owns: two instances do not
    publish one outbox twice (consumers would drop the repeat by id, but it is work for nothing)."""
    for conn in await deps.store.with_outbox():
        oldest = datetime.fromisoformat(conn.outbox[0]["time"])
        if now() - oldest > RELAY_GRACE and owned.owns(conn.account_id):
            await relay(conn, deps)
