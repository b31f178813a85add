"""e-conomic's journals (kassekladder): vouchers posted to a journal and the entries they hold,
findable by their text (docs/external-contracts.md E22, E30-E32, E35). Entries stay in the
journal, as in e-conomic, until the merchant books it there: they count in the accounts'
`draftBalance`."""

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from kobling_sandbox.economic_ledger import Books, Posting, to_base
from kobling_sandbox.economic_rest import (
    PREFIX,
    books_for,
    collection,
    created,
    invalid,
    missing,
    not_found,
    reference,
    repeat,
    url,
)
from kobling_sandbox.economic_seeds import BASE_CURRENCY, RECEIVABLES_ACCOUNT

router = APIRouter(prefix=PREFIX)
ENTRY_TYPES = {"customerPayments": "customerPayment", "financeVouchers": "financeVoucher"}
# `_journals.md`: the filterable properties of a journal's entries (those the sandbox carries).
ENTRY_FILTERS = frozenset(
    {
        "amount",
        "contraAccount.accountNumber",
        "currency.code",
        "date",
        "entryType",
        "journalEntryNumber",
        "text",
        "voucher.voucherNumber",
    }
)
TEXT_LIMIT = 250


@router.get("/journals")
async def journals(request: Request) -> Any:
    books = books_for(request)
    if isinstance(books, JSONResponse):
        return books
    items = [_journal(j) for _, j in sorted(books.journals.items())]
    return collection(request, "/journals", items, frozenset({"journalNumber", "name"}))


@router.get("/journals/{journal}")
async def journal(journal: int, request: Request) -> Any:
    books = books_for(request)
    if isinstance(books, JSONResponse):
        return books
    if journal not in books.journals:
        return not_found("Journal")
    return JSONResponse(_journal(books.journals[journal]))


def _journal(journal: dict[str, Any]) -> dict[str, Any]:
    """A journal as e-conomic lists it: its settings and where its vouchers and entries are."""
    link = url(f"/journals/{journal['journalNumber']}")
    return {
        **journal,
        "settings": {
            "voucherNumbers": {"minimumVoucherNumber": 1, "maximumVoucherNumber": 999999},
            "entryTypeRestrictedTo": "financeVoucher",
        },
        "vouchers": f"{link}/vouchers",
        "entries": f"{link}/entries",
        "self": link,
    }


@router.post("/journals/{journal}/vouchers")
async def post_vouchers(journal: int, request: Request) -> Any:
    """Creates vouchers and their entries; answers 201 with a JSON array of vouchers (verified by
    Pogoe/EConomic.NET on a live agreement). All or nothing: one invalid entry refuses the lot
    (unverified: build for a partial answer too)."""
    books = books_for(request)
    if isinstance(books, JSONResponse):
        return books
    if (again := repeat(books, request)) is not None:
        return again
    if journal not in books.journals:
        return not_found("Journal")
    body = await request.json()
    vouchers = body if isinstance(body, list) else [body]
    errors: dict[str, str] = {}
    for i, voucher in enumerate(vouchers):
        where = f"[{i}]." if isinstance(body, list) else ""
        errors |= {f"{where}{k}": v for k, v in _voucher_errors(books, voucher).items()}
    if errors:
        return invalid(errors, body)
    answer = [made for voucher in vouchers for made in _record(books, journal, voucher)]
    return created(books, request.headers.get("Idempotency-Key"), answer, answer[0]["self"])


def _voucher_errors(books: Books, voucher: dict[str, Any]) -> dict[str, str]:
    errors = missing(voucher, "accountingYear.year")
    year = str((voucher.get("accountingYear") or {}).get("year") or "")
    if year and year not in books.years:
        errors["accountingYear.year"] = f"Accounting year {year} not found."
    elif year and books.years[year].get("closed"):
        errors["accountingYear.year"] = f"Accounting year {year} is closed."
    entries = voucher.get("entries") or {}
    if not any(entries.get(kind) for kind in ENTRY_TYPES):
        errors["entries"] = "A voucher needs at least one entry."
    for kind in ENTRY_TYPES:
        for i, entry in enumerate(entries.get(kind) or []):
            for path, why in _entry_errors(books, kind, entry, year).items():
                errors[f"entries.{kind}[{i}].{path}"] = why
    return errors


def _entry_errors(books: Books, kind: str, entry: dict[str, Any], year: str) -> dict[str, str]:
    errors = missing(entry, "amount", "date")
    if not isinstance(entry.get("amount", 0), int | float):
        errors["amount"] = "'amount' must be a number."
    text = entry.get("text") or ""
    if len(text) > TEXT_LIMIT:
        errors["text"] = f"text is at most {TEXT_LIMIT} characters."
    day = str(entry.get("date") or "")
    if (
        day
        and year in books.years
        and not (books.years[year]["fromDate"] <= day <= books.years[year]["toDate"])
    ):
        errors["date"] = f"The date is not in accounting year {year}."
    if kind == "customerPayments":
        customer = reference(entry.get("customer"), "customerNumber", "customers")
        if customer is None or customer not in books.customers:
            errors["customer.customerNumber"] = "Customer not found."
        invoice = entry.get("customerInvoice")
        if invoice is not None and invoice not in books.booked:
            errors["customerInvoice"] = f"Booked invoice {invoice} not found."
        sides = {"contraAccount": entry.get("contraAccount")}
    else:
        sides = {"account": entry.get("account"), "contraAccount": entry.get("contraAccount")}
    for side, value in sides.items():
        if (why := _unpostable(books, value)) is not None:
            errors[f"{side}.accountNumber"] = why
    return errors


def _unpostable(books: Books, value: Any) -> str | None:
    """Why an account takes no journal entry: unknown, barred, blocked for direct entries, or a
    heading or sum (`_accounts.md`; "both accounts must accept direct entries", Pogoe)."""
    number = reference(value, "accountNumber", "accounts")
    if number is None:
        return "Property 'accountNumber' is required."
    account = books.accounts.get(number)
    if account is None:
        return f"Account {number} not found."
    if account.get("barred"):
        return f"Account {number} is barred."
    if account.get("blockDirectEntries"):
        return f"Account {number} does not allow direct entries."
    if account["accountType"] not in ("profitAndLoss", "status"):
        return f"Account {number} is a {account['accountType']} and takes no entries."
    return None


def _record(books: Books, journal: int, voucher: dict[str, Any]) -> list[dict[str, Any]]:
    """Entries that name a voucher number go to that voucher; the rest share the next number.
    Each voucher made is answered as e-conomic answers one."""
    year = str(voucher["accountingYear"]["year"])
    fresh = books.next_voucher_number(journal, year)
    grouped: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for kind in ENTRY_TYPES:
        for entry in voucher["entries"].get(kind) or []:
            number = int((entry.get("voucher") or {}).get("voucherNumber") or fresh)
            grouped.setdefault(number, {}).setdefault(kind, []).append(entry)
    made = []
    for number, entries in sorted(grouped.items()):
        link = url(f"/journals/{journal}/vouchers/{year}-{number}")
        stored = {
            kind: [_entry(books, journal, year, number, kind, e) for e in rows]
            for kind, rows in entries.items()
        }
        previous = books.vouchers.get((journal, year, number), {}).get("entries", {})
        for kind, rows in previous.items():
            stored[kind] = rows + stored.get(kind, [])
        books.vouchers[(journal, year, number)] = {
            "accountingYear": {"year": year, "self": url(f"/accounting-years/{year}")},
            "journal": {"journalNumber": journal, "self": url(f"/journals/{journal}")},
            "entries": stored,
            "voucherNumber": number,
            "self": link,
        }
        made.append(books.vouchers[(journal, year, number)])
    return made


def _entry(
    books: Books, journal: int, year: str, voucher: int, kind: str, sent: dict[str, Any]
) -> dict[str, Any]:
    number = len(books.entries) + 1
    currency = str((sent.get("currency") or {}).get("code") or BASE_CURRENCY)
    entry = {
        **sent,
        "entryType": ENTRY_TYPES[kind],
        "journalEntryNumber": number,
        "currency": {"code": currency, "self": url(f"/currencies/{currency}")},
        "journal": {"journalNumber": journal, "self": url(f"/journals/{journal}")},
        "voucher": {
            "voucherNumber": voucher,
            "accountingYear": {"year": year, "self": url(f"/accounting-years/{year}")},
            "self": url(f"/journals/{journal}/vouchers/{year}-{voucher}"),
        },
        "self": url(f"/journals/{journal}/entries/{number}"),
    }
    books.entries.append(entry)
    books.entered_at[number] = time.time()
    _post_entry(books, kind, entry)
    return entry


def _post_entry(books: Books, kind: str, entry: dict[str, Any]) -> None:
    """A positive amount debits `account` and credits `contraAccount`; a customer payment's
    positive amount credits the customer and debits the contra account (both readings
    unverified: DOMAIN.md asks to check the sign on a developer agreement)."""
    amount = to_base(float(entry["amount"]), entry["currency"]["code"], entry.get("exchangeRate"))
    text, day = entry.get("text") or "", entry["date"]
    contra = reference(entry["contraAccount"], "accountNumber", "accounts")
    assert contra is not None  # validated before
    if kind == "customerPayments":
        customer = reference(entry["customer"], "customerNumber", "customers")
        debit, credit, owner = contra, RECEIVABLES_ACCOUNT, customer
    else:
        debit = reference(entry["account"], "accountNumber", "accounts") or 0
        credit, owner = contra, None
    label = ENTRY_TYPES[kind]
    books.postings.append(Posting(debit, amount, text, day, label, True))
    books.postings.append(Posting(credit, -amount, text, day, label, True, owner))


@router.get("/journals/{journal}/vouchers")
async def vouchers(journal: int, request: Request) -> Any:
    books = books_for(request)
    if isinstance(books, JSONResponse):
        return books
    items = [v for (j, _, _), v in sorted(books.vouchers.items()) if j == journal]
    return collection(request, f"/journals/{journal}/vouchers", items)


@router.get("/journals/{journal}/vouchers/{key}")
async def voucher(journal: int, key: str, request: Request) -> Any:
    """A voucher is addressed as `{accountingYear}-{voucherNumber}` (e.g. `2026-2`)."""
    books = books_for(request)
    if isinstance(books, JSONResponse):
        return books
    year, _, number = key.rpartition("-")
    found = books.vouchers.get((journal, year, int(number))) if number.isdigit() else None
    return JSONResponse(found) if found else not_found("Voucher")


@router.get("/journals/{journal}/entries")
async def entries(journal: int, request: Request) -> Any:
    books = books_for(request)
    if isinstance(books, JSONResponse):
        return books
    items = [e for e in books.entries if e["journal"]["journalNumber"] == journal]
    return collection(request, f"/journals/{journal}/entries", items, ENTRY_FILTERS)
