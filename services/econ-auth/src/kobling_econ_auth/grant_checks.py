"""Grant checks: each connected grant proven with GET /self in rounds, within its agreement's
daily budget; and the credential wave, which tells a revoked grant from our own secret gone bad
(rejections.py) from every answer about a grant that once worked."""

import asyncio
import logging
from typing import Literal

from prometheus_client import Counter, Gauge

from kobling_econ_auth import connection as domain
from kobling_econ_auth.deps import Deps, change
from kobling_econ_auth.ports import EconomicUnavailable, GrantRejected, PermissionRefused
from kobling_econ_auth.rejections import WaveChange
from kobling_shared.crypto import Unreadable
from kobling_shared.events import account_key, now
from kobling_shared.ownership import Owned

log = logging.getLogger(__name__)

CHECKS = Counter("kobling_grant_checks_total", "Grant checks by result", ["result"])
SUSPECT = Gauge(
    "kobling_economic_credentials_suspect",
    "1 while e-conomic refuses most grants at once: our app secret token, or their outage",
)
# Grants checked at once by one instance: each waits on e-conomic, whose /self answers in
# hundreds of ms; one at a time, a million grants would not fit a round (docs/scaling.md).
CHECKS_AT_ONCE = 16


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
    await change(deps, account_id, livemode, lambda c: domain.after_check(c, result, strikes))
    return result


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


def heard(deps: Deps, rejected: bool, grant: str) -> bool:
    """Takes one of e-conomic's answers about a grant that once worked (the grant check, the
    broker: never a token a browser brought), `grant` naming it (`account_key`); answers whether
    most grants are being refused at once, so that a 401 proves nothing."""
    _noted(deps.rejections.record(now(), rejected, grant))
    return deps.rejections.in_wave


def settle_wave(deps: Deps) -> None:
    """Lets a wave end once its answers are old, though no new answer came."""
    _noted(deps.rejections.settle(now()))


def _noted(wave: WaveChange | None) -> None:
    if wave == "began":
        SUSPECT.set(1)
        log.error(
            "e-conomic refuses most grants at once (401): suspect ECONOMIC_APP_SECRET_TOKEN "
            "(reset or mistyped) or an e-conomic outage; revocation strikes are paused and no "
            "grant is deleted until e-conomic accepts grants again"
        )
    elif wave == "ended":
        SUSPECT.set(0)
        log.warning("e-conomic accepts grants again: revocation strikes count again")
