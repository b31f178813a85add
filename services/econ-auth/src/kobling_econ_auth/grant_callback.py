"""e-conomic sends the merchant's browser back with a grant token: proven with GET /self, sealed
and stored, it connects the account; without one, the merchant backed out."""

import asyncio
import hmac
import logging
import re
from dataclasses import dataclass
from functools import partial
from typing import Literal

from prometheus_client import Counter

from kobling_econ_auth import connection as domain
from kobling_econ_auth.connection import Agreement, Connection
from kobling_econ_auth.deps import Deps, change, change_grant, publish
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
    sealed = await deps.grants.seal(pending.account_id, pending.livemode, grant_token)
    connected = await _connect(pending, sealed, agreement, deps)
    event_id = connected.outbox[-1]["id"] if connected.outbox else None
    # Publishing the event (and clearing it from the outbox) and looking for other installs on
    # the same agreement touch different documents and wait on different servers: side by side,
    # the merchant waits for the longer of the two, not for both (a third of the callback).
    _, others = await asyncio.gather(
        publish(connected, deps),
        deps.store.connected_elsewhere(agreement.agreement_number, pending.account_id),
    )
    if others:
        # The merchant's page waits for the warning too, not only for "Connected".
        event_id = await _agreement_shared(pending, agreement, others, deps) or event_id
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


async def _connect(
    pending: PendingState, sealed: str, agreement: Agreement, deps: Deps
) -> Connection:
    def connect(c: Connection) -> Connection | None:
        # Checked again on the connection as it is written: an uninstall applied since the state
        # was spent (while e-conomic answered) wins, and no grant is stored for it.
        started_at = pending.started_at
        if started_at is None or not domain.may_start_grant(c, started_at):
            return None
        return domain.connect(c, sealed, agreement, now(), pending.user_id)

    connected = await change_grant(deps, pending.account_id, pending.livemode, connect)
    if connected is None:
        # The seal made a data key for a grant nobody will hold.
        await deps.grants.retire(pending.account_id, pending.livemode, sealed)
        raise _refused("uninstalled", StateInvalid())
    return connected


async def _agreement_shared(
    pending: PendingState, agreement: Agreement, others: list[tuple[str, bool]], deps: Deps
) -> str | None:
    """Warns this account, and each account already connected to the company: the newcomer may
    be someone who should not have the books, and only the earlier merchant can tell. Answers
    the id of this account's warning."""
    log.warning("agreement %s is connected to several Stripe accounts", agreement.agreement_number)
    account_id, livemode = pending.account_id, pending.livemode
    shared = await change(
        deps, account_id, livemode, lambda c: domain.agreement_shared(c, _ids(others))
    )
    for other, other_livemode in others:
        everyone_else = _ids([*others, (account_id, livemode)], but=other)
        tell = partial(domain.agreement_shared, other_accounts=everyone_else)
        await change(deps, other, other_livemode, tell)
    return shared.outbox[-1]["id"] if shared and shared.outbox else None


def _ids(installs: list[tuple[str, bool]], but: str | None = None) -> list[str]:
    return sorted({account for account, _ in installs if account != but})
