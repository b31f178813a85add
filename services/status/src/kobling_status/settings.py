from typing import ClassVar

from kobling_shared.settings import Settings

PORT = 8003


class StatusSettings(Settings):
    required_secrets: ClassVar[tuple[str, ...]] = (
        "stripe_app_secret",
        "link_signing_key",
        "internal_api_token",
    )
