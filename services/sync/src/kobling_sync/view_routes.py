"""The Stripe App view's requests to sync, each signed by Stripe in its field order and each its
own action (kobling_shared.app_view): the settings and their e-conomic choices, saving them, an
object's state, Replay (spent once: it changes something), and the drawer's summary."""

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from kobling_shared.app_view import AppViewRequest, verified_view, view_body
from kobling_shared.events import account_key
from kobling_shared.mongo import Document
from kobling_shared.signatures import ViewAction
from kobling_sync import economic_choices
from kobling_sync.brokers import Refused
from kobling_sync.choices import SyncChoices, stored, to_store
from kobling_sync.deps import Deps
from kobling_sync.store import record_key

router = APIRouter()


class SettingsView(BaseModel):
    settings: dict[str, Any] = Field(description="What is saved (each unset setting is null)")
    complete: bool = Field(description="Sync runs only when every setting is set")
    missing: list[str]
    choices: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict, description="Per setting, the merchant's own e-conomic items"
    )
    suggestions: dict[str, Any] = Field(default_factory=dict)
    errors: dict[str, str] = Field(
        default_factory=dict, description="Per setting, why e-conomic cannot take it (a code)"
    )


class ObjectState(BaseModel):
    object_id: str
    object_type: str | None = None
    state: str = Field(description="unknown, pending, synced, needs_attention or skipped")
    reason: str | None = None
    step: str | None = None
    customer_number: int | None = None
    draft_invoice_number: int | None = None
    booked_invoice_number: int | None = None
    voucher_number: int | None = None
    currency: str | None = None
    total: int | None = None
    figures: dict[str, int] = Field(default_factory=dict)
    economic: dict[str, Any] | None = None
    payout: dict[str, Any] | None = None
    updated_at: datetime | None = None


class Summary(BaseModel):
    enabled: bool
    why_off: str | None = Field(None, description="settings_incomplete while settings are missing")
    synced_today: int
    needs_attention: list[ObjectState]
    last_error: ObjectState | None = None


def _deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


async def _signed(request: Request, action: ViewAction) -> tuple[AppViewRequest, Deps]:
    return await verified_view(request, action), _deps(request)


@router.post(
    "/api/sync/settings", response_model=SettingsView, openapi_extra=view_body("sync_settings")
)
async def read_settings(request: Request) -> SettingsView:
    body, deps = await _signed(request, "sync_settings")
    choices = stored(await deps.settings.get(account_key(body.account_id, body.livemode)))
    found = await _economic(deps, body)
    return SettingsView(
        settings=choices.model_dump(mode="json"),
        complete=choices.complete,
        missing=choices.missing(),
        choices=economic_choices.choices_for_view(found),
        suggestions=economic_choices.suggestions(found),
    )


@router.post(
    "/api/sync/settings/save",
    response_model=SettingsView,
    responses={422: {"model": SettingsView, "description": "What e-conomic cannot take"}},
    openapi_extra=view_body("save_sync_settings"),
)
async def save_settings(request: Request) -> Any:
    body, deps = await _signed(request, "save_sync_settings")
    try:
        choices = SyncChoices.model_validate(body.settings or {})
    except ValidationError as error:
        errors = {
            ".".join(str(p) for p in e["loc"]) or "settings": e["type"] for e in error.errors()
        }
        return _invalid(body.settings or {}, errors)
    found = await _economic(deps, body)
    errors = economic_choices.problems(choices, found)
    if errors:
        return _invalid(choices.model_dump(mode="json"), errors)
    await deps.settings.put(account_key(body.account_id, body.livemode), to_store(choices))
    return SettingsView(
        settings=choices.model_dump(mode="json"),
        complete=choices.complete,
        missing=choices.missing(),
    )


def _invalid(settings: dict[str, Any], errors: dict[str, str]) -> JSONResponse:
    view = SettingsView(settings=settings, complete=False, missing=[], errors=errors)
    return JSONResponse(view.model_dump(mode="json"), status_code=422)


async def _economic(deps: Deps, body: AppViewRequest) -> dict[str, list[dict[str, Any]]]:
    try:
        return await economic_choices.fetch(deps.economic, body.account_id, body.livemode)
    except Refused as why:
        # Not connected (409) or not installed (404): the view says so, nothing is saved.
        raise HTTPException(
            409, f"e-conomic is not reachable for this account ({why.error})"
        ) from None


@router.post("/api/sync/object", response_model=ObjectState, openapi_extra=view_body("sync_state"))
async def object_state(request: Request) -> ObjectState:
    body, deps = await _signed(request, "sync_state")
    assert body.object_id is not None  # verified_view requires it for this action
    record = await deps.records.get(record_key(body.account_id, body.livemode, body.object_id))
    return state_of(body.object_id, record)


@router.post(
    "/api/sync/replay",
    response_model=ObjectState,
    responses={409: {"description": "This signed request was used already"}},
    openapi_extra=view_body("replay"),
)
async def replay(request: Request) -> ObjectState:
    body, deps = await _signed(request, "replay")
    assert body.object_id is not None
    if not await deps.spent.once(body.signature_id):
        raise HTTPException(409, "this signed request was used already")
    record = await deps.sync.replay(body.account_id, body.livemode, body.object_id)
    return state_of(body.object_id, record)


@router.post("/api/sync/summary", response_model=Summary, openapi_extra=view_body("sync_summary"))
async def summary(request: Request) -> Summary:
    body, deps = await _signed(request, "sync_summary")
    key = account_key(body.account_id, body.livemode)
    choices = stored(await deps.settings.get(key))
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    waiting = await deps.records.of_account(key, "needs_attention", limit=20)
    return Summary(
        enabled=choices.complete,
        why_off=None if choices.complete else "settings_incomplete",
        synced_today=await deps.records.count(key, "synced", since=today - timedelta(0)),
        needs_attention=[state_of(r["object_id"], r) for r in waiting],
        last_error=state_of(waiting[0]["object_id"], waiting[0]) if waiting else None,
    )


def state_of(object_id: str, record: Document | None) -> ObjectState:
    if record is None:
        return ObjectState(object_id=object_id, state="unknown")
    results = record.get("results", {})
    attention = record.get("attention") or {}
    draft = results.get("draft") or {}
    figures = attention.get("figures") or {} if record.get("state") == "needs_attention" else {}
    return ObjectState(
        object_id=object_id,
        object_type=record.get("object_type"),
        state=record.get("state", "pending"),
        reason=record.get("reason"),
        step=attention.get("step")
        if record.get("state") == "needs_attention"
        else record.get("step"),
        customer_number=results.get("customer"),
        draft_invoice_number=draft.get("number") if isinstance(draft, dict) else None,
        booked_invoice_number=results.get("book"),
        voucher_number=results.get("payment") or results.get("voucher"),
        currency=record.get("currency"),
        total=record.get("total"),
        figures=figures,
        economic=attention.get("economic") if record.get("state") == "needs_attention" else None,
        payout=record.get("payout"),
        updated_at=record.get("updated_at"),
    )
