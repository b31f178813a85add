"""What landed in one agreement's books, for the demo (a read-only page) and for tests (its JSON
twin): customers, booked invoices with their totals, journal vouchers with their lines, and each
account's balance, so the Stripe clearing account's return to zero is there to see."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from kobling_sandbox.economic_ledger import BOOKS, Books, books_of
from kobling_sandbox.economic_state import COMPANIES
from kobling_sandbox.templating import render

router = APIRouter()
LOOK = {"header": "Visma", "subheader": "e-conomic", "brand": "#1b3a6b", "accent": "#1b6fb5"}


def summary(books: Books) -> dict[str, Any]:
    balances = books.balances()
    return {
        "counts": {
            "customers": len(books.customers),
            "drafts": len(books.drafts),
            "booked_invoices": len(books.booked),
            "vouchers": len(books.vouchers),
            "entries": len(books.entries),
        },
        "customers": [
            {"customerNumber": n, "name": c.get("name"), "balance": books.customer_balance(n)}
            for n, c in sorted(books.customers.items())
        ],
        "booked_invoices": [
            {
                "bookedInvoiceNumber": n,
                "date": i.get("date"),
                "customerNumber": (i.get("customer") or {}).get("customerNumber"),
                "currency": i.get("currency"),
                "netAmount": i.get("netAmount"),
                "vatAmount": i.get("vatAmount"),
                "grossAmount": i.get("grossAmount"),
                "other": (i.get("references") or {}).get("other"),
            }
            for n, i in sorted(books.booked.items())
        ],
        "vouchers": [_voucher(key, v) for key, v in sorted(books.vouchers.items())],
        "accounts": [
            {"accountNumber": n, "name": a["name"], **balances.get(n, {})}
            for n, a in sorted(books.accounts.items())
            if a["accountType"] in ("status", "profitAndLoss")
        ],
    }


def _voucher(key: tuple[int, str, int], voucher: dict[str, Any]) -> dict[str, Any]:
    journal, year, number = key
    lines = []
    for kind, entries in voucher["entries"].items():
        for e in entries:
            lines.append(
                {
                    "type": kind,
                    "text": e.get("text"),
                    "amount": e.get("amount"),
                    "currency": e["currency"]["code"],
                    "account": (e.get("account") or {}).get("accountNumber"),
                    "customer": (e.get("customer") or {}).get("customerNumber"),
                    "contraAccount": (e.get("contraAccount") or {}).get("accountNumber"),
                }
            )
    return {"journal": journal, "voucher": f"{year}-{number}", "lines": lines}


@router.get("/_sandbox/economic/books")
async def books_json(agreement: int) -> dict[str, Any]:
    return {"agreement": agreement, **summary(books_of(agreement))}


def landed(books: Books | None, detail: bool = True) -> dict[str, Any]:
    """What a sync landed in one agreement's books, per Stripe id it put in `references.other`:
    how many booked invoices carry it and how many customer payments were entered against them,
    with when the first of each was made (wall clock). `booked` and `payments` count them all;
    `unmatched_payments` those against no booked invoice. Cheap enough to poll, for the
    benchmark's "webhook → booked" and its "nothing booked twice"."""
    if books is None:  # an agreement nobody has called
        return {"booked": 0, "payments": 0, "unmatched_payments": 0} | (
            {"invoices": {}} if detail else {}
        )
    marker = {n: (i.get("references") or {}).get("other") for n, i in books.booked.items()}
    payments = [e for e in books.entries if e.get("entryType") == "customerPayment"]
    found: dict[str, Any] = {
        "booked": len(books.booked),
        "payments": len(payments),
        "unmatched_payments": sum(1 for e in payments if not _paid_marker(marker, e)),
    }
    if not detail:
        return found
    invoices: dict[str, dict[str, Any]] = {}

    def row(other: str) -> dict[str, Any]:
        return invoices.setdefault(
            other, {"booked": 0, "booked_at": None, "payments": 0, "paid_at": None}
        )

    for number, other in sorted(marker.items()):
        if other:
            mine = row(other)
            mine["booked"] += 1
            mine["booked_at"] = _first(mine["booked_at"], books.booked_at.get(number))
    for entry in payments:
        other = _paid_marker(marker, entry)
        if other:
            mine = row(other)
            mine["payments"] += 1
            at = books.entered_at.get(int(entry["journalEntryNumber"]))
            mine["paid_at"] = _first(mine["paid_at"], at)
    return {**found, "invoices": invoices}


def _paid_marker(marker: dict[int, Any], entry: dict[str, Any]) -> str | None:
    """The Stripe id of the booked invoice a customer payment was entered against, if any."""
    invoice = entry.get("customerInvoice")
    return marker.get(invoice) if isinstance(invoice, int) else None


def _first(kept: float | None, new: float | None) -> float | None:
    return new if kept is None else kept if new is None else min(kept, new)


@router.get("/_sandbox/economic/landed")
async def landed_json(
    agreement: Annotated[list[int], Query()], detail: bool = True
) -> dict[str, Any]:
    """`landed` for each `agreement` named (`?agreement=1&agreement=2`); `detail=false` leaves
    out the per-invoice rows, for a poll of many agreements."""
    return {"agreements": {str(a): landed(BOOKS.get(a), detail) for a in agreement}}


@router.get("/economic/books", response_class=HTMLResponse)
async def books_page(request: Request, agreement: int | None = None) -> HTMLResponse:
    company = COMPANIES.get(agreement) if agreement is not None else None
    context = {
        **LOOK,
        "title": "e-conomic books",
        "agreement": agreement,
        "company": company.name if company else None,
        "agreements": sorted(BOOKS),
        "books": summary(BOOKS[agreement]) if agreement in BOOKS else None,
    }
    return render(request, "economic_books.html", context)
