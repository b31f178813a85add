from functools import cache
from typing import ClassVar

from kobling_shared.settings import DEVELOPMENT_ENVS, Settings

PORT = 8010


class SandboxSettings(Settings):
    # Production is refused below, by name, before its public URLs could be.
    public_urls: ClassVar[tuple[str, ...]] = ()


@cache
def settings() -> Settings:
    """The same settings the services read, so the sandbox knows their secrets and URLs.

    It pretends to be Stripe and e-conomic and answers anyone as them: never in production."""
    read = SandboxSettings()
    if read.production:
        raise SystemExit(
            f"the sandbox is a development tool: refusing to start with KOBLING_ENV="
            f"{read.kobling_env!r} (only {', '.join(sorted(DEVELOPMENT_ENVS))} run it)"
        )
    return read
