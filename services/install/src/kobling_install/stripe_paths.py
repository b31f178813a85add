"""Which Stripe reads the Stripe broker may send with an install's token. Pure, no I/O.

The token reads whatever the request names, so the allow-list is the reads the sync needs, each a
regular expression over the whole path and a short list of query parameters with a pattern for
each value. Anything else is refused outright, never cleaned: a caller that sends it is buggy or
hostile either way. Ids are letters, digits and `_` behind the object's own prefix, so `..`, `%`,
`/`, `@`, `\\`, spaces and anything outside ASCII never reach Stripe; `expand[]` is written as is.
"""

import re
from dataclasses import dataclass, field

MAX_PATH = 512


class NotAllowed(ValueError):
    """Not one of the reads the broker lends."""


def _id(prefix: str) -> str:
    return rf"{prefix}_[A-Za-z0-9_]{{1,255}}"


_ANY_ID = r"[a-z]{2,6}_[A-Za-z0-9_]{1,255}"
_LIMIT = r"[1-9][0-9]?|100"  # Stripe's 1 to 100, without a sign, a leading zero or an exponent
PAGE = {"limit": _LIMIT, "starting_after": _ANY_ID}
EXPAND = "expand[]"


@dataclass(frozen=True)
class Route:
    path: str  # a regular expression over the whole path
    params: dict[str, str] = field(default_factory=dict)  # name → pattern of its value
    required: frozenset[str] = frozenset()
    expand: frozenset[str] = frozenset()  # what `expand[]` may name, each at most once

    def matches(self, path: str) -> bool:
        return re.fullmatch(self.path, path) is not None


ROUTES = (
    Route(rf"/v1/invoices/{_id('in')}"),
    Route(rf"/v1/invoices/{_id('in')}/lines", PAGE),
    # Since API version 2025-03-31 (basil) an invoice names no charge or payment intent: its
    # payments are InvoicePayments, listed by invoice (DOMAIN.md; contracts R4).
    Route(
        "/v1/invoice_payments",
        {"invoice": _id("in"), **PAGE},
        frozenset({"invoice"}),
        frozenset({"data.payment.payment_intent", "data.payment.charge"}),
    ),
    Route(rf"/v1/customers/{_id('cus')}"),
    Route(rf"/v1/charges/{_id('ch')}", expand=frozenset({"balance_transaction"})),
    Route(rf"/v1/payment_intents/{_id('pi')}", expand=frozenset({"latest_charge"})),
    Route(rf"/v1/payouts/{_id('po')}"),
    # `payout=` lists an automatic payout's transactions only (contracts R3).
    Route(
        "/v1/balance_transactions",
        {"payout": _id("po"), **PAGE},
        frozenset({"payout"}),
        frozenset({"data.source"}),
    ),
    Route(rf"/v1/balance_transactions/{_id('txn')}"),
    Route(rf"/v1/refunds/{_id('re')}"),
    Route("/v1/credit_notes", {"invoice": _id("in"), **PAGE}, frozenset({"invoice"})),
    Route("/v1/account"),
)


@dataclass(frozen=True)
class StripeRead:
    path: str  # without the query: what the audit records
    query: str  # as given, every pair checked: the audit digests it
    pairs: tuple[tuple[str, str], ...]  # what is sent, encoded again by the HTTP client
    limit: int | None  # the page size asked for, so the audit tells a bulk read from a single one


def allowed(method: str, given: str) -> StripeRead:
    """The read `given` names, if it is one of ROUTES written exactly; NotAllowed otherwise."""
    if method != "GET":
        raise NotAllowed("only GET")
    if len(given) > MAX_PATH or not given.isascii():
        raise NotAllowed("characters")
    path, question, query = given.partition("?")
    route = next((r for r in ROUTES if r.matches(path)), None)
    if route is None:
        raise NotAllowed("path")
    if question and not query:
        raise NotAllowed("query")
    pairs = _pairs(route, query) if query else ()
    if not route.required <= {name for name, _ in pairs}:
        raise NotAllowed("query")
    limit = next((int(value) for name, value in pairs if name == "limit"), None)
    return StripeRead(path, query, pairs, limit)


def _pairs(route: Route, query: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        if not equals or not _fits(route, name, value):
            raise NotAllowed("query")
        pairs.append((name, value))
    names = [name for name, _ in pairs if name != EXPAND]
    if len(set(names)) != len(names) or len(set(pairs)) != len(pairs):
        raise NotAllowed("query")  # each parameter once, each expansion once
    return tuple(pairs)


def _fits(route: Route, name: str, value: str) -> bool:
    if name == EXPAND:
        return value in route.expand
    pattern = route.params.get(name)
    return pattern is not None and re.fullmatch(pattern, value) is not None
