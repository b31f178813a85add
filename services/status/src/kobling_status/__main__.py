from kobling_shared.ops import serve
from kobling_status.settings import StatusSettings

settings = StatusSettings()
serve(
    "kobling_status.app:create_app",
    settings.bind_host,
    settings.port or settings.status_port,
    not settings.production,
)
