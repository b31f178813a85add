from kobling_install.settings import PORT, InstallSettings
from kobling_shared.ops import serve

serve("kobling_install.app:create_app", InstallSettings().bind_host, PORT)
