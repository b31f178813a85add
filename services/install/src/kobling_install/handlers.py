"""What install does with a verified Stripe event."""

import asyncio
import logging
from dataclasses import dataclass
from enum import Enum

from prometheus_client import Counter

from kobling_install.ports import Announcements, Ledger
from kobling_install.store import Claim
from kobling_install.stripe_events import NotForUs, StripeEvent, to_install_event
from kobling_shared.events import StripeAppInstalled, StripeAppUninstalled
from kobling_shared.kafka import Publisher

log = logging.getLogger(__name__)

WEBHOOKS = Counter("kobling_webhooks_total", "Stripe webhooks by outcome", ["outcome"])


class Outcome(Enum):
    PUBLISHED = "published"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


@dataclass(frozen=True)
class Deps:
    publisher: Publisher
    ledger: Ledger
    installs: Announcements


async def accept_webhooks(events: list[StripeEvent], deps: Deps) -> list[Outcome | Exception]:
    """Publishes each event's install or uninstall once, for a batch of webhooks received at
    the same moment: a few round trips for all of them instead of a few each. An event answers
    with its outcome, or with the exception that says it could not be made durable; a Stripe
    event delivered twice within the batch shares its first delivery's fate."""
    outcomes: dict[str, Outcome | Exception] = {}
    todo: dict[str, StripeAppInstalled | StripeAppUninstalled] = {}
    firsts: dict[str, StripeEvent] = {}
    for event in events:
        firsts.setdefault(event.id, event)
    for event in firsts.values():
        try:
            todo[event.id] = to_install_event(event)
        except NotForUs as why:
            log.info("stripe event %s ignored: %s", event.id, why)
            outcomes[event.id] = Outcome.IGNORED
    claims = await deps.ledger.claim(list(todo))
    for event_id, claim in claims.items():
        if claim is Claim.DONE:
            outcomes[event_id] = Outcome.DUPLICATE
            del todo[event_id]
    announced = await deps.installs.claim_announcements(
        {id_: e.account_key for id_, e in todo.items() if isinstance(e, StripeAppInstalled)}
    )
    announced_elsewhere = []
    for event_id, (_, announced_by) in announced.items():
        # Announced by the OAuth redirect; our own earlier, unfinished attempt still publishes.
        if announced_by is not None and announced_by != event_id:
            outcomes[event_id] = Outcome.DUPLICATE
            announced_elsewhere.append(event_id)
            del todo[event_id]
    results = await asyncio.gather(
        *(deps.publisher.publish(news) for news in todo.values()), return_exceptions=True
    )
    published = []
    for (event_id, news), result in zip(todo.items(), results, strict=True):
        if isinstance(result, BaseException):
            if claims[event_id] is Claim.NEW:
                await deps.ledger.release(event_id)
            if event_id in announced:
                await deps.installs.release_announcement(announced[event_id][0])
            outcomes[event_id] = result if isinstance(result, Exception) else Unavailable()
            continue
        published.append(event_id)
        outcomes[event_id] = Outcome.PUBLISHED
        if isinstance(news, StripeAppUninstalled):
            await deps.installs.uninstalled(news.account_key, news.time)
    try:
        await deps.ledger.mark_published(published + announced_elsewhere)
    except Exception:
        # They are on Kafka: a 503 now would make Stripe's retry publish them a second time.
        # Unmarked, a later redelivery goes out again under the same id, which consumers drop.
        log.exception("published, but could not mark %d stripe events so", len(published))
    for outcome in outcomes.values():
        WEBHOOKS.labels(outcome.value if isinstance(outcome, Outcome) else "unavailable").inc()
    return [outcomes[event.id] for event in events]


class Unavailable(Exception):
    """The broker did not take the event."""
