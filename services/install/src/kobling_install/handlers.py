"""What install does with a verified Stripe event."""

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from prometheus_client import Counter

from kobling_install.ports import Announcements, Claim, Ledger, Tokens
from kobling_install.stripe_events import (
    NotForUs,
    Published,
    StripeEvent,
    to_event,
    webhook_is_news,
)
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
    vault: Tokens
    applications: frozenset[str]  # the ids that name our app in Stripe's events


async def accept_webhooks(events: list[StripeEvent], deps: Deps) -> list[Outcome | Exception]:
    """Publishes each event's install, uninstall or account event once, for a batch of webhooks
    received at the same moment: a few round trips for all of them instead of a few each. An
    event answers with its outcome, or with the exception that says it could not be made durable;
    a Stripe event delivered twice within the batch shares its first delivery's fate."""
    outcomes: dict[str, Outcome | Exception] = {}
    todo: dict[str, Published] = {}
    firsts: dict[str, StripeEvent] = {}
    for event in events:
        firsts.setdefault(event.id, event)
    for event in firsts.values():
        try:
            todo[event.id] = to_event(event, deps.applications)
        except NotForUs as why:
            log.info("stripe event %s ignored: %s", event.id, why)
            outcomes[event.id] = Outcome.IGNORED
    claims = await deps.ledger.claim(list(todo))
    for event_id, claim in claims.items():
        if claim is Claim.DONE:
            outcomes[event_id] = Outcome.DUPLICATE
            del todo[event_id]
    # Every distinct install and uninstall is published, in whatever order Stripe delivers them:
    # consumers keep the latest by Stripe's time. Only the webhook of an install the OAuth
    # redirect announced already is not news.
    installs = {id_: e for id_, e in todo.items() if isinstance(e, StripeAppInstalled)}
    oauth = await deps.installs.oauth_announced([e.account_key for e in installs.values()])
    paired = [
        id_ for id_, e in installs.items() if not webhook_is_news(e, oauth.get(e.account_key))
    ]
    for event_id in paired:
        outcomes[event_id] = Outcome.DUPLICATE
        del todo[event_id]
    announced: dict[str, tuple[datetime, str]] = {}
    for event_id, news in todo.items():
        if isinstance(news, StripeAppInstalled):
            latest = (news.time, event_id)
            announced[news.account_key] = max(latest, announced.get(news.account_key, latest))
    await deps.installs.announced_by_webhooks(announced)
    results = await asyncio.gather(
        *(deps.publisher.publish(news) for news in todo.values()), return_exceptions=True
    )
    published = []
    for (event_id, news), result in zip(todo.items(), results, strict=True):
        if isinstance(result, BaseException):
            if claims[event_id] is Claim.NEW:
                await deps.ledger.release(event_id)
            if isinstance(news, StripeAppInstalled):
                await deps.installs.unannounce_webhook(news.account_key, event_id)
            outcomes[event_id] = result if isinstance(result, Exception) else Unavailable()
            continue
        published.append(event_id)
        outcomes[event_id] = Outcome.PUBLISHED
        if isinstance(news, StripeAppUninstalled):
            await deps.vault.forget(news.account_key, news.time)
    try:
        await deps.ledger.mark_published(published + paired)
    except Exception:
        # They are on Kafka: a 503 now would make Stripe's retry publish them a second time.
        # Unmarked, a later redelivery goes out again under the same id, which consumers drop.
        log.exception("published, but could not mark %d stripe events so", len(published))
    for outcome in outcomes.values():
        WEBHOOKS.labels(outcome.value if isinstance(outcome, Outcome) else "unavailable").inc()
    return [outcomes[event.id] for event in events]


class Unavailable(Exception):
    """The broker did not take the event."""
