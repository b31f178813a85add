"""sync's Kafka entrypoint: the Stripe events of installed accounts."""

from faststream.kafka import KafkaBroker

from kobling_shared.events import ACCOUNT_EVENTS_TOPIC, AnyEvent, StripeAccountEvent
from kobling_shared.kafka import subscribe_events
from kobling_sync.handling import Sync


def subscribe(broker: KafkaBroker, sync: Sync, group_id: str) -> None:
    async def on_account_events(events: list[AnyEvent]) -> None:
        await sync.handle([e for e in events if isinstance(e, StripeAccountEvent)])

    subscribe_events(
        broker, (ACCOUNT_EVENTS_TOPIC,), group_id, on_account_events, accepts=(StripeAccountEvent,)
    )
