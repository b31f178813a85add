from functools import cache
from typing import ClassVar

from kobling_shared.settings import DEVELOPMENT_ENVS, Settings

PORT = 8010


class SandboxSettings(Settings):
    # Production is refused below, by name, before its public URLs could be.
    public_urls: ClassVar[tuple[str, ...]] = ()

    # Where the Dashboard's pretend app view reaches sync's view endpoints (the Stripe App's
    # SYNC_URL constant): the invoice panel and the sync settings page call it, signed as Stripe.
    sync_url: str = "http://127.0.0.1:8004"


@cache
def settings() -> SandboxSettings:
    """The same settings the services read, so the sandbox knows their secrets and URLs.

    It pretends to be Stripe and e-conomic and answers anyone as them: never in production."""
    read = SandboxSettings()
    if read.production:
        raise SystemExit(
            f"the sandbox is a development tool: refusing to start with KOBLING_ENV="
            f"{read.kobling_env!r} (only {', '.join(sorted(DEVELOPMENT_ENVS))} run it)"
        )
    return read
