from functools import cache

from kobling_shared.settings import Settings

PORT = 8010


@cache
def settings() -> Settings:
    """The same settings the services read, so the sandbox knows their secrets and URLs."""
    return Settings()
