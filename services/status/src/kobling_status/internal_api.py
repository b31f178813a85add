"""The internal status API for other services and operators, behind INTERNAL_API_TOKEN."""

import asyncio
import hmac
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kobling_shared.events import account_key, now
from kobling_shared.openapi import BEARER, detail
from kobling_status.projection import EconomicState
from kobling_status.read_cache import encode, internal_response
from kobling_status.store import AccountFilter, BadCursor
from kobling_status.views import merchant_view, public_view
from kobling_status.web import Deps, DepsDep

ACCOUNT_ID = r"^acct_[A-Za-z0-9]{1,64}$"
OBJECT_ID = r"^(in|po)_[A-Za-z0-9]{1,255}$"
# Ten years: further back than any install, and far inside what a datetime can subtract
# (an unbounded value was a 500 from an OverflowError).
MAX_STUCK_SECONDS = 10 * 365 * 24 * 3600

_bearer = HTTPBearer(auto_error=False)


async def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    deps: Deps = request.app.state.deps
    expected = deps.settings.internal_api_token
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(401, "a valid bearer token is required", {"WWW-Authenticate": "Bearer"})


router = APIRouter(
    prefix="/v1", dependencies=[Depends(require_token)], tags=["internal"], responses=BEARER
)


@router.get("/accounts/{account_id}", responses={404: detail("No install of this account")})
async def get_account(
    request: Request,
    account_id: Annotated[str, Path(pattern=ACCOUNT_ID)],
    livemode: bool | None = None,
) -> Response:
    """One install. Without `livemode`, the live install if there is one, else the test one.
    `grant_uses`: how often our services used its e-conomic grant, and the last use."""
    # The read model from app.state, not through dependencies: other services ask this
    # route for every account they act on, and FastAPI's solving of each dependency costs.
    deps: Deps = request.app.state.deps
    cache = deps.cache
    for mode in [livemode] if livemode is not None else [True, False]:
        key = account_key(account_id, mode)
        found = cache.internal(key)
        if found is None:
            found = await _from_database(deps, account_id, mode)
        if found is not None:
            return Response(found, media_type="application/json")
    raise HTTPException(404, "no such account")


async def _from_database(deps: Deps, account_id: str, livemode: bool) -> bytes | None:
    """The pieces of an install's internal response that memory does not hold, read at once,
    and kept there (kobling_status.read_cache); None when there is no such install."""
    cache, key = deps.cache, account_key(account_id, livemode)
    stamp = cache.stamp()
    held = cache.held(key)
    status_json = held.status if held else None
    uses_json, sync_json = cache.uses(key, held), cache.sync(key, held)

    async def nothing() -> None:
        return None

    status, uses, synced = await asyncio.gather(
        deps.store.get(account_id, livemode) if status_json is None else nothing(),
        deps.grant_uses.summary(account_id, livemode) if uses_json is None else nothing(),
        deps.sync_results.summary(account_id, livemode) if sync_json is None else nothing(),
    )
    pieces: dict[str, bytes] = {}
    if status is not None:
        status_json = pieces["status"] = encode(public_view(status))
        pieces["view"] = encode(merchant_view(status))
    if status_json is None:
        return None
    if uses is not None:
        uses_json = pieces["uses"] = encode(jsonable_encoder(uses))
    if synced is not None:
        sync_json = pieces["sync"] = encode(jsonable_encoder(synced))
    assert uses_json is not None and sync_json is not None
    cache.put(key, stamp, **pieces)
    return internal_response(status_json, uses_json, sync_json)


@router.get("/accounts", responses={400: detail("The cursor is not one we handed out")})
async def list_accounts(
    deps: DepsDep,
    state: EconomicState | None = None,
    livemode: bool | None = None,
    installed: bool | None = None,
    connected_since: datetime | None = None,
    stuck_for_seconds: Annotated[int | None, Query(ge=0, le=MAX_STUCK_SECONDS)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Installs by state and mode; `stuck_for_seconds` finds those in their state that long."""
    stuck_before = None
    if stuck_for_seconds is not None:
        stuck_before = now() - timedelta(seconds=stuck_for_seconds)
    where = AccountFilter(state, livemode, installed, connected_since, stuck_before)
    try:
        page, next_cursor = await deps.store.list(where, limit, cursor)
    except BadCursor:
        raise HTTPException(400, "invalid cursor") from None
    return {"data": [public_view(s) for s in page], "next_cursor": next_cursor}


# What each event means on an account's onboarding timeline.
MILESTONES = {
    "com.kobling.stripe.app_installed.v1": "installed",
    "com.kobling.stripe.app_uninstalled.v1": "uninstalled",
    "com.kobling.economic.connected.v1": "connected",
    "com.kobling.economic.connection_failed.v1": "failed",
    "com.kobling.economic.disconnected.v1": "disconnected",
    "com.kobling.economic.agreement_shared.v1": "agreement_shared",
    "com.kobling.economic.connection_held.v1": "held",
    "com.kobling.economic.join_requested.v1": "join_requested",
    "com.kobling.economic.join_closed.v1": "join_closed",
    "com.kobling.economic.grant_used.v1": "grant_used",
}


@router.get(
    "/accounts/{account_id}/timeline", responses={404: detail("No events about this account")}
)
async def timeline(
    deps: DepsDep,
    account_id: Annotated[str, Path(pattern=ACCOUNT_ID)],
    livemode: bool = False,
) -> dict[str, Any]:
    entries = await deps.store.timeline(account_id, livemode)
    if not entries:
        raise HTTPException(404, "no such account")
    return {
        "account_id": account_id,
        "livemode": livemode,
        "events": [
            {
                "event_id": e["_id"],
                "what": MILESTONES.get(e["type"], e["type"]),
                "time": e["time"],
                # When the read model took it: how late this account's status was, if it was.
                **({"applied_at": e["applied_at"]} if "applied_at" in e else {}),
                **({"use": e["use"]} if "use" in e else {}),
                # Who connected or disconnected: the Dashboard user of the signed request.
                **({"user_id": e["user_id"]} if "user_id" in e else {}),
            }
            for e in entries
        ],
    }


@router.get("/funnel")
async def funnel(deps: DepsDep) -> dict[str, int]:
    """How many installs stand in each state: the onboarding funnel."""
    return await deps.store.funnel()


@router.get(
    "/accounts/{account_id}/sync/{object_id}",
    responses={404: detail("The sync has no result for this object yet")},
)
async def get_sync_object(
    deps: DepsDep,
    account_id: Annotated[str, Path(pattern=ACCOUNT_ID)],
    object_id: Annotated[str, Path(pattern=OBJECT_ID)],
    livemode: bool = False,
) -> dict[str, Any]:
    """What the sync last did with one Stripe invoice or payout (sync.results.v1)."""
    found = await deps.sync_results.object_state(account_id, livemode, object_id)
    if found is None:
        raise HTTPException(404, "no sync result for this object")
    return found
