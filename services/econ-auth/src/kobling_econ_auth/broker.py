"""The e-conomic broker: lends the use of a merchant's grant to our own services, never the grant.

A caller names an account, a mode and a REST request; econ-auth adds the app secret token and the
account's grant, within the caller's scope (kobling_econ_auth.scopes), its share of the agreement's
daily budget and that budget, and answers what e-conomic answered. Every use, and every call
refused, is published on economic.grant-uses.v1 (who, whose, what, the status; no body, no token).
"""

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from prometheus_client import Counter, Histogram

from kobling_econ_auth import audit
from kobling_econ_auth import connection as domain
from kobling_econ_auth.broker_audit import digest_key, use_event
from kobling_econ_auth.budget import DailyBudget
from kobling_econ_auth.deps import Deps, change
from kobling_econ_auth.grant_checks import heard
from kobling_econ_auth.ports import Sent, Unanswered, UnsentUses
from kobling_econ_auth.rest_paths import RestRequest
from kobling_econ_auth.scopes import READ_ONLY, Scope
from kobling_shared.crypto import Unreadable
from kobling_shared.events import EconomicGrantUsed, account_key, now

# What the caller needs of e-conomic's headers (the body carries e-conomic's own pagination;
# X-ResultFromCache says a create's Idempotency-Key was seen before: nothing new was created).
PASSED_HEADERS = ("retry-after", "location", "link", "content-type", "x-resultfromcache")
GRANT_REDACTED = "[grant]"

USES = Counter(
    "kobling_broker_calls_total", "Broker calls by caller and outcome", ["caller", "outcome"]
)
LATENCY = Histogram("kobling_broker_seconds", "Broker calls, e-conomic's time included")


class Refused(Exception):
    """The broker calls nothing: `status` and `error` say why, for the caller."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.audited = False  # a call that went out is audited with e-conomic's status


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    budget_left: int


Outcome = Literal["answered", "unanswered", "unknown"]


@dataclass
class Broker:
    deps: Deps
    budget: DailyBudget
    # Each use, recorded before it goes to e-conomic and removed once its audit event is
    # published: a use whose instance died in between is published by the relay, as `unknown`.
    unsent: UnsentUses
    scopes: dict[str, Scope] = field(default_factory=dict)
    # Each caller's own share of every agreement's day, where it is less than the whole.
    shares: dict[str, DailyBudget] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._key = digest_key(self.deps.settings.economic_app_secret_token)

    async def use(
        self, caller: str, account_id: str, livemode: bool, request: RestRequest, body: Any
    ) -> Answer:
        try:
            return await self._use(caller, account_id, livemode, request, body)
        except Refused as refused:
            if not refused.audited:
                await self.refusal(caller, account_id, livemode, request, refused)
            raise

    async def refusal(
        self,
        caller: str,
        account_id: str,
        livemode: bool,
        request: RestRequest,
        refused: Refused,
        known_only: bool = False,
    ) -> None:
        """Audits a call the broker refused: the probes and the bulk reads a scope or a budget
        stopped are what an audit is for. `known_only`: only about an account we hold, so that
        no one without a token can fill the topic with made-up accounts."""
        USES.labels(caller, str(refused.status)).inc()
        conn = await self.deps.store.get(account_id, livemode)
        if conn is None and known_only:
            return
        agreement = conn.agreement.agreement_number if conn and conn.agreement else None
        event = use_event(
            self._key,
            caller,
            account_id,
            livemode,
            agreement,
            request,
            status=refused.status,
            outcome="refused",
            error=refused.error,
        )
        await audit.refused(self.deps.publisher, self.unsent, event)

    async def _use(
        self, caller: str, account_id: str, livemode: bool, request: RestRequest, body: Any
    ) -> Answer:
        if not self.scopes.get(caller, READ_ONLY).allows(request.method, request.path):
            message = f"{caller} may not {request.method} {request.path} (ECONOMIC_BROKER_SCOPES)"
            raise Refused(403, "out_of_scope", message)
        conn = await self.deps.store.get(account_id, livemode)
        if conn is None:
            raise Refused(404, "unknown_account", "no install of this account in this mode")
        if not conn.installed:
            raise Refused(409, "uninstalled", "the app is uninstalled from this account")
        if conn.state != "connected" and conn.held is not None:
            # A grant to a company another Stripe account is connected to: lent to nobody until
            # that account approves (kobling_econ_auth.holds).
            message = "e-conomic is awaiting the consent of the company's connected Stripe account"
            raise Refused(409, "awaiting_consent", message)
        if conn.state != "connected" or conn.agreement is None or conn.grant_ciphertext is None:
            raise Refused(409, conn.state, f"e-conomic is {conn.state.replace('_', ' ')}")
        started = time.monotonic()
        unknown = use_event(
            self._key,
            caller,
            account_id,
            livemode,
            conn.agreement.agreement_number,
            request,
            outcome="unknown",
        )
        grant, recorded = await asyncio.gather(
            self.deps.grants.open(account_id, livemode, conn.grant_ciphertext),
            audit.record(self.unsent, unknown, self.deps.settings.economic_broker_deadline_seconds),
            return_exceptions=True,
        )
        if isinstance(recorded, BaseException):
            raise recorded
        if isinstance(grant, BaseException):
            await self.unsent.forget(unknown.id)
            if isinstance(grant, Unreadable):
                raise Refused(409, "grant_unreadable", "the grant opens with no key we hold")
            raise grant
        sent, left = Sent(), 0

        async def take() -> None:  # each attempt is a call, counted before it goes out
            nonlocal left
            left = await self._take(caller, agreement_number)

        agreement_number = conn.agreement.agreement_number
        try:
            async with asyncio.timeout(self.deps.settings.economic_broker_deadline_seconds):
                reply = await self.deps.economic.send(request, grant, body, sent, take)
        except (Refused, TimeoutError, Unanswered) as stopped:
            refused = _refusal(stopped, audited=bool(sent.attempts))
            if sent.attempts:
                # Audited here, so `use` skips the refusal's count: counted and timed here.
                elapsed = time.monotonic() - started
                LATENCY.observe(elapsed)
                USES.labels(caller, str(refused.status)).inc()
                outcome: Outcome = "answered" if sent.status else "unanswered"
                await self._audit(unknown, sent.status, elapsed, outcome)
            else:
                await self.unsent.forget(unknown.id)
            raise refused from None
        elapsed = time.monotonic() - started
        LATENCY.observe(elapsed)
        USES.labels(caller, str(reply.status)).inc()
        await self._audit(unknown, reply.status, elapsed, "answered")
        await self._after(conn, reply.status)
        headers = {k: v for k, v in reply.headers.items() if k in PASSED_HEADERS}
        return Answer(reply.status, headers, _body(reply.content, grant), left)

    async def _take(self, caller: str, agreement_number: int) -> int:
        """One call from the caller's share, then from the agreement's day: what is left of the
        smaller. The share first, so a share spent never takes from what others may use."""
        day = now().date()
        share = self.shares.get(caller)
        mine = await share.take(agreement_number, day) if share else None
        if share and mine is None:
            raise Refused(429, "caller_budget_spent", f"{caller}'s share of this day is spent")
        taken = await self.budget.take(agreement_number, day)
        if taken is None:
            raise Refused(429, "budget_spent", "this agreement's daily budget is spent")
        return taken if mine is None else min(mine, taken)

    async def _after(self, conn: domain.Connection, status: int) -> None:
        """A 401 through the broker is the same evidence as one to the grant check."""
        grant = account_key(conn.account_id, conn.livemode)
        if status == 401:
            result: domain.CheckResult = "withheld" if heard(self.deps, True, grant) else "revoked"
        elif 200 <= status < 300:
            heard(self.deps, False, grant)
            if not conn.revocation_strikes:
                return
            result = "valid"
        else:
            return
        strikes = self.deps.settings.revocation_strikes
        await change(
            self.deps,
            conn.account_id,
            conn.livemode,
            lambda c: domain.after_check(c, result, strikes),
        )

    async def _audit(
        self, unknown: EconomicGrantUsed, status: int, elapsed: float, outcome: Outcome
    ) -> None:
        duration_ms = round(elapsed * 1000)
        await audit.answered(
            self.deps.publisher,
            self.unsent,
            unknown,
            status=status,
            duration_ms=duration_ms,
            outcome=outcome,
        )


def _refusal(stopped: Exception, audited: bool) -> Refused:
    if isinstance(stopped, Refused):
        refused = stopped
    elif isinstance(stopped, Unanswered):
        refused = Refused(504, "economic_unavailable", "e-conomic did not answer")
    else:
        refused = Refused(504, "economic_unavailable", "e-conomic did not answer in time")
    refused.audited = audited
    return refused


def _body(content: bytes, grant: str) -> Any:
    """e-conomic's body as JSON (text when it is not), with the grant blanked should any answer
    ever echo it."""
    text = content.decode("utf-8", "replace").replace(grant, GRANT_REDACTED)
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text
