"""What landed in one agreement's books, for the demo (a read-only page) and for tests (its JSON
twin): customers, booked invoices with their totals, journal vouchers with their lines, and each
account's balance, so the Stripe clearing account's return to zero is there to see."""

from typing import Any

from fastapi import APIRouter, Request
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
