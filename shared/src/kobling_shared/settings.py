"""Configuration read from the environment, with the names DESIGN.md fixes.

Local defaults point the outside parties at the sandbox. Secrets have well-known development values
so `make run` works on a fresh machine; with KOBLING_ENV=production a service refuses to start
without each secret it needs and names the ones missing.
"""

from typing import ClassVar

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SANDBOX_URL = "http://127.0.0.1:8010"

# Where the outside parties live: the real ones in production, the sandbox in development.
PARTY_URLS: dict[str, tuple[str, str]] = {
    "stripe_api_base": ("https://api.stripe.com", SANDBOX_URL),
    "stripe_dashboard_url": ("https://dashboard.stripe.com", f"{SANDBOX_URL}/dashboard"),
    "stripe_marketplace_url": ("https://marketplace.stripe.com", SANDBOX_URL),
    "economic_grant_url": (
        "https://secure.e-conomic.com/secure/api1/requestaccess.aspx",
        f"{SANDBOX_URL}/economic/secure/api1/requestaccess.aspx",
    ),
    "economic_api_url": ("https://restapi.e-conomic.com", f"{SANDBOX_URL}/economic/api"),
}

# Development values only: production refuses them (see _require_secrets).
DEV_SECRETS: dict[str, str] = {
    "stripe_secret_key": "sk_live_kobling_dev",
    "stripe_test_secret_key": "sk_test_kobling_dev",
    "stripe_webhook_secret": "whsec_kobling_dev",
    "stripe_test_webhook_secret": "whsec_kobling_dev_test",
    "stripe_app_secret": "absec_kobling_dev",
    "stripe_client_id": "ca_kobling_dev",
    "stripe_application_ids": "ca_kobling_dev,app_kobling_dev",
    "economic_app_public_token": "kobling-dev-public",
    "economic_app_secret_token": "kobling-dev-secret",
    "token_encryption_keys": "ZGV2LWtleS1rb2JsaW5nLWRldi1rZXktMDAwMDAwMDA=",
    "link_signing_key": "kobling-dev-link-signing-key",
    "internal_api_token": "kobling-dev-internal-token",
}


def secret_list(value: str) -> tuple[str, ...]:
    """The secrets of a comma-separated setting, in order (the newest first, by convention)."""
    return tuple(part.strip() for part in value.split(",") if part.strip())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Each service lists the secrets it cannot run without.
    required_secrets: ClassVar[tuple[str, ...]] = ()

    kobling_env: str = "development"
    bind_host: str = "127.0.0.1"

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    mongodb_url: str = "mongodb://127.0.0.1:27017"

    # Stripe's live and test modes have their own keys and their own webhook endpoints, each with
    # its own signing secret; a secret setting may list several, comma-separated, during a roll.
    stripe_secret_key: str = ""
    stripe_test_secret_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_test_webhook_secret: str = ""
    stripe_app_secret: str = ""
    stripe_client_id: str = ""
    # The ids that name our app in Stripe's install events (comma-separated): the application
    # `ca_…` of account.application.* (our OAuth client id) and the `app_…` of apps.install.*.
    # An event for any other application is acknowledged and ignored.
    stripe_application_ids: str = ""
    stripe_api_base: str = ""
    stripe_dashboard_url: str = ""
    stripe_marketplace_url: str = ""
    stripe_app_id: str = "com.kobling.app"

    economic_app_public_token: str = ""
    economic_app_secret_token: str = ""
    economic_grant_url: str = ""
    economic_api_url: str = ""

    token_encryption_keys: str = ""
    link_signing_key: str = ""
    internal_api_token: str = ""

    install_public_url: str = "http://127.0.0.1:8001"
    econ_auth_public_url: str = "http://127.0.0.1:8002"
    status_public_url: str = "http://127.0.0.1:8003"

    @property
    def production(self) -> bool:
        return self.kobling_env == "production"

    @model_validator(mode="after")
    def _require_secrets(self) -> "Settings":
        missing = [name for name in self.required_secrets if not getattr(self, name)]
        if self.production:
            if missing:
                names = ", ".join(name.upper() for name in missing)
                raise ValueError(f"refusing to start in production without: {names}")
            weak = [n for n in self.required_secrets if getattr(self, n) == DEV_SECRETS.get(n)]
            if weak:
                names = ", ".join(name.upper() for name in weak)
                raise ValueError(
                    f"refusing to start in production with development values: {names}"
                )
        for name, value in DEV_SECRETS.items():
            if not self.production and not getattr(self, name):
                setattr(self, name, value)
        for name, (real, sandbox) in PARTY_URLS.items():
            if not getattr(self, name):
                setattr(self, name, real if self.production else sandbox)
        return self
