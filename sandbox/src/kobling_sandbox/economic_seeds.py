"""What a new agreement's books hold before anyone syncs: the settings a Danish company has
(layouts, payment terms, customer groups, VAT zones, products and their groups, journals, a chart
of accounts, accounting years). These are the sandbox's seeds, not e-conomic's standard chart:
e-conomic/slate's own examples post to accounts 1010 and 5820 (`_journals.md`), the other numbers
are ours (docs/external-contracts.md E33)."""

from datetime import date
from typing import Any

LAYOUTS = ({"layoutNumber": 19, "name": "Standard"}, {"layoutNumber": 21, "name": "English"})

# paymentTermsType is one of e-conomic's enum (`_payment-terms.md`): net, invoiceMonth,
# paidInCash, prepaid, dueDate, factoring, invoiceWeekStartingSunday, invoiceWeekStartingMonday,
# creditcard.
PAYMENT_TERMS = (
    {"paymentTermsNumber": 1, "name": "Netto 8 dage", "paymentTermsType": "net", "daysOfCredit": 8},
    {
        "paymentTermsNumber": 2,
        "name": "Kontant",
        "paymentTermsType": "paidInCash",
        "daysOfCredit": 0,
    },
    {"paymentTermsNumber": 3, "name": "Kort", "paymentTermsType": "creditcard", "daysOfCredit": 0},
    {"paymentTermsNumber": 4, "name": "Forudbetalt", "paymentTermsType": "prepaid"},
)

CUSTOMER_GROUPS = (
    {"customerGroupNumber": 1, "name": "Indenlandske kunder", "account": 5600},
    {"customerGroupNumber": 2, "name": "Udenlandske kunder", "account": 5600},
)

# 1 Domestic, 2 EU, 3 Abroad, 4 Domestic exempt; the VAT rate a zone applies to a line of a
# VAT-liable product group (ours: Danish 25 % at home, none elsewhere; unverified per country).
VAT_ZONES = (
    {"vatZoneNumber": 1, "name": "Domestic", "rate": 0.25},
    {"vatZoneNumber": 2, "name": "EU", "rate": 0.0},
    {"vatZoneNumber": 3, "name": "Abroad", "rate": 0.0},
    {"vatZoneNumber": 4, "name": "Domestic exempt", "rate": 0.0},
)

# A product group carries the sales account its lines are booked to and whether its lines bear
# VAT (e-conomic: through the group's sales accounts' VAT codes).
PRODUCT_GROUPS = (
    {"productGroupNumber": 1, "name": "Varer m/moms", "salesAccount": 1010, "vat": True},
    {"productGroupNumber": 2, "name": "Varer u/moms", "salesAccount": 1020, "vat": False},
)

PRODUCTS = (
    {"productNumber": "1", "name": "Stripe sales", "productGroup": 1, "salesPrice": 0.0},
    {"productNumber": "2", "name": "Momsfri ydelse", "productGroup": 2, "salesPrice": 0.0},
)

# accountType as `_accounts.md` lists it; `blockDirectEntries` accounts take no journal entry,
# `barred` ones nothing at all; headings and sums are never posted to.
ACCOUNTS = (
    {"accountNumber": 1000, "name": "Omsætning", "accountType": "heading"},
    {
        "accountNumber": 1010,
        "name": "Salg af varer/ydelser m/moms",
        "accountType": "profitAndLoss",
        "debitCredit": "credit",
    },
    {
        "accountNumber": 1020,
        "name": "Salg af varer/ydelser u/moms",
        "accountType": "profitAndLoss",
        "debitCredit": "credit",
    },
    {
        "accountNumber": 5600,
        "name": "Debitorer",
        "accountType": "status",
        "debitCredit": "debit",
        "blockDirectEntries": True,
    },
    {"accountNumber": 5800, "name": "Likvide beholdninger", "accountType": "heading"},
    {"accountNumber": 5820, "name": "Bank", "accountType": "status", "debitCredit": "debit"},
    {
        "accountNumber": 5830,
        "name": "Stripe clearing",
        "accountType": "status",
        "debitCredit": "debit",
    },
    {
        "accountNumber": 5850,
        "name": "Gammel bank (spærret)",
        "accountType": "status",
        "debitCredit": "debit",
        "barred": True,
    },
    {
        "accountNumber": 5890,
        "name": "Afventende poster (suspense)",
        "accountType": "status",
        "debitCredit": "debit",
    },
    {"accountNumber": 6902, "name": "Salgsmoms", "accountType": "status", "debitCredit": "credit"},
    {
        "accountNumber": 7220,
        "name": "Gebyrer (Stripe fees)",
        "accountType": "profitAndLoss",
        "debitCredit": "debit",
    },
    {
        "accountNumber": 8330,
        "name": "Kursdifferencer",
        "accountType": "profitAndLoss",
        "debitCredit": "debit",
    },
)
RECEIVABLES_ACCOUNT = 5600
SALES_VAT_ACCOUNT = 6902

JOURNALS = ({"journalNumber": 1, "name": "Daglig"}, {"journalNumber": 2, "name": "Stripe"})

# e-conomic's own daily rate, per 100 units of the currency, used when a draft names no
# exchangeRate (DOMAIN.md); ours, and deliberately not Stripe's (stripe_money.RATES).
DAILY_RATES = {
    "DKK": 100.0,
    "EUR": 746.0,
    "SEK": 64.5,
    "NOK": 63.0,
    "USD": 690.0,
    "GBP": 870.0,
    "JPY": 4.5,
}
BASE_CURRENCY = "DKK"


def accounting_years(today: date) -> list[dict[str, Any]]:
    """Last year, closed; this year and next, open (so a December booking finds its year)."""
    years = []
    for year in (today.year - 1, today.year, today.year + 1):
        entry: dict[str, Any] = {
            "year": str(year),  # a string in e-conomic's answers ("2027")
            "fromDate": f"{year}-01-01",
            "toDate": f"{year}-12-31",
        }
        if year < today.year:
            entry["closed"] = True
        years.append(entry)
    return years
