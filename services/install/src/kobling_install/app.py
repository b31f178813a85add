"""install: receives Stripe, publishes installs, uninstalls and the events of connected accounts
the sync needs, and lends the read-only use of an install's Stripe token (the Stripe broker)."""

from functools import partial

import httpx
from fastapi import FastAPI

from kobling_install import handlers, stripe_broker_api
from kobling_install.oauth import OAuthDeps
from kobling_install.routes import router, stripe_webhook
from kobling_install.settings import InstallSettings, stripe_broker_callers
from kobling_install.store import (
    Installs,
    OAuthStates,
    StripeBrokerUses,
    TokenVault,
    WebhookLedger,
)
from kobling_install.stripe_broker import StripeBroker, digest_key
from kobling_install.stripe_oauth import StripeOAuth
from kobling_install.web import Deps, WebhookSecrets
from kobling_shared import kafka
from kobling_shared.app_builder import build_app, connect
from kobling_shared.batching import GroupCommit
from kobling_shared.crypto import TokenCipher
from kobling_shared.events import ACCOUNT_EVENTS_TOPIC, INSTALLS_TOPIC, now
from kobling_shared.ops import dependency_checks, every
from kobling_shared.settings import secret_list

SERVICE = "install"
HOUSEKEEPING_SECONDS = 5.0  # one-time states past their deadline are deleted this often
STRIPE_EVENTS_SECONDS = 600.0  # and Stripe event ids (30 days) and broker uses (a year), this often


def create_app(settings: InstallSettings | None = None) -> FastAPI:
    settings = settings or InstallSettings()
    base = connect(SERVICE, settings)
    db = base.database("kobling_install")
    http = httpx.AsyncClient()
    installs = Installs(db)
    ledger = WebhookLedger(db, base.door)
    vault = TokenVault(db, base.door)
    states = OAuthStates(db, base.door)
    uses = StripeBrokerUses(db, base.door)
    oauth = OAuthDeps(
        settings=settings,
        broker=base.broker,
        states=states,
        installs=installs,
        vault=vault,
        cipher=TokenCipher(settings.token_encryption_keys),
        stripe=StripeOAuth(
            settings.stripe_api_base,
            {True: settings.stripe_secret_key, False: settings.stripe_test_secret_key},
            http,
        ),
    )
    webhook = handlers.Deps(
        publisher=kafka.KafkaPublisher(base.broker),
        ledger=ledger,
        installs=installs,
        vault=vault,
        applications=frozenset(secret_list(settings.stripe_application_ids)),
    )
    deps = Deps(
        settings=settings,
        webhook_secrets=WebhookSecrets(
            live=secret_list(settings.stripe_webhook_secret),
            test=secret_list(settings.stripe_test_webhook_secret),
        ),
        # Webhooks that arrive together share their round trips to the database and the broker.
        webhooks=GroupCommit(partial(handlers.accept_webhooks, deps=webhook)),
        oauth=oauth,
        # The Stripe broker's digest key comes from the live secret key, which only install holds.
        stripe_broker=StripeBroker(oauth, uses, http, digest_key(settings.stripe_secret_key)),
        stripe_broker_callers=stripe_broker_callers(settings.stripe_broker_tokens),
    )

    async def forget_stripe_events() -> None:
        await ledger.forget_expired(now())
        await uses.forget_expired(now())

    return build_app(
        base,
        deps,
        [router, stripe_broker_api.router],
        dependency_checks(base.broker, base.client),
        publishes=(INSTALLS_TOPIC, ACCOUNT_EVENTS_TOPIC),
        startup=[states.create_indexes, ledger.create_indexes, uses.create_indexes],
        loops=[
            partial(every, HOUSEKEEPING_SECONDS, lambda: states.forget_expired(now())),
            partial(every, STRIPE_EVENTS_SECONDS, forget_stripe_events),
        ],
        shutdown=[http.aclose, ledger.settle],
        # The hottest route: Stripe's webhooks, flat out, want as little web framework as can be.
        direct={("POST", "/stripe/webhooks"): stripe_webhook},
    )
