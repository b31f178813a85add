"""install's HTTP entrypoints: Stripe's webhooks (and, later, the OAuth install redirect)."""

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from kobling_shared.signatures import BadSignature, verify_webhook
from pydantic import ValidationError

from kobling_install.handlers import Deps, accept_webhook
from kobling_install.settings import InstallSettings
from kobling_install.stripe_events import StripeEvent

log = logging.getLogger(__name__)
router = APIRouter()


def get_settings(request: Request) -> InstallSettings:
    settings: InstallSettings = request.app.state.settings
    return settings


def get_deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


SettingsDep = Annotated[InstallSettings, Depends(get_settings)]
DepsDep = Annotated[Deps, Depends(get_deps)]


@router.post("/stripe/webhooks")
async def stripe_webhook(
    request: Request,
    settings: SettingsDep,
    deps: DepsDep,
    stripe_signature: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    raw = await request.body()
    try:
        verify_webhook(raw, stripe_signature, settings.stripe_webhook_secret)
    except BadSignature as why:
        return JSONResponse({"error": "invalid_signature", "message": str(why)}, status_code=400)
    try:
        event = StripeEvent.model_validate_json(raw)
    except ValidationError:
        return JSONResponse(
            {"error": "invalid_event", "message": "not a Stripe event"}, status_code=400
        )
    try:
        outcome = await accept_webhook(event, deps)
    except Exception:
        # Stripe retries any non-2xx for days; a 503 hands the event back to it, nothing is lost.
        log.exception("could not make stripe event %s durable", event.id)
        return JSONResponse({"error": "unavailable", "message": "try again later"}, status_code=503)
    return JSONResponse({"received": True, "outcome": outcome.value})
