from kobling_shared.ops import serve
from kobling_status.settings import PORT, StatusSettings

serve("kobling_status.app:create_app", StatusSettings().bind_host, PORT)
