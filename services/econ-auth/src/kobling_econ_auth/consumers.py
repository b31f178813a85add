"""econ-auth's Kafka entrypoint: installs open a connection, uninstalls end it."""

from faststream.kafka import KafkaBroker

from kobling_econ_auth import installs
from kobling_econ_auth.deps import Deps
from kobling_shared.events import INSTALLS_TOPIC, AnyEvent, StripeAppInstalled, StripeAppUninstalled
from kobling_shared.kafka import subscribe_events
from kobling_shared.ownership import Owned

GROUP_ID = "kobling-econ-auth"


def subscribe(broker: KafkaBroker, deps: Deps) -> Owned:
    """Answers which accounts' partitions this instance holds: the grant checks and the outbox
    relay are spread by them."""
    owned = Owned(INSTALLS_TOPIC)

    async def on_install_events(events: list[AnyEvent]) -> None:
        mine = [e for e in events if isinstance(e, StripeAppInstalled | StripeAppUninstalled)]
        await installs.on_install_events(mine, deps)
        deps.arrivals.arrived(e.account_key for e in mine)  # connect links waiting for these

    subscribe_events(
        broker,
        (INSTALLS_TOPIC,),
        GROUP_ID,
        on_install_events,
        accepts=(StripeAppInstalled, StripeAppUninstalled),
        owned=owned,
    )
    return owned
