"""Stripe delivers installs and uninstalls late, twice and out of order, and the OAuth redirect
announces installs on its own: whatever happens, every consumer ends in the state of the latest
Stripe event by `created` (issue 11, item 1). Generated histories, run through install's decisions
and then through status's projection and econ-auth's connection, each in its own order."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from kobling_devkit.stripe_signing import APP, APPLICATION, install_event
from kobling_econ_auth import connection as econ_auth
from kobling_install.stripe_events import (
    StripeEvent,
    oauth_is_news,
    to_install_event,
    webhook_is_news,
)
from kobling_shared.events import InstallData, StripeAppInstalled, StripeAppUninstalled
from kobling_status.projection import project

ACCOUNT = "acct_history"
BASE = 1_800_000_000
NOW = datetime.fromtimestamp(BASE + 10_000, UTC)  # when econ-auth applies an event
Ours = StripeAppInstalled | StripeAppUninstalled


@dataclass(frozen=True)
class Stripe:
    """One event Stripe created for the install."""

    id: str
    installing: bool
    created: int


@dataclass(frozen=True)
class Redirect:
    """The OAuth redirect of an install, reaching us `delay` seconds after Stripe created it."""

    install: Stripe
    delay: int


@dataclass
class InstallService:
    """install's memory, as its store keeps it, around the real decisions."""

    seen: set[str] = field(default_factory=set)
    oauth_at: datetime | None = None
    webhook_at: datetime | None = None
    published: list[Ours] = field(default_factory=list)

    def webhook(self, event: Stripe) -> None:
        if event.id in self.seen:
            return  # the ledger: a redelivery
        self.seen.add(event.id)
        kind = "account.application." + ("authorized" if event.installing else "deauthorized")
        raw = install_event(ACCOUNT, kind=kind, created=event.created, event_id=event.id)
        ours = to_install_event(StripeEvent.model_validate(raw), frozenset({APPLICATION, APP}))
        if not webhook_is_news(ours, self.oauth_at):
            return
        self.published.append(ours)
        if isinstance(ours, StripeAppInstalled):
            self.webhook_at = max(ours.time, self.webhook_at or ours.time)

    def redirect(self, redirect: Redirect) -> None:
        at = datetime.fromtimestamp(redirect.install.created + redirect.delay, UTC)
        if not oauth_is_news(at, self.webhook_at):
            return
        data = InstallData(via="oauth")
        self.published.append(
            StripeAppInstalled(source="t", subject=ACCOUNT, livemode=False, time=at, data=data)
        )
        self.oauth_at = max(at, self.oauth_at or at)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Stripe], list[Stripe | Redirect]]:
    """Stripe's events for one install key (any kinds, times that may repeat), each delivered
    one to three times, and OAuth redirects for some installs, all in any order."""
    count = draw(st.integers(1, 6))
    events = [
        Stripe(f"evt_{i}", draw(st.booleans()), BASE + draw(st.integers(0, 900)))
        for i in range(count)
    ]
    deliveries: list[Stripe | Redirect] = []
    for event in events:
        deliveries += [event] * draw(st.integers(1, 3))
        if event.installing and draw(st.booleans()):
            delay = draw(st.integers(0, 360))
            # The merchant cannot uninstall within the redirect's own round trip.
            end = event.created + delay
            if not any(not e.installing and event.created <= e.created < end for e in events):
                deliveries.append(Redirect(event, delay))
    return events, list(draw(st.permutations(deliveries)))


def latest(events: list[Stripe]) -> bool:
    """Installed or not after Stripe's latest event (an uninstall in the same second as an
    install is the later one)."""
    return max(events, key=lambda e: (e.created, 0 if e.installing else 1)).installing


@settings(max_examples=500, deadline=None)
@given(histories(), st.data())
def test_every_consumer_ends_in_the_state_of_stripe_s_latest_event(history, data) -> None:
    events, deliveries = history
    install = InstallService()
    for delivery in deliveries:
        if isinstance(delivery, Stripe):
            install.webhook(delivery)
        else:
            install.redirect(delivery)
    # Every distinct uninstall is published; an install too, unless its own OAuth redirect was
    # published for it (then an install at or after it stands for it).
    published = install.published
    assert {e.id for e in events if not e.installing} <= {e.id for e in published}
    for event in events:
        stands_for = [e for e in published if e.id == event.id or e.data.via == "oauth"]
        assert any(e.time.timestamp() >= event.created for e in stands_for), event

    truth = latest(events)
    repeats = data.draw(st.lists(st.sampled_from(published), max_size=len(published) * 2))
    arrival = data.draw(st.permutations(published + repeats))
    status = None
    conn = econ_auth.new_connection(ACCOUNT, False)
    for event in arrival:
        status = project(status, event) or status
        conn = econ_auth.on_install_event(conn, event, NOW) or conn
    assert status is not None and status.stripe.installed is truth
    assert conn.installed is truth


def test_a_late_uninstall_ends_a_grant_made_before_it_but_not_the_reinstall() -> None:
    """install (t1), connect, uninstall (t2) delivered after the reinstall (t3)."""

    def at(seconds: int) -> datetime:
        return datetime.fromtimestamp(BASE + seconds, UTC)

    def event(kind: type[Ours], seconds: int) -> Ours:
        return kind(source="t", subject=ACCOUNT, livemode=False, time=at(seconds), data=WEBHOOK)

    conn = econ_auth.new_connection(ACCOUNT, False)
    conn = econ_auth.on_install_event(conn, event(StripeAppInstalled, 0), NOW) or conn
    agreement = econ_auth.Agreement(agreement_number=1, company_name="Acme ApS")
    conn = econ_auth.connect(conn, "sealed", agreement, at(10))
    conn = econ_auth.on_install_event(conn, event(StripeAppInstalled, 300), NOW) or conn
    late = econ_auth.on_install_event(conn, event(StripeAppUninstalled, 200), NOW)
    assert late is not None
    assert (late.installed, late.state, late.grant_ciphertext) == (True, "disconnected", None)
    assert late.outbox[-1]["data"]["reason"] == "app_uninstalled"
    # A grant made after that uninstall stays.
    reconnected = econ_auth.connect(late, "sealed-2", agreement, at(310))
    assert econ_auth.on_install_event(reconnected, event(StripeAppUninstalled, 200), NOW) is None


WEBHOOK = InstallData(via="webhook")
