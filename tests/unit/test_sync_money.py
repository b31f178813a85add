"""sync's pure parts: minor units, e-conomic's refusals, the markers and filters it looks up by."""

from decimal import Decimal

import pytest

from kobling_sync.brokers import Answer
from kobling_sync.choices import SyncChoices
from kobling_sync.invoices import _net, filter_value, marker
from kobling_sync.money import to_amount, to_minor
from kobling_sync.outcomes import refusal
from kobling_sync.steps import idempotency_key


@pytest.mark.parametrize(
    ("minor", "currency", "amount"),
    [
        (12345, "dkk", Decimal("123.45")),
        (5, "eur", Decimal("0.05")),
        (1000, "jpy", Decimal("1000.00")),
    ],
)
def test_minor_units_become_amounts_exactly(minor: int, currency: str, amount: Decimal) -> None:
    assert to_amount(minor, currency) == amount
    assert to_minor(float(amount), currency) == minor


def test_economic_amounts_round_half_up_to_the_minor_unit() -> None:
    assert to_minor(0.005, "dkk") == 1
    assert to_minor("10.004", "dkk") == 1000
    assert to_minor(1000.4, "jpy") == 1000


def test_an_inclusive_tax_and_a_discount_come_off_the_line() -> None:
    line = {
        "amount": 12500,
        "discount_amounts": [{"amount": 500}],
        "taxes": [{"amount": 2400, "tax_behavior": "inclusive"}],
    }
    assert _net(line) == 9600
    exclusive = {"amount": 10000, "taxes": [{"amount": 2500, "tax_behavior": "exclusive"}]}
    assert _net(exclusive) == 10000


def test_a_filter_value_escapes_dollar_then_url_encodes() -> None:
    assert filter_value("in_1$x y") == "in_1%24%24x%20y"


def test_a_replay_marks_its_draft_apart_and_keys_change_with_the_generation() -> None:
    record = {"_id": "acct_1:test:in_1", "object_id": "in_1", "generation": 0}
    assert marker(record) == "in_1"
    first = idempotency_key(record, "draft")
    replayed = {**record, "generation": 1}
    assert marker(replayed) == "in_1 r1"
    assert idempotency_key(replayed, "draft") != first
    assert idempotency_key(record, "draft") == first  # the same on every attempt
    assert len(first) <= 128 and first.isascii()


def test_economic_validation_errors_are_kept_per_field() -> None:
    body = {
        "message": "Validation error.",
        "errorCode": "E04300",
        "logId": "abc",
        "errors": {
            "lines": {
                "items": [
                    {
                        "unitNetPrice": {
                            "errors": [{"message": "At most two decimals", "errorCode": "E04740"}]
                        }
                    }
                ]
            }
        },
    }
    refused = refusal(Answer(400, body))
    assert refused.message == "Validation error."
    assert refused.log_id == "abc"
    assert refused.errors == {"lines.items[0].unitNetPrice": "At most two decimals"}


def test_settings_are_complete_only_with_every_choice() -> None:
    partial = SyncChoices(layout=19)
    assert not partial.complete
    assert "journal" in partial.missing() and "start_date" in partial.missing()
