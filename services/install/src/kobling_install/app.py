"""install: receives Stripe and publishes installs and uninstalls."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import httpx
from fastapi import FastAPI

from kobling_install.handlers import Deps, accept_webhooks
from kobling_install.oauth import OAuthDeps
from kobling_install.routes import WebhookSecrets, router
from kobling_install.settings import InstallSettings
from kobling_install.store import Installs, OAuthStates, TokenVault, WebhookLedger
from kobling_install.stripe_oauth import StripeOAuth
from kobling_shared import asyncapi, kafka, mongo
from kobling_shared.batching import GroupCommit
from kobling_shared.crypto import TokenCipher
from kobling_shared.db.choice import door
from kobling_shared.events import INSTALLS_TOPIC, now
from kobling_shared.hardening import harden
from kobling_shared.ops import (
    BodyLimit,
    configure_logging,
    dependency_checks,
    every,
    ops_router,
)
from kobling_shared.settings import secret_list

SERVICE = "install"
HOUSEKEEPING_SECONDS = 5.0  # one-time states past their deadline are deleted this often
STRIPE_EVENTS_SECONDS = 600.0  # and Stripe event ids, kept 30 days, this often


def create_app(settings: InstallSettings | None = None) -> FastAPI:
    settings = settings or InstallSettings()
    configure_logging(SERVICE, access_log=not settings.production)
    broker = kafka.make_broker(settings.kafka_bootstrap_servers, SERVICE, settings.kafka_security)
    client = mongo.make_client(settings.mongodb_url)
    db = mongo.database(client, "kobling_install")
    database = door(client)  # the database's door, chosen once for the app
    http = httpx.AsyncClient()
    installs = Installs(db)
    ledger = WebhookLedger(db, database)
    vault = TokenVault(db, database)
    states = OAuthStates(db, database)
    oauth = OAuthDeps(
        settings=settings,
        broker=broker,
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

    async def forget_stripe_events() -> None:
        await ledger.forget_expired(now())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for store in (states, ledger):
            await store.create_indexes()
        await kafka.ensure_topics(
            settings.kafka_bootstrap_servers, settings.kafka_security, settings.kafka_layout
        )
        await broker.start()
        cleanup = [
            asyncio.create_task(every(HOUSEKEEPING_SECONDS, lambda: states.forget_expired(now()))),
            asyncio.create_task(every(STRIPE_EVENTS_SECONDS, forget_stripe_events)),
        ]
        try:
            yield
        finally:
            for task in cleanup:
                task.cancel()
            await broker.stop()
            await http.aclose()
            await client.close()

    app = FastAPI(title="Kobling install", lifespan=lifespan)
    app.state.settings = settings
    app.state.webhook_secrets = WebhookSecrets(
        live=secret_list(settings.stripe_webhook_secret),
        test=secret_list(settings.stripe_test_webhook_secret),
    )
    deps = Deps(
        publisher=kafka.KafkaPublisher(broker),
        ledger=ledger,
        installs=installs,
        vault=vault,
        applications=frozenset(secret_list(settings.stripe_application_ids)),
    )
    # Webhooks that arrive together share their round trips to the database and the broker.
    app.state.webhooks = GroupCommit(partial(accept_webhooks, deps=deps))
    app.state.oauth = oauth
    app.include_router(router)
    app.include_router(ops_router(dependency_checks(broker, client)))
    app.include_router(asyncapi.router(asyncapi.document(broker, SERVICE, (INSTALLS_TOPIC,))))
    app.add_middleware(BodyLimit)
    harden(app)
    return app
