from kobling_shared.ops import serve

from kobling_install.settings import PORT, InstallSettings

serve("kobling_install.app:create_app", InstallSettings().bind_host, PORT)
