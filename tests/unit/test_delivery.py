"""A publish that timed out is still under way in the producer: its retry must join it, not send
the event a second time; a publish that failed for good is sent again."""

import asyncio
import uuid

import pytest

from kobling_shared.delivery import send_once


async def test_a_retry_joins_the_send_its_caller_gave_up_on() -> None:
    event_id, sent, broker_back = uuid.uuid4().hex, [], asyncio.Event()

    async def send() -> None:
        sent.append(event_id)
        await broker_back.wait()  # the broker is away; the producer keeps the batch

    with pytest.raises(TimeoutError):
        await send_once(event_id, send, 0.05)  # the webhook got its 503
    broker_back.set()
    await asyncio.sleep(0)  # the abandoned send lands
    await send_once(event_id, send, 1.0)  # Stripe's retry
    assert sent == [event_id]


async def test_a_send_that_failed_is_sent_again() -> None:
    event_id, sent = uuid.uuid4().hex, []

    async def send() -> None:
        sent.append(event_id)
        if len(sent) == 1:
            raise ConnectionError("broker refused it")

    with pytest.raises(ConnectionError):
        await send_once(event_id, send, 1.0)
    await send_once(event_id, send, 1.0)
    assert sent == [event_id, event_id]
