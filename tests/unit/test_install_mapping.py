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
        ("account.application.deauthorized", StripeAppUninstalled),
    ],
)
def test_install_signals_map_to_our_events(kind: str, expected: type) -> None:
    event = mapped(kind=kind, event_id="evt_same", livemode=True)
    assert isinstance(event, expected)
    assert (event.id, event.subject, event.livemode) == ("evt_same", "acct_1", True)


@pytest.mark.parametrize("kind", ["apps.install.created", "apps.install.deleted"])
def test_apps_install_events_of_our_app_are_not_an_install_or_an_uninstall(kind: str) -> None:
    """Stripe sends them to the developer's own endpoint (contracts S9): installs are known from
    the OAuth exchange and account.application.*, whatever reaches the Connect endpoint."""
    raw = install_event("acct_1", kind=kind)
    assert raw["data"]["object"]["app"] == APP and raw["account"] == "acct_1"
    with pytest.raises(NotForUs, match="developer endpoint"):
        to_install_event(StripeEvent.model_validate(raw), OURS)


def test_other_types_are_not_for_us() -> None:
    with pytest.raises(NotForUs):
        mapped(kind="charge.succeeded")


@pytest.mark.parametrize(
    "kind", ["account.application.authorized", "account.application.deauthorized"]
)
def test_another_application_s_events_are_not_for_us(kind: str) -> None:
    raw = install_event("acct_1", kind=kind)
    raw["data"]["object"] = install_object("acct_1", False, kind, app="ca_someone_else")
    with pytest.raises(NotForUs, match="another application"):
        to_install_event(StripeEvent.model_validate(raw), OURS)
    raw["data"]["object"] = {"object": "application", "name": "no id at all"}
    with pytest.raises(NotForUs):
        to_install_event(StripeEvent.model_validate(raw), OURS)
