from kobling_sandbox.config import PORT, settings
from kobling_shared.ops import serve

serve("kobling_sandbox.app:create_app", settings().bind_host, PORT)
