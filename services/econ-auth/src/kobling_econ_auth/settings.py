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
    # A 401 is a revoked grant or a wrong app secret: when more than this share of at least this
    # many recent answers (within the window) are 401, suspect our secret, not the grants.
    rejection_wave_share: float = 0.5
    rejection_wave_min_answers: int = 5
    rejection_wave_window_seconds: int = 3600
