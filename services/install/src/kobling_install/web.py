"""What install's routes share: their dependencies, declared once."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from kobling_install.handlers import Outcome
from kobling_install.oauth import OAuthDeps
from kobling_install.settings import InstallSettings
from kobling_install.stripe_broker import StripeBroker
from kobling_install.stripe_events import StripeEvent
from kobling_shared.batching import GroupCommit

Webhooks = GroupCommit[StripeEvent, Outcome]


@dataclass(frozen=True)
class WebhookSecrets:
    """The live and the test endpoint's signing secrets, each a list during a roll."""

    live: tuple[str, ...]
    test: tuple[str, ...]


@dataclass(frozen=True)
class Deps:
    settings: InstallSettings
    webhook_secrets: WebhookSecrets
    webhooks: Webhooks  # webhooks that arrive together share their round trips
    oauth: OAuthDeps
    stripe_broker: StripeBroker
    stripe_broker_callers: dict[str, str]  # STRIPE_BROKER_TOKENS as {token: caller}


# `async def`: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request.
async def get_deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


DepsDep = Annotated[Deps, Depends(get_deps)]
