"""A Stripe payout becomes one journal voucher through the Stripe clearing account.

The clearing account holds what Stripe holds for the merchant: each synced invoice's payment put
its total there. A payout's voucher takes out what left Stripe, so for every payout the clearing
account returns to zero over the transactions it settles:
- bank ← clearing: the payout;
- fees ← clearing: Stripe's fees on its transactions;
- clearing ↔ suspense: each transaction no synced invoice explains (a refund, a dispute, an
  adjustment, a charge that was never an invoice), one line each with its Stripe id, so it sits
  visibly on suspense until the accountant books it.
A manual payout (`payout.paid`, not automatic): Stripe cannot say which transactions it holds, so
the bank line alone, flagged. docs/sync.md has the worked example."""

from datetime import UTC, date, datetime
from typing import Any

from kobling_shared.mongo import Document
from kobling_sync.brokers import Answer, Economic, Stripe
from kobling_sync.choices import SyncChoices
from kobling_sync.invoices import accounting_year, filter_value
from kobling_sync.money import as_json, to_amount
from kobling_sync.outcomes import Attention, Skip, refusal
from kobling_sync.steps import StepRunner
from kobling_sync.store import Moved, Records

CHARGES = ("charge", "payment")  # a balance transaction of a payment an invoice may explain


class NotYet(OSError):
    """An invoice in this payout is still being synced: the payout waits for it (retried like an
    outage, so it never books an invoice's money to suspense while that invoice is on its way)."""


class PayoutFlow:
    def __init__(self, economic: Economic, stripe: Stripe, steps: StepRunner) -> None:
        self.economic, self.stripe, self.steps = economic, stripe, steps

    @property
    def records(self) -> Records:
        return self.steps.records

    async def run(
        self, record: Document, choices: SyncChoices, failed: bool
    ) -> tuple[Document, dict[str, Any]]:
        payout = await self._get(record, f"/v1/payouts/{record['object_id']}")
        if failed or payout.get("status") in ("failed", "canceled"):
            return await self._reverse(record, choices)
        if payout.get("status") != "paid":
            raise Skip("not_paid")
        arrival = datetime.fromtimestamp(
            int(payout.get("arrival_date") or payout["created"]), UTC
        ).date()
        if choices.start_date and arrival < choices.start_date:
            raise Skip("before_start")
        currency = str(payout["currency"])
        flags: list[str] = []
        if payout.get("automatic"):
            transactions = await self._transactions(record)
        else:
            transactions, flags = [], ["manual_payout_bank_line_only"]
        lines, summary = await self._lines(record, choices, payout, transactions, currency)
        summary["flags"] = flags + summary.pop("flags", [])
        record = await self.records.save(
            record, currency=currency, total=int(payout["amount"]), lines=lines
        )
        record, _voucher = await self.steps.run(
            record,
            "voucher",
            lambda: self._voucher_by_marker(record, choices, record["object_id"]),
            lambda key: self._post(record, choices, arrival, lines, key),
        )
        summary["voucher_number"] = record["results"]["voucher"]
        return record, summary

    async def _get(self, record: Document, path: str) -> dict[str, Any]:
        answer = await self.stripe.get(record["account_id"], record["livemode"], path)
        if answer.status == 404:
            raise Skip("not_found")
        if not answer.ok or not isinstance(answer.body, dict):
            raise Attention("fetch", "stripe_refused", figures={"status": answer.status})
        body: dict[str, Any] = answer.body
        return body

    async def _transactions(self, record: Document) -> list[dict[str, Any]]:
        """Every balance transaction the payout settles, page by page."""
        found: list[dict[str, Any]] = []
        after = ""
        while True:
            path = (
                f"/v1/balance_transactions?payout={record['object_id']}&limit=100"
                f"&expand[]=data.source{after}"
            )
            page = await self._get(record, path)
            data = list(page.get("data", []))
            found.extend(data)
            if not page.get("has_more") or not data:
                return found
            after = f"&starting_after={data[-1]['id']}"

    async def _lines(
        self,
        record: Document,
        choices: SyncChoices,
        payout: dict[str, Any],
        transactions: list[dict[str, Any]],
        currency: str,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        payout_id = record["object_id"]
        amount = int(payout["amount"])
        mine = [t for t in transactions if t.get("type") != "payout"]
        sources = {t["id"]: _source_ids(t) for t in mine}
        wanted = sorted({s for ids in sources.values() for s in ids})
        invoices = await self.records.by_charge(_install(record), wanted) if wanted else {}
        waiting = [r["object_id"] for r in invoices.values() if r.get("state") == "pending"]
        if waiting:
            raise NotYet(f"{payout_id} waits for {', '.join(sorted(set(waiting)))}")
        fees = sum(int(t.get("fee", 0)) for t in mine)
        lines = [
            _line(
                choices.bank_account,
                choices.clearing_account,
                amount,
                currency,
                f"Stripe payout {payout_id}",
            )
        ]
        if fees:
            lines.append(
                _line(
                    choices.fees_account,
                    choices.clearing_account,
                    fees,
                    currency,
                    f"Stripe fees {payout_id}",
                )
            )
        suspense = 0
        suspense_lines = 0
        flags: list[str] = []
        for transaction in mine:
            explained = transaction.get("type") in CHARGES and any(
                invoices.get(s, {}).get("state") == "synced" for s in sources[transaction["id"]]
            )
            if explained:
                continue
            value = int(transaction.get("amount", 0))
            if transaction.get("currency", currency) != currency:
                flags.append(f"currency_{transaction['id']}")
            source = " ".join(sources[transaction["id"]])
            text = f"Stripe {transaction.get('type')} {transaction['id']} {source} {payout_id}"
            lines.append(
                _line(choices.clearing_account, choices.suspense_account, value, currency, text)
            )
            suspense += value
            suspense_lines += 1
        summary = {
            "currency": currency,
            "amount": amount,
            "fees": fees,
            "suspense": suspense,
            "suspense_lines": suspense_lines,
            "flags": flags,
        }
        return lines, summary

    async def _voucher_by_marker(
        self, record: Document, choices: SyncChoices, text: str
    ) -> int | None:
        path = f"/journals/{choices.journal}/entries?filter=text$like:{filter_value(text)}"
        answer = await self.economic.call(record["account_id"], record["livemode"], "GET", path)
        found = (
            answer.body.get("collection", []) if answer.ok and isinstance(answer.body, dict) else []
        )
        for entry in found:
            voucher = entry.get("voucher") or {}
            number = voucher.get("voucherNumber") or entry.get("voucherNumber")
            if number is not None:
                return int(number)
        return None

    async def _post(
        self,
        record: Document,
        choices: SyncChoices,
        day: date,
        lines: list[dict[str, Any]],
        key: str,
    ) -> int:
        year = await accounting_year(self.economic, record, day)
        entries = [{**line, "date": day.isoformat()} for line in lines]
        body = {
            "accountingYear": {"year": year},
            "journal": {"journalNumber": choices.journal},
            "entries": {"financeVouchers": entries},
        }
        answer: Answer = await self.economic.call(
            record["account_id"],
            record["livemode"],
            "POST",
            f"/journals/{choices.journal}/vouchers",
            body,
            key,
        )
        if not answer.ok:
            raise Attention("voucher", "economic_refused", refusal(answer))
        vouchers = answer.body if isinstance(answer.body, list) else [answer.body]
        return int(vouchers[0]["voucherNumber"])

    async def _reverse(
        self, record: Document, choices: SyncChoices
    ) -> tuple[Document, dict[str, Any]]:
        """payout.failed: the money came back to Stripe. If its voucher was posted, post the same
        lines with the opposite sign; if not, nothing was booked and nothing is."""
        booked = record.get("results", {}).get("voucher")
        lines = record.get("lines")
        if booked is None or not lines:
            raise Skip("payout_failed")
        reversal = [
            {**line, "amount": -line["amount"], "text": f"Reversal {line['text']}"[:250]}
            for line in lines
        ]
        day = datetime.now(UTC).date()
        text = f"Reversal Stripe payout {record['object_id']}"
        record, number = await self.steps.run(
            record,
            "reversal",
            lambda: self._voucher_by_marker(record, choices, text),
            lambda key: self._post(record, choices, day, reversal, key),
        )
        summary = dict(record.get("payout") or {})
        summary["flags"] = [*summary.get("flags", []), f"reversed_by_voucher_{number}"]
        return record, summary


def _line(
    account: int | None, contra: int | None, minor: int, currency: str, text: str
) -> dict[str, Any]:
    return {
        "account": {"accountNumber": account},
        "contraAccount": {"accountNumber": contra},
        "amount": as_json(to_amount(minor, currency)),
        "currency": {"code": currency.upper()},
        "text": text[:250],
    }


def _source_ids(transaction: dict[str, Any]) -> list[str]:
    """The charge, and its payment intent, that a balance transaction came from."""
    source = transaction.get("source")
    if isinstance(source, str):
        return [source]
    if not isinstance(source, dict):
        return []
    ids = [str(source.get("id"))]
    intent = source.get("payment_intent")
    if isinstance(intent, str):
        ids.append(intent)
    elif isinstance(intent, dict):
        ids.append(str(intent.get("id")))
    return ids


def _install(record: Document) -> str:
    return str(record["account"])


__all__ = ["Moved", "NotYet", "PayoutFlow"]
