from kobling_econ_auth.settings import PORT, EconAuthSettings
from kobling_shared.ops import serve

serve("kobling_econ_auth.app:create_app", EconAuthSettings().bind_host, PORT)
