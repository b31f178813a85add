from typing import ClassVar

from pydantic import Field

from kobling_shared.settings import Settings

PORT = 8003


class StatusSettings(Settings):
    required_secrets: ClassVar[tuple[str, ...]] = (
        "stripe_app_secret",
        "page_link_key",
        "internal_api_token",
    )

    # A second status can rebuild the read model from the topics beside the live one: its own
    # consumer group, its own database, its own port. Switch readers over when it has caught up.
    status_database: str = "kobling_status"
    status_group_id: str = "kobling-status"
    status_port: int = PORT
    # Accounts served from memory (kobling_status.read_cache), about 1.4 KB each; 0: none.
    status_cache_accounts: int = Field(default=100_000, ge=0)
