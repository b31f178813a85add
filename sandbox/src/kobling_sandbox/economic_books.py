"""e-conomic's customers and invoices over each agreement's books, in the shapes restdocs
documents (docs/external-contracts.md E19-E21, E26-E29): customers, draft invoices priced by
e-conomic itself, and booking a draft, which is irreversible and removes the draft."""

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from kobling_sandbox.economic_ledger import BOOKS, Books, Posting, to_base
from kobling_sandbox.economic_rest import (
    PREFIX,
    books_for,
    collection,
    created,
    invalid,
    missing,
    not_found,
    present,
    reference,
    repeat,
    url,
)
from kobling_sandbox.economic_seeds import RECEIVABLES_ACCOUNT, SALES_VAT_ACCOUNT

__all__ = ["BOOKS", "router"]
router = APIRouter(prefix=PREFIX)

# The filterable properties restdocs lists (e-conomic/slate `_invoices.md`, `_customers.md`), of
# those the sandbox's objects carry.
CUSTOMER_FILTERS = frozenset(
    {"name", "currency", "customerNumber", "email", "corporateIdentificationNumber", "barred"}
)
DRAFT_FILTERS = frozenset(
    {
        "currency",
        "customer.customerNumber",
        "date",
        "draftInvoiceNumber",
        "recipient.name",
        "references.other",
        "notes.heading",
    }
)
BOOKED_FILTERS = DRAFT_FILTERS - {"draftInvoiceNumber"} | {"bookedInvoiceNumber"}


@router.get("/customers")
async def customers(request: Request) -> Any:
    books = books_for(request)
    if isinstance(books, JSONResponse):
        return books
    items = [books.customers[n] for n in sorted(books.customers)]
    return collection(request, "/customers", items, CUSTOMER_FILTERS)


@router.post("/customers")
async def create_customer(request: Request) -> Any:
    books = books_for(request)
    if isinstance(books, JSONResponse):
        return books
    if (again := repeat(books, request)) is not None:
        return again
    body = await request.json()
    errors = missing(body, "name", "currency")
    for name, ref, resource, known in (
        ("customerGroup", "customerGroupNumber", "customer-groups", books.customer_groups),
        ("paymentTerms", "paymentTermsNumber", "payment-terms", books.payment_terms),
        ("vatZone", "vatZoneNumber", "vat-zones", books.vat_zones),
    ):
        number = reference(body.get(name), ref, resource)
        if number is None:
            errors[f"{name}.{ref}"] = f"Property '{name}' is required."
        elif number not in known:
            errors[f"{name}.{ref}"] = f"{name} {number} not found."
    if errors:
        return invalid(errors, body)
    number = int(body.get("customerNumber") or max(books.customers, default=0) + 1)
    if number in books.customers:
        return invalid({"customerNumber": "Customer number already in use."}, body)
    customer = present({**body, "customerNumber": number, "self": url(f"/customers/{number}")})
    books.customers[number] = customer
    return created(books, request.headers.get("Idempotency-Key"), customer, customer["self"])


@router.get("/customers/{number}")
async def customer(number: int, request: Request) -> Any:
    books = books_for(request)
    if isinstance(books, JSONResponse):
        return books
    if number not in books.customers:
        return not_found("Customer")
    return JSONResponse(books.customers[number])


def _listed(invoice: dict[str, Any]) -> dict[str, Any]:
    """Collections carry no `lines`: only the single invoice does (verified by Pogoe/EConomic.NET
    on a live agreement)."""
    return {k: v for k, v in invoice.items() if k != "lines"}


@router.get("/invoices/drafts")
async def drafts(request: Request) -> Any:
    books = books_for(request)
    if isinstance(books, JSONResponse):
        return books
    items = [_listed(books.drafts[n]) for n in sorted(books.drafts)]
    return collection(request, "/invoices/drafts", items, DRAFT_FILTERS)


@router.post("/invoices/drafts")
async def create_draft(request: Request) -> Any:
    books = books_for(request)
    if isinstance(books, JSONResponse):
        return books
    if (again := repeat(books, request)) is not None:
        return again
    body = await request.json()
    errors = _draft_errors(books, body)
    if errors:
        return invalid(errors, body)
    number = max(books.drafts, default=0) + 1
    lines = body.get("lines") or []
    zone = reference(body["recipient"].get("vatZone"), "vatZoneNumber", "vat-zones") or 1
    net, vat = _priced(books, lines, zone)
    draft = present(
        {
            **body,
            "draftInvoiceNumber": number,
            "netAmount": net,
            "vatAmount": vat,
            "grossAmount": round(net + vat, 2),
            "self": url(f"/invoices/drafts/{number}"),
        }
    )
    books.drafts[number] = draft
    return created(books, request.headers.get("Idempotency-Key"), draft, draft["self"])


def _draft_errors(books: Books, body: dict[str, Any]) -> dict[str, str]:
    errors = missing(body, "date", "currency", "recipient.name")
    recipient = body["recipient"] if isinstance(body.get("recipient"), dict) else {}
    references = {
        "customer.customerNumber": (
            reference(body.get("customer"), "customerNumber", "customers"),
            books.customers,
        ),
        "layout.layoutNumber": (
            reference(body.get("layout"), "layoutNumber", "layouts"),
            books.layouts,
        ),
        "paymentTerms.paymentTermsNumber": (
            reference(body.get("paymentTerms"), "paymentTermsNumber", "payment-terms"),
            books.payment_terms,
        ),
        "recipient.vatZone.vatZoneNumber": (
            reference(recipient.get("vatZone"), "vatZoneNumber", "vat-zones"),
            books.vat_zones,
        ),
    }
    for path, (number, known) in references.items():
        if number is None:
            errors[path] = f"Property '{path.split('.')[-2]}' is required."
        elif number not in known:
            errors[path] = f"{path.split('.')[-2]} {number} not found."
    other = (body.get("references") or {}).get("other")
    if other is not None and len(str(other)) > 250:
        errors["references.other"] = "references.other is at most 250 characters."
    lines = body["lines"] if isinstance(body.get("lines"), list) else []
    return errors | _line_errors(books, lines)


def _line_errors(books: Books, lines: list[Any]) -> dict[str, str]:
    errors = {}
    for i, line in enumerate(lines):
        for name in ("quantity", "unitNetPrice"):
            value = line.get(name) if isinstance(line, dict) else None
            if value is not None and not isinstance(value, int | float):
                errors[f"lines[{i}].{name}"] = f"'{name}' must be a number."
            elif name == "unitNetPrice" and value is not None and round(value, 2) != value:
                errors[f"lines[{i}].{name}"] = "unitNetPrice takes at most two decimals."
        product = line.get("product") if isinstance(line, dict) else None
        if product is not None and str(product.get("productNumber")) not in books.products:
            errors[f"lines[{i}].product.productNumber"] = "Product not found."
        elif product is not None and not line.get("description"):
            errors[f"lines[{i}].description"] = "A line with a product needs a description."
    return errors


def _priced(books: Books, lines: list[dict[str, Any]], zone: int) -> tuple[float, float]:
    """Net and VAT as e-conomic prices them: each line's rate from its product's group and the
    recipient's VAT zone. A line without unitNetPrice is priced 0 (a product's own price here)."""
    net = vat = 0.0
    rate = books.vat_zones[zone]["rate"] if zone in books.vat_zones else 0.0
    for line in lines:
        amount = float(line.get("quantity", 1)) * float(line.get("unitNetPrice") or 0)
        net, vat = net + amount, vat + amount * rate * _bears_vat(books, line)
    return round(net, 2), round(vat, 2)


def _bears_vat(books: Books, line: dict[str, Any]) -> bool:
    return bool(books.product_groups[_group_of(books, line)]["vat"])


def _group_of(books: Books, line: dict[str, Any]) -> int:
    """A line's product group; a line without a product is priced as group 1 (ours)."""
    product = books.products.get(str((line.get("product") or {}).get("productNumber")))
    return int(product["productGroup"]) if product else 1


@router.get("/invoices/drafts/{number}")
async def draft(number: int, request: Request) -> Any:
    books = books_for(request)
    if isinstance(books, JSONResponse):
        return books
    if number not in books.drafts:
        return not_found("Draft invoice")
    return JSONResponse(books.drafts[number])


@router.post("/invoices/booked")
async def book(request: Request) -> Any:
    """Books a draft: the booked invoice gets its own number, keeps what the draft carried
    (`references.other` included: unverified) and the draft is gone (E27)."""
    books = books_for(request)
    if isinstance(books, JSONResponse):
        return books
    if (again := repeat(books, request)) is not None:
        return again
    body = await request.json()
    number = reference(body.get("draftInvoice"), "draftInvoiceNumber", "drafts")
    if number is None:
        return invalid({"draftInvoice.draftInvoiceNumber": "Property is required."}, body)
    if number not in books.drafts:
        return invalid({"draftInvoice.draftInvoiceNumber": "Draft invoice not found."}, body)
    draft = books.drafts[number]
    if books.open_year_of(draft["date"]) is None:
        return invalid({"date": "The date is not in an open accounting year."}, draft)
    booked_number = body.get("bookWithNumber") or max(books.booked, default=0) + 1
    if booked_number in books.booked:
        return invalid({"bookWithNumber": "An invoice with this number is already booked."}, body)
    invoice = _booked(books, draft, int(booked_number))
    del books.drafts[number]
    books.booked[invoice["bookedInvoiceNumber"]] = invoice
    books.booked_at[invoice["bookedInvoiceNumber"]] = time.time()
    _post_invoice(books, invoice)
    return created(books, request.headers.get("Idempotency-Key"), invoice, invoice["self"])


def _booked(books: Books, draft: dict[str, Any], number: int) -> dict[str, Any]:
    kept = {k: v for k, v in draft.items() if k not in ("draftInvoiceNumber", "self", "soap")}
    rate = draft.get("exchangeRate")
    gross = to_base(draft["grossAmount"], draft["currency"], rate)
    invoice = {
        **kept,
        "bookedInvoiceNumber": number,
        "netAmountInBaseCurrency": to_base(draft["netAmount"], draft["currency"], rate),
        "grossAmountInBaseCurrency": gross,
        "remainder": draft["grossAmount"],
        "remainderInBaseCurrency": gross,
        "roundingAmount": 0.0,
        "pdf": {"self": url(f"/invoices/booked/{number}/pdf")},
        "self": url(f"/invoices/booked/{number}"),
    }
    return present(invoice)


def _post_invoice(books: Books, invoice: dict[str, Any]) -> None:
    """Receivable debited with the gross, each line's sales account credited with its net, the
    sales VAT account with the VAT, all in the base currency."""
    day, currency, rate = invoice["date"], invoice["currency"], invoice.get("exchangeRate")
    customer = reference(invoice.get("customer"), "customerNumber", "customers")
    text = f"Faktura {invoice['bookedInvoiceNumber']}"
    gross = to_base(invoice["grossAmount"], currency, rate)
    books.postings.append(
        Posting(RECEIVABLES_ACCOUNT, gross, text, day, "customerInvoice", False, customer)
    )
    zone = reference(invoice["recipient"].get("vatZone"), "vatZoneNumber", "vat-zones") or 1
    credited = 0.0
    for line in invoice.get("lines") or []:
        net, _ = _priced(books, [line], zone)
        account = books.product_groups[_group_of(books, line)]["salesAccount"]
        amount = to_base(net, currency, rate)
        credited += amount
        books.postings.append(Posting(account, -amount, text, day, "customerInvoice", False))
    vat = round(gross - credited, 2)
    books.postings.append(Posting(SALES_VAT_ACCOUNT, -vat, text, day, "customerInvoice", False))


@router.get("/invoices/booked")
async def booked(request: Request) -> Any:
    books = books_for(request)
    if isinstance(books, JSONResponse):
        return books
    items = [_listed(books.booked[n]) for n in sorted(books.booked)]
    return collection(request, "/invoices/booked", items, BOOKED_FILTERS)


@router.get("/invoices/booked/{number}")
async def booked_invoice(number: int, request: Request) -> Any:
    books = books_for(request)
    if isinstance(books, JSONResponse):
        return books
    if number not in books.booked:
        return not_found("Booked invoice")
    return JSONResponse(books.booked[number])
