"""Joining an e-conomic agreement another Stripe account is connected to (holds.py decides): the
accounts already connected are asked, a user of one of them approves or refuses with a signed
view request, the waiting account may cancel with one, and a hold nobody answers expires."""

from datetime import datetime
from functools import partial

from kobling_econ_auth import holds
from kobling_econ_auth.connection import Connection, Held, agreement_shared
from kobling_econ_auth.deps import Deps, change, change_grant, publish
from kobling_econ_auth.ports import Change, SignatureSpent
from kobling_shared.events import now
from kobling_shared.ownership import Owned

Install = tuple[str, bool]


class NoRequest(Exception):
    """Nothing from that account waits for the company this one is connected to (any more)."""


class NotAMember(Exception):
    """Only an install connected to an e-conomic company answers requests to join it."""


async def change_hold(
    deps: Deps, account_id: str, livemode: bool, edit: Change
) -> tuple[Connection | None, Held | None]:
    """`edit` applied as deps.change_grant does (a grant it lets go, held ones too, is shredded);
    answers the connection written and the hold it ended or replaced, if it did. Nothing is
    published: the caller does."""
    ended: list[Held] = []

    def noting(current: Connection) -> Connection | None:
        changed = edit(current)
        old = current.held
        gone = changed is not None and old is not None and changed.held != old
        ended[:] = [old] if gone and old is not None else []
        return changed

    changed = await change_grant(deps, account_id, livemode, noting)
    return changed, (ended[0] if changed is not None and ended else None)


async def ask(deps: Deps, waiting: Connection) -> None:
    """Tells each install already connected to the agreement that `waiting` asks to join it."""
    held = waiting.held
    assert held is not None
    for account_id, livemode in held.awaiting:
        await change(deps, account_id, livemode, partial(holds.join_requested, waiting=waiting))


async def close(
    deps: Deps,
    waiting: Install,
    held: Held,
    outcome: holds.Outcome,
    answered_by: Install | None = None,
    user_id: str | None = None,
) -> None:
    """Tells each install asked (and the one that answered) that the request is over."""
    for install in sorted({*held.awaiting, *([answered_by] if answered_by else [])}):
        who = user_id if install == answered_by else None
        tell = partial(holds.join_closed, waiting=waiting, outcome=outcome, user_id=who)
        await change(deps, *install, tell)


async def approve(
    account_id: str,
    livemode: bool,
    waiting_account: str,
    waiting_livemode: bool,
    deps: Deps,
    signature_id: str,
    user_id: str | None = None,
) -> Connection:
    """A signed request of `user_id` in an install connected to the agreement: the waiting
    install connects with the grant it holds."""
    held = await _answering(
        account_id, livemode, (waiting_account, waiting_livemode), deps, signature_id
    )
    number = held.agreement.agreement_number
    edit = partial(holds.approve, agreement_number=number, at=now())
    approved, ended = await change_hold(deps, waiting_account, waiting_livemode, edit)
    if approved is None or ended is None:
        raise NoRequest  # answered, cancelled or dropped meanwhile
    await publish(approved, deps)
    waiting = (waiting_account, waiting_livemode)
    await close(deps, waiting, ended, "approved", (account_id, livemode), user_id)
    others = await deps.store.connected_elsewhere(number, waiting_account)
    await tell_shared(deps, waiting, others)
    return approved


async def refuse(
    account_id: str,
    livemode: bool,
    waiting_account: str,
    waiting_livemode: bool,
    deps: Deps,
    signature_id: str,
    user_id: str | None = None,
) -> None:
    """A signed request of `user_id` in an install connected to the agreement: the held grant is
    deleted and the waiting install told it was refused."""
    waiting = (waiting_account, waiting_livemode)
    held = await _answering(account_id, livemode, waiting, deps, signature_id)
    number = held.agreement.agreement_number
    edit = partial(holds.release, outcome="refused", agreement_number=number)
    if not await _ended(deps, waiting, edit, "refused", (account_id, livemode), user_id):
        raise NoRequest


async def cancel(
    account_id: str, livemode: bool, deps: Deps, signature_id: str, user_id: str | None = None
) -> None:
    """A signed request of the waiting install: it withdraws its request."""
    if not await deps.store.use_once("view", signature_id):
        raise SignatureSpent
    edit = partial(holds.release, outcome="cancelled")
    if not await _ended(deps, (account_id, livemode), edit, "cancelled"):
        raise NoRequest


async def expire_holds(deps: Deps, at: datetime, owned: Owned | None = None) -> int:
    """Drops the holds past their deadline (of the accounts this instance owns); how many."""
    dropped = 0
    for install in await deps.store.held_expired(at):
        if owned is None or owned.owns(install[0]):
            dropped += await _expire(deps, install, at)
    return dropped


async def tell_shared(deps: Deps, install: Install, others: list[Install]) -> str | None:
    """Warns `install` and each install already connected to its company that the company is
    shared; answers the id of the warning to `install`."""
    if not others:
        return None
    shared = await change(deps, *install, partial(agreement_shared, other_accounts=_ids(others)))
    for other in others:
        everyone_else = _ids([*others, install], but=other[0])
        await change(deps, *other, partial(agreement_shared, other_accounts=everyone_else))
    return shared.outbox[-1]["id"] if shared and shared.outbox else None


async def _answering(
    account_id: str, livemode: bool, waiting: Install, deps: Deps, signature_id: str
) -> Held:
    """The hold an install connected to its agreement may answer, its signature spent."""
    if not await deps.store.use_once("view", signature_id):
        raise SignatureSpent
    member = await deps.store.get(account_id, livemode)
    if member is None or member.state != "connected" or member.agreement is None:
        raise NotAMember
    conn = await deps.store.get(*waiting)
    held = conn.held if conn else None
    # Asked about another company's request, the answer is the same as for no request: an
    # account learns nothing about installs that did not ask to join its company.
    if (
        held is None
        or account_id == waiting[0]
        or not holds.is_member(member, held.agreement.agreement_number)
    ):
        raise NoRequest
    if conn is not None and holds.expired(conn, now()):
        await _expire(deps, waiting, now())
        raise NoRequest
    return held


async def _expire(deps: Deps, install: Install, at: datetime) -> bool:
    def expire(c: Connection) -> Connection | None:
        return holds.release(c, "expired") if holds.expired(c, at) else None

    return await _ended(deps, install, expire, "expired")


async def _ended(
    deps: Deps,
    waiting: Install,
    edit: Change,
    outcome: holds.Outcome,
    answered_by: Install | None = None,
    user_id: str | None = None,
) -> bool:
    """Ends the hold of `waiting` by `edit`, and tells those asked; False when none was ended."""
    changed, ended = await change_hold(deps, *waiting, edit)
    if changed is None or ended is None:
        return False
    await publish(changed, deps)
    await close(deps, waiting, ended, outcome, answered_by, user_id)
    return True


def _ids(installs: list[Install], but: str | None = None) -> list[str]:
    return sorted({account for account, _ in installs if account != but})
