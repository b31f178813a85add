"""Who connected and who disconnected (issue 23, item 5): the Dashboard user whose signed view
request started it rides, from that request, into EconomicConnected and EconomicDisconnected and
onto the account's status timeline. Old events, without it, still parse."""

from datetime import timedelta

from kobling_devkit.stripe_signing import new_account
from kobling_econ_auth import connecting, grant_callback, installs
from kobling_econ_auth.connection import Agreement
from kobling_econ_auth.deps import Deps
from kobling_shared.events import (
    EconomicConnected,
    EconomicDisconnected,
    InstallData,
    StripeAppInstalled,
    now,
    parse_event,
)
from tests.fakes.econ_auth import FakeEconomic, fake_deps
from tests.fakes.kafka import FakeTopic

ACME = Agreement(agreement_number=123456, company_name="Acme ApS")


def deps() -> Deps:
    return fake_deps()


async def connected_by(user_id: str, deps: Deps) -> str:
    """The journey from a signed connect request by `user_id` to the grant callback."""
    account = new_account()
    installed = StripeAppInstalled(
        source="t", subject=account, livemode=False, data=InstallData(via="webhook")
    )
    await installs.on_install_events([installed], deps)
    url, _ = await connecting.mint_connect_link(account, False, deps, "signed-1", user_id)
    link = url.split("link=", 1)[1]
    grant_page = await connecting.open_connect_link(link, "en-US", "b1", deps)
    state = grant_page.split("callback%2F", 1)[1].split("&", 1)[0]
    assert isinstance(deps.economic, FakeEconomic)
    deps.economic.grants["grant-1"] = ACME
    result = await grant_callback.complete_grant(state, "grant-1", "b1", deps)
    assert result.outcome == "connected"
    return account


def published(deps: Deps) -> list[object]:
    assert isinstance(deps.publisher, FakeTopic)
    return list(deps.publisher.events)


async def test_the_user_who_connected_is_on_the_connected_event() -> None:
    world = deps()
    await connected_by("usr_mette", world)
    (event,) = [e for e in published(world) if isinstance(e, EconomicConnected)]
    assert event.data.user_id == "usr_mette"


async def test_the_user_who_disconnected_is_on_the_disconnected_event() -> None:
    world = deps()
    account = await connected_by("usr_mette", world)
    await connecting.disconnect(account, False, world, "signed-d", "usr_jens")
    (event,) = [e for e in published(world) if isinstance(e, EconomicDisconnected)]
    assert (event.data.reason, event.data.user_id) == ("merchant_request", "usr_jens")


def test_events_from_before_still_parse_and_name_nobody() -> None:
    old = (
        '{"specversion":"1.0","id":"e1","source":"kobling/econ-auth","time":"2026-12-01T10:00:00Z",'
        '"subject":"acct_1","livemode":false,"datacontenttype":"application/json",'
        '"type":"com.kobling.economic.disconnected.v1",'
        '"data":{"sequence":2,"reason":"merchant_request"}}'
    )
    event = parse_event(old)
    assert isinstance(event, EconomicDisconnected) and event.data.user_id is None


def test_the_timeline_says_who_connected_and_who_disconnected() -> None:
    from kobling_status.store import timeline_entry

    at = now()
    connected = EconomicConnected.model_validate(
        {
            "source": "t",
            "subject": "acct_1",
            "livemode": False,
            "data": {"sequence": 1, **ACME.model_dump(), "user_id": "usr_mette"},
        }
    )
    entry = timeline_entry(connected, at, at + timedelta(milliseconds=3))
    assert entry["user_id"] == "usr_mette" and entry["type"] == connected.type
    unnamed = EconomicDisconnected.model_validate(
        {
            "source": "t",
            "subject": "acct_1",
            "livemode": False,
            "data": {"sequence": 2, "reason": "grant_revoked"},
        }
    )
    assert "user_id" not in timeline_entry(unnamed, at, at)
