"""What status's routes share: their dependencies, declared once."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from kobling_shared.arrivals import Arrivals
from kobling_status.grant_uses import GrantUses
from kobling_status.read_cache import ReadCache
from kobling_status.settings import StatusSettings
from kobling_status.store import StatusStore
from kobling_status.sync_results import SyncResults


@dataclass(frozen=True)
class Deps:
    settings: StatusSettings
    store: StatusStore
    grant_uses: GrantUses
    arrivals: Arrivals
    sync_results: SyncResults
    cache: ReadCache


# `async def`: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request.
async def get_deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


DepsDep = Annotated[Deps, Depends(get_deps)]
