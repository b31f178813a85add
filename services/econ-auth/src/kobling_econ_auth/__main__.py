from kobling_econ_auth.settings import EconAuthSettings
from kobling_shared.ops import serve

settings = EconAuthSettings()
serve(
    "kobling_econ_auth.app:create_app",
    settings.bind_host,
    settings.econ_auth_port,
    not settings.production,
)
