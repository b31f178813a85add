"""status's Kafka entrypoint: every event on both topics goes into the read model."""

from faststream.kafka import KafkaBroker
from prometheus_client import Counter

from kobling_shared.arrivals import Arrivals
from kobling_shared.events import (
    CONNECTIONS_TOPIC,
    GRANT_USES_TOPIC,
    INSTALLS_TOPIC,
    SYNC_RESULTS,
    SYNC_RESULTS_TOPIC,
    AnyEvent,
    EconomicGrantUsed,
)
from kobling_shared.kafka import PATIENT, subscribe_events
from kobling_status.grant_uses import GrantUses
from kobling_status.store import StatusStore
from kobling_status.sync_results import SyncResults

PROJECTED = Counter("kobling_events_projected_total", "Events applied to the read model", ["type"])


def subscribe(
    broker: KafkaBroker,
    store: StatusStore,
    uses: GrantUses,
    group_id: str,
    arrivals: Arrivals,
    sync_results: SyncResults,
) -> None:
    async def project(events: list[AnyEvent]) -> None:
        await store.apply(events)
        arrivals.arrived(event.id for event in events)  # pages waiting for these
        for event in events:
            PROJECTED.labels(event.type).inc()

    subscribe_events(broker, (INSTALLS_TOPIC, CONNECTIONS_TOPIC), group_id, project)

    async def audit(events: list[AnyEvent]) -> None:
        await uses.record([e for e in events if isinstance(e, EconomicGrantUsed)])
        for event in events:
            PROJECTED.labels(event.type).inc()

    # Its own group: a busy audit never holds up an account's onboarding status. Nobody waits
    # to see a use counted, so it polls patiently: its empty rounds were ~25 of the ~88 ms of
    # CPU an idle status spent a second (and ~15 of Kafka's), taken from the reads it serves.
    subscribe_events(
        broker,
        (GRANT_USES_TOPIC,),
        f"{group_id}.grant-uses",
        audit,
        accepts=(EconomicGrantUsed,),
        polling=PATIENT,
    )

    async def synced(events: list[AnyEvent]) -> None:
        await sync_results.apply([e for e in events if isinstance(e, SYNC_RESULTS)])
        for event in events:
            PROJECTED.labels(event.type).inc()

    # Its own group too: what the sync did never holds up an onboarding status, nor waits for it.
    subscribe_events(
        broker, (SYNC_RESULTS_TOPIC,), f"{group_id}.sync-results", synced, accepts=SYNC_RESULTS
    )
