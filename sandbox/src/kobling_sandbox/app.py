"""The sandbox: Stripe and e-conomic as they behave (DOMAIN.md), for the demo and the tests."""

from fastapi import FastAPI

from kobling_sandbox import economic, economic_books, stripe
from kobling_sandbox.config import settings
from kobling_shared.ops import configure_logging, ops_router


def create_app() -> FastAPI:
    settings()  # refuses production before anything listens
    configure_logging("sandbox")
    app = FastAPI(title="Kobling sandbox (pretend Stripe and e-conomic)")
    app.include_router(stripe.router)
    app.include_router(economic.router)
    app.include_router(economic_books.router)
    app.include_router(ops_router({}))
    return app
