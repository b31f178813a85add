from typing import ClassVar

from pydantic import model_validator

from kobling_shared.settings import Settings

PORT = 8004
# Development's tokens: the entries for `sync` in the dev ECONOMIC_BROKER_TOKENS and
# STRIPE_BROKER_TOKENS (kobling_shared.settings.DEV_SECRETS). Production refuses them.
DEV_TOKENS = {
    "sync_economic_broker_token": "kobling-dev-broker-sync",
    "sync_stripe_broker_token": "kobling-dev-stripe-broker-sync",
}


class SyncSettings(Settings):
    """sync holds no Stripe token and no grant: only its own caller token for each broker."""

    required_secrets: ClassVar[tuple[str, ...]] = (
        "stripe_app_secret",
        "sync_economic_broker_token",
        "sync_stripe_broker_token",
    )
    # Production's public URLs are the other services'; sync links to none of them.
    public_urls: ClassVar[tuple[str, ...]] = ()

    sync_port: int = PORT
    sync_database: str = "kobling_sync"
    sync_group_id: str = "kobling-sync"
    # Where econ-auth's e-conomic broker and install's read-only Stripe broker answer (internal).
    economic_broker_url: str = "http://127.0.0.1:8002"
    stripe_broker_url: str = "http://127.0.0.1:8001"
    # sync's own bearer token for each broker: its entry in econ-auth's ECONOMIC_BROKER_TOKENS
    # and in install's STRIPE_BROKER_TOKENS.
    sync_economic_broker_token: str = ""
    sync_stripe_broker_token: str = ""
    # A record left pending (its service stopped, an outage) is taken up again after this long.
    sync_resume_after_seconds: float = 60.0

    @model_validator(mode="after")
    def _dev_tokens(self) -> "SyncSettings":
        for name, value in DEV_TOKENS.items():
            if self.production and getattr(self, name) == value:
                raise ValueError(
                    f"refusing to start in production with development values: {name.upper()}"
                )
            if not self.production and not getattr(self, name):
                setattr(self, name, value)
        return self
