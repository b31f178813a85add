"""The sandbox: Stripe and e-conomic as they behave (DOMAIN.md), for the demo and the tests."""

from fastapi import FastAPI

from kobling_sandbox import (
    economic,
    economic_books,
    economic_books_page,
    economic_calls,
    economic_journals,
    economic_settings,
    stripe,
    stripe_api,
    stripe_controls,
    stripe_invoice_panel,
    stripe_sync_settings,
)
from kobling_sandbox.config import settings
from kobling_shared.ops import configure_logging, ops_router


def create_app() -> FastAPI:
    settings()  # refuses production before anything listens
    configure_logging("sandbox")
    app = FastAPI(title="Kobling sandbox (pretend Stripe and e-conomic)")
    # Before stripe's: its Dashboard route takes every /dashboard/… path it sees first.
    app.include_router(stripe_controls.router)
    app.include_router(stripe_api.router)
    app.include_router(stripe_invoice_panel.router)
    app.include_router(stripe_sync_settings.router)
    app.include_router(stripe.router)
    app.include_router(economic.router)
    for books in (economic_books, economic_journals, economic_settings, economic_books_page):
        app.include_router(books.router)
    app.include_router(economic_calls.router)
    app.include_router(ops_router({}))
    app.add_middleware(economic_calls.CountAndHold)
    return app
