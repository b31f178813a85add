"""The app's settings page in the Dashboard, where Stripe renders the app's `settings` view: the
sync settings (stripe-app/src/sync/SyncSettings.tsx), one select per choice ("number · name")
from the merchant's own e-conomic, preselected from what is saved or else sync's suggestions.
Save is a form the sandbox types and signs as the view's `save_sync_settings`; what e-conomic
cannot take comes back beside each setting, in plain words."""

import re
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kobling_sandbox import stripe
from kobling_sandbox.config import settings
from kobling_sandbox.stripe_view_sync import (
    ACCOUNT,
    answered,
    ask,
    check_account,
    livemode_of,
    mode_path,
    say,
    words,
)
from kobling_sandbox.templating import render

router = APIRouter()
# The settings in the order the settings view shows them (stripe-app/src/sync/api.ts).
SETTING_NAMES = (
    "layout",
    "payment_terms",
    "customer_group",
    "vat_zone",
    "product",
    "journal",
    "bank_account",
    "clearing_account",
    "fees_account",
    "suspense_account",
    "fx_account",
    "start_date",
)
# pydantic's error types a save can get back that mean "not one of the items" (words.ts).
NOT_A_CHOICE = ("int_parsing", "int_type", "int_from_float", "greater_than_equal", "missing")
# What a redirect back may ask the page to say: known names only, never text from the query.
NOTICES = {"saved": "sync.saved", "saved_incomplete": "sync.saved_incomplete"}


def settings_url(account: str, livemode: bool, notice: str | None = None) -> str:
    """The app's settings page in the Dashboard, where Stripe renders its `settings` view."""
    query = f"?{urlencode({'notice': notice})}" if notice else ""
    app = settings().stripe_app_id
    return f"/dashboard/{account}{mode_path(livemode)}/settings/apps/{app}{query}"


def field_label(name: str) -> str:
    return say(f"sync.field.{name}", name)


def error_text(code: str) -> str:
    """A setting's error code from sync (`not_found:99`, `same_account_twice`, pydantic's
    types) in the merchant's words, as words.ts says it."""
    kind, _, value = code.partition(":")
    if kind in ("not_found", "no_entries"):
        return words(f"sync.error.{kind}", number=value)
    if kind == "same_account_twice":
        return words("sync.error.same_account_twice")
    if kind in NOT_A_CHOICE:
        return words("sync.error.not_a_choice")
    if kind.startswith("date_"):
        return words("sync.error.not_a_date")
    if kind == "extra_forbidden":
        return words("sync.error.unknown_setting")
    return words("sync.error.other", code=code)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def draft_of(view: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Per setting what is saved, else what sync suggests; and which were suggested."""
    saved, suggestions = view.get("settings") or {}, view.get("suggestions") or {}
    draft, suggested = {}, []
    for name in SETTING_NAMES:
        mine, offered = _text(saved.get(name)), _text(suggestions.get(name))
        if not mine and offered:
            suggested.append(name)
        draft[name] = mine or offered
    return draft, suggested


def settings_of(view: dict[str, Any], draft: dict[str, str]) -> dict[str, Any]:
    """What a save sends (settingsMachine.settingsOf): each pick as e-conomic numbers it (an
    integer, a product's string), the start date as written, nothing picked as null, and the
    product map as it was saved."""
    out: dict[str, Any] = {}
    choices = view.get("choices") or {}
    for name in SETTING_NAMES:
        value = draft.get(name, "")
        if value == "":
            out[name] = None
        elif name == "start_date":
            out[name] = value
        else:
            item = next((c for c in choices.get(name, []) if str(c.get("number")) == value), None)
            if item is not None:
                out[name] = item["number"]
            else:
                out[name] = int(value) if re.fullmatch(r"[0-9]{1,18}", value) else value
    out["products"] = (view.get("settings") or {}).get("products") or {}
    return out


def _fields(
    view: dict[str, Any], draft: dict[str, str], errors: dict[str, str]
) -> list[dict[str, Any]]:
    fields = []
    choices = view.get("choices") or {}
    for name in SETTING_NAMES:
        value = draft.get(name, "")
        options = [
            {"value": str(c.get("number")), "label": f"{c.get('number')} · {c.get('name', '')}"}
            for c in choices.get(name, [])
        ]
        if value and all(o["value"] != value for o in options):
            # A saved pick e-conomic no longer lists still shows, by its number; saving says why.
            options.insert(0, {"value": value, "label": value})
        fields.append(
            {
                "name": name,
                "label": field_label(name),
                "help": say(f"sync.help.{name}", ""),
                "date": name == "start_date",
                "value": value,
                "options": options,
                "error": error_text(errors[name]) if name in errors else None,
            }
        )
    return fields


def _settings_page(
    request: Request,
    account: str,
    livemode: bool,
    view: dict[str, Any] | None,
    *,
    problem: str | None = None,
    draft: dict[str, str] | None = None,
    suggested: list[str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    notice_kind: str = "ok",
    status_code: int = 200,
) -> HTMLResponse:
    errors = errors or {}
    others = " ".join(
        f"{field_label(name)}: {error_text(code)}"
        for name, code in errors.items()
        if name not in SETTING_NAMES
    )
    missing = ", ".join(field_label(n) for n in (view or {}).get("missing", []))
    context = {
        **stripe.LOOK,
        "title": "Sync settings",
        "subheader": "Dashboard",
        "account": account,
        "livemode": livemode,
        "back": f"/dashboard/{account}{mode_path(livemode)}/dashboard",
        "here": settings_url(account, livemode),
        "heading": words("sync.title"),
        "help": words("sync.settings_help"),
        "problem": problem,
        "check_again": words("app.check_again"),
        "view": view,
        "on": words("sync.on"),
        "off": words("sync.off"),
        "off_missing": words("sync.off_missing", missing=missing) if missing else None,
        "suggested": words("sync.suggested") if suggested else None,
        "notice": notice,
        "notice_kind": notice_kind,
        "others": others,
        "fields": _fields(view or {}, draft or {}, errors),
        "save": words("sync.save"),
        "choose": words("sync.choose"),
    }
    return render(request, "stripe_app_settings.html", context, status_code)


def _unanswered(
    request: Request, account: str, livemode: bool, answer: httpx.Response | None
) -> HTMLResponse:
    """The settings could not be read: e-conomic is not connected (sync's 409), or sync did not
    answer."""
    if answer is not None and answer.status_code == 409:
        return _settings_page(
            request, account, livemode, None, problem=words("sync.connect_first"), status_code=409
        )
    problem = f"{words('app.unreachable')}. {words('app.unreachable_help')}"
    return _settings_page(request, account, livemode, None, problem=problem, status_code=502)


@router.get("/dashboard/{account}/settings/apps/{app}", response_class=HTMLResponse)
@router.get("/dashboard/{account}/{mode}/settings/apps/{app}", response_class=HTMLResponse)
async def settings_page(
    request: Request, account: str, app: str, mode: str = "live", notice: str | None = None
) -> HTMLResponse:
    """The app's settings page (`/test/` in test mode, as the Dashboard's paths put it): the
    sync settings, one select per choice ("number · name"), preselected from what is saved or
    else from sync's suggestions."""
    livemode = livemode_of(mode)
    check_account(account)
    if app != settings().stripe_app_id:
        raise HTTPException(404, f"No such app: '{app}'")
    answer = await ask(account, livemode, "sync_settings")
    view = answered(answer) if answer is not None and answer.status_code == 200 else None
    if view is None:
        return _unanswered(request, account, livemode, answer)
    draft, suggested = draft_of(view)
    said = words(NOTICES[notice]) if notice in NOTICES else None
    kind = "ok" if notice == "saved" else "caution"
    return _settings_page(
        request,
        account,
        livemode,
        view,
        draft=draft,
        suggested=suggested,
        notice=said,
        notice_kind=kind,
    )


@router.post("/app-view/sync-settings")
async def save_settings(request: Request) -> Response:
    """The settings form's Save: the view's signed `save_sync_settings`, each pick typed as the
    view types it. Saved: back to the page, which says so. Refused (422): the page again with
    what was picked and, beside each setting, what is wrong in plain words."""
    form = await request.form()
    account = str(form.get("account", ""))
    if not re.fullmatch(ACCOUNT, account):
        raise HTTPException(400, "account must be acct_…")
    livemode = form.get("livemode") == "true"
    picked = {name: str(form.get(name, "")).strip() for name in SETTING_NAMES}
    # The choices as sync reads them now: the types of the numbers, the product map kept.
    read = await ask(account, livemode, "sync_settings")
    view = answered(read) if read is not None and read.status_code == 200 else None
    if view is None:
        return _unanswered(request, account, livemode, read)
    saved = await ask(account, livemode, "save_sync_settings", settings=settings_of(view, picked))
    answer = answered(saved)
    if saved is not None and saved.status_code == 200 and answer is not None:
        notice = "saved" if answer.get("complete") else "saved_incomplete"
        return RedirectResponse(settings_url(account, livemode, notice), status_code=303)
    if saved is not None and saved.status_code == 422 and answer is not None:
        errors = {str(k): str(v) for k, v in (answer.get("errors") or {}).items()}
        return _settings_page(
            request,
            account,
            livemode,
            view,
            draft=picked,
            errors=errors,
            notice=words("sync.invalid"),
            notice_kind="critical",
            status_code=422,
        )
    if saved is not None and saved.status_code == 409:
        notice, status = words("sync.connect_first"), 409
    else:
        notice, status = f"{words('app.unreachable')}. {words('app.unreachable_help')}", 502
    return _settings_page(
        request,
        account,
        livemode,
        view,
        draft=picked,
        notice=notice,
        notice_kind="critical",
        status_code=status,
    )
