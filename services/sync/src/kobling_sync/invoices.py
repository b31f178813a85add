"""A paid Stripe invoice becomes a booked e-conomic invoice with its customer payment.

Re-fetched through install's Stripe broker (an event's body is never trusted), then, through
econ-auth's broker: the customer, a draft carrying the Stripe id in `references.other`, the totals
gate (e-conomic prices the draft itself), booking (irreversible) and the payment voucher against the
Stripe clearing account. docs/sync.md has the worked example and what is still unverified."""

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from kobling_shared.events import now
from kobling_shared.mongo import Document
from kobling_sync.brokers import Answer, Economic, Stripe
from kobling_sync.choices import SyncChoices
from kobling_sync.money import as_json, to_amount, to_minor
from kobling_sync.outcomes import Attention, Skip, refusal
from kobling_sync.steps import StepRunner
from kobling_sync.store import Customers

log = logging.getLogger(__name__)

CUSTOMER_CHECK = timedelta(hours=1)
YEARS_KEPT = timedelta(hours=1)
_years: dict[str, tuple[datetime, list[dict[str, Any]]]] = {}  # accounting years per install


def marker(record: Document) -> str:
    """What the draft's `references.other` and the payment's text carry: the Stripe id, and the
    Replay generation after the first (a Replay's draft is a new draft; the old one stays for
    the merchant to review)."""
    generation = int(record.get("generation", 0))
    return record["object_id"] + (f" r{generation}" if generation else "")


def filter_value(value: str) -> str:
    """An e-conomic filter value: `$` escaped as `$$`, then URL-encoded (DOMAIN.md)."""
    return quote(value.replace("$", "$$"), safe="")


class InvoiceFlow:
    def __init__(
        self, economic: Economic, stripe: Stripe, steps: StepRunner, customers: Customers
    ) -> None:
        self.economic, self.stripe, self.steps, self.customers = economic, stripe, steps, customers

    async def fetch(self, record: Document) -> dict[str, Any]:
        """The invoice as Stripe has it now, checked for what version 1 books."""
        account, livemode, invoice_id = (
            record["account_id"],
            record["livemode"],
            record["object_id"],
        )
        answer = await self.stripe.get(account, livemode, f"/v1/invoices/{invoice_id}")
        if answer.status == 404:
            raise Skip("not_found")
        if not answer.ok or not isinstance(answer.body, dict):
            raise Attention("fetch", "stripe_refused", figures={"status": answer.status})
        invoice: dict[str, Any] = answer.body
        status = invoice.get("status")
        if status in ("void", "uncollectible"):
            raise Skip(f"invoice_{status}")
        if status != "paid":
            raise Skip("not_paid")
        if int(invoice.get("total", 0)) == 0:
            raise Skip("zero_total")
        if int(invoice.get("amount_paid", 0)) != int(invoice["total"]):
            raise Attention(
                "fetch",
                "amount_paid_differs",
                figures={"total": int(invoice["total"]), "amount_paid": invoice["amount_paid"]},
            )
        # Under basil an invoice has no amount_paid_off_stripe (contracts R1): money paid outside
        # Stripe shows as an InvoicePayment of type payment_record (see _payments).
        lines = invoice.get("lines") or {}
        if isinstance(lines, dict) and lines.get("has_more"):
            invoice = {**invoice, "lines": {"data": await self._all_lines(record)}}
        return invoice

    async def _all_lines(self, record: Document) -> list[dict[str, Any]]:
        """Every line of a long invoice: the invoice embeds the first page only."""
        found: list[dict[str, Any]] = []
        after = ""
        while True:
            path = f"/v1/invoices/{record['object_id']}/lines?limit=100{after}"
            answer = await self.stripe.get(record["account_id"], record["livemode"], path)
            if not answer.ok or not isinstance(answer.body, dict):
                raise Attention("fetch", "stripe_refused", figures={"status": answer.status})
            data = list(answer.body.get("data", []))
            found.extend(data)
            if not answer.body.get("has_more") or not data:
                return found
            after = f"&starting_after={data[-1]['id']}"

    async def run(self, record: Document, choices: SyncChoices) -> Document:
        """Every step not yet done, in order; answers the record as stored after the payment."""
        invoice = await self.fetch(record)
        paid = _paid_on(invoice)
        if choices.start_date and paid < choices.start_date:
            raise Skip("before_start")
        payments = await self._payments(record)
        record = await self.steps.records.save(
            record,
            currency=invoice["currency"],
            total=int(invoice["total"]),
            charges=payments,
        )
        record, customer = await self._customer(record, invoice, choices)
        unfinished = "draft" in record.get("intents", {}) and "book" not in record.get(
            "results", {}
        )
        booked = await self._booked_by_marker(record) if unfinished else None
        if booked is not None:
            # Booked before, its record lost (the intent of `draft` or `book` was stored): the
            # draft is gone with the booking, so both steps are done.
            results = {**record.get("results", {}), "draft": None, "book": booked}
            record = await self.steps.records.save(record, results=results, step="book")
        record, draft = await self.steps.run(
            record,
            "draft",
            lambda: self._draft_by_marker(record),
            lambda key: self._create_draft(record, invoice, choices, customer, paid, key),
        )
        if "book" not in record.get("results", {}):
            self._gate(invoice, draft)
        record, _ = await self.steps.run(
            record,
            "book",
            lambda: self._booked_by_marker(record),
            lambda key: self._book(record, draft, key),
        )
        record, _ = await self.steps.run(
            record,
            "payment",
            lambda: self._payment_by_marker(record, choices),
            lambda key: self._pay(record, invoice, choices, customer, paid, key),
        )
        return record

    # --- Stripe ---------------------------------------------------------------------------

    async def _payments(self, record: Document) -> list[str]:
        """The charges and payment intents that paid the invoice: since API version basil an
        invoice names neither, its InvoicePayments do. The payout later finds the invoice by
        them."""
        path = (
            f"/v1/invoice_payments?invoice={record['object_id']}&limit=100"
            "&expand[]=data.payment.payment_intent"
        )
        answer = await self.stripe.get(record["account_id"], record["livemode"], path)
        if not answer.ok or not isinstance(answer.body, dict):
            raise Attention("fetch", "stripe_refused", figures={"status": answer.status})
        ids: list[str] = []
        for payment in answer.body.get("data", []):
            if payment.get("status") not in (None, "paid"):
                continue
            inner = payment.get("payment") or {}
            if inner.get("type") == "payment_record":
                # Paid outside Stripe: no money reached the clearing account (not booked in v1).
                raise Attention("fetch", "paid_outside_stripe")
            for name in ("charge", "payment_intent"):
                value = inner.get(name)
                if isinstance(value, dict):
                    ids.append(str(value.get("id")))
                    latest = value.get("latest_charge")
                    if isinstance(latest, str):
                        ids.append(latest)
                    elif isinstance(latest, dict):
                        ids.append(str(latest.get("id")))
                elif isinstance(value, str):
                    ids.append(value)
        return sorted(set(ids))

    # --- e-conomic --------------------------------------------------------------------------

    async def _call(
        self, record: Document, method: str, path: str, body: Any = None, key: str | None = None
    ) -> Answer:
        return await self.economic.call(
            record["account_id"], record["livemode"], method, path, body, key
        )

    async def _customer(
        self, record: Document, invoice: dict[str, Any], choices: SyncChoices
    ) -> tuple[Document, int]:
        stripe_customer = str(invoice.get("customer") or f"guest-{record['object_id']}")
        name = _customer_name(invoice)
        mapping_key = f"{record['_id'].rsplit(':', 1)[0]}:{stripe_customer}"
        if "customer" not in record.get("results", {}):
            known = await self.customers.get(mapping_key)
            if known is not None and await self._still_same(record, known):
                results = {**record.get("results", {}), "customer": int(known["number"])}
                record = await self.steps.records.save(record, results=results)
            elif known is not None:
                await self.customers.forget(mapping_key)

        async def create(key: str) -> int:
            body = {
                "name": name,
                "currency": invoice["currency"].upper(),
                "customerGroup": {"customerGroupNumber": choices.customer_group},
                "paymentTerms": {"paymentTermsNumber": choices.payment_terms},
                "vatZone": {"vatZoneNumber": choices.vat_zone},
            }
            answer = await self._call(record, "POST", "/customers", body, key)
            if not answer.ok:
                raise Attention("customer", "economic_refused", refusal(answer))
            number = int(answer.body["customerNumber"])
            await self.customers.put(mapping_key, number, name)
            return number

        async def no_lookup() -> None:
            # A customer carries no marker e-conomic can filter on; the Idempotency-Key covers a
            # repeat within the hour (docs/sync.md: a crash past it can leave a second customer,
            # never a second booking).
            return None

        record, number = await self.steps.run(record, "customer", no_lookup, create)
        return record, int(number)

    async def _still_same(self, record: Document, known: Document) -> bool:
        """Whether the mapped number still names the customer it was made for. Checked at most
        once an hour per customer: a known customer's invoice then costs three calls (draft,
        booking, payment), and a number reused within the hour of a check is the risk left."""
        checked = known.get("checked_at")
        if isinstance(checked, datetime) and now() - _aware(checked) < CUSTOMER_CHECK:
            return True
        answer = await self._call(record, "GET", f"/customers/{int(known['number'])}")
        same = (
            answer.ok and isinstance(answer.body, dict) and answer.body.get("name") == known["name"]
        )
        if same:
            await self.customers.checked(known["_id"], now())
        return same

    async def _draft_by_marker(self, record: Document) -> dict[str, Any] | None:
        path = f"/invoices/drafts?filter=references.other$eq:{filter_value(marker(record))}"
        answer = await self._call(record, "GET", path)
        found = (
            answer.body.get("collection", []) if answer.ok and isinstance(answer.body, dict) else []
        )
        return _draft_result(found[0]) if found else None

    async def _booked_by_marker(self, record: Document) -> int | None:
        # Any generation's booking counts: an invoice is booked once, whatever was replayed.
        path = f"/invoices/booked?filter=references.other$like:{filter_value(record['object_id'])}"
        answer = await self._call(record, "GET", path)
        found = (
            answer.body.get("collection", []) if answer.ok and isinstance(answer.body, dict) else []
        )
        return int(found[0]["bookedInvoiceNumber"]) if found else None

    async def _create_draft(
        self,
        record: Document,
        invoice: dict[str, Any],
        choices: SyncChoices,
        customer: int,
        paid: date,
        key: str,
    ) -> dict[str, Any]:
        currency = invoice["currency"]
        lines = []
        for number, line in enumerate(_lines(invoice), start=1):
            product = choices.products.get(_product_of(line), choices.product)
            lines.append(
                {
                    "lineNumber": number,
                    "description": (line.get("description") or "Stripe")[:2500],
                    "product": {"productNumber": product},
                    "quantity": 1,
                    "unitNetPrice": as_json(to_amount(_net(line), currency)),
                }
            )
        body = {
            "date": paid.isoformat(),
            "currency": currency.upper(),
            "customer": {"customerNumber": customer},
            "paymentTerms": {"paymentTermsNumber": choices.payment_terms},
            "layout": {"layoutNumber": choices.layout},
            "recipient": {
                "name": _customer_name(invoice),
                "vatZone": {"vatZoneNumber": choices.vat_zone},
            },
            "references": {"other": marker(record)},
            "lines": lines,
        }
        answer = await self._call(record, "POST", "/invoices/drafts", body, key)
        if not answer.ok:
            raise Attention("draft", "economic_refused", refusal(answer))
        return _draft_result(answer.body)

    def _gate(self, invoice: dict[str, Any], draft: dict[str, Any]) -> None:
        """e-conomic priced the draft from the product group and VAT zone, not from Stripe's
        figures: book only when its gross and VAT are Stripe's to the minor unit."""
        currency = invoice["currency"]
        stripe_gross = int(invoice["total"])
        stripe_vat = sum(int(t.get("amount", 0)) for t in invoice.get("total_taxes") or [])
        economic_gross = to_minor(draft["gross"], currency)
        economic_vat = to_minor(draft["vat"], currency)
        if (stripe_gross, stripe_vat) != (economic_gross, economic_vat):
            raise Attention(
                "draft",
                "totals_differ",
                figures={
                    "stripe_gross": stripe_gross,
                    "economic_gross": economic_gross,
                    "stripe_vat": stripe_vat,
                    "economic_vat": economic_vat,
                    "draft_invoice_number": int(draft["number"]),
                },
            )

    async def _book(self, record: Document, draft: dict[str, Any], key: str) -> int:
        body = {"draftInvoice": {"draftInvoiceNumber": int(draft["number"])}}
        answer = await self._call(record, "POST", "/invoices/booked", body, key)
        if not answer.ok:
            raise Attention("book", "economic_refused", refusal(answer))
        return int(answer.body["bookedInvoiceNumber"])

    async def _payment_by_marker(self, record: Document, choices: SyncChoices) -> int | None:
        path = (
            f"/journals/{choices.journal}/entries"
            f"?filter=text$like:{filter_value(record['object_id'])}"
        )
        answer = await self._call(record, "GET", path)
        found = (
            answer.body.get("collection", []) if answer.ok and isinstance(answer.body, dict) else []
        )
        for entry in found:
            voucher = entry.get("voucher") or {}
            number = voucher.get("voucherNumber") or entry.get("voucherNumber")
            if number is not None:
                return int(number)
        return None

    async def _pay(
        self,
        record: Document,
        invoice: dict[str, Any],
        choices: SyncChoices,
        customer: int,
        paid: date,
        key: str,
    ) -> int:
        year = await accounting_year(self.economic, record, paid)
        payments = ", ".join(record.get("charges", []))
        body = {
            "accountingYear": {"year": year},
            "journal": {"journalNumber": choices.journal},
            "entries": {
                "customerPayments": [
                    {
                        "customer": {"customerNumber": customer},
                        # A positive amount credits the customer and debits the contra account,
                        # the Stripe clearing account (contracts E31: unverified; docs/sync.md).
                        "amount": as_json(to_amount(int(invoice["total"]), invoice["currency"])),
                        "currency": {"code": invoice["currency"].upper()},
                        "date": paid.isoformat(),
                        "contraAccount": {"accountNumber": choices.clearing_account},
                        "customerInvoice": int(record["results"]["book"]),
                        "text": f"Stripe {record['object_id']} {payments}"[:250],
                    }
                ]
            },
        }
        answer = await self._call(
            record, "POST", f"/journals/{choices.journal}/vouchers", body, key
        )
        if not answer.ok:
            raise Attention("payment", "economic_refused", refusal(answer))
        vouchers = answer.body if isinstance(answer.body, list) else [answer.body]
        return int(vouchers[0]["voucherNumber"])


async def accounting_year(economic: Economic, record: Document, day: date) -> str:
    """e-conomic's accounting year holding `day` (a voucher needs it)."""
    install = record["_id"].rsplit(":", 1)[0]
    kept = _years.get(install)
    if kept is None or now() - kept[0] > YEARS_KEPT or not _holding(kept[1], day):
        answer = await economic.call(
            record["account_id"], record["livemode"], "GET", "/accounting-years?pagesize=1000"
        )
        body = answer.body if answer.ok and isinstance(answer.body, dict) else {}
        kept = (now(), list(body.get("collection", [])))
        _years[install] = kept
    years = kept[1]
    for year in years:
        if str(year.get("fromDate", "")) <= day.isoformat() <= str(year.get("toDate", "")):
            if year.get("closed"):
                raise Attention("payment", "accounting_year_closed")
            return str(year["year"])
    raise Attention("payment", "no_accounting_year")


def _holding(years: list[dict[str, Any]], day: date) -> bool:
    return any(
        str(y.get("fromDate", "")) <= day.isoformat() <= str(y.get("toDate", "")) for y in years
    )


def _aware(moment: datetime) -> datetime:
    # BSON dates come back naive (UTC) unless the client is told otherwise.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _draft_result(body: Any) -> dict[str, Any]:
    return {
        "number": int(body["draftInvoiceNumber"]),
        "gross": body.get("grossAmount", 0),
        "vat": body.get("vatAmount", 0),
    }


def _paid_on(invoice: dict[str, Any]) -> date:
    paid_at = (invoice.get("status_transitions") or {}).get("paid_at") or invoice.get("created")
    return datetime.fromtimestamp(int(paid_at or 0), UTC).date()


def _customer_name(invoice: dict[str, Any]) -> str:
    name = invoice.get("customer_name") or invoice.get("customer_email") or invoice.get("customer")
    return str(name or "Stripe customer")[:255]


def _lines(invoice: dict[str, Any]) -> list[dict[str, Any]]:
    lines = invoice.get("lines") or {}
    return list(lines.get("data", []) if isinstance(lines, dict) else lines)


def _product_of(line: dict[str, Any]) -> str:
    pricing = line.get("pricing") or {}
    details = pricing.get("price_details") or {}
    price = line.get("price") or {}
    return str(
        details.get("product") or (price.get("product") if isinstance(price, dict) else "") or ""
    )


def _net(line: dict[str, Any]) -> int:
    """The line before VAT, after its discounts: Stripe's `amount` includes an inclusive tax."""
    amount = int(line.get("amount", 0))
    amount -= sum(int(d.get("amount", 0)) for d in line.get("discount_amounts") or [])
    for tax in line.get("taxes") or []:
        if tax.get("tax_behavior") == "inclusive":
            amount -= int(tax.get("amount", 0))
    return amount
