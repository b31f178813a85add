"""Money as the pretend Stripe handles it: minor units (none for zero-decimal currencies), a
Danish account's settlement in DKK at Stripe's own exchange rate, and Stripe's fee on a card
payment (docs/external-contracts.md S15-S17)."""

from decimal import ROUND_HALF_UP, Decimal

# Stripe's zero-decimal currencies (docs.stripe.com/currencies, "Zero-decimal currencies"):
# amounts are whole units, `1000` JPY is ¥1000.
ZERO_DECIMAL = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)

# What one unit of the currency is worth in DKK at Stripe's conversion. Ours, invented, and
# deliberately not e-conomic's daily rates (economic_seeds.DAILY_RATES): a PSP's rate and the
# bank's differ in real books too.
RATES = {
    "dkk": 1.0,
    "eur": 7.4612,
    "sek": 0.6481,
    "nok": 0.6302,
    "usd": 6.8953,
    "gbp": 8.7311,
    "jpy": 0.04512,
}

# Stripe's Danish pricing for standard EEA cards: 1.5 % + 1.80 kr. (support.stripe.com,
# "Pricing updates for businesses based in the EEA", the fixed €0.25 as 1.80 kr in Denmark), and
# 2 % more when the payment is converted (Stripe's published EEA pricing, as public fee
# calculators quote it; unverified). Premium and international cards cost more: not played.
PERCENT_FEE = Decimal("0.015")
FIXED_FEE_ORE = 180
CONVERSION_FEE = Decimal("0.02")


def exponent(currency: str) -> int:
    return 0 if currency.lower() in ZERO_DECIMAL else 2


def major(amount: int, currency: str) -> Decimal:
    """Minor units as whole units of the currency: 12500 DKK is 125.00, 1000 JPY is 1000."""
    return Decimal(amount) / (10 ** exponent(currency))


def _whole(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent_of(amount: int, percent: float) -> int:
    """A tax or fee on an amount in minor units, rounded half up to a minor unit (ours)."""
    return _whole(Decimal(amount) * Decimal(str(percent)) / 100)


def settle(amount: int, currency: str, settlement: str) -> tuple[int, float | None]:
    """The amount in the settlement currency's minor units, and the exchange rate: "the amount in
    currency A, times exchange_rate, would be the amount in currency B" (Stripe's
    balance transaction reference), in whole units; None when nothing was converted."""
    if currency.lower() == settlement.lower():
        return amount, None
    rate = RATES[currency.lower()] / RATES[settlement.lower()]
    settled = major(amount, currency) * Decimal(str(rate)) * (10 ** exponent(settlement))
    return _whole(settled), round(rate, 6)


def card_fee(settled: int, converted: bool) -> int:
    """Stripe's fee on a card payment, in the settlement currency's minor units (DKK øre)."""
    rate = PERCENT_FEE + (CONVERSION_FEE if converted else Decimal(0))
    return _whole(Decimal(settled) * rate) + FIXED_FEE_ORE
