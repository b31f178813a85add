import pytest

from kobling_econ_auth.settings import EconAuthSettings
from kobling_install.settings import InstallSettings
from kobling_sandbox.config import SandboxSettings
from kobling_sandbox.config import settings as sandbox_settings
from kobling_shared.settings import Settings
from kobling_status.settings import StatusSettings

SETTINGS = (Settings, InstallSettings, EconAuthSettings, StatusSettings, SandboxSettings)


@pytest.fixture(autouse=True)
def settings_of_the_test_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit test's settings are the development defaults and what the test sets itself: never
    the caller's environment (`make` exports KAFKA_BOOTSTRAP_SERVERS, MONGODB_URL, …) nor a
    `.env` in the working directory."""
    for kind in SETTINGS:
        monkeypatch.setitem(kind.model_config, "env_file", None)
        for name in kind.model_fields:
            monkeypatch.delenv(name.upper(), raising=False)
    sandbox_settings.cache_clear()
