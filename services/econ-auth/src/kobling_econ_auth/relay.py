"""The one relay for every outbox: what a writer left unpublished (a crash, a broker outage), the
connections' events and the broker's uses alike, for the accounts this instance owns, so that two
instances do not publish one outbox twice (consumers would drop the repeat by id, but it is work
for nothing)."""

from datetime import datetime, timedelta

from kobling_econ_auth.deps import Deps, publish
from kobling_econ_auth.ports import UnsentUses
from kobling_shared.events import now
from kobling_shared.ownership import Owned

# The request that wrote an event publishes it at once; the relay takes only what that publish
# left behind, so the two do not publish the same event twice.
RELAY_GRACE = timedelta(seconds=5)


async def relay_all(deps: Deps, owned: Owned) -> None:
    """The connections' outboxes."""
    for conn in await deps.store.with_outbox():
        oldest = datetime.fromisoformat(conn.outbox[0]["time"])
        if now() - oldest > RELAY_GRACE and owned.owns(conn.account_id):
            await publish(conn, deps)


async def relay_uses(unsent: UnsentUses, deps: Deps, owned: Owned) -> None:
    """The broker's uses its call left unpublished (a broker outage, or the instance died while
    the call was out), once no call of ours can still be out (kobling_econ_auth.audit)."""
    for event in await unsent.due(now()):
        if owned.owns(event.subject):
            await deps.publisher.publish(event)
            await unsent.forget(event.id)
