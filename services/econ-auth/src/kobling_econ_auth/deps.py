"""What every use case of econ-auth takes: its dependencies, and the one way to change a
connection, which publishes the events the change wrote to its outbox at once."""

import json
import logging
from dataclasses import dataclass

from kobling_econ_auth.connection import Connection
from kobling_econ_auth.ports import Change, Connections, Economic, Grants
from kobling_econ_auth.rejections import RejectionWave
from kobling_econ_auth.settings import EconAuthSettings
from kobling_shared.arrivals import Arrivals
from kobling_shared.events import parse_event
from kobling_shared.kafka import Publisher

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deps:
    settings: EconAuthSettings
    store: Connections
    publisher: Publisher
    grants: Grants
    economic: Economic
    arrivals: Arrivals
    rejections: RejectionWave


async def change(deps: Deps, account_id: str, livemode: bool, edit: Change) -> Connection | None:
    """`edit` applied to the stored connection; what it adds to the outbox is published, and
    the data key of a grant it let go is destroyed."""
    changed = await change_grant(deps, account_id, livemode, edit)
    if changed is not None and changed.outbox:
        await publish(changed, deps)
    return changed


async def change_grant(
    deps: Deps, account_id: str, livemode: bool, edit: Change
) -> Connection | None:
    """`edit` applied to the stored connection; when it let a grant go (a disconnect, a revoked
    grant, a reconnect's new grant, a held grant dropped or replaced) that grant's data key is
    destroyed, so a copy of it (a backup, the oplog) opens nothing."""
    let_go: list[str] = []

    def noting(current: Connection) -> Connection | None:
        changed = edit(current)
        let_go.clear()  # a store may try an edit again: the last try is the one written
        if changed is not None:
            let_go.extend(sorted(_sealed(current) - _sealed(changed)))
        return changed

    changed = await deps.store.change(account_id, livemode, noting)
    if changed is not None:
        for old in let_go:
            await deps.grants.retire(account_id, livemode, old)
    return changed


def _sealed(conn: Connection) -> set[str]:
    """The grants a connection keeps: the one it lends, and one held for consent."""
    held = conn.held.grant_ciphertext if conn.held else None
    return {sealed for sealed in (conn.grant_ciphertext, held) if sealed is not None}


async def publish(conn: Connection, deps: Deps) -> None:
    """Publishes a connection's pending events in order; what fails stays for the relay."""
    sent: set[str] = set()
    try:
        for raw in conn.outbox:
            await deps.publisher.publish(parse_event(json.dumps(raw)))
            sent.add(raw["id"])
    except Exception as error:
        log.warning("outbox of %s kept for later: %s", conn.account_id, type(error).__name__)
    if sent:
        await deps.store.sent(conn, sent)
