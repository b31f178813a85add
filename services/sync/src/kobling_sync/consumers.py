"""sync's Kafka entrypoint: the Stripe events of installed accounts."""

from faststream.kafka import KafkaBroker

from kobling_shared.events import ACCOUNT_EVENTS_TOPIC, AnyEvent, StripeAccountEvent
from kobling_shared.kafka import PATIENT, subscribe_events
from kobling_sync.handling import Sync


def subscribe(broker: KafkaBroker, sync: Sync, group_id: str) -> None:
    async def on_account_events(events: list[AnyEvent]) -> None:
        await sync.handle([e for e in events if isinstance(e, StripeAccountEvent)])

    # Patient polling: an idle round costs CPU here and in Kafka whether or not anything comes
    # (issue 27: an idle service under 2% of a core); a record still answers the held fetch at
    # once, and a booking is several e-conomic calls besides (bench: p99 < 1 s).
    subscribe_events(
        broker,
        (ACCOUNT_EVENTS_TOPIC,),
        group_id,
        on_account_events,
        accepts=(StripeAccountEvent,),
        polling=PATIENT,
    )
