from typing import ClassVar

from kobling_shared.settings import Settings

PORT = 8001


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
    )
