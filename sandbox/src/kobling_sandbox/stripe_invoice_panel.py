"""The invoice page's panel: what our app's `stripe.dashboard.invoice.detail` view
(stripe-app/src/views/InvoiceSync.tsx, sync/ObjectSync.tsx) shows for an invoice, from sync's
answer to the view's signed `sync_state`; and its Replay, a form the sandbox signs as the view's
`replay` (a fresh nonce each press) and forwards, then back to the invoice."""

import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse

from kobling_sandbox.stripe_dashboard import shown
from kobling_sandbox.stripe_view_sync import (
    ACCOUNT,
    answered,
    ask,
    mode_path,
    say,
    words,
)

router = APIRouter()
INVOICE = r"^in_[A-Za-z0-9]{1,255}$"
# The figures that are amounts, in the order the gate compares them (objectMachine.figuresOf).
MONEY = ("stripe_gross", "economic_gross", "stripe_vat", "economic_vat", "total", "amount_paid")
FIGURES = {name: f"sync.label.{name}" for name in MONEY} | {
    "draft_invoice_number": "sync.label.draft"
}
# What a redirect back may ask the panel to say: known names only, never text from the query.
NOTICES = {"replay_refused": "sync.replay_refused", "unreachable": "app.unreachable"}


@dataclass
class Panel:
    """What the app's InvoiceSync view shows for one invoice: a badge (its tone as the SDK's
    Badge type), a banner, a line of help, label/value rows, and Replay or "Check again"."""

    state: str  # sync's state, or "unreachable"
    badge: str | None
    tone: str
    banner: str | None = None
    text: str | None = None
    rows: list[tuple[str, str]] = field(default_factory=list)
    replay: bool = False
    notice: str | None = None


def _rows(items: list[tuple[str, object]]) -> list[tuple[str, str]]:
    return [(words(key), str(value)) for key, value in items if value is not None]


def figures_of(state: dict[str, Any]) -> list[tuple[str, str]]:
    """The figures a waiting invoice carries, amounts first in the gate's order, each amount as
    money in the invoice's currency (an amount without a currency is left out, as the app does;
    a status code is sync's, not the merchant's)."""
    currency = state.get("currency")
    figures = [
        (name, value)
        for name, value in (state.get("figures") or {}).items()
        if name != "status" and (name not in MONEY or currency)
    ]
    figures.sort(key=lambda f: MONEY.index(f[0]) if f[0] in MONEY else len(MONEY))
    return [
        (
            say(FIGURES.get(name, ""), name),
            shown(value, str(currency)) if name in MONEY else str(value),
        )
        for name, value in figures
    ]


def panel_of(state: dict[str, Any]) -> Panel:
    """sync's ObjectState as the view shows it (stripe-app/src/sync/ObjectSync.tsx)."""
    kind, reason = state.get("state"), state.get("reason")
    if kind == "synced":
        number = state.get("booked_invoice_number")
        badge = (
            words("sync.state.synced_invoice", number=number)
            if number is not None
            else words("sync.state.synced")
        )
        rows = _rows(
            [
                ("sync.label.invoice", number),
                ("sync.label.voucher", state.get("voucher_number")),
                ("sync.label.customer", state.get("customer_number")),
            ]
        )
        return Panel("synced", badge, "positive", rows=rows)
    if kind == "needs_attention":
        rows = []
        step = state.get("step")
        if step is not None:
            rows.append((words("sync.label.step"), say(f"sync.step.{step}", step)))
        rows += figures_of(state)
        economic = state.get("economic") or {}
        if economic.get("message"):
            rows.append((words("sync.label.economic_said"), str(economic["message"])))
        # e-conomic names the field it refused, by its path in what was sent.
        rows += [(str(name), str(said)) for name, said in (economic.get("errors") or {}).items()]
        return Panel(
            "needs_attention",
            words("sync.state.needs_attention"),
            "warning",
            banner=say(f"sync.reason.{reason}", words("sync.reason.unknown")),
            rows=rows,
            replay=True,
        )
    if kind == "skipped":
        text = say(f"sync.skip.{reason}", words("sync.skip.unknown"))
        return Panel("skipped", words("sync.state.skipped"), "neutral", text=text)
    if kind == "pending":
        text = words("sync.state.pending_help")
        return Panel("pending", words("sync.state.pending"), "info", text=text)
    text = words("sync.state.unknown_help")
    return Panel("unknown", words("sync.state.unknown"), "neutral", text=text)


def unreachable_panel() -> Panel:
    return Panel(
        "unreachable",
        None,
        "critical",
        banner=words("app.unreachable"),
        text=words("app.unreachable_help"),
    )


async def invoice_panel(
    account: str, livemode: bool, invoice: str, notice: str | None = None
) -> Panel:
    """The panel for an invoice: what sync answers the view's signed `sync_state`."""
    answer = await ask(account, livemode, "sync_state", object_id=invoice)
    body = answered(answer) if answer is not None and answer.status_code == 200 else None
    panel = panel_of(body) if body is not None and "state" in body else unreachable_panel()
    if notice in NOTICES:
        panel.notice = words(NOTICES[notice])
    return panel


def invoice_url(account: str, livemode: bool, invoice: str, notice: str | None = None) -> str:
    query = f"?{urlencode({'notice': notice})}" if notice else ""
    return f"/dashboard/{account}{mode_path(livemode)}/invoices/{invoice}{query}"


async def shown_for(
    account: str, livemode: bool, invoice: str, notice: str | None = None
) -> dict[str, Any]:
    """What the invoice page's template needs for its `#app-panel`."""
    return {
        "panel": await invoice_panel(account, livemode, invoice, notice),
        "panel_title": words("sync.title"),
        "check_again": words("app.check_again"),
        "replay": words("sync.replay"),
        "replay_help": words("sync.replay_help"),
        "here": invoice_url(account, livemode, invoice),
    }


@router.post("/app-view/replay")
async def replay(
    account: Annotated[str, Form(pattern=ACCOUNT)],
    invoice: Annotated[str, Form(pattern=INVOICE)],
    livemode: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    """The panel's Replay: a signed `replay` with a fresh nonce (sync spends each Replay
    signature once; two presses within Stripe's one-second timestamp are two requests), in the
    view's field order, then back to the invoice, saying so if sync refused or did not answer."""
    answer = await ask(
        account, livemode, "replay", seconds=60.0, object_id=invoice, nonce=uuid.uuid4().hex
    )
    notice = None
    if answer is None or answer.status_code >= 500:
        notice = "unreachable"
    elif answer.status_code != 200:
        notice = "replay_refused"  # 409: this signed Replay was spent already
    return RedirectResponse(invoice_url(account, livemode, invoice, notice), status_code=303)
