from kobling_shared.ops import serve
from kobling_sync.settings import SyncSettings

settings = SyncSettings()
serve(
    "kobling_sync.app:create_app",
    settings.bind_host,
    settings.port or settings.sync_port,
    not settings.production,
)
