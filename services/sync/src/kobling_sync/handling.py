"""What sync does with each Stripe event of an installed account, and with a Replay.

One record per (account, mode, Stripe object). Events of one account come in order (the topic is
keyed by account); within this process one object is worked on by one task at a time, and across
instances the record's revision makes a second worker stop at its next write (store.Moved)."""

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import Counter

from kobling_shared.events import StripeAccountEvent, account_key, now
from kobling_shared.mongo import Document
from kobling_sync.brokers import Refused
from kobling_sync.choices import stored
from kobling_sync.invoices import InvoiceFlow
from kobling_sync.outcomes import FINAL, Attention, Outcomes, Skip
from kobling_sync.payouts import PayoutFlow
from kobling_sync.store import Records, SyncSettingsStore, record_key

log = logging.getLogger(__name__)

SYNCS = Counter(
    "kobling_syncs_total", "Stripe objects brought to an end by sync", ["kind", "state"]
)

INVOICE_PAID = "invoice.paid"
INVOICE_ENDED = ("invoice.voided", "invoice.marked_uncollectible")
PAYOUT_EVENTS = ("payout.reconciliation_completed", "payout.paid", "payout.failed")


@dataclass
class Sync:
    records: Records
    settings: SyncSettingsStore
    invoices: InvoiceFlow
    payouts: PayoutFlow
    outcomes: Outcomes

    def __post_init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def handle(self, events: list[StripeAccountEvent]) -> None:
        """A poll's events: each account's in order, the accounts side by side."""
        by_account: dict[str, list[StripeAccountEvent]] = defaultdict(list)
        for event in events:
            by_account[event.account_key].append(event)

        async def one_account(mine: list[StripeAccountEvent]) -> None:
            for event in mine:
                await self.on_event(event)

        results = await asyncio.gather(
            *(one_account(mine) for mine in by_account.values()), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def on_event(self, event: StripeAccountEvent) -> None:
        kind = event.data.stripe_event_type
        if kind == INVOICE_PAID:
            await self.work(
                event.subject, event.livemode, "invoice", event.data.object_id, event.id
            )
        elif kind in INVOICE_ENDED:
            await self._ended_after_sync(event)
        elif kind in PAYOUT_EVENTS:
            failed = kind == "payout.failed"
            await self.work(
                event.subject,
                event.livemode,
                "payout",
                event.data.object_id,
                event.id,
                failed=failed,
            )
        else:
            # Refunds, disputes and credit notes are not booked in version 1: the payout that
            # carries them puts each on suspense with its Stripe id (docs/sync.md).
            log.info("stripe event %s (%s) is not booked in version 1", event.id, kind)

    async def replay(self, account_id: str, livemode: bool, object_id: str) -> Document | None:
        """The merchant's Replay: an object waiting for them goes on from its first unfinished
        step. After the totals gate a new draft is made (a new generation, new keys): the old
        draft was priced by the settings the merchant has just changed, and stays for review."""
        key = record_key(account_id, livemode, object_id)
        async with self._locks[key]:
            record = await self.records.get(key)
            if record is None or record.get("state") not in ("needs_attention", "pending"):
                return record
            changes: dict[str, object] = {"state": "pending", "reason": None, "updated_at": now()}
            if record.get("reason") == "totals_differ":
                results = {k: v for k, v in record.get("results", {}).items() if k != "draft"}
                intents = {k: v for k, v in record.get("intents", {}).items() if k != "draft"}
                changes |= {
                    "generation": int(record.get("generation", 0)) + 1,
                    "results": results,
                    "intents": intents,
                }
            await self.records.save(record, **changes)
        return await self.work(account_id, livemode, record["object_type"], object_id, None)

    async def resume_stalled(self, older_than: timedelta) -> int:
        """Records left pending (their worker stopped mid-way): taken up from their step."""
        stalled = await self.records.stalled(now() - older_than)
        for record in stalled:
            try:
                await self.work(
                    record["account_id"],
                    record["livemode"],
                    record["object_type"],
                    record["object_id"],
                    None,
                )
            except OSError as why:
                log.warning("resuming %s waits: %s", record["_id"], type(why).__name__)
        return len(stalled)

    async def work(
        self,
        account_id: str,
        livemode: bool,
        kind: str,
        object_id: str,
        event_id: str | None,
        failed: bool = False,
    ) -> Document:
        key = record_key(account_id, livemode, object_id)
        async with self._locks[key]:
            fresh = {
                "account": account_key(account_id, livemode),
                "account_id": account_id,
                "livemode": livemode,
                "object_type": kind,
                "object_id": object_id,
                "state": "pending",
                "generation": 0,
                "results": {},
                "intents": {},
                "stripe_event_id": event_id,
                "created_at": now(),
                "updated_at": now(),
            }
            record = await self.records.open(key, fresh)
            if record.get("state") in FINAL and not (failed and record.get("state") == "synced"):
                # A redelivered or late event: what it asks is done. Its result again, in case
                # it never reached Kafka.
                await self.outcomes.republish(record)
                return record
            if failed and record.get("results", {}).get("reversal") is not None:
                await self.outcomes.republish(record)
                return record
            return await self._run(record, failed)

    async def _run(self, record: Document, failed: bool) -> Document:
        choices = stored(await self.settings.get(record["account"]))
        try:
            if not choices.complete:
                raise Attention("settings", "settings_incomplete")
            if record["object_type"] == "invoice":
                record = await self.invoices.run(record, choices)
                record = await self.outcomes.synced_invoice(record)
            else:
                record, summary = await self.payouts.run(record, choices, failed)
                record = await self.outcomes.booked_payout(record, summary)
        except Skip as why:
            record = await self.outcomes.skipped(await self._fresh(record), why)
        except Attention as why:
            record = await self.outcomes.attention(await self._fresh(record), why)
        except Refused as why:
            reason = {409: "not_connected", 403: "broker_refused", 404: "not_installed"}
            attention = Attention("broker", reason.get(why.status, "broker_refused"))
            record = await self.outcomes.attention(await self._fresh(record), attention)
        SYNCS.labels(record["object_type"], record["state"]).inc()
        return record

    async def _fresh(self, record: Document) -> Document:
        # A step may have saved the record since this copy was taken.
        return await self.records.get(record["_id"]) or record

    async def _ended_after_sync(self, event: StripeAccountEvent) -> None:
        """A voided or uncollectible invoice after its sync is flagged for the accountant, never
        reversed in version 1; before a sync it needs nothing: invoice.paid re-fetches and skips."""
        key = record_key(event.subject, event.livemode, event.data.object_id)
        record = await self.records.get(key)
        if record is None or record.get("state") != "synced":
            return
        why = Attention(
            "after_sync",
            event.data.stripe_event_type.replace("invoice.", "invoice_") + "_after_sync",
        )
        async with self._locks[key]:
            await self.outcomes.attention(record, why)
