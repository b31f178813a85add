"""The Stripe broker: lends our own services the read-only use of an install's Stripe token, never
the token. A caller names an account, a mode and one of the allow-listed reads (stripe_paths);
install adds the install's OAuth access token and a pinned API version, and answers Stripe's
status and body. Every use, and every call refused for an account, is audited in install's
database (who, whose, which read, a keyed digest of its query, the status; no token, no body).
"""

import hashlib
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client import Counter

from kobling_install.oauth import NoTokens, OAuthDeps, access_token
from kobling_install.ports import BrokerUses
from kobling_install.stripe_oauth import InvalidGrant, StripeUnavailable
from kobling_install.stripe_paths import NotAllowed, StripeRead, allowed
from kobling_shared.events import account_key, now

log = logging.getLogger(__name__)

# One API version for every read, whatever the merchant's account defaults to: the sync parses
# what it gets, and 2025-03-31 "basil" is where invoices lost `charge`, `payment_intent` and `paid`
# to InvoicePayments (DOMAIN.md; contracts R1). Moving it is a change of the sync's parsing too.
STRIPE_VERSION = "2025-03-31.basil"
TIMEOUT = httpx.Timeout(10.0, connect=3.0)
TOKEN_REDACTED = "[token]"
UNAUTHENTICATED = "(unauthenticated)"  # parentheses: never a caller's name (settings.CALLER)
_CONTEXT = b"kobling:stripe-broker-query-digest:v1"

CALLS = Counter(
    "kobling_stripe_broker_calls_total",
    "Stripe broker calls by caller and outcome (Stripe's status, or the broker's refusal)",
    ["caller", "outcome"],
)


class Refused(Exception):
    """Nothing, or nothing more, goes to Stripe: `status` and `error` say why, for the caller."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


def digest_key(secret: str) -> bytes:
    """The key of the query digest, from a secret only install holds: a reader of the database
    cannot confirm a guessed id by hashing it."""
    return hmac.new(secret.encode(), _CONTEXT, hashlib.sha256).digest()


@dataclass(frozen=True)
class StripeBroker:
    oauth: OAuthDeps  # the install's tokens, refreshed as needed
    uses: BrokerUses
    http: httpx.AsyncClient
    key: bytes  # digest_key(...)

    async def read(
        self, caller: str, account_id: str, livemode: bool, method: str, given: str
    ) -> Answer:
        try:
            request = allowed(method, given)
        except NotAllowed as why:
            refused = Refused(400, "not_allowed", f"not a read the Stripe broker lends ({why})")
            await self.refusal(caller, account_id, livemode, method, given, refused)
            raise refused from None
        try:
            token = await self._token(account_id, livemode)
        except Refused as refused:
            await self._audit(caller, account_id, livemode, request, _refused(refused))
            raise
        return await self._send(caller, account_id, livemode, request, token)

    async def refusal(
        self,
        caller: str,
        account_id: str,
        livemode: bool,
        method: str,
        given: str,
        refused: Refused,
        known_only: bool = False,
    ) -> None:
        """Audits a call refused before it was understood: never its text (it may be hostile),
        only its digest, so repeated probes compare equal. `known_only`: only for an account we
        ever installed, so that no one without a token can fill the audit with made-up ones."""
        if known_only and not await self._installed_once(account_id, livemode):
            CALLS.labels(caller, str(refused.status)).inc()
            return
        probe = StripeRead("", given, (), None)
        shown = method if method in ("GET", "POST", "PUT", "PATCH", "DELETE") else "?"
        await self._audit(caller, account_id, livemode, probe, _refused(refused), shown)

    async def _token(self, account_id: str, livemode: bool) -> str:
        try:
            return await access_token(account_id, livemode, self.oauth)
        except NoTokens:
            if await self._installed_once(account_id, livemode):
                refused = Refused(409, "uninstalled", "the app is uninstalled from this account")
            else:
                refused = Refused(404, "unknown_account", "no install of this account and mode")
        except InvalidGrant:
            refused = Refused(409, "invalid_grant", "Stripe refused to refresh the install's token")
        except StripeUnavailable:
            refused = Refused(504, "stripe_unavailable", "Stripe did not refresh the token")
        raise refused

    async def _installed_once(self, account_id: str, livemode: bool) -> bool:
        key = account_key(account_id, livemode)
        return bool(await self.oauth.installs.oauth_announced([key]))

    async def _send(
        self, caller: str, account_id: str, livemode: bool, request: StripeRead, token: str
    ) -> Answer:
        use_id = await self._audit(caller, account_id, livemode, request, {"outcome": "unknown"})
        started = time.monotonic()
        try:
            response = await self.http.get(
                f"{self.oauth.settings.stripe_api_base}{request.path}",
                params=request.pairs,
                headers={"Authorization": f"Bearer {token}", "Stripe-Version": STRIPE_VERSION},
                timeout=TIMEOUT,
                follow_redirects=False,  # the token goes to Stripe's API and nowhere else
            )
        except httpx.HTTPError as error:
            log.warning("stripe broker: GET %s unanswered: %s", request.path, type(error).__name__)
            refused = Refused(504, "stripe_unavailable", "Stripe did not answer")
            await self._settle(use_id, caller, started, _refused(refused, "unanswered"))
            raise refused from None
        status = response.status_code
        await self._settle(use_id, caller, started, {"status": status, "outcome": "answered"})
        return Answer(status, _body(response.content, token))

    async def _audit(
        self,
        caller: str,
        account_id: str,
        livemode: bool,
        request: StripeRead,
        result: dict[str, Any],
        method: str = "GET",
    ) -> str:
        use = {
            "_id": uuid.uuid4().hex,
            "caller": caller,
            "account": account_key(account_id, livemode),
            "method": method,
            "path": request.path,
            "query_digest": self._digest(request.query),
            "limit": request.limit,
            "status": 0,
            "duration_ms": 0,
            "at": now(),
            **result,
        }
        await self.uses.record(use)
        if use["outcome"] == "refused":
            CALLS.labels(caller, str(use["status"])).inc()
        return str(use["_id"])

    async def _settle(
        self, use_id: str, caller: str, started: float, result: dict[str, Any]
    ) -> None:
        duration_ms = round((time.monotonic() - started) * 1000)
        await self.uses.settle(use_id, {**result, "duration_ms": duration_ms})
        CALLS.labels(caller, str(result["status"])).inc()

    def _digest(self, query: str) -> str | None:
        if not query:
            return None
        return hmac.new(self.key, query.encode(), hashlib.sha256).hexdigest()[:32]


def _refused(refused: Refused, outcome: str = "refused") -> dict[str, Any]:
    return {"status": refused.status, "outcome": outcome, "error": refused.error}


def _body(content: bytes, token: str) -> Any:
    """Stripe's body as JSON (text when it is not), with the token blanked should any answer
    ever echo it."""
    text = content.decode("utf-8", "replace").replace(token, TOKEN_REDACTED)
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text
