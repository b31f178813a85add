"""Installs open a connection and uninstalls end it, from the installs topic."""

from kobling_econ_auth import connection as domain
from kobling_econ_auth import consent
from kobling_econ_auth.deps import Deps, publish
from kobling_shared.events import StripeAppInstalled, StripeAppUninstalled, now

InstallEvent = StripeAppInstalled | StripeAppUninstalled


async def on_install_events(events: list[InstallEvent], deps: Deps) -> None:
    """A batch of installs and uninstalls. Most are first installs: those connections are
    created with one insert for the batch; the rest are applied one by one, in order."""
    by_key: dict[str, list[InstallEvent]] = {}
    for event in events:
        by_key.setdefault(event.account_key, []).append(event)
    fresh = {}
    for key, evs in by_key.items():
        conn = domain.new_connection(evs[0].subject, evs[0].livemode)
        for event in evs:
            conn = domain.on_install_event(conn, event, now()) or conn
        if not conn.outbox:
            fresh[key] = conn
    existing = await deps.store.create(list(fresh.values()))
    for key, evs in by_key.items():
        if key not in fresh or key in existing:
            for event in evs:
                await on_install_event(event, deps)
    for evs in by_key.values():
        if any(isinstance(event, StripeAppUninstalled) for event in evs):
            await destroy_key_if_uninstalled(evs[0].subject, evs[0].livemode, deps)


async def destroy_key_if_uninstalled(account_id: str, livemode: bool, deps: Deps) -> None:
    now_stored = await deps.store.get(account_id, livemode)
    if now_stored is None or not now_stored.installed:
        # Whatever grant this install ever had is unreadable from here on, backups too.
        await deps.grants.destroy(account_id, livemode)


async def on_install_event(event: InstallEvent, deps: Deps) -> None:
    install = (event.subject, event.livemode)
    changed, ended = await consent.change_hold(
        deps, *install, lambda conn: domain.on_install_event(conn, event, now())
    )
    if changed:
        await publish(changed, deps)
    if ended is not None:
        # Uninstalled while it waited for consent: those asked have nothing left to answer.
        await consent.close(deps, install, ended, "withdrawn")
