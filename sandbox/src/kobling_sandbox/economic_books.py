"""A few of e-conomic's REST endpoints over each agreement's books, in the shapes restdocs
documents (docs/external-contracts.md, E17-E21): customers, draft invoices and journals, with
collections paged by `skippages`/`pagesize`. Enough for a sync service's test, not a ledger."""

import re
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from kobling_sandbox.config import settings
from kobling_sandbox.economic import _error, granted, state

router = APIRouter(prefix="/economic/api")
MAX_PAGE_SIZE = 1000
# e-conomic prices a line itself: the VAT rate comes from the line's product group and the
# recipient's VAT zone (1 Domestic, 2 EU, 3 Abroad, 4 Domestic exempt), never from what was sent.
ZONE_RATES = {1: 0.25, 2: 0.0, 3: 0.0, 4: 0.0}
PRODUCTS = {"1": 1, "2": 2}  # productNumber → productGroupNumber
VAT_FREE_GROUPS = {2}  # group 2 holds goods without VAT (momsfri)
JOURNALS = ({"journalNumber": 1, "name": "Daglig"}, {"journalNumber": 2, "name": "Stripe"})
IDEMPOTENCY_SECONDS = 3600  # a repeat within the hour gets the first answer


@dataclass
class Books:
    customers: dict[int, dict[str, Any]] = field(default_factory=dict)
    drafts: dict[int, dict[str, Any]] = field(default_factory=dict)
    # Idempotency-Key → (when, status, body, headers) of the first answer.
    answers: dict[str, tuple[float, int, Any, dict[str, str]]] = field(default_factory=dict)


BOOKS: dict[int, Books] = {}
Secret = Annotated[str | None, Header(alias="X-AppSecretToken")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
GrantToken = Annotated[str | None, Header(alias="X-AgreementGrantToken")]


def _books(app_secret: str | None, grant_token: str | None) -> Books | JSONResponse:
    state.api_calls += 1
    grant = granted(app_secret, grant_token)
    if isinstance(grant, JSONResponse):
        return grant
    return BOOKS.setdefault(grant.agreement_number, Books())


def _url(path: str) -> str:
    return f"{settings().economic_api_url}{path}"


def _invalid(errors: dict[str, str], values: Any = None) -> JSONResponse:
    """e-conomic's validation error: 400 "Validation error.", `errors` nested like the payload,
    each with errorCode, message, value and developerHint (and arrayIndex inside `lines`)."""
    nested: dict[str, Any] = {}
    for path, why in errors.items():
        node, parts = nested, path.split(".")
        index = None
        for part in parts[:-1]:
            name, _, position = part.partition("[")
            node = node.setdefault(name, {})
            if position:
                index = int(position.rstrip("]"))
        leaf = {
            "errorCode": "E06000",
            "message": why,
            "value": _value_at(values, path),
            "developerHint": f"Check '{path}'.",
        }
        if index is not None:
            leaf["arrayIndex"] = index
        node.setdefault(parts[-1], {"errors": []})["errors"].append(leaf)
    return _error(400, "Validation error.", errorCode="E04300", errors=nested)


def _value_at(body: Any, path: str) -> Any:
    node = body
    for part in path.split("."):
        name, _, position = part.partition("[")
        node = node.get(name) if isinstance(node, dict) else None
        if position and isinstance(node, list):
            i = int(position.rstrip("]"))
            node = node[i] if i < len(node) else None
    return node


def _present(body: Any) -> Any:
    """e-conomic leaves `false` booleans out of what it answers."""
    if isinstance(body, dict):
        return {k: _present(v) for k, v in body.items() if v is not False}
    if isinstance(body, list):
        return [_present(v) for v in body]
    return body


def _reference(value: Any, key: str, resource: str) -> int | None:
    """A reference given by number (`{"customerNumber": 7}`) or by self link
    (`{"self": ".../customers/7"}`): e-conomic takes either."""
    if not isinstance(value, dict):
        return None
    if value.get(key) not in (None, ""):
        try:
            return int(value[key])
        except (TypeError, ValueError):
            return None
    match = re.search(rf"/{resource}/(\d+)$", str(value.get("self") or ""))
    return int(match.group(1)) if match else None


def _created(books: Books, key: str | None, body: dict[str, Any], location: str) -> JSONResponse:
    headers = {"Location": location}
    if key:
        books.answers[key] = (time.time(), 201, body, headers)
    return JSONResponse(body, status_code=201, headers=headers)


def _repeat(books: Books, key: str | None) -> JSONResponse | None:
    """The first answer to this Idempotency-Key, within the hour, marked as from the cache."""
    if not key or key not in books.answers:
        return None
    at, status, body, headers = books.answers[key]
    if time.time() - at > IDEMPOTENCY_SECONDS:
        del books.answers[key]
        return None
    return JSONResponse(body, status_code=status, headers={**headers, "X-ResultFromCache": "true"})


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
    return {
        path: f"Property '{path}' is required."
        for path in paths
        if _value_at(body, path) in (None, "")
    }


@router.get("/customers")
async def customers(request: Request, secret: Secret = None, grant: GrantToken = None) -> Any:
    books = _books(secret, grant)
    if isinstance(books, JSONResponse):
        return books
    return _collection(request, "/customers", [books.customers[n] for n in sorted(books.customers)])


@router.post("/customers")
async def create_customer(
    request: Request,
    secret: Secret = None,
    grant: GrantToken = None,
    key: IdempotencyKey = None,
) -> Any:
    books = _books(secret, grant)
    if isinstance(books, JSONResponse):
        return books
    if (repeat := _repeat(books, key)) is not None:
        return repeat
    body = await request.json()
    errors = _missing(body, "name", "currency")
    for name, ref, resource in (
        ("customerGroup", "customerGroupNumber", "customer-groups"),
        ("paymentTerms", "paymentTermsNumber", "payment-terms"),
        ("vatZone", "vatZoneNumber", "vat-zones"),
    ):
        if _reference(body.get(name), ref, resource) is None:
            errors[f"{name}.{ref}"] = f"Property '{name}' is required."
    if errors:
        return _invalid(errors, body)
    number = int(body.get("customerNumber") or max(books.customers, default=0) + 1)
    if number in books.customers:
        return _invalid({"customerNumber": "Customer number already in use."}, body)
    customer = _present({**body, "customerNumber": number, "self": _url(f"/customers/{number}")})
    books.customers[number] = customer
    return _created(books, key, customer, customer["self"])


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
async def create_draft(
    request: Request,
    secret: Secret = None,
    grant: GrantToken = None,
    key: IdempotencyKey = None,
) -> Any:
    books = _books(secret, grant)
    if isinstance(books, JSONResponse):
        return books
    if (repeat := _repeat(books, key)) is not None:
        return repeat
    body = await request.json()
    errors = _missing(body, "date", "currency", "recipient.name")
    references = {
        "customer.customerNumber": _reference(body.get("customer"), "customerNumber", "customers"),
        "layout.layoutNumber": _reference(body.get("layout"), "layoutNumber", "layouts"),
        "paymentTerms.paymentTermsNumber": _reference(
            body.get("paymentTerms"), "paymentTermsNumber", "payment-terms"
        ),
    }
    recipient = body.get("recipient") if isinstance(body.get("recipient"), dict) else {}
    zone = _reference(recipient.get("vatZone"), "vatZoneNumber", "vat-zones")
    references["recipient.vatZone.vatZoneNumber"] = zone
    errors |= {p: f"Property '{p}' is required." for p, n in references.items() if n is None}
    customer = references["customer.customerNumber"]
    if customer is not None and customer not in books.customers:
        errors["customer.customerNumber"] = "Customer not found."
    lines = body.get("lines") if isinstance(body.get("lines"), list) else []
    errors |= _line_errors(lines)
    if errors:
        return _invalid(errors, body)
    number = max(books.drafts, default=0) + 1
    net, vat = _priced(lines, zone or 1)
    draft = _present(
        {
            **body,
            "draftInvoiceNumber": number,
            "netAmount": net,
            "vatAmount": vat,
            "grossAmount": round(net + vat, 2),
            "self": _url(f"/invoices/drafts/{number}"),
        }
    )
    books.drafts[number] = draft
    return _created(books, key, draft, draft["self"])


def _line_errors(lines: list[Any]) -> dict[str, str]:
    errors = {}
    for i, line in enumerate(lines):
        for name in ("quantity", "unitNetPrice"):
            value = line.get(name) if isinstance(line, dict) else None
            if value is not None and not isinstance(value, int | float):
                errors[f"lines[{i}].{name}"] = f"'{name}' must be a number."
        product = line.get("product") if isinstance(line, dict) else None
        if product is not None and str(product.get("productNumber")) not in PRODUCTS:
            errors[f"lines[{i}].product.productNumber"] = "Product not found."
    return errors


def _priced(lines: list[dict[str, Any]], zone: int) -> tuple[float, float]:
    """Net and VAT as e-conomic prices them: each line's rate from its product's group and the
    recipient's VAT zone. A line without unitNetPrice is priced 0 (a product's own price here)."""
    net = vat = 0.0
    for line in lines:
        amount = float(line.get("quantity", 1)) * float(line.get("unitNetPrice") or 0)
        group = PRODUCTS.get(str((line.get("product") or {}).get("productNumber")), 1)
        rate = 0.0 if group in VAT_FREE_GROUPS else ZONE_RATES.get(zone, 0.0)
        net, vat = net + amount, vat + amount * rate
    return round(net, 2), round(vat, 2)


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
    return _collection(request, "/journals", [_journal(j) for j in JOURNALS])


def _journal(journal: dict[str, Any]) -> dict[str, Any]:
    """A journal as e-conomic lists it: its settings and where its vouchers and entries are."""
    url = _url(f"/journals/{journal['journalNumber']}")
    return {
        **journal,
        "settings": {
            "voucherNumbers": {"minimumVoucherNumber": 1, "maximumVoucherNumber": 999999},
            "entryTypeRestrictedTo": "financeVoucher",
        },
        "vouchers": f"{url}/vouchers",
        "entries": f"{url}/entries",
        "self": url,
    }
