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
from kobling_status.markers import Markers
from kobling_status.projection import AccountStatus
from kobling_status.read_cache import ReadCache, encode
from kobling_status.store import StatusStore
from kobling_status.sync_results import SyncResults
from kobling_status.views import merchant_view, public_view

PROJECTED = Counter("kobling_events_projected_total", "Events applied to the read model", ["type"])


def subscribe(
    broker: KafkaBroker,
    store: StatusStore,
    uses: GrantUses,
    group_id: str,
    arrivals: Arrivals,
    sync_results: SyncResults,
    cache: ReadCache,
    markers: Markers | None,  # None: a rebuild, into a database nobody reads yet
) -> None:
    # Each projection, after its write: this instance holds what it wrote (or forgets what it
    # held), then tells the others (kobling_status.read_cache says why in that order).
    async def project(events: list[AnyEvent]) -> None:
        stamp = cache.stamp()

        # Before the timeline: a page that waited for its event (has_applied) is answered only
        # once every instance has been told, so none serves the older state for longer than
        # its marker takes to arrive.
        async def written_then(written: dict[str, AccountStatus]) -> None:
            for key, status in written.items():
                cache.wrote(key, encode(public_view(status)), encode(merchant_view(status)), stamp)
            if markers is not None:
                await markers.tell("status", written)

        await store.apply(events, written_then)
        arrivals.arrived(event.id for event in events)  # pages waiting for these
        for event in events:
            PROJECTED.labels(event.type).inc()

    subscribe_events(broker, (INSTALLS_TOPIC, CONNECTIONS_TOPIC), group_id, project)

    async def audit(events: list[AnyEvent]) -> None:
        used = [e for e in events if isinstance(e, EconomicGrantUsed)]
        await uses.record(used)
        keys = {use.account_key for use in used if use.data.outcome != "refused"}
        cache.heard(keys, "uses")
        if markers is not None:
            await markers.tell("uses", keys)
        for event in events:
            PROJECTED.labels(event.type).inc()

    # Its own group: a busy audit never holds up an account's onboarding status. Nobody waits
    # to see a use counted, so its fetches are held longest (PATIENT).
    subscribe_events(
        broker,
        (GRANT_USES_TOPIC,),
        f"{group_id}.grant-uses",
        audit,
        accepts=(EconomicGrantUsed,),
        polling=PATIENT,
    )

    async def synced(events: list[AnyEvent]) -> None:
        results = [e for e in events if isinstance(e, SYNC_RESULTS)]
        await sync_results.apply(results)
        keys = {result.account_key for result in results}
        cache.heard(keys, "sync")
        if markers is not None:
            await markers.tell("sync", keys)
        for event in events:
            PROJECTED.labels(event.type).inc()

    # Its own group too: what the sync did never holds up an onboarding status, nor waits for it.
    subscribe_events(
        broker, (SYNC_RESULTS_TOPIC,), f"{group_id}.sync-results", synced, accepts=SYNC_RESULTS
    )
