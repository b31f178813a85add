from typing import ClassVar

from kobling_shared.settings import Settings

PORT = 8002


class EconAuthSettings(Settings):
    required_secrets: ClassVar[tuple[str, ...]] = (
        "stripe_app_secret",
        "economic_app_public_token",
        "economic_app_secret_token",
        "token_encryption_keys",
        "link_signing_key",
        "internal_api_token",
    )

    state_ttl_seconds: int = 600
    grant_check_interval_seconds: int = 6 * 3600
    # Far below e-conomic's fair use (50,000 calls a day per agreement): checks are not our product.
    grant_checks_per_agreement_per_day: int = 48
    revocation_strikes: int = 3
