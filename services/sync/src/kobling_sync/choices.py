"""The merchant's sync settings: which of their own e-conomic objects each booking uses. Pure.

Every number is one the merchant picked from their e-conomic (through sync's settings view), and
is checked against e-conomic when saved (kobling_sync.settings_check)."""

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Where each setting's choices come from in e-conomic, and the number field of each item.
SOURCES: dict[str, tuple[str, str]] = {
    "layout": ("/layouts", "layoutNumber"),
    "payment_terms": ("/payment-terms", "paymentTermsNumber"),
    "customer_group": ("/customer-groups", "customerGroupNumber"),
    "vat_zone": ("/vat-zones", "vatZoneNumber"),
    "product": ("/products", "productNumber"),
    "journal": ("/journals", "journalNumber"),
    "bank_account": ("/accounts", "accountNumber"),
    "clearing_account": ("/accounts", "accountNumber"),
    "fees_account": ("/accounts", "accountNumber"),
    "suspense_account": ("/accounts", "accountNumber"),
    "fx_account": ("/accounts", "accountNumber"),
}
ACCOUNTS = ("bank_account", "clearing_account", "fees_account", "suspense_account", "fx_account")


class SyncChoices(BaseModel):
    """What the settings view saves. Every field but the map is required before any sync runs."""

    model_config = ConfigDict(extra="forbid")

    layout: int | None = Field(None, ge=1, description="e-conomic layout for invoices")
    payment_terms: int | None = Field(None, ge=1, description="For new customers and invoices")
    customer_group: int | None = Field(None, ge=1, description="For new customers")
    vat_zone: int | None = Field(None, ge=1, description="For new customers and their invoices")
    # e-conomic's product numbers are strings (slate: products, productNumber).
    product: str | None = Field(
        None, min_length=1, max_length=25, description="For invoice lines (and their VAT)"
    )
    journal: int | None = Field(None, ge=1, description="Where payments and payouts are entered")
    bank_account: int | None = Field(None, ge=1)
    clearing_account: int | None = Field(None, ge=1, description="Money held at Stripe")
    fees_account: int | None = Field(None, ge=1)
    suspense_account: int | None = Field(None, ge=1, description="What no synced invoice explains")
    fx_account: int | None = Field(None, ge=1, description="Exchange differences")
    start_date: date | None = Field(None, description="Nothing paid before it is synced")
    products: dict[str, str] = Field(
        default_factory=dict, description="Stripe product id → e-conomic product number"
    )

    def missing(self) -> list[str]:
        return [name for name in (*SOURCES, "start_date") if getattr(self, name) is None]

    @property
    def complete(self) -> bool:
        return not self.missing()


def stored(doc: dict[str, Any] | None) -> SyncChoices:
    if not doc:
        return SyncChoices()
    fields = {k: v for k, v in doc.items() if k in SyncChoices.model_fields}
    if isinstance(fields.get("start_date"), str):
        fields["start_date"] = date.fromisoformat(fields["start_date"])
    return SyncChoices.model_validate(fields)


def to_store(choices: SyncChoices) -> dict[str, Any]:
    doc = choices.model_dump()
    doc["start_date"] = choices.start_date.isoformat() if choices.start_date else None
    return doc
