from kobling_econ_auth.settings import PORT, EconAuthSettings
from kobling_shared.ops import serve

settings = EconAuthSettings()
serve(
    "kobling_econ_auth.app:create_app",
    settings.bind_host,
    settings.port or PORT,
    not settings.production,
)
