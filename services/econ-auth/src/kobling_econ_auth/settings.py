import re
from typing import ClassVar

from pydantic import model_validator

from kobling_shared.settings import Settings, secret_list

PORT = 8002
CALLER = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


def broker_callers(setting: str) -> dict[str, str]:
    """ECONOMIC_BROKER_TOKENS (`caller:token,…`) as {token: caller}."""
    tokens: dict[str, str] = {}
    for entry in secret_list(setting):
        caller, _, token = entry.partition(":")
        if not CALLER.match(caller) or not token or token in tokens:
            raise ValueError("ECONOMIC_BROKER_TOKENS takes caller:token pairs, each token once")
        tokens[token] = caller
    return tokens


class EconAuthSettings(Settings):
    required_secrets: ClassVar[tuple[str, ...]] = (
        "stripe_app_secret",
        "economic_app_public_token",
        "economic_app_secret_token",
        "token_encryption_keys",
        "link_signing_key",
        "internal_api_token",
        "economic_broker_tokens",
    )

    state_ttl_seconds: int = 600
    grant_check_interval_seconds: int = 6 * 3600
    # Far below e-conomic's fair use (50,000 calls a day per agreement): checks are not our product.
    grant_checks_per_agreement_per_day: int = 48
    revocation_strikes: int = 3
    # A 401 is a revoked grant or a wrong app secret: when more than this share of at least this
    # many recent answers (within the window) are 401, suspect our secret, not the grants.
    rejection_wave_share: float = 0.5
    rejection_wave_min_answers: int = 5
    rejection_wave_window_seconds: int = 3600
    # e-conomic allows 50,000 calls a day per agreement; the broker lends at most this many,
    # counted across every econ-auth instance, leaving room for the grant checks and slack.
    economic_daily_budget: int = 45_000
    # The longest one broker call may take, retries and waits included: past it the caller gets
    # 504, and a use left unpublished by an instance that died is published as `unknown`.
    economic_broker_deadline_seconds: float = 45.0

    @model_validator(mode="after")
    def _broker_callers_readable(self) -> "EconAuthSettings":
        broker_callers(self.economic_broker_tokens)
        return self
