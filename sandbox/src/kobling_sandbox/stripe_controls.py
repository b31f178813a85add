"""Controls for tests and the demo that make money move in a connected account's Stripe (JSON
under /_sandbox/stripe/), the Dashboard's buttons for the same, and the Dashboard's invoice page.
Each action delivers its events signed to install, as Stripe does, or holds them."""

import asyncio
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from kobling_sandbox import stripe, stripe_flows, stripe_invoice_panel
from kobling_sandbox import stripe_money as money
from kobling_sandbox.stripe_dashboard import shown
from kobling_sandbox.stripe_flows import FlowError, Line, Moved
from kobling_sandbox.stripe_objects import ledger_of, profile_of
from kobling_sandbox.templating import render

router = APIRouter()
_retries: set[asyncio.Task[int]] = set()  # Stripe's later attempts, kept from the collector


async def announce(events: list[dict[str, Any]], hold: bool) -> dict[str, Any]:
    """Delivers the events in order, one attempt each now and Stripe's retries later; or holds
    them for /_sandbox/stripe/webhooks/deliver (late, twice, out of order)."""
    statuses: list[int | None] = []
    for event in events:
        if hold:
            stripe.state_.held[event["id"]] = event
            statuses.append(None)
            continue
        status = await stripe.post_event(event)
        if not 200 <= status < 300:
            retry = asyncio.get_running_loop().create_task(stripe.post_event(event, attempts=4))
            _retries.add(retry)
            retry.add_done_callback(_retries.discard)
        statuses.append(status)
    return {"event_ids": [e["id"] for e in events], "status_codes": statuses}


class Where(BaseModel):
    account: str = Field(pattern=r"^acct_[A-Za-z0-9]{1,64}$")
    livemode: bool = False
    hold: bool = False  # keep the events back (see announce)


class PaidLine(BaseModel):
    description: str = Field(min_length=1, max_length=500)
    amount: int = Field(gt=0)  # the line's net, in minor units (whole units for JPY)
    tax_percent: float = Field(0.0, ge=0, le=100)
    quantity: int = Field(1, gt=0)


class PayInvoice(Where):
    customer_name: str = Field(min_length=1, max_length=256)
    customer_email: str | None = None
    customer_country: str = "DK"
    currency: str = "dkk"
    lines: list[PaidLine] = Field(min_length=1)


async def _done(where: Where, moved: Moved, **extra: Any) -> dict[str, Any]:
    obj, events = moved
    return {obj["object"]: obj, **extra, **(await announce(events, where.hold))}


def _run(action: Any, *args: Any, **kwargs: Any) -> Moved:
    try:
        moved: Moved = action(*args, **kwargs)
    except FlowError as why:
        raise HTTPException(400, str(why)) from why
    return moved


@router.post("/_sandbox/stripe/invoices/pay")
async def pay_invoice(body: PayInvoice) -> dict[str, Any]:
    """A customer pays an invoice by card: `invoice.paid` goes to install."""
    ledger = ledger_of(body.account, body.livemode)
    lines = [Line(x.description, x.amount, x.tax_percent, x.quantity) for x in body.lines]
    moved = _run(
        stripe_flows.pay_invoice,
        ledger,
        body.customer_name,
        body.currency,
        lines,
        body.customer_email,
        body.customer_country,
    )
    payment = next(p for p in ledger.of("invoice_payment") if p["invoice"] == moved[0]["id"])
    charge = ledger.objects[ledger.objects[payment["payment"]["payment_intent"]]["latest_charge"]]
    return await _done(
        body, moved, charge=charge["id"], balance_transaction=charge["balance_transaction"]
    )


class RefundRequest(Where):
    charge: str
    amount: int | None = Field(None, gt=0)


@router.post("/_sandbox/stripe/refunds")
async def refund(body: RefundRequest) -> dict[str, Any]:
    """A refund of a charge: `charge.refunded`, and a refund balance transaction."""
    moved = _run(
        stripe_flows.refund, ledger_of(body.account, body.livemode), body.charge, body.amount
    )
    return await _done(body, moved)


class ChargeRequest(Where):
    amount: int = Field(gt=0)
    currency: str = "dkk"
    description: str = "Payment Link sale"


@router.post("/_sandbox/stripe/charges")
async def unsynced_charge(body: ChargeRequest) -> dict[str, Any]:
    """A card payment without an invoice (`charge.succeeded`): nothing a sync books as income."""
    moved = _run(
        stripe_flows.unsynced_charge,
        ledger_of(body.account, body.livemode),
        body.amount,
        body.currency,
        body.description,
    )
    return await _done(body, moved)


class AdjustmentRequest(Where):
    amount: int  # in the settlement currency's minor units, either sign
    description: str = "Balance adjustment"


@router.post("/_sandbox/stripe/adjustments")
async def adjustment(body: AdjustmentRequest) -> dict[str, Any]:
    moved = _run(
        stripe_flows.adjustment,
        ledger_of(body.account, body.livemode),
        body.amount,
        body.description,
    )
    return await _done(body, moved)


class PayoutRequest(Where):
    automatic: bool = True


@router.post("/_sandbox/stripe/payouts")
async def pay_out(body: PayoutRequest) -> dict[str, Any]:
    """Pays out the available balance: `payout.paid`, then (automatic) the reconciliation."""
    moved = _run(stripe_flows.pay_out, ledger_of(body.account, body.livemode), body.automatic)
    return await _done(body, moved)


class FailPayout(Where):
    payout: str


@router.post("/_sandbox/stripe/payouts/fail")
async def fail_payout(body: FailPayout) -> dict[str, Any]:
    moved = _run(stripe_flows.fail_payout, ledger_of(body.account, body.livemode), body.payout)
    return await _done(body, moved)


class AccessRequest(BaseModel):
    account: str = Field(pattern=r"^acct_[A-Za-z0-9]{1,64}$")
    livemode: bool = False


@router.post("/_sandbox/stripe/access-token")
async def access_token(body: AccessRequest) -> dict[str, str]:
    """An access token as the OAuth exchange mints one, without the install: for tests and the
    benchmark that read the API directly."""
    return {"access_token": stripe.mint_access(body.account, body.livemode)}


class ProfileRequest(AccessRequest):
    display_name: str | None = None
    business_name: str | None = None
    default_currency: str | None = None


@router.post("/_sandbox/stripe/accounts")
async def account_profile(body: ProfileRequest) -> dict[str, str]:
    """Names the account as GET /v1/account will, and picks the currency it settles in."""
    profile = profile_of(body.account)
    profile.display_name = body.display_name or profile.display_name
    profile.business_name = body.business_name or profile.business_name
    profile.default_currency = (body.default_currency or profile.default_currency).lower()
    return {
        "display_name": profile.display_name,
        "business_name": profile.business_name,
        "default_currency": profile.default_currency,
    }


@router.get("/_sandbox/stripe/objects")
async def objects(account: str, livemode: bool = False) -> dict[str, Any]:
    """How many of each object the account holds in that mode, and what is not yet paid out."""
    ledger = ledger_of(account, livemode)
    counts: dict[str, int] = {}
    for obj in ledger.objects.values():
        counts[obj["object"]] = counts.get(obj["object"], 0) + 1
    waiting = [t["id"] for t in ledger.of("balance_transaction") if t["id"] not in ledger.paid_out]
    return {"counts": counts, "not_paid_out": waiting}


# --- the Dashboard's buttons and its invoice page -----------------------------------------------


def _back(account: str, livemode: bool, error: str | None = None) -> RedirectResponse:
    mode = "" if livemode else "/test"
    query = f"?{urlencode({'error': error})}" if error else ""
    return RedirectResponse(f"/dashboard/{account}{mode}/dashboard{query}", status_code=303)


@router.post("/dashboard/pay-invoice")
async def dashboard_pay(
    account: Annotated[str, Form(pattern=r"^acct_[A-Za-z0-9]{1,64}$")],
    customer: Annotated[str, Form(min_length=1, max_length=256)],
    description: Annotated[str, Form(min_length=1, max_length=500)],
    amount: Annotated[str, Form()],
    vat: Annotated[float, Form(ge=0, le=100)] = 25.0,
    currency: Annotated[str, Form()] = "dkk",
    livemode: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    """ "Pay an invoice": the amount is typed in whole units (125.50), as the Dashboard shows."""
    try:
        minor = int(Decimal(amount.replace(",", ".")) * 10 ** money.exponent(currency))
    except InvalidOperation:
        return _back(account, livemode, "The amount is not a number.")
    try:
        await pay_invoice(
            PayInvoice(
                account=account,
                livemode=livemode,
                customer_name=customer,
                currency=currency,
                lines=[PaidLine(description=description, amount=minor, tax_percent=vat)],
            )
        )
    except (HTTPException, ValueError) as why:
        return _back(account, livemode, str(getattr(why, "detail", why)))
    return _back(account, livemode)


@router.post("/dashboard/payout")
async def dashboard_payout(
    account: Annotated[str, Form(pattern=r"^acct_[A-Za-z0-9]{1,64}$")],
    livemode: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    try:
        await pay_out(PayoutRequest(account=account, livemode=livemode))
    except HTTPException as why:
        return _back(account, livemode, str(why.detail))
    return _back(account, livemode)


@router.get("/dashboard/{account}/invoices/{invoice}", response_class=HTMLResponse)
@router.get("/dashboard/{account}/{mode}/invoices/{invoice}", response_class=HTMLResponse)
async def invoice_page(
    request: Request, account: str, invoice: str, mode: str = "live", notice: str | None = None
) -> HTMLResponse:
    """An invoice in the Dashboard (`/test/` in test mode, as Stripe's deep links put it; `live`
    is accepted too), with Kobling's app panel in `#app-panel`: what the app's InvoiceSync view
    shows, from sync's answer to its signed request (stripe_app_views)."""
    if mode not in ("live", "test"):
        raise HTTPException(404, "No such page")
    livemode = mode == "live"
    found = ledger_of(account, livemode).objects.get(invoice)
    if found is None or found["object"] != "invoice":
        raise HTTPException(404, f"No such invoice: '{invoice}'")
    context = {
        **stripe.LOOK,
        "title": f"Invoice {found['number']}",
        "subheader": "Dashboard",
        "account": account,
        "livemode": livemode,
        "invoice": found,
        "lines": [
            {
                **line,
                "shown": shown(line["amount"], found["currency"]),
                "tax": shown(sum(t["amount"] for t in line["taxes"]), found["currency"]),
            }
            for line in found["lines"]["data"]
        ],
        "subtotal": shown(found["subtotal"], found["currency"]),
        "tax": shown(sum(t["amount"] for t in found["total_taxes"]), found["currency"]),
        "total": shown(found["total"], found["currency"]),
        "back": f"/dashboard/{account}{'' if livemode else '/test'}/dashboard",
        **(await stripe_invoice_panel.shown_for(account, livemode, invoice, notice)),
    }
    return render(request, "stripe_invoice.html", context)
