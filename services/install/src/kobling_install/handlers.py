"""What install does with a verified Stripe event."""

import logging
from dataclasses import dataclass
from enum import Enum

from faststream.kafka import KafkaBroker
from prometheus_client import Counter

from kobling_install.store import Claim, Installs, WebhookLedger
from kobling_install.stripe_events import NotForUs, StripeEvent, to_install_event
from kobling_shared.events import StripeAppInstalled
from kobling_shared.kafka import publish

log = logging.getLogger(__name__)

WEBHOOKS = Counter("kobling_webhooks_total", "Stripe webhooks by outcome", ["outcome"])


class Outcome(Enum):
    PUBLISHED = "published"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


@dataclass(frozen=True)
class Deps:
    broker: KafkaBroker
    ledger: WebhookLedger
    installs: Installs


async def accept_webhook(event: StripeEvent, deps: Deps) -> Outcome:
    """Publishes the event's install or uninstall once; raises if it could not be made durable."""
    try:
        install_event = to_install_event(event)
    except NotForUs as why:
        log.info("stripe event %s ignored: %s", event.id, why)
        WEBHOOKS.labels("ignored").inc()
        return Outcome.IGNORED
    claim = await deps.ledger.claim(event.id)
    if claim is Claim.DONE:
        WEBHOOKS.labels("duplicate").inc()
        return Outcome.DUPLICATE
    announcement = None
    if isinstance(install_event, StripeAppInstalled):
        key = install_event.account_key
        announcement, announced_by = await deps.installs.claim_announcement(key, event.id)
        # Announced by the OAuth redirect; our own earlier, unfinished attempt still publishes.
        if announced_by is not None and announced_by != event.id:
            await deps.ledger.mark_published(event.id)
            WEBHOOKS.labels("duplicate").inc()
            return Outcome.DUPLICATE
    try:
        await publish(deps.broker, install_event)
    except BaseException:
        if claim is Claim.NEW:
            await deps.ledger.release(event.id)
        if announcement is not None:
            await deps.installs.release_announcement(announcement)
        WEBHOOKS.labels("unavailable").inc()
        raise
    await deps.ledger.mark_published(event.id)
    if not isinstance(install_event, StripeAppInstalled):
        await deps.installs.uninstalled(install_event.account_key, install_event.time)
    WEBHOOKS.labels("published").inc()
    return Outcome.PUBLISHED
