"""e-conomic's `filter` query parameter (restdocs "Filtering", e-conomic/slate `_introduction.md`):
predicates `property$op:value` joined by `$and:` / `$or:`, grouped by parentheses, values escaped
with `$` (`$$` `$(` `$)` `$*` `$,` `$[` `$]`), `$null:` for no value, `$like:` without `*` meaning
"contains". A filter the sandbox cannot read is refused, never half-applied: a filter that silently
matches nothing is how a marker lookup misses a booking it should have found."""

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "like", "in", "nin")
ESCAPES = {"$": "$", "(": "(", ")": ")", "*": "*", ",": ",", "[": "[", "]": "]"}
NULL = object()  # the value `$null:`
MAX_IN = 200  # "The max supported length of an array using the $in: or $nin: operator is 200"

Predicate = Callable[[dict[str, Any]], bool]


class FilterError(ValueError):
    """Why e-conomic would refuse this filter (it answers 400)."""


@dataclass
class _Value:
    text: str
    wildcards: list[int]  # positions of unescaped `*` in text (only `$like:` reads them)
    null: bool = False


def parse(expression: str, filterable: frozenset[str]) -> Predicate:
    """The predicate a filter names, or FilterError. Only `filterable` properties may be named."""
    reader = _Reader(expression, filterable)
    predicate = reader.expression()
    if not reader.done():
        raise FilterError(f"Unexpected '{reader.rest()}' in the filter.")
    return predicate


class _Reader:
    def __init__(self, text: str, filterable: frozenset[str]) -> None:
        self.text, self.at, self.filterable = text, 0, filterable

    def done(self) -> bool:
        return self.at >= len(self.text)

    def rest(self) -> str:
        return self.text[self.at :]

    def expression(self) -> Predicate:
        terms, joins = [self.term()], []
        while self.rest().startswith(("$and:", "$or:")):
            join = "and" if self.rest().startswith("$and:") else "or"
            self.at += len(join) + 2
            joins.append(join)
            terms.append(self.term())
        return _combine(terms, joins)

    def term(self) -> Predicate:
        if self.rest().startswith("("):
            self.at += 1
            inner = self.expression()
            if not self.rest().startswith(")"):
                raise FilterError("A parenthesis in the filter is not closed.")
            self.at += 1
            return inner
        match = re.match(r"([A-Za-z][A-Za-z0-9.]*)\$([a-z]+):", self.rest())
        if match is None:
            raise FilterError(f"Cannot read a predicate at '{self.rest()}'.")
        name, operator = match.groups()
        if operator not in OPERATORS:
            raise FilterError(f"Unknown filter operator '${operator}:'.")
        if name not in self.filterable:
            raise FilterError(f"The property '{name}' is not filterable.")
        self.at += match.end()
        if operator in ("in", "nin"):
            return _membership(name, operator, self.listing())
        return _compare(name, operator, self.value())

    def value(self) -> _Value:
        if self.rest().startswith("$null:"):
            self.at += len("$null:")
            return _Value("", [], null=True)
        out: list[str] = []
        wildcards: list[int] = []
        while not self.done():
            char = self.text[self.at]
            if char == "$":
                if self.rest().startswith(("$and:", "$or:")):
                    break
                escaped = self.text[self.at + 1 : self.at + 2]
                if escaped not in ESCAPES:
                    raise FilterError(
                        "An unescaped '$' in a filter value: write '$$' for a dollar sign."
                    )
                out.append(ESCAPES[escaped])
                self.at += 2
                continue
            if char == ")":
                break
            if char in "(,[]":
                raise FilterError(f"An unescaped '{char}' in a filter value: write '${char}'.")
            if char == "*":
                wildcards.append(len(out))
            out.append(char)
            self.at += 1
        return _Value("".join(out), wildcards)

    def listing(self) -> list[Any]:
        match = re.match(r"\[([^\]]*)\]", self.rest())
        if match is None:
            raise FilterError("$in: and $nin: take a list in brackets: [1,2,3].")
        self.at += match.end()
        items = [item.strip() for item in match.group(1).split(",") if item.strip()]
        if len(items) > MAX_IN:
            raise FilterError(f"At most {MAX_IN} values in $in: or $nin:.")
        values: list[Any] = []
        for item in items:
            if item == "$null:":
                values.append(NULL)
                continue
            try:  # "We only allow in and not in operators on numeric properties"
                values.append(float(item))
            except ValueError as error:
                raise FilterError("$in: and $nin: take numbers only.") from error
        return values


def _combine(terms: list[Predicate], joins: list[str]) -> Predicate:
    """`$and:` binds tighter than `$or:` (unverified: restdocs says to use parentheses)."""
    groups: list[list[Predicate]] = [[terms[0]]]
    for join, term in zip(joins, terms[1:], strict=True):
        if join == "and":
            groups[-1].append(term)
        else:
            groups.append([term])
    return lambda item: any(all(t(item) for t in group) for group in groups)


def _lookup(item: dict[str, Any], name: str) -> Any:
    node: Any = item
    for part in name.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _compare(name: str, operator: str, value: _Value) -> Predicate:
    def predicate(item: dict[str, Any]) -> bool:
        actual = _lookup(item, name)
        if value.null:
            return (actual is None) == (operator == "eq")
        if actual is None:
            return operator == "ne"
        if operator == "like":
            return _like(str(actual), value)
        left, right = _comparable(actual, value.text)
        return {
            "eq": left == right,
            "ne": left != right,
            "gt": left > right,
            "gte": left >= right,
            "lt": left < right,
            "lte": left <= right,
        }[operator]

    return predicate


def _comparable(actual: Any, text: str) -> tuple[Any, Any]:
    """Numbers compare as numbers; strings case-insensitively ("Filtering on strings is case
    insensitive"); a boolean by its JSON name."""
    if isinstance(actual, bool):
        return str(actual).lower(), text.lower()
    if isinstance(actual, int | float):
        try:
            return float(actual), float(text)
        except ValueError:
            return str(actual), text
    return str(actual).lower(), text.lower()


def _like(actual: str, value: _Value) -> bool:
    """Without a wildcard, "contains"; with `*`, a pattern over the whole value."""
    if not value.wildcards:
        return value.text.lower() in actual.lower()
    pattern = "".join(
        "*" if i in value.wildcards else re.sub(r"([\[\]?*])", r"[\1]", char)
        for i, char in enumerate(value.text)
    )
    return fnmatch.fnmatchcase(actual.lower(), pattern.lower())


def _membership(name: str, operator: str, values: list[Any]) -> Predicate:
    def predicate(item: dict[str, Any]) -> bool:
        actual = _lookup(item, name)
        found = (actual is None and NULL in values) or (
            isinstance(actual, int | float) and float(actual) in values
        )
        return found if operator == "in" else not found

    return predicate
