from kobling_install.settings import PORT, InstallSettings
from kobling_shared.ops import serve

settings = InstallSettings()
serve(
    "kobling_install.app:create_app",
    settings.bind_host,
    settings.port or PORT,
    not settings.production,
)
