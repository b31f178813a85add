"""Stripe's integer minor units and e-conomic's decimal amounts. Pure, no I/O.

Stripe gives every amount as an integer in the currency's smallest unit, and some currencies
have none below the unit (Stripe's "Zero-decimal currencies" list); e-conomic takes and gives
amounts with two decimals. Decimal throughout: a float would turn 0.1 + 0.2 into 0.30000000000000004
in someone's books."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

# docs.stripe.com/currencies#zero-decimal (contracts row S14).
ZERO_DECIMAL = frozenset(
    {
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
        "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
    }
)  # fmt: skip
CENT = Decimal("0.01")


def exponent(currency: str) -> int:
    return 0 if currency.lower() in ZERO_DECIMAL else 2


def to_amount(minor: int, currency: str) -> Decimal:
    """Stripe's minor units as the decimal amount e-conomic takes (two places at most)."""
    return (Decimal(minor) / (10 ** exponent(currency))).quantize(CENT)


def to_minor(amount: Any, currency: str) -> int:
    """e-conomic's amount (a JSON number) in Stripe's minor units, rounded half up."""
    value = Decimal(str(amount)) * (10 ** exponent(currency))
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def as_json(amount: Decimal) -> float:
    """A decimal for a JSON body: two places, so the float that JSON carries prints exactly."""
    return float(amount.quantize(CENT))
