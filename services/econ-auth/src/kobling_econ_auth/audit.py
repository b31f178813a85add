"""What the broker tells economic.grant-uses.v1 of each use (broker_audit.py writes the event):
recorded before the call goes to e-conomic, published with its outcome once answered, and kept
for the relay (relay.py) whenever the topic cannot take it, so that no use goes untold."""

import logging
from datetime import timedelta

from kobling_econ_auth.ports import UnsentUses
from kobling_shared.events import EconomicGrantUsed, now
from kobling_shared.kafka import PUBLISH_TIMEOUT_SECONDS, Publisher

log = logging.getLogger(__name__)


async def record(unsent: UnsentUses, unknown: EconomicGrantUsed, deadline_seconds: float) -> None:
    """Before the call leaves: the use as the relay would publish it if we died now, and when it
    may (once no call of ours can still be out)."""
    due = now() + timedelta(seconds=deadline_seconds + PUBLISH_TIMEOUT_SECONDS)
    await unsent.add(unknown, due)


async def answered(
    publisher: Publisher, unsent: UnsentUses, unknown: EconomicGrantUsed, **data: object
) -> None:
    """Publishes the use with its outcome (`data`), under the id recorded before the call:
    whichever of this and the relay's copy arrives first is the one the read model keeps."""
    event = unknown.model_copy(update={"data": unknown.data.model_copy(update=data)})
    try:
        await publisher.publish(event)
    except Exception as error:
        log.warning("grant use %s kept for later: %s", event.id, type(error).__name__)
        await unsent.replace(event, now())
        return
    await unsent.forget(event.id)


async def refused(publisher: Publisher, unsent: UnsentUses, event: EconomicGrantUsed) -> None:
    """A call the broker refused, which nothing recorded before."""
    try:
        await publisher.publish(event)
    except Exception as error:
        log.warning("refused use %s kept for later: %s", event.id, type(error).__name__)
        await unsent.add(event, now())
