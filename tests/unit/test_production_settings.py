"""Production fails closed: any KOBLING_ENV but a development value is production, and production
refuses missing, short, low-entropy and development secrets, old encryption keys included."""

import base64
import os
import secrets

import pytest
from pydantic import ValidationError

from kobling_econ_auth.settings import EconAuthSettings
from kobling_shared.settings import DEV_SECRETS


def strong_env() -> dict[str, str]:
    """What an operator sets: a long random value for every secret econ-auth needs."""
    env = {name.upper(): secrets.token_urlsafe(32) for name in EconAuthSettings.required_secrets}
    env["TOKEN_ENCRYPTION_KEYS"] = base64.urlsafe_b64encode(os.urandom(32)).decode()
    env["ECONOMIC_BROKER_TOKENS"] = f"sync:{secrets.token_urlsafe(32)}"
    env["INSTALL_PUBLIC_URL"] = "https://install.kobling.example"
    env["ECON_AUTH_PUBLIC_URL"] = "https://connect.kobling.example"
    env["STATUS_PUBLIC_URL"] = "https://status.kobling.example"
    return env


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in strong_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KOBLING_ENV", "production")
    return monkeypatch


def test_strong_secrets_start_in_production(production: pytest.MonkeyPatch) -> None:
    settings = EconAuthSettings()
    assert settings.production
    assert settings.economic_api_url == "https://restapi.e-conomic.com"


@pytest.mark.parametrize("env", ["prod", "Production", "staging", "produciton", "live", "test"])
def test_any_env_but_development_is_production(production: pytest.MonkeyPatch, env: str) -> None:
    production.setenv("KOBLING_ENV", env)
    production.setenv("CONNECT_LINK_KEY", DEV_SECRETS["connect_link_key"])
    with pytest.raises(ValidationError, match="development values: CONNECT_LINK_KEY"):
        EconAuthSettings()


@pytest.mark.parametrize("env", ["development", "dev", "local", " Development "])
def test_development_values_of_kobling_env_keep_the_development_defaults(
    monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    monkeypatch.setenv("KOBLING_ENV", env)
    settings = EconAuthSettings()
    assert not settings.production
    assert settings.connect_link_key == DEV_SECRETS["connect_link_key"]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("short-but-random-9f", "shorter than 24"),
        ("a" * 64, "too little entropy"),
        ("abababababababababababababababab", "too little entropy"),
    ],
)
def test_short_or_low_entropy_secrets_are_refused(
    production: pytest.MonkeyPatch, value: str, why: str
) -> None:
    production.setenv("INTERNAL_API_TOKEN", value)
    with pytest.raises(ValidationError, match=f"INTERNAL_API_TOKEN \\({why}"):
        EconAuthSettings()


def test_a_development_value_in_another_setting_is_refused(
    production: pytest.MonkeyPatch,
) -> None:
    production.setenv("INTERNAL_API_TOKEN", DEV_SECRETS["page_link_key"])
    with pytest.raises(ValidationError, match="development values: INTERNAL_API_TOKEN"):
        EconAuthSettings()


def test_the_development_encryption_key_is_refused_even_as_an_older_key(
    production: pytest.MonkeyPatch,
) -> None:
    newest = base64.urlsafe_b64encode(os.urandom(32)).decode()
    production.setenv("TOKEN_ENCRYPTION_KEYS", f"{newest},{DEV_SECRETS['token_encryption_keys']}")
    with pytest.raises(ValidationError, match="development values: TOKEN_ENCRYPTION_KEYS"):
        EconAuthSettings()


@pytest.mark.parametrize(
    "older",
    [
        base64.urlsafe_b64encode(b"\0" * 32).decode(),  # 32 bytes, but one value repeated
        base64.urlsafe_b64encode(os.urandom(16)).decode(),  # too short for a key
        "not-base64-at-all!",
    ],
)
def test_a_weak_older_encryption_key_is_refused(production: pytest.MonkeyPatch, older: str) -> None:
    newest = base64.urlsafe_b64encode(os.urandom(32)).decode()
    production.setenv("TOKEN_ENCRYPTION_KEYS", f"{newest},{older}")
    with pytest.raises(ValidationError, match="TOKEN_ENCRYPTION_KEYS \\(key 2"):
        EconAuthSettings()


def test_a_webhook_secret_roll_is_judged_key_by_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from kobling_install.settings import InstallSettings

    for name in InstallSettings.required_secrets:
        monkeypatch.setenv(name.upper(), secrets.token_urlsafe(32))
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", base64.urlsafe_b64encode(os.urandom(32)).decode())
    monkeypatch.setenv("KOBLING_ENV", "production")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", f"whsec_{secrets.token_urlsafe(24)},whsec_old")
    with pytest.raises(ValidationError, match="STRIPE_WEBHOOK_SECRET \\(shorter"):
        InstallSettings()


def test_a_service_started_with_a_development_key_in_its_list_refuses_to_start() -> None:
    """The process itself, as an orchestrator starts it: it exits before it listens, naming
    the setting."""
    import subprocess
    import sys

    env = {**strong_env(), "KOBLING_ENV": "prod", "PATH": "/usr/bin:/bin"}
    env["TOKEN_ENCRYPTION_KEYS"] += f",{DEV_SECRETS['token_encryption_keys']}"
    ran = subprocess.run(
        [sys.executable, "-m", "kobling_econ_auth"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode != 0
    assert "development values: TOKEN_ENCRYPTION_KEYS" in ran.stderr
    assert "Uvicorn running" not in ran.stderr


def test_production_refuses_the_development_broker_tokens(production: pytest.MonkeyPatch) -> None:
    production.setenv(
        "ECONOMIC_BROKER_TOKENS", f"sync:{secrets.token_urlsafe(32)},bench:kobling-dev-broker-bench"
    )
    with pytest.raises(ValidationError, match="development values: ECONOMIC_BROKER_TOKENS"):
        EconAuthSettings()


@pytest.mark.parametrize(
    ("value", "why"),
    [
        # The caller's name made up the length the token lacked (a 19-character token).
        ("reconciliation:Xk3fQ9zLmP2vR7wTb4n", "token of reconciliation: shorter than 24"),
        ("sync:strong,bench:Xk3fQ9zLmP2vR7wTb4", "token of bench: shorter than 24"),
        # ...or the entropy: a patterned token behind a long, varied name.
        ("quarterly-vat-export:" + "ab" * 16, "token of quarterly-vat-export: too little entropy"),
    ],
)
def test_each_broker_token_is_judged_without_its_callers_name(
    production: pytest.MonkeyPatch, value: str, why: str
) -> None:
    """`caller:token` pairs: the caller's name is no secret, so it lends no length or entropy."""
    production.setenv("ECONOMIC_BROKER_TOKENS", value.replace("strong", secrets.token_urlsafe(32)))
    with pytest.raises(ValidationError, match=f"ECONOMIC_BROKER_TOKENS \\({why}"):
        EconAuthSettings()


@pytest.mark.parametrize("value", ["no-caller-name", "Sync:x" * 5, "sync:a,sync:a", ":token"])
def test_broker_tokens_must_name_each_caller_once(
    production: pytest.MonkeyPatch, value: str
) -> None:
    production.setenv("ECONOMIC_BROKER_TOKENS", value.replace("x", secrets.token_urlsafe(32)))
    with pytest.raises(ValidationError, match="ECONOMIC_BROKER_TOKENS"):
        EconAuthSettings()


PUBLIC_URLS = ("INSTALL_PUBLIC_URL", "ECON_AUTH_PUBLIC_URL", "STATUS_PUBLIC_URL")


@pytest.mark.parametrize("name", PUBLIC_URLS)
def test_production_wants_every_public_url_set(production: pytest.MonkeyPatch, name: str) -> None:
    """Unset, it was loopback over http: links nobody can follow and cookies without `__Host-`."""
    production.delenv(name)
    with pytest.raises(ValidationError, match=f"without: {name}"):
        EconAuthSettings()


@pytest.mark.parametrize("name", PUBLIC_URLS)
@pytest.mark.parametrize(
    "url",
    [
        "http://connect.kobling.example",  # no Secure, no `__Host-`: a sibling host tosses cookies
        "HTTP://connect.kobling.example",
        "connect.kobling.example",
        "https://",
        "https://user:pass@connect.kobling.example",
        "https://connect.kobling.example/?next=x",
        "https://connect.kobling.example/#x",
        "http://localhost:8002",  # a name, not loopback itself: `x.localhost` is another host
        "ftp://connect.kobling.example",
    ],
)
def test_production_wants_every_public_url_on_https(
    production: pytest.MonkeyPatch, name: str, url: str
) -> None:
    production.setenv(name, url)
    with pytest.raises(ValidationError, match=f"{name} \\("):
        EconAuthSettings()


def test_production_takes_https_public_urls_and_loopback_set_on_purpose(
    production: pytest.MonkeyPatch,
) -> None:
    """The benchmark runs production on one machine: loopback, set explicitly, reaches no
    merchant and has no sibling host, so it may stay on http."""
    production.setenv("ECON_AUTH_PUBLIC_URL", "http://127.0.0.1:8002")
    production.setenv("STATUS_PUBLIC_URL", "http://[::1]:8003")
    settings = EconAuthSettings()
    assert settings.install_public_url == "https://install.kobling.example"
    assert settings.econ_auth_public_url == "http://127.0.0.1:8002"


def test_development_keeps_the_loopback_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PUBLIC_URLS:
        monkeypatch.delenv(name, raising=False)
    settings = EconAuthSettings()
    assert settings.status_public_url == "http://127.0.0.1:8003"


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        '["sync"]',
        '{"syncc": {"allow": ["GET /"]}}',  # a typo would leave sync on the default
        '{"sync": {"allow": ["DELETE"]}}',
        '{"sync": {"allow": ["TRACE /"]}}',
        '{"sync": {"allow": ["GET /customers/../x"]}}',
        '{"sync": {"allow": ["GET /"], "daily_share": 0}}',
        '{"sync": {"allow": ["GET /"], "daily_share": 1.5}}',
        '{"sync": {"allow": ["GET /"], "write": true}}',
    ],
)
def test_broker_scopes_must_be_readable(production: pytest.MonkeyPatch, value: str) -> None:
    production.setenv("ECONOMIC_BROKER_SCOPES", value)
    with pytest.raises(ValidationError, match="ECONOMIC_BROKER_SCOPES"):
        EconAuthSettings()


def test_broker_tokens_set_before_scopes_existed_still_start_and_only_read(
    production: pytest.MonkeyPatch,
) -> None:
    from kobling_econ_auth.scopes import READ_ONLY

    assert EconAuthSettings().broker_scopes() == {"sync": READ_ONLY}
