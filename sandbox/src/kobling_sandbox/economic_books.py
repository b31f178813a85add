"""A few of e-conomic's REST endpoints over each agreement's books, in the shapes restdocs
documents (docs/external-contracts.md, E17-E21): customers, draft invoices and journals, with
collections paged by `skippages`/`pagesize`. Enough for a sync service's test, not a ledger."""

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from kobling_sandbox.config import settings
from kobling_sandbox.economic import _error, granted, state

router = APIRouter(prefix="/economic/api")
MAX_PAGE_SIZE = 1000
VAT_RATE = 0.25  # Danish VAT on the domestic zone, what the sandbox's companies use
JOURNALS = ({"journalNumber": 1, "name": "Daglig"}, {"journalNumber": 2, "name": "Stripe"})


@dataclass
class Books:
    customers: dict[int, dict[str, Any]] = field(default_factory=dict)
    drafts: dict[int, dict[str, Any]] = field(default_factory=dict)


BOOKS: dict[int, Books] = {}
Secret = Annotated[str | None, Header(alias="X-AppSecretToken")]
GrantToken = Annotated[str | None, Header(alias="X-AgreementGrantToken")]


def _books(app_secret: str | None, grant_token: str | None) -> Books | JSONResponse:
    state.api_calls += 1
    grant = granted(app_secret, grant_token)
    if isinstance(grant, JSONResponse):
        return grant
    return BOOKS.setdefault(grant.agreement_number, Books())


def _url(path: str) -> str:
    return f"{settings().economic_api_url}{path}"


def _invalid(errors: dict[str, str]) -> JSONResponse:
    """e-conomic's validation error: 400, E04300, one entry per property."""
    return _error(
        400,
        f"Validation failed. {len(errors)} errors found.",
        errorCode="E04300",
        errors={
            name: {"errors": [{"propertyName": name, "errorMessage": why, "errorCode": "E00200"}]}
            for name, why in errors.items()
        },
    )


def _collection(request: Request, path: str, items: list[dict[str, Any]]) -> JSONResponse:
    try:
        skip = int(request.query_params.get("skippages", 0))
        size = int(request.query_params.get("pagesize", 20))
    except ValueError:
        return _invalid({"pagesize": "skippages and pagesize are whole numbers"})
    if size < 1 or size > MAX_PAGE_SIZE or skip < 0:
        return _invalid({"pagesize": f"pagesize is 1 to {MAX_PAGE_SIZE}"})
    last = max(0, (len(items) - 1) // size)

    def page(n: int) -> str:
        return _url(f"{path}?skippages={n}&pagesize={size}")

    pagination: dict[str, Any] = {
        "maxPageSizeAllowed": MAX_PAGE_SIZE,
        "skipPages": skip,
        "pageSize": size,
        "results": len(items),
        "resultsWithoutFilter": len(items),
        "firstPage": page(0),
        "lastPage": page(last),
    }
    if skip < last:
        pagination["nextPage"] = page(skip + 1)
    if skip > 0:
        pagination["previousPage"] = page(skip - 1)
    body = {
        "collection": items[skip * size : (skip + 1) * size],
        "pagination": pagination,
        "metaData": {},
        "self": _url(path),
    }
    return JSONResponse(body)


def _missing(body: Any, *paths: str) -> dict[str, str]:
    """The required properties (dotted paths) absent from `body`."""
    missing = {}
    for path in paths:
        node = body
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node in (None, ""):
            missing[path] = f"Property '{path}' is required."
    return missing


@router.get("/customers")
async def customers(request: Request, secret: Secret = None, grant: GrantToken = None) -> Any:
    books = _books(secret, grant)
    if isinstance(books, JSONResponse):
        return books
    return _collection(request, "/customers", [books.customers[n] for n in sorted(books.customers)])


@router.post("/customers")
async def create_customer(request: Request, secret: Secret = None, grant: GrantToken = None) -> Any:
    books = _books(secret, grant)
    if isinstance(books, JSONResponse):
        return books
    body = await request.json()
    required = (
        "name",
        "currency",
        "customerGroup.customerGroupNumber",
        "paymentTerms.paymentTermsNumber",
        "vatZone.vatZoneNumber",
    )
    if errors := _missing(body, *required):
        return _invalid(errors)
    number = int(body.get("customerNumber") or max(books.customers, default=0) + 1)
    if number in books.customers:
        return _invalid({"customerNumber": "Customer number already in use."})
    customer = {**body, "customerNumber": number, "self": _url(f"/customers/{number}")}
    books.customers[number] = customer
    return JSONResponse(customer, status_code=201)


@router.get("/customers/{number}")
async def customer(number: int, secret: Secret = None, grant: GrantToken = None) -> Any:
    books = _books(secret, grant)
    if isinstance(books, JSONResponse):
        return books
    if number not in books.customers:
        return _error(404, "Customer not found.")
    return JSONResponse(books.customers[number])


@router.get("/invoices/drafts")
async def drafts(request: Request, secret: Secret = None, grant: GrantToken = None) -> Any:
    books = _books(secret, grant)
    if isinstance(books, JSONResponse):
        return books
    items = [books.drafts[n] for n in sorted(books.drafts)]
    return _collection(request, "/invoices/drafts", items)


@router.post("/invoices/drafts")
async def create_draft(request: Request, secret: Secret = None, grant: GrantToken = None) -> Any:
    books = _books(secret, grant)
    if isinstance(books, JSONResponse):
        return books
    body = await request.json()
    required = (
        "date",
        "currency",
        "customer.customerNumber",
        "recipient.name",
        "recipient.vatZone.vatZoneNumber",
        "layout.layoutNumber",
        "paymentTerms.paymentTermsNumber",
    )
    if errors := _missing(body, *required):
        return _invalid(errors)
    if int(body["customer"]["customerNumber"]) not in books.customers:
        return _invalid({"customer.customerNumber": "Customer not found."})
    number = max(books.drafts, default=0) + 1
    lines = body.get("lines") or []
    net = round(sum(float(ln.get("quantity", 1)) * float(ln["unitNetPrice"]) for ln in lines), 2)
    vat = round(net * VAT_RATE, 2)
    draft = {
        **body,
        "draftInvoiceNumber": number,
        "netAmount": net,
        "vatAmount": vat,
        "grossAmount": round(net + vat, 2),
        "self": _url(f"/invoices/drafts/{number}"),
    }
    books.drafts[number] = draft
    return JSONResponse(draft, status_code=201)


@router.get("/invoices/drafts/{number}")
async def draft(number: int, secret: Secret = None, grant: GrantToken = None) -> Any:
    books = _books(secret, grant)
    if isinstance(books, JSONResponse):
        return books
    if number not in books.drafts:
        return _error(404, "Draft invoice not found.")
    return JSONResponse(books.drafts[number])


@router.get("/journals")
async def journals(request: Request, secret: Secret = None, grant: GrantToken = None) -> Any:
    books = _books(secret, grant)
    if isinstance(books, JSONResponse):
        return books
    items = [
        {**journal, "self": _url(f"/journals/{journal['journalNumber']}")} for journal in JOURNALS
    ]
    return _collection(request, "/journals", items)
