import re
from typing import ClassVar

from pydantic import model_validator

from kobling_shared.settings import Settings, secret_list

PORT = 8001
# A caller's name, as the audit and the metrics record it: never `(unauthenticated)`.
CALLER = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


def stripe_broker_callers(setting: str) -> dict[str, str]:
    """STRIPE_BROKER_TOKENS (`caller:token,…`) as {token: caller}."""
    tokens: dict[str, str] = {}
    for entry in secret_list(setting):
        caller, _, token = entry.partition(":")
        if not CALLER.match(caller) or not token or token in tokens:
            raise ValueError("STRIPE_BROKER_TOKENS takes caller:token pairs, each token once")
        tokens[token] = caller
    return tokens


class InstallSettings(Settings):
    required_secrets: ClassVar[tuple[str, ...]] = (
        "stripe_secret_key",
        "stripe_test_secret_key",
        "stripe_webhook_secret",
        "stripe_test_webhook_secret",
        "stripe_client_id",
        "stripe_test_client_id",
        "stripe_application_ids",
        "token_encryption_keys",
        "page_link_key",
        "stripe_broker_tokens",
    )

    @model_validator(mode="after")
    def _stripe_broker_callers_readable(self) -> "InstallSettings":
        stripe_broker_callers(self.stripe_broker_tokens)  # refuses to start on a typo
        return self
