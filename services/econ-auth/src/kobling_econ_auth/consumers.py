"""econ-auth's Kafka entrypoint: installs open a connection, uninstalls end it."""

import asyncio
import logging

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError
from pymongo.errors import PyMongoError

from kobling_econ_auth import handlers
from kobling_econ_auth.handlers import Deps
from kobling_shared.events import (
    INSTALLS_TOPIC,
    StripeAppInstalled,
    StripeAppUninstalled,
    parse_event,
)
from kobling_shared.kafka import dead_letter

log = logging.getLogger(__name__)

GROUP_ID = "kobling-econ-auth"


def subscribe(broker: KafkaBroker, deps: Deps) -> None:
    @broker.subscriber(
        INSTALLS_TOPIC,
        group_id=GROUP_ID,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        fetch_max_wait_ms=20,
    )
    async def on_install_event(message: KafkaMessage) -> None:
        raw: bytes = message.body
        try:
            event = parse_event(raw)
        except ValidationError as error:
            await dead_letter(broker, INSTALLS_TOPIC, raw, f"invalid: {error.errors()[0]['msg']}")
            return
        if not isinstance(event, StripeAppInstalled | StripeAppUninstalled):
            await dead_letter(broker, INSTALLS_TOPIC, raw, f"unexpected: {event.type}")
            return
        try:
            await handlers.on_install_event(event, deps)
        except PyMongoError:
            log.warning("database unavailable; event %s will be retried", event.id)
            await asyncio.sleep(1.0)
            raise
