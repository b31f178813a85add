from functools import cache

from kobling_shared.settings import DEVELOPMENT_ENVS, Settings

PORT = 8010


@cache
def settings() -> Settings:
    """The same settings the services read, so the sandbox knows their secrets and URLs.

    It pretends to be Stripe and e-conomic and answers anyone as them: never in production."""
    read = Settings()
    if read.production:
        raise SystemExit(
            f"the sandbox is a development tool: refusing to start with KOBLING_ENV="
            f"{read.kobling_env!r} (only {', '.join(sorted(DEVELOPMENT_ENVS))} run it)"
        )
    return read
