"""The merchant's own e-conomic objects each sync setting can name, read through the broker, with
suggestions, and the check a save must pass. e-conomic's names and numbers, as it gives them."""

import asyncio
from datetime import date
from typing import Any

from kobling_sync.brokers import Economic
from kobling_sync.choices import ACCOUNTS, SOURCES, SyncChoices

# e-conomic's payment term types that mean "already paid" (slate: payment-terms,
# paymentTermsType): a Stripe invoice is booked paid.
PAID_TERMS = ("creditcard", "paidInCash", "prepaid")
# Account types that take entries (slate: accounts, accountType); headings and totals do not.
ENTRY_ACCOUNTS = ("profitAndLoss", "status")


async def fetch(
    economic: Economic, account_id: str, livemode: bool
) -> dict[str, list[dict[str, Any]]]:
    """Each source's items as [{number, name, …}], one read per source."""
    paths = sorted({path for path, _ in SOURCES.values()} | {"/self"})

    async def read(path: str) -> tuple[str, Any]:
        query = "" if path == "/self" else "?pagesize=1000"
        answer = await economic.call(account_id, livemode, "GET", f"{path}{query}")
        return path, answer.body if answer.ok else None

    bodies = dict(await asyncio.gather(*(read(path) for path in paths)))
    found: dict[str, list[dict[str, Any]]] = {}
    for path, number_field in {p: f for p, f in SOURCES.values()}.items():
        body = bodies.get(path) or {}
        found[path] = [_item(item, number_field) for item in body.get("collection", [])]
    found["/self"] = [bodies.get("/self") or {}]
    return found


def _item(item: dict[str, Any], number_field: str) -> dict[str, Any]:
    out = {"number": item.get(number_field), "name": item.get("name", "")}
    for extra in ("paymentTermsType", "accountType", "barred", "currency"):
        if extra in item:
            out[extra] = item[extra]
    return out


def choices_for_view(found: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for name, (path, _) in SOURCES.items():
        items = found.get(path, [])
        if name in ACCOUNTS:
            items = [i for i in items if _takes_entries(i)]
        out[name] = items
    return out


def suggestions(found: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """A paid-type payment term, the domestic VAT zone, the first of the rest, and today."""
    picks: dict[str, Any] = {}
    terms = found.get("/payment-terms", [])
    paid = [t for t in terms if t.get("paymentTermsType") in PAID_TERMS]
    if paid or terms:
        picks["payment_terms"] = (paid or terms)[0]["number"]
    zones = found.get("/vat-zones", [])
    domestic = [z for z in zones if str(z.get("name", "")).lower() in ("domestic", "indland")]
    if domestic or zones:
        picks["vat_zone"] = (domestic or zones)[0]["number"]
    for name in ("layout", "customer_group", "product", "journal"):
        items = found.get(SOURCES[name][0], [])
        if items:
            picks[name] = items[0]["number"]
    picks["start_date"] = date.today().isoformat()
    return picks


def problems(choices: SyncChoices, found: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    """Each setting that names nothing in the merchant's e-conomic, or what cannot take it."""
    errors: dict[str, str] = {}
    for name, (path, _) in SOURCES.items():
        number = getattr(choices, name)
        if number is None:
            continue
        item = next((i for i in found.get(path, []) if i.get("number") == number), None)
        if item is None:
            errors[name] = f"not_found:{number}"
        elif name in ACCOUNTS and not _takes_entries(item):
            errors[name] = f"no_entries:{number}"
    for product_id, number in choices.products.items():
        if not any(i.get("number") == number for i in found.get("/products", [])):
            errors[f"products.{product_id}"] = f"not_found:{number}"
    distinct = [getattr(choices, a) for a in ACCOUNTS if getattr(choices, a) is not None]
    if len(distinct) != len(set(distinct)):
        errors["accounts"] = "same_account_twice"
    return errors


def _takes_entries(item: dict[str, Any]) -> bool:
    return not item.get("barred") and item.get("accountType", "status") in ENTRY_ACCOUNTS
