"""One agreement's books in the pretend e-conomic: its settings (seeded), its customers, draft
and booked invoices, journal vouchers, and the postings they make, so a test can count what
landed and the books page can show each account's balance."""

import copy
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from kobling_sandbox import economic_seeds as seeds


@dataclass
class Posting:
    """One side of a booking, in the base currency: debit positive, credit negative."""

    account: int
    amount: float
    text: str
    date: str
    kind: str  # customerInvoice, customerPayment, financeVoucher
    draft: bool  # a journal entry not yet booked by the merchant: counted in draftBalance
    customer: int | None = None


def _by(rows: tuple[dict[str, Any], ...], key: str) -> dict[Any, dict[str, Any]]:
    return {row[key]: copy.deepcopy(row) for row in rows}


@dataclass
class Books:
    customers: dict[int, dict[str, Any]] = field(default_factory=dict)
    drafts: dict[int, dict[str, Any]] = field(default_factory=dict)
    booked: dict[int, dict[str, Any]] = field(default_factory=dict)
    # (journal, accounting year, voucher number) → the voucher as e-conomic answers it.
    vouchers: dict[tuple[int, str, int], dict[str, Any]] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)  # journal entries, in order
    postings: list[Posting] = field(default_factory=list)
    # Idempotency-Key → (when, status, body, headers) of the first answer.
    answers: dict[str, tuple[float, int, Any, dict[str, str]]] = field(default_factory=dict)
    # When each booked invoice (by number) and journal entry (by number) was made, wall clock:
    # ours, not e-conomic's, for the benchmark's "webhook → booked" (economic_books_page.landed).
    booked_at: dict[int, float] = field(default_factory=dict)
    entered_at: dict[int, float] = field(default_factory=dict)
    layouts: dict[int, dict[str, Any]] = field(
        default_factory=lambda: _by(seeds.LAYOUTS, "layoutNumber")
    )
    payment_terms: dict[int, dict[str, Any]] = field(
        default_factory=lambda: _by(seeds.PAYMENT_TERMS, "paymentTermsNumber")
    )
    customer_groups: dict[int, dict[str, Any]] = field(
        default_factory=lambda: _by(seeds.CUSTOMER_GROUPS, "customerGroupNumber")
    )
    vat_zones: dict[int, dict[str, Any]] = field(
        default_factory=lambda: _by(seeds.VAT_ZONES, "vatZoneNumber")
    )
    product_groups: dict[int, dict[str, Any]] = field(
        default_factory=lambda: _by(seeds.PRODUCT_GROUPS, "productGroupNumber")
    )
    products: dict[str, dict[str, Any]] = field(
        default_factory=lambda: _by(seeds.PRODUCTS, "productNumber")
    )
    accounts: dict[int, dict[str, Any]] = field(
        default_factory=lambda: _by(seeds.ACCOUNTS, "accountNumber")
    )
    journals: dict[int, dict[str, Any]] = field(
        default_factory=lambda: _by(seeds.JOURNALS, "journalNumber")
    )
    years: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {
            y["year"]: y for y in seeds.accounting_years(date.fromtimestamp(time.time()))
        }
    )

    def open_year_of(self, day: str) -> dict[str, Any] | None:
        """The open accounting year a date falls in, if any."""
        return next(
            (
                y
                for y in self.years.values()
                if y["fromDate"] <= day <= y["toDate"] and not y.get("closed")
            ),
            None,
        )

    def next_voucher_number(self, journal: int, year: str) -> int:
        used = [n for (j, y, n) in self.vouchers if (j, y) == (journal, year)]
        return max(used, default=0) + 1

    def balances(self) -> dict[int, dict[str, float]]:
        """Per account: `balance` (booked postings) and `draftBalance` (with journal entries
        not yet booked), as `_accounts.md` names them."""
        totals = {n: {"balance": 0.0, "draftBalance": 0.0} for n in self.accounts}
        for posting in self.postings:
            row = totals.setdefault(posting.account, {"balance": 0.0, "draftBalance": 0.0})
            row["draftBalance"] = round(row["draftBalance"] + posting.amount, 2)
            if not posting.draft:
                row["balance"] = round(row["balance"] + posting.amount, 2)
        return totals

    def customer_balance(self, customer: int) -> float:
        """What the customer owes, journal entries included."""
        return round(sum(p.amount for p in self.postings if p.customer == customer), 2)


BOOKS: dict[int, Books] = {}


def books_of(agreement: int) -> Books:
    return BOOKS.setdefault(agreement, Books())


def to_base(amount: float, currency: str, exchange_rate: float | None) -> float:
    """An amount in the agreement's base currency: e-conomic's rates are per 100 units of the
    foreign currency; without one given, e-conomic's own daily rate (DOMAIN.md; contracts E36)."""
    if currency.upper() == seeds.BASE_CURRENCY:
        return round(amount, 2)
    rate = exchange_rate if exchange_rate else seeds.DAILY_RATES.get(currency.upper(), 100.0)
    return round(amount * rate / 100, 2)
