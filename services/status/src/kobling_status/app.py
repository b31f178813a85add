"""status: projects every event into the read model and serves it."""

from fastapi import FastAPI

from kobling_shared.app_builder import build_app, connect
from kobling_shared.arrivals import Arrivals
from kobling_shared.ops import dependency_checks
from kobling_status import consumers, internal_api, pages
from kobling_status.grant_uses import GrantUses
from kobling_status.markers import Markers
from kobling_status.read_cache import ReadCache
from kobling_status.settings import StatusSettings
from kobling_status.store import StatusStore
from kobling_status.sync_results import SyncResults
from kobling_status.web import Deps

SERVICE = "status"


def create_app(settings: StatusSettings | None = None) -> FastAPI:
    settings = settings or StatusSettings()
    base = connect(SERVICE, settings)
    db = base.database(settings.status_database)
    deps = Deps(
        settings,
        StatusStore(db, base.door),
        GrantUses.of(db, base.door),
        Arrivals(),
        SyncResults.of(db),
        ReadCache(size=settings.status_cache_accounts),
    )
    markers = Markers(base.broker, deps.cache)
    consumers.subscribe(
        base.broker,
        deps.store,
        deps.grant_uses,
        settings.status_group_id,
        deps.arrivals,
        deps.sync_results,
        deps.cache,
        markers,
    )

    async def holders() -> tuple[set[str], set[str]]:
        return await deps.grant_uses.holders(), await deps.sync_results.holders()

    return build_app(
        base,
        deps,
        [internal_api.router, pages.router],
        dependency_checks(base.broker, base.client),
        startup=[deps.store.create_indexes, deps.sync_results.create_indexes],
        # 0 accounts: every read from the database (the memory never opens).
        loops=[markers.opening(holders)] if settings.status_cache_accounts else [],
        view_cors=True,
        # Every open of the Dashboard's view asks here: as little web framework as can be.
        direct={("POST", "/api/status"): pages.app_view_status},
    )
