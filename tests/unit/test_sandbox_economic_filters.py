"""e-conomic's filter syntax as the sandbox reads it (restdocs "Filtering"; contracts E26)."""

import pytest

from kobling_sandbox.economic_filters import FilterError, parse

FIELDS = frozenset({"name", "references.other", "customerNumber", "text", "date"})
ITEMS = [
    {
        "name": "Joe",
        "customerNumber": 2,
        "references": {"other": "in_1ABC"},
        "text": "Stripe in_1ABC po_9",
    },
    {"name": "Ann", "customerNumber": 5, "references": {"other": "in_2$X"}, "text": "fee $5 (EUR)"},
    {"name": "joey", "customerNumber": 7, "text": "port*city"},
]


def matching(expression: str) -> list[str]:
    predicate = parse(expression, FIELDS)
    return [item["name"] for item in ITEMS if predicate(item)]


def test_eq_is_case_insensitive_and_like_without_a_wildcard_means_contains() -> None:
    assert matching("name$eq:JOE") == ["Joe"]
    assert matching("references.other$eq:in_1abc") == ["Joe"]
    assert matching("text$like:in_1ABC") == ["Joe"]
    assert matching("name$like:jo*") == ["Joe", "joey"]
    assert matching("name$like:*e") == ["Joe"]


def test_a_dollar_sign_is_written_twice_and_an_unescaped_one_is_refused() -> None:
    assert matching("references.other$eq:in_2$$X") == ["Ann"]
    assert matching("text$like:$$5 $(EUR$)") == ["Ann"]
    with pytest.raises(FilterError, match="unescaped"):
        parse("references.other$eq:in_2$X", FIELDS)
    with pytest.raises(FilterError):
        parse("text$like:fee (EUR)", FIELDS)


def test_an_escaped_star_is_no_wildcard() -> None:
    assert matching("text$like:port$*city") == ["joey"]
    assert matching("text$like:port$*") == ["joey"]


def test_and_or_parentheses_and_lists() -> None:
    assert matching("name$like:jo$and:customerNumber$gt:3") == ["joey"]
    assert matching("name$eq:Ann$or:(name$like:jo$and:customerNumber$lt:3)") == ["Joe", "Ann"]
    assert matching("customerNumber$in:[2,7]") == ["Joe", "joey"]
    assert matching("customerNumber$nin:[2,7]") == ["Ann"]
    assert matching("references.other$eq:$null:") == ["joey"]


def test_what_e_conomic_would_refuse_is_refused() -> None:
    for bad in (
        "balance$gt:5",  # not filterable
        "name$contains:Jo",  # no such operator
        "name=Joe",  # not a predicate
        "(name$eq:Joe",  # unclosed
        "name$in:[Joe]",  # $in: is for numbers
    ):
        with pytest.raises(FilterError):
            parse(bad, FIELDS)
