"""How a sync ends for now: synced, skipped with a reason, or waiting for the merchant with the
reason in their words and e-conomic's own. Each end is stored on the record and published on
sync.results.v1, carrying the record's revision so status keeps the latest."""

from dataclasses import dataclass, field
from typing import Any

from kobling_shared.events import (
    EconomicRefusal,
    InvoiceSynced,
    InvoiceSyncedData,
    NeedsAttentionData,
    PayoutBooked,
    PayoutBookedData,
    SkippedData,
    SyncNeedsAttention,
    SyncSkipped,
    now,
)
from kobling_shared.kafka import Publisher
from kobling_shared.mongo import Document
from kobling_sync.brokers import Answer
from kobling_sync.store import Records

SOURCE = "kobling/sync"
FINAL = ("synced", "skipped", "needs_attention")


@dataclass
class Attention(Exception):
    """The merchant must act (a setting, e-conomic's books) before this object can go on."""

    step: str
    reason: str
    economic: EconomicRefusal | None = None
    figures: dict[str, int] = field(default_factory=dict)


@dataclass
class Skip(Exception):
    reason: str


def refusal(answer: Answer) -> EconomicRefusal:
    """e-conomic's refusal as it said it: its message, code, hint, log id and, per field, the
    message of each nested validation error (DOMAIN.md: validation errors)."""
    body = answer.body if isinstance(answer.body, dict) else {}
    errors: dict[str, str] = {}
    _flatten(body.get("errors"), "", errors)
    return EconomicRefusal(
        status=answer.status,
        message=_text(body.get("message")),
        error_code=_text(body.get("errorCode")),
        developer_hint=_text(body.get("developerHint")),
        log_id=_text(body.get("logId")),
        errors=errors,
    )


def _flatten(node: Any, path: str, into: dict[str, str]) -> None:
    if isinstance(node, dict):
        inner = node.get("errors")
        if isinstance(inner, list):
            for error in inner:
                if isinstance(error, dict) and "message" in error:
                    into[path or "body"] = str(error["message"])[:500]
        for key, value in node.items():
            if key != "errors" or not isinstance(value, list):
                _flatten(value, f"{path}.{key}" if path else key, into)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            _flatten(item, f"{path}[{index}]", into)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:1000]


SyncEvent = InvoiceSynced | PayoutBooked | SyncNeedsAttention | SyncSkipped


def result_event(record: Document) -> SyncEvent:
    """The sync.results.v1 event of a finished record, made from the record alone: the first
    publication and a republication after a crash are the same event but for its id."""
    common = {
        "object_type": record["object_type"],
        "object_id": record["object_id"],
        "revision": int(record["rev"]),
        "stripe_event_id": record.get("stripe_event_id"),
    }
    envelope = {"source": SOURCE, "subject": record["account_id"], "livemode": record["livemode"]}
    state = record["state"]
    if state == "skipped":
        return SyncSkipped(**envelope, data=SkippedData(**common, reason=record["reason"]))
    if state == "needs_attention":
        attention = record.get("attention") or {}
        economic = attention.get("economic")
        data = NeedsAttentionData(
            **common,
            step=attention.get("step", ""),
            reason=record["reason"],
            economic=EconomicRefusal(**economic) if economic else None,
            figures=attention.get("figures") or {},
        )
        return SyncNeedsAttention(**envelope, data=data)
    if record["object_type"] == "payout":
        return PayoutBooked(**envelope, data=PayoutBookedData(**common, **record["payout"]))
    results = record["results"]
    invoice = InvoiceSyncedData(
        **common,
        customer_number=results["customer"],
        booked_invoice_number=results["book"],
        voucher_number=results.get("payment"),
        currency=record["currency"],
        total=record["total"],
    )
    return InvoiceSynced(**envelope, data=invoice)


@dataclass
class Outcomes:
    """Each end stored on the record first, then published from what was stored."""

    records: Records
    publisher: Publisher

    async def synced_invoice(self, record: Document) -> Document:
        return await self._end(record, "synced", reason=None)

    async def booked_payout(self, record: Document, summary: dict[str, Any]) -> Document:
        return await self._end(record, "synced", reason=None, payout=summary)

    async def attention(self, record: Document, why: Attention) -> Document:
        economic = why.economic.model_dump() if why.economic else None
        attention = {"step": why.step, "economic": economic, "figures": why.figures}
        return await self._end(record, "needs_attention", reason=why.reason, attention=attention)

    async def skipped(self, record: Document, why: Skip) -> Document:
        return await self._end(record, "skipped", reason=why.reason)

    async def republish(self, record: Document) -> None:
        """A final record's result again (its event may not have reached Kafka before a crash);
        the same revision, so status applies it once."""
        if record.get("state") in FINAL:
            await self.publisher.publish(result_event(record))

    async def _end(self, record: Document, state: str, **fields: Any) -> Document:
        record = await self.records.save(record, state=state, updated_at=now(), **fields)
        await self.publisher.publish(result_event(record))
        return record
