"""status: projects every event into the read model and serves it."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from kobling_shared import asyncapi, kafka, mongo
from kobling_shared.arrivals import Arrivals
from kobling_shared.db.choice import door
from kobling_shared.hardening import harden
from kobling_shared.ops import BodyLimit, configure_logging, dependency_checks, ops_router
from kobling_status import consumers, internal_api, pages
from kobling_status.grant_uses import GrantUses
from kobling_status.settings import StatusSettings
from kobling_status.store import StatusStore

SERVICE = "status"


def create_app(settings: StatusSettings | None = None) -> FastAPI:
    settings = settings or StatusSettings()
    configure_logging(SERVICE, access_log=not settings.production)
    broker = kafka.make_broker(settings.kafka_bootstrap_servers, SERVICE, settings.kafka_security)
    client = mongo.make_client(settings.mongodb_url)
    database = door(client)  # the database's door, chosen once for the app
    store = StatusStore(mongo.database(client, settings.status_database), database)
    arrivals = Arrivals()
    db = mongo.database(client, settings.status_database)
    uses = GrantUses.of(db, database)
    consumers.subscribe(broker, store, uses, settings.status_group_id, arrivals)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.create_indexes()
        await kafka.ensure_topics(
            settings.kafka_bootstrap_servers, settings.kafka_security, settings.kafka_layout
        )
        await broker.start()
        try:
            yield
        finally:
            await broker.stop()
            await client.close()

    app = FastAPI(title="Kobling status", lifespan=lifespan)
    app.state.settings = settings
    app.state.store = store
    app.state.grant_uses = uses
    app.state.arrivals = arrivals
    # The Stripe App view runs with a null origin; it is authenticated by signature, not cookies.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["POST"],
        allow_headers=["Stripe-Signature", "Content-Type"],
    )
    app.include_router(internal_api.router)
    app.include_router(pages.router)
    app.include_router(ops_router(dependency_checks(broker, client)))
    app.include_router(asyncapi.router(asyncapi.document(broker, SERVICE, ())))
    app.add_middleware(BodyLimit)
    harden(app)
    return app
