import pytest

from kobling_devkit.stripe_signing import APP, APPLICATION, install_event, install_object
from kobling_install.stripe_events import NotForUs, StripeEvent, to_install_event
from kobling_shared.events import StripeAppInstalled, StripeAppUninstalled

OURS = frozenset({APPLICATION, APP})


def mapped(**kwargs: object) -> object:
    return to_install_event(StripeEvent.model_validate(install_event("acct_1", **kwargs)), OURS)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("account.application.authorized", StripeAppInstalled),
        ("apps.install.created", StripeAppInstalled),
        ("account.application.deauthorized", StripeAppUninstalled),
        ("apps.install.deleted", StripeAppUninstalled),
    ],
)
def test_install_signals_map_to_our_events(kind: str, expected: type) -> None:
    event = mapped(kind=kind, event_id="evt_same", livemode=True)
    assert isinstance(event, expected)
    assert (event.id, event.subject, event.livemode) == ("evt_same", "acct_1", True)


def test_apps_install_events_carry_the_account_in_the_install_object() -> None:
    raw = install_event("acct_1", kind="apps.install.created")
    raw.pop("account")
    raw["data"]["object"] = {
        "object": "apps.install",
        "account": "acct_9",
        "livemode": True,
        "app": APP,
    }
    event = to_install_event(StripeEvent.model_validate(raw), OURS)
    assert (event.subject, event.livemode) == ("acct_9", True)


def test_other_types_are_not_for_us() -> None:
    with pytest.raises(NotForUs):
        mapped(kind="charge.succeeded")


@pytest.mark.parametrize("kind", ["account.application.deauthorized", "apps.install.deleted"])
def test_another_application_s_events_are_not_for_us(kind: str) -> None:
    raw = install_event("acct_1", kind=kind)
    raw["data"]["object"] = install_object("acct_1", False, kind, app="ca_someone_else")
    with pytest.raises(NotForUs, match="another application"):
        to_install_event(StripeEvent.model_validate(raw), OURS)
    raw["data"]["object"] = {"object": "application", "name": "no id at all"}
    with pytest.raises(NotForUs):
        to_install_event(StripeEvent.model_validate(raw), OURS)
