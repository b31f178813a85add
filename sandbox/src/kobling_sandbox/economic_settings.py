"""The settings a sync reads from e-conomic to offer its merchant choices and to validate them:
layouts, payment terms, customer groups, VAT zones, products and product groups, the chart of
accounts, accounting years and their booked entries (docs/external-contracts.md E33-E35), each
in the shape e-conomic/slate documents, with `self` links."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from kobling_sandbox.economic_ledger import Books
from kobling_sandbox.economic_rest import PREFIX, books_for, collection, not_found, present, url

router = APIRouter(prefix=PREFIX)
Shape = Callable[[Books, Any], dict[str, Any]]


def _layout(books: Books, n: int) -> dict[str, Any]:
    return {**books.layouts[n], "self": url(f"/layouts/{n}")}


def _payment_terms(books: Books, n: int) -> dict[str, Any]:
    return {**books.payment_terms[n], "self": url(f"/payment-terms/{n}")}


def _customer_group(books: Books, n: int) -> dict[str, Any]:
    group = dict(books.customer_groups[n])
    account = group.pop("account")
    return {
        **group,
        "account": {"accountNumber": account, "self": url(f"/accounts/{account}")},
        "customers": url(f"/customer-groups/{n}/customers"),
        "self": url(f"/customer-groups/{n}"),
    }


def _vat_zone(books: Books, n: int) -> dict[str, Any]:
    zone = {k: v for k, v in books.vat_zones[n].items() if k != "rate"}
    return {
        **zone,
        "enabledForCustomer": True,
        "enabledForSupplier": True,
        "self": url(f"/vat-zones/{n}"),
    }


def _product_group(books: Books, n: int) -> dict[str, Any]:
    group = books.product_groups[n]
    return {
        "productGroupNumber": n,
        "name": group["name"],
        "salesAccounts": url(f"/product-groups/{n}/sales-accounts"),
        "products": url(f"/product-groups/{n}/products"),
        "self": url(f"/product-groups/{n}"),
    }


def _product(books: Books, n: str) -> dict[str, Any]:
    product = dict(books.products[n])
    group = product.pop("productGroup")
    return {**product, "productGroup": _product_group(books, group), "self": url(f"/products/{n}")}


def _account(books: Books, n: int) -> dict[str, Any]:
    totals = books.balances().get(n, {"balance": 0.0, "draftBalance": 0.0})
    return present({**books.accounts[n], **totals, "self": url(f"/accounts/{n}")})


def _year(books: Books, year: str) -> dict[str, Any]:
    link = url(f"/accounting-years/{year}")
    return present(
        {
            **books.years[year],
            "entries": f"{link}/entries",
            "periods": f"{link}/periods",
            "totals": f"{link}/totals",
            "vouchers": f"{link}/vouchers",
            "self": link,
        }
    )


RESOURCES: dict[str, tuple[str, Shape, Callable[[Books], dict[Any, Any]], frozenset[str]]] = {
    "layouts": ("Layout", _layout, lambda b: b.layouts, frozenset({"layoutNumber", "name"})),
    "payment-terms": (
        "Payment terms",
        _payment_terms,
        lambda b: b.payment_terms,
        frozenset({"paymentTermsNumber", "name", "paymentTermsType"}),
    ),
    "customer-groups": (
        "Customer group",
        _customer_group,
        lambda b: b.customer_groups,
        frozenset({"customerGroupNumber", "name", "account.accountNumber"}),
    ),
    "vat-zones": ("VAT zone", _vat_zone, lambda b: b.vat_zones, frozenset()),
    "product-groups": ("Product group", _product_group, lambda b: b.product_groups, frozenset()),
    "products": (
        "Product",
        _product,
        lambda b: b.products,
        frozenset({"productNumber", "name", "barred", "productGroup.productGroupNumber"}),
    ),
    "accounts": (
        "Account",
        _account,
        lambda b: b.accounts,
        frozenset(
            {"accountNumber", "accountType", "barred", "blockDirectEntries", "name", "debitCredit"}
        ),
    ),
    "accounting-years": (
        "Accounting year",
        _year,
        lambda b: b.years,
        frozenset({"fromDate", "toDate", "year"}),
    ),
}


def _key(resource: str, raw: str) -> Any:
    """Products are numbered by strings, years by "2026", the rest by integers."""
    if resource in ("products", "accounting-years"):
        return raw
    return int(raw) if raw.lstrip("-").isdigit() else None


def _listing(resource: str) -> Callable[[Request], Any]:
    _, shape, table, filterable = RESOURCES[resource]

    async def listing(request: Request) -> Any:
        books = books_for(request)
        if isinstance(books, JSONResponse):
            return books
        items = [shape(books, key) for key in sorted(table(books))]
        return collection(request, f"/{resource}", items, filterable)

    return listing


def _single(resource: str) -> Callable[[str, Request], Any]:
    name, shape, table, _ = RESOURCES[resource]

    async def single(number: str, request: Request) -> Any:
        books = books_for(request)
        if isinstance(books, JSONResponse):
            return books
        key = _key(resource, number)
        if key not in table(books):
            return not_found(name)
        return JSONResponse(shape(books, key))

    return single


for _resource in RESOURCES:
    router.add_api_route(f"/{_resource}", _listing(_resource), methods=["GET"])
    router.add_api_route(f"/{_resource}/{{number}}", _single(_resource), methods=["GET"])


# `_accounting-years.md`: the filterable properties of a year's booked entries (of those ours
# carry).
YEAR_ENTRY_FILTERS = frozenset(
    {
        "amount",
        "amountInBaseCurrency",
        "customer.customerNumber",
        "date",
        "entryNumber",
        "entryType",
        "text",
        "voucherNumber",
    }
)


@router.get("/accounting-years/{year}/entries")
async def year_entries(year: str, request: Request) -> Any:
    """The booked entries of a year (invoices booked; journal entries only once the merchant
    books the journal, which the sandbox leaves to a person, as e-conomic does)."""
    books = books_for(request)
    if isinstance(books, JSONResponse):
        return books
    if year not in books.years:
        return not_found("Accounting year")
    items = []
    for number, posting in enumerate(books.postings, start=1):
        if posting.draft or not posting.date.startswith(year):
            continue
        entry: dict[str, Any] = {
            "entryNumber": number,
            "entryType": posting.kind,
            "account": {
                "accountNumber": posting.account,
                "self": url(f"/accounts/{posting.account}"),
            },
            "amount": posting.amount,
            "amountInBaseCurrency": posting.amount,
            "date": posting.date,
            "text": posting.text,
            "self": url(f"/accounting-years/{year}/entries/{number}"),
        }
        if posting.customer is not None:
            entry["customer"] = {
                "customerNumber": posting.customer,
                "self": url(f"/customers/{posting.customer}"),
            }
        items.append(entry)
    return collection(request, f"/accounting-years/{year}/entries", items, YEAR_ENTRY_FILTERS)
