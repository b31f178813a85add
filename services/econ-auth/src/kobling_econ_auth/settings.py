import json
import re
from typing import Any, ClassVar

from pydantic import model_validator

from kobling_econ_auth.scopes import Scope, parse_scopes
from kobling_shared.settings import Settings, secret_list

PORT = 8002
CALLER = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
# Development's callers: sync books (customers, draft and booked invoices, journal vouchers) and
# never deletes; the benchmark reads /self. Production has no default (kobling_econ_auth.scopes).
DEV_BROKER_SCOPES: dict[str, dict[str, Any]] = {
    "sync": {
        "allow": [
            "GET /",
            "POST /customers",
            "PUT /customers",
            "POST /invoices/drafts",
            "POST /invoices/booked",
            "POST /journals",
        ],
        "daily_share": 1,
    },
    "bench": {"allow": ["GET /self"], "daily_share": 1},
}


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
        "connect_link_key",
        "page_link_key",
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
    # What each broker caller may send and its share of the daily budget (kobling_econ_auth.scopes).
    economic_broker_scopes: str = ""

    @model_validator(mode="after")
    def _one_job_per_link_key(self) -> "EconAuthSettings":
        """econ-auth holds both link keys: the same value for both would let a page key (which
        status holds too) mint connect links."""
        # Set apart on purpose; one LINK_SIGNING_KEY for both is allowed, with a warning (shared
        # settings), as DESIGN.md fixes that name.
        single = self.page_link_key == self.connect_link_key == self.link_signing_key
        if self.production and not single and self.connect_link_key == self.page_link_key:
            raise ValueError("CONNECT_LINK_KEY and PAGE_LINK_KEY must differ: one key, one job")
        return self

    @model_validator(mode="after")
    def _broker_callers_readable(self) -> "EconAuthSettings":
        if not self.production and not self.economic_broker_scopes:
            callers = set(broker_callers(self.economic_broker_tokens).values())
            dev = {c: scope for c, scope in DEV_BROKER_SCOPES.items() if c in callers}
            self.economic_broker_scopes = json.dumps(dev)
        self.broker_scopes()
        return self

    def broker_scopes(self) -> dict[str, Scope]:
        callers = set(broker_callers(self.economic_broker_tokens).values())
        return parse_scopes(self.economic_broker_scopes, callers)
