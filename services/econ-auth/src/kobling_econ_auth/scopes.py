"""What each broker caller may do with a merchant's grant. Pure, no I/O.

A token in ECONOMIC_BROKER_TOKENS proves which service calls, not what it may do: one leaked token
could delete customers or book invoices (irreversible) on every merchant's books, and spend every
agreement's day. ECONOMIC_BROKER_SCOPES (JSON, one entry per caller) names, per caller, the
`METHOD /prefix` pairs it may send and its share of each agreement's daily budget:

    {"sync": {"allow": ["GET /", "POST /invoices/drafts"], "daily_share": 0.8}}

A caller it leaves out reads only (`GET /`) within half the budget: a token set before scopes
existed keeps working for reads and can change nothing.
"""

import json
import re
from dataclasses import dataclass

from kobling_econ_auth.rest_paths import METHODS

SETTING = "ECONOMIC_BROKER_SCOPES"
_RULE = re.compile(r"^([A-Z]+) (/|(?:/[A-Za-z0-9_\-]+)+)$")


@dataclass(frozen=True)
class Scope:
    allow: tuple[tuple[str, str], ...]  # (method, path prefix), the prefix whole segments
    daily_share: float

    def allows(self, method: str, path: str) -> bool:
        return any(m == method and _under(path, prefix) for m, prefix in self.allow)


READ_ONLY = Scope((("GET", "/"),), 0.5)


def _under(path: str, prefix: str) -> bool:
    """`/invoices/drafts` covers `/invoices/drafts/7/lines`, never `/invoices/drafts-old`."""
    bare = path.rstrip("/") or "/"
    return prefix == "/" or bare == prefix or bare.startswith(f"{prefix}/")


def parse_scopes(setting: str, callers: set[str]) -> dict[str, Scope]:
    """Every caller's scope; raises ValueError naming the setting for anything unreadable."""
    try:
        given = json.loads(setting) if setting.strip() else {}
    except ValueError:
        raise ValueError(f"{SETTING} is not JSON") from None
    if not isinstance(given, dict):
        raise ValueError(f"{SETTING} maps each caller to its scope")
    unknown = set(given) - callers
    if unknown:  # a typo would leave the real caller on the default
        raise ValueError(f"{SETTING} names callers with no token: {', '.join(sorted(unknown))}")
    return {caller: _scope(caller, given.get(caller)) for caller in callers}


def _scope(caller: str, entry: object) -> Scope:
    if entry is None:
        return READ_ONLY
    if not isinstance(entry, dict) or set(entry) - {"allow", "daily_share"}:
        raise ValueError(f"{SETTING}: {caller} takes `allow` and `daily_share`")
    rules = []
    for rule in entry.get("allow", []):
        found = _RULE.match(rule) if isinstance(rule, str) else None
        if found is None or found[1] not in METHODS:
            raise ValueError(f"{SETTING}: {caller}: {rule!r} is not `METHOD /prefix`")
        rules.append((found[1], found[2]))
    share = entry.get("daily_share", READ_ONLY.daily_share)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        raise ValueError(f"{SETTING}: {caller}: daily_share is a fraction in (0, 1]")
    return Scope(tuple(rules), float(share))
