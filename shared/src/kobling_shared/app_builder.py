"""The one way a service's app is built. `connect` makes what every service talks to (the broker,
the database client, the database's door, chosen once here) before the service wires its own
dependencies on them; `build_app` makes the FastAPI app around those dependencies, with what every
service shares: the lifespan, the Stripe App view's CORS, health, readiness and metrics, the
AsyncAPI document, the body limit and the hardening. A route gets the service's dependencies one
way: `app.state.deps`, through the service's `get_deps` (or, on a `direct` route, straight from
`request.app.state.deps`)."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from kobling_shared import asyncapi, kafka, mongo
from kobling_shared.db.choice import door
from kobling_shared.db.ports import Door
from kobling_shared.hardening import harden
from kobling_shared.mongo import Document
from kobling_shared.ops import BodyLimit, ReadinessCheck, configure_logging, ops_router
from kobling_shared.settings import Settings

Hook = Callable[[], Awaitable[object]]
Loop = Callable[[], Coroutine[Any, Any, None]]
Endpoint = Callable[[Request], Awaitable[Response]]


class Direct:
    """Serves a few hot routes, by method and exact path, without FastAPI's routing, exception
    middleware and dependency solving: under a flood of Stripe webhooks those were a quarter of
    install's CPU a webhook (docs/benchmarks.md). Pure ASGI, inside the body limit and the
    hardening, so their answers get both; the same endpoints stay declared on their routers,
    for the OpenAPI document. An endpoint takes the request and reads what it needs itself."""

    def __init__(self, app: Any, routes: Mapping[tuple[str, str], Endpoint]) -> None:
        self.app, self.routes = app, routes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            endpoint = self.routes.get((scope["method"], scope["path"]))
            if endpoint is not None:
                request = Request(scope, receive)
                try:
                    response = await endpoint(request)
                except Exception as error:
                    # Answered as the app answers it elsewhere (an HTTPException as FastAPI does,
                    # JSON nested too deep as the hardening does); anything else is a 500.
                    handler = _handler_for(request.app, error)
                    if handler is None:
                        raise
                    response = await handler(request, error)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _handler_for(app: Any, error: Exception) -> Any:
    handlers = app.exception_handlers
    return next((handlers[kind] for kind in type(error).__mro__ if kind in handlers), None)


@dataclass(frozen=True)
class Connections:
    """What a service talks to, made but not yet connected (the lifespan connects them)."""

    service: str
    settings: Settings
    broker: KafkaBroker
    client: AsyncMongoClient[Document]
    door: Door

    def database(self, name: str) -> AsyncDatabase[Document]:
        return mongo.database(self.client, name)


def connect(service: str, settings: Settings) -> Connections:
    configure_logging(service, access_log=not settings.production)
    broker = kafka.make_broker(settings.kafka_bootstrap_servers, service, settings.kafka_security)
    client = mongo.make_client(settings.mongodb_url)
    return Connections(service, settings, broker, client, door(client))


def build_app(
    base: Connections,
    deps: object,
    routers: Sequence[APIRouter],
    readiness: dict[str, ReadinessCheck],
    *,
    publishes: tuple[str, ...] = (),
    startup: Sequence[Hook] = (),
    loops: Sequence[Loop] = (),
    shutdown: Sequence[Hook] = (),
    view_cors: bool = False,
    direct: Mapping[tuple[str, str], Endpoint] | None = None,
) -> FastAPI:
    """The app serving `routers` over `deps`. Its lifespan runs `startup` (indexes), makes the
    topics, starts the broker and then `loops` (background jobs); on the way out it cancels the
    loops, stops the broker, runs `shutdown` (clients of outside parties) and closes the database
    client. `view_cors`: the Stripe App view calls this service from the Dashboard. `direct`:
    routes of `routers`, by (method, path), that `Direct` serves."""
    settings = base.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for hook in startup:
            await hook()
        await kafka.ensure_topics(
            settings.kafka_bootstrap_servers, settings.kafka_security, settings.kafka_layout
        )
        await base.broker.start()
        tasks = [asyncio.create_task(loop()) for loop in loops]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await base.broker.stop()
            for hook in shutdown:
                await hook()
            await base.client.close()

    app = FastAPI(title=f"Kobling {base.service}", lifespan=lifespan)
    app.state.deps = deps
    app.state.settings = settings  # for kobling_shared's own (app_view's signature check)
    if direct:
        # The innermost: inside the view's CORS, the body limit and the hardening.
        app.add_middleware(Direct, routes=direct)
    if view_cors:
        # The Stripe App view runs with a null origin; it is authenticated by signature, not
        # cookies.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=["*"],
            allow_methods=["POST"],
            allow_headers=["Stripe-Signature", "Content-Type"],
        )
    for router in routers:
        app.include_router(router)
    app.include_router(ops_router(readiness))
    app.include_router(asyncapi.router(asyncapi.document(base.broker, base.service, publishes)))
    app.add_middleware(BodyLimit)
    harden(app)
    return app
