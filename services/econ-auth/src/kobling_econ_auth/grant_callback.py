"""e-conomic sends the merchant's browser back with a grant token: proven with GET /self, sealed
and stored, it connects the account; without one, the merchant backed out."""

import asyncio
import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

from prometheus_client import Counter

from kobling_econ_auth import connection as domain
from kobling_econ_auth import consent, holds
from kobling_econ_auth.connection import Connection
from kobling_econ_auth.deps import Deps, change, publish
from kobling_econ_auth.ports import (
    EconomicUnavailable,
    GrantRejected,
    PendingState,
    PermissionRefused,
)
from kobling_shared.events import now

log = logging.getLogger(__name__)

OUTCOMES = Counter("kobling_grant_callbacks_total", "e-conomic callbacks by outcome", ["outcome"])

Outcome = Literal[
    "connected",
    "held",
    "grant_rejected",
    "permission_refused",
    "economic_unavailable",
    "state_expired",
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


class OtherBrowser(Exception):
    """A real state, in a browser other than the one that started the attempt: a link that
    travelled. Nothing connects, and the state stays for the browser it belongs to."""


# What an HTTP header value carries (visible ASCII), within the route's 2,000 characters.
GRANT_TOKEN = re.compile(r"[\x21-\x7e]{1,2000}")


async def complete_grant(
    state: str, grant_token: str, browser: str | None, deps: Deps
) -> CallbackResult:
    """`browser`: the digest of the browser id this request came with (kobling_shared.binding),
    None when it came with none."""
    if not GRANT_TOKEN.fullmatch(grant_token):
        raise _refused("token_malformed", TokenMalformed())
    pending = await _spend_state(state, browser, deps)
    if pending.expires_at < now():
        return await _failed(pending, "state_expired", "state_invalid", deps)
    try:
        agreement = await deps.economic.self_info(grant_token)
    except GrantRejected:
        # A token from a browser proves nothing yet: its 401 is not heard (anyone could send
        # garbage until we suspected our own secret). During a wave the grants we hold saw, the
        # token is as likely fine and our secret at fault.
        why: Outcome = "economic_unavailable" if deps.rejections.in_wave else "grant_rejected"
        return await _failed(pending, why, why, deps)
    except PermissionRefused:
        return await _failed(pending, "permission_refused", "permission_refused", deps)
    except EconomicUnavailable:
        return await _failed(pending, "economic_unavailable", "economic_unavailable", deps)
    # Sealing the grant and looking for other Stripe accounts on the same agreement wait on
    # different servers: side by side, the merchant waits for the longer of the two.
    install = (pending.account_id, pending.livemode)
    number = agreement.agreement_number
    sealed, others = await asyncio.gather(
        deps.grants.seal(*install, grant_token),
        deps.store.connected_elsewhere(number, pending.account_id),
    )
    if others:
        # Someone else's books, as far as we can tell: held until one of them approves.
        held = await _change(
            pending, sealed, partial(holds.hold, agreement=agreement, awaiting=others), deps
        )
        await publish(held, deps)
        await consent.ask(deps, held)
        return _result(pending, "held", held)
    connected = await _change(pending, sealed, partial(domain.connect, agreement=agreement), deps)
    event_id = connected.outbox[-1]["id"] if connected.outbox else None
    # Publishing the event and looking again (two first connections of one agreement at once
    # both found none) also touch different documents: side by side.
    _, others = await asyncio.gather(
        publish(connected, deps), deps.store.connected_elsewhere(number, pending.account_id)
    )
    # The merchant's page waits for the warning too, not only for "Connected".
    event_id = await consent.tell_shared(deps, install, others) or event_id
    OUTCOMES.labels("connected").inc()
    return CallbackResult(
        pending.account_id, pending.livemode, "connected", event_id, pending.locale
    )


async def cancel_grant(state: str, browser: str | None, deps: Deps) -> PendingState | None:
    """The merchant came back without a grant: they backed out of e-conomic's page. The state is
    spent (it can no longer carry a grant) and nothing else changes; None for a state that is
    unknown or used, or that belongs to another browser (which keeps it)."""
    pending = await deps.store.find_state(state)
    if pending is None or not _same_browser(browser, pending.browser):
        OUTCOMES.labels("state_invalid").inc()
        return None
    if not await deps.store.use_once("state", state):
        OUTCOMES.labels("state_invalid").inc()
        return None
    OUTCOMES.labels("cancelled").inc()
    return pending


def _refused(outcome: str, error: Exception) -> Exception:
    OUTCOMES.labels(outcome).inc()
    return error


def _same_browser(browser: str | None, bound: str) -> bool:
    return browser is not None and hmac.compare_digest(browser, bound)


async def _spend_state(state: str, browser: str | None, deps: Deps) -> PendingState:
    """The attempt `state` stands for, spent, if this browser started it and the install it
    started on still stands."""
    pending = await deps.store.find_state(state)
    if pending is None:
        raise _refused("state_invalid", StateInvalid())
    if not _same_browser(browser, pending.browser):
        raise _refused("other_browser", OtherBrowser())
    # Spending the state and reading the connection do not wait on each other: one round trip.
    first_use, conn = await asyncio.gather(
        deps.store.use_once("state", state), deps.store.get(pending.account_id, pending.livemode)
    )
    if not first_use:
        raise _refused("state_invalid", StateInvalid())
    if pending.started_at is None or not domain.may_start_grant(conn, pending.started_at):
        raise _refused("uninstalled", StateInvalid())
    return pending


async def _failed(
    pending: PendingState, outcome: Outcome, reason: str, deps: Deps
) -> CallbackResult:
    conn = await change(
        deps, pending.account_id, pending.livemode, lambda c: domain.fail(c, reason)
    )
    OUTCOMES.labels(outcome).inc()
    event_id = conn.outbox[-1]["id"] if conn and conn.outbox else None
    return CallbackResult(pending.account_id, pending.livemode, outcome, event_id, pending.locale)


def _result(pending: PendingState, outcome: Outcome, conn: Connection) -> CallbackResult:
    OUTCOMES.labels(outcome).inc()
    event_id = conn.outbox[-1]["id"] if conn.outbox else None
    return CallbackResult(pending.account_id, pending.livemode, outcome, event_id, pending.locale)


async def _change(
    pending: PendingState, sealed: str, edit: Callable[..., Connection], deps: Deps
) -> Connection:
    """Connects or holds the sealed grant: `edit(conn, sealed, at=, user_id=)`. An attempt the
    install held before is withdrawn from those it asked."""

    def change(c: Connection) -> Connection | None:
        # Checked again on the connection as it is written: an uninstall applied since the state
        # was spent (while e-conomic answered) wins, and no grant is stored for it.
        started_at = pending.started_at
        if started_at is None or not domain.may_start_grant(c, started_at):
            return None
        return edit(c, sealed, at=now(), user_id=pending.user_id)

    install = (pending.account_id, pending.livemode)
    changed, ended = await consent.change_hold(deps, *install, change)
    if changed is None:
        # The seal made a data key for a grant nobody will hold.
        await deps.grants.retire(*install, sealed)
        raise _refused("uninstalled", StateInvalid())
    if ended is not None:
        await consent.close(deps, install, ended, "withdrawn")
    return changed
