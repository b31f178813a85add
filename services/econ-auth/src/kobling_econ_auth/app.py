"""econ-auth: owns e-conomic grants, from the connect link to the grant check."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from kobling_econ_auth import (
    broker_api,
    browser_routes,
    consumers,
    grant_checks,
    operator_routes,
    relay,
    routes,
)
from kobling_econ_auth.broker import Broker
from kobling_econ_auth.budget import DailyBudget, caller_shares
from kobling_econ_auth.deps import Deps
from kobling_econ_auth.economic import EconomicClient
from kobling_econ_auth.grants import KEYS_DATABASE, GrantVault
from kobling_econ_auth.rejections import RejectionWave
from kobling_econ_auth.settings import EconAuthSettings, broker_callers
from kobling_econ_auth.store import ConnectionStore, UnsentUses
from kobling_shared import asyncapi, kafka, mongo
from kobling_shared.arrivals import Arrivals
from kobling_shared.crypto import MasterKeys, TokenCipher
from kobling_shared.db.choice import door
from kobling_shared.events import CONNECTIONS_TOPIC, GRANT_USES_TOPIC, now
from kobling_shared.hardening import harden
from kobling_shared.ops import (
    BodyLimit,
    configure_logging,
    dependency_checks,
    every,
    every_round,
    ops_router,
)

SERVICE = "econ-auth"
# The relay is for what a crash or an outage left behind; the normal path publishes at once.
OUTBOX_RELAY_SECONDS = 2.0
# A link lives CONNECT_LINK_MAX_AGE and a state state_ttl_seconds; their "used" marks outlive both.
USED_ONCE_KEPT = timedelta(hours=1)


def create_app(settings: EconAuthSettings | None = None) -> FastAPI:
    settings = settings or EconAuthSettings()
    configure_logging(SERVICE, access_log=not settings.production)
    broker = kafka.make_broker(settings.kafka_bootstrap_servers, SERVICE, settings.kafka_security)
    client = mongo.make_client(settings.mongodb_url)
    database = door(client)  # the database's door, chosen once for the app
    store = ConnectionStore(mongo.database(client, "kobling_econ_auth"), database, USED_ONCE_KEPT)
    http = httpx.AsyncClient()
    economic = EconomicClient(settings.economic_api_url, settings.economic_app_secret_token, http)
    rejections = RejectionWave(
        window=timedelta(seconds=settings.rejection_wave_window_seconds),
        min_answers=settings.rejection_wave_min_answers,
        share=settings.rejection_wave_share,
    )
    grants = GrantVault(
        mongo.database(client, KEYS_DATABASE)["data_keys"],
        MasterKeys(settings.token_encryption_keys),
        TokenCipher(settings.token_encryption_keys),
    )
    deps = Deps(
        settings, store, kafka.KafkaPublisher(broker), grants, economic, Arrivals(), rejections
    )
    owned = consumers.subscribe(broker, deps)
    db = mongo.database(client, "kobling_econ_auth")
    budget = DailyBudget(db["broker_budget_tickets"], settings.economic_daily_budget, database)
    scopes = settings.broker_scopes()
    unsent = UnsentUses(db["grant_uses_unsent"])
    lender = Broker(deps, budget, unsent, scopes, caller_shares(budget, scopes))

    async def housekeeping() -> None:
        await relay.relay_all(deps, owned)
        await relay.relay_uses(unsent, deps, owned)
        grant_checks.settle_wave(deps)
        await store.forget_expired(now())
        await budget.forget_expired(now())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.create_indexes()
        await budget.create_indexes()
        await kafka.ensure_topics(
            settings.kafka_bootstrap_servers, settings.kafka_security, settings.kafka_layout
        )
        await broker.start()
        tasks = [
            asyncio.create_task(every(OUTBOX_RELAY_SECONDS, housekeeping)),
            asyncio.create_task(
                every_round(
                    settings.grant_check_interval_seconds,
                    lambda round_: grant_checks.check_all_grants(deps, owned, round_),
                )
            ),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await broker.stop()
            await http.aclose()
            await client.close()

    app = FastAPI(title="Kobling econ-auth", lifespan=lifespan)
    app.state.deps = deps
    app.state.settings = settings
    app.state.broker = lender
    app.state.broker_callers = broker_callers(settings.economic_broker_tokens)
    # The Stripe App view runs with a null origin; it is authenticated by signature, not cookies.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["POST"],
        allow_headers=["Stripe-Signature", "Content-Type"],
    )
    for entrypoint in (routes, browser_routes, operator_routes):
        app.include_router(entrypoint.router)
    app.include_router(broker_api.router)
    # A suspected app secret is not in readiness: it raises kobling_economic_credentials_suspect
    # and an ERROR line. Out of rotation, every pod would also stop serving what still works
    # (links, cancels, pages), and whoever could start a wave could switch econ-auth off.
    app.include_router(ops_router(dependency_checks(broker, client)))
    app.include_router(
        asyncapi.router(asyncapi.document(broker, SERVICE, (CONNECTIONS_TOPIC, GRANT_USES_TOPIC)))
    )
    app.add_middleware(BodyLimit)
    harden(app)
    return app
