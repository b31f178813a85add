"""install: receives Stripe and publishes installs and uninstalls."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from kobling_shared import kafka, mongo
from kobling_shared.ops import configure_logging, ops_router

from kobling_install.handlers import Deps
from kobling_install.routes import router
from kobling_install.settings import InstallSettings
from kobling_install.store import WebhookLedger

SERVICE = "install"


def create_app(settings: InstallSettings | None = None) -> FastAPI:
    settings = settings or InstallSettings()
    configure_logging(SERVICE)
    broker = kafka.make_broker(settings.kafka_bootstrap_servers, client_id=SERVICE)
    client = mongo.make_client(settings.mongodb_url)
    db = mongo.database(client, "kobling_install")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await kafka.ensure_topics(settings.kafka_bootstrap_servers)
        await broker.start()
        try:
            yield
        finally:
            await broker.stop()
            await client.close()

    app = FastAPI(title="Kobling install", lifespan=lifespan)
    app.state.settings = settings
    app.state.deps = Deps(broker=broker, ledger=WebhookLedger(db))
    app.include_router(router)
    app.include_router(
        ops_router(
            {"kafka": lambda: broker.ping(timeout=2.0), "mongodb": lambda: mongo.ping(client)}
        )
    )
    return app
