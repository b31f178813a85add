"""STRIPE_BROKER_TOKENS (`caller:token,…`): the Stripe broker's callers, each with its own token.
Development has one for sync; production refuses it missing, a development value, a weak token
(judged without its caller's name) and anything that is not caller:token pairs."""

import secrets

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from kobling_install.settings import InstallSettings, stripe_broker_callers
from kobling_shared.settings import DEV_SECRETS


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in InstallSettings.required_secrets:
        monkeypatch.setenv(name.upper(), secrets.token_urlsafe(32))
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("STRIPE_BROKER_TOKENS", f"sync:{secrets.token_urlsafe(32)}")
    for name in ("INSTALL", "ECON_AUTH", "STATUS"):
        monkeypatch.setenv(f"{name}_PUBLIC_URL", f"https://{name.lower()}.kobling.example")
    monkeypatch.setenv("KOBLING_ENV", "production")
    return monkeypatch


def test_development_has_a_token_for_sync() -> None:
    settings = InstallSettings()
    assert stripe_broker_callers(settings.stripe_broker_tokens) == {
        "kobling-dev-stripe-broker-sync": "sync"
    }
    assert DEV_SECRETS["stripe_broker_tokens"] == "sync:kobling-dev-stripe-broker-sync"


def test_production_starts_with_strong_tokens(production: pytest.MonkeyPatch) -> None:
    production.setenv(
        "STRIPE_BROKER_TOKENS",
        f"sync:{secrets.token_urlsafe(32)},sync-replay:{secrets.token_urlsafe(32)}",
    )
    callers = stripe_broker_callers(InstallSettings().stripe_broker_tokens)
    assert sorted(callers.values()) == ["sync", "sync-replay"]


def test_production_refuses_to_start_without_them(production: pytest.MonkeyPatch) -> None:
    production.delenv("STRIPE_BROKER_TOKENS")
    with pytest.raises(ValidationError, match="without: STRIPE_BROKER_TOKENS"):
        InstallSettings()


def test_production_refuses_the_development_value(production: pytest.MonkeyPatch) -> None:
    production.setenv("STRIPE_BROKER_TOKENS", DEV_SECRETS["stripe_broker_tokens"])
    with pytest.raises(ValidationError, match="development values: STRIPE_BROKER_TOKENS"):
        InstallSettings()


@pytest.mark.parametrize(
    "value",
    [
        "a-long-caller-name-for-length:short",  # the name lends the token no length
        "sync:" + "a" * 40,  # long, and one character
        f"sync:{'x' * 0}",
    ],
)
def test_production_judges_each_token_without_its_caller(
    production: pytest.MonkeyPatch, value: str
) -> None:
    production.setenv("STRIPE_BROKER_TOKENS", value)
    with pytest.raises(ValidationError, match="STRIPE_BROKER_TOKENS"):
        InstallSettings()


@pytest.mark.parametrize(
    "value",
    [
        "just-a-token-without-a-caller",
        "Sync:token-1",  # a caller's name is lower case
        "(unauthenticated):token-1",  # the audit's name for no caller
        "sync:same-token,other:same-token",
        "sync:",
    ],
)
def test_anything_but_caller_token_pairs_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("STRIPE_BROKER_TOKENS", value)
    with pytest.raises(ValidationError, match="STRIPE_BROKER_TOKENS takes caller:token pairs"):
        InstallSettings()
