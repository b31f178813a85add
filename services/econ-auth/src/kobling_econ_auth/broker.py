"""The e-conomic broker: lends the use of a merchant's grant to our own services, never the grant.

A caller names an account, a mode and a REST request; econ-auth adds the app secret token and the
account's grant, within the caller's scope (kobling_econ_auth.scopes), its share of the agreement's
daily budget and that budget, and answers what e-conomic answered. Every use, and every call
refused, is published on economic.grant-uses.v1 (who, whose, what, the status; no body, no token).
"""

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import httpx
from prometheus_client import Counter, Histogram
from pymongo.asynchronous.collection import AsyncCollection

from kobling_econ_auth import connection as domain
from kobling_econ_auth.broker_audit import digest_key, use_event
from kobling_econ_auth.budget import DailyBudget
from kobling_econ_auth.economic import TIMEOUT
from kobling_econ_auth.handlers import Deps, _change, heard
from kobling_econ_auth.rest_paths import RestRequest, url_under
from kobling_econ_auth.scopes import READ_ONLY, Scope
from kobling_shared.crypto import Unreadable
from kobling_shared.events import EconomicGrantUsed, account_key, now, parse_event
from kobling_shared.kafka import PUBLISH_TIMEOUT_SECONDS
from kobling_shared.mongo import Document
from kobling_shared.ownership import Owned

log = logging.getLogger(__name__)

ATTEMPTS = 3
BACKOFF_SECONDS = 0.25
# A caller is a service, not a merchant at a page: it may wait this long for e-conomic's
# Retry-After; a longer one is handed to the caller with e-conomic's 429.
MAX_RETRY_AFTER_SECONDS = 10.0
# A 5xx to a POST may have created the draft all the same: only these are safe to send again.
IDEMPOTENT = frozenset({"GET", "PUT", "DELETE"})
# What the caller needs of e-conomic's headers (the body carries e-conomic's own pagination).
PASSED_HEADERS = ("retry-after", "location", "link", "content-type")
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


@dataclass
class Sent:
    """What became of a call's attempts: how many went out, and e-conomic's last status."""

    attempts: int = 0
    status: int = 0


Outcome = Literal["answered", "unanswered", "unknown"]


@dataclass
class Broker:
    deps: Deps
    budget: DailyBudget
    http: httpx.AsyncClient
    # Each use, recorded before it goes to e-conomic and removed once its audit event is
    # published: a use whose instance died in between is published by the relay, as `unknown`.
    unsent: AsyncCollection[Document]
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
        try:
            await self.deps.publisher.publish(event)
        except Exception as error:
            log.warning("refused use %s kept for later: %s", event.id, type(error).__name__)
            kept = {"_id": event.id, "event": event.model_dump_json(), "relay_after": now()}
            await self.unsent.insert_one(kept)

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
            self._record(unknown),
            return_exceptions=True,
        )
        if isinstance(recorded, BaseException):
            raise recorded
        if isinstance(grant, BaseException):
            await self.unsent.delete_one({"_id": unknown.id})
            if isinstance(grant, Unreadable):
                raise Refused(409, "grant_unreadable", "the grant opens with no key we hold")
            raise grant
        sent = Sent()
        try:
            async with asyncio.timeout(self.deps.settings.economic_broker_deadline_seconds):
                status, headers, content, left = await self._send(
                    caller, conn.agreement, request, body, grant, sent
                )
        except (Refused, TimeoutError) as stopped:
            if sent.attempts:
                outcome: Outcome = "answered" if sent.status else "unanswered"
                await self._audit(unknown, sent.status, time.monotonic() - started, outcome)
            else:
                await self.unsent.delete_one({"_id": unknown.id})
            refused = stopped if isinstance(stopped, Refused) else None
            if refused is None:
                refused = Refused(504, "economic_unavailable", "e-conomic did not answer in time")
            refused.audited = bool(sent.attempts)
            raise refused from None
        elapsed = time.monotonic() - started
        LATENCY.observe(elapsed)
        USES.labels(caller, str(status)).inc()
        await self._audit(unknown, status, elapsed, "answered")
        await self._after(conn, status)
        return Answer(status, headers, _body(content, grant), left)

    async def _send(
        self,
        caller: str,
        agreement: domain.Agreement,
        request: RestRequest,
        body: Any,
        grant: str,
        sent: Sent,
    ) -> tuple[int, dict[str, str], bytes, int]:
        url = url_under(self.deps.settings.economic_api_url, request)
        headers = {
            "X-AppSecretToken": self.deps.settings.economic_app_secret_token,
            "X-AgreementGrantToken": grant,
        }
        left = 0
        for attempt in range(1, ATTEMPTS + 1):
            left = await self._take(caller, agreement.agreement_number)
            sent.attempts, sent.status = attempt, 0
            try:
                response = await self.http.request(
                    request.method,
                    url,
                    headers=headers,
                    json=body if request.method in ("POST", "PUT", "PATCH") else None,
                    timeout=TIMEOUT,
                )
            except httpx.HTTPError as error:
                log.warning("broker %s %s: %s", request.method, request.path, type(error).__name__)
                if request.method not in IDEMPOTENT or attempt == ATTEMPTS:
                    raise Refused(504, "economic_unavailable", "e-conomic did not answer") from None
                await asyncio.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
                continue
            sent.status = response.status_code
            delay = _retry_delay(request.method, response, attempt)
            if delay is None or attempt == ATTEMPTS:
                kept = {k: v for k, v in response.headers.items() if k.lower() in PASSED_HEADERS}
                return response.status_code, kept, response.content, left
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")

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
        await _change(
            self.deps,
            conn.account_id,
            conn.livemode,
            lambda c: domain.after_check(c, result, strikes),
        )

    async def _record(self, unknown: EconomicGrantUsed) -> None:
        """Before the call leaves: the use as the relay would publish it if we died now, and
        when it may (once no call of ours can still be out)."""
        due = now() + timedelta(
            seconds=self.deps.settings.economic_broker_deadline_seconds + PUBLISH_TIMEOUT_SECONDS
        )
        await self.unsent.insert_one(
            {"_id": unknown.id, "event": unknown.model_dump_json(), "relay_after": due}
        )

    async def _audit(
        self, unknown: EconomicGrantUsed, status: int, elapsed: float, outcome: Outcome
    ) -> None:
        """Publishes the use with its outcome, under the id recorded before the call: whichever
        of this and the relay's copy arrives first is the one the read model keeps."""
        data = unknown.data.model_copy(
            update={"status": status, "duration_ms": round(elapsed * 1000), "outcome": outcome}
        )
        event = unknown.model_copy(update={"data": data})
        try:
            await self.deps.publisher.publish(event)
        except Exception as error:
            log.warning("grant use %s kept for later: %s", event.id, type(error).__name__)
            kept = {"event": event.model_dump_json(), "relay_after": now()}
            await self.unsent.replace_one({"_id": event.id}, kept)
            return
        await self.unsent.delete_one({"_id": event.id})

    async def relay_unsent(self, owned: Owned) -> None:
        """Publishes the uses their call left unpublished (a broker outage, or the instance died
        while the call was out), for the accounts this instance owns."""
        for doc in await self.unsent.find().to_list(500):
            event = parse_event(doc["event"])
            if owned.owns(event.subject) and doc.get("relay_after", now()) <= now():
                await self.deps.publisher.publish(event)
                await self.unsent.delete_one({"_id": doc["_id"]})


def _retry_delay(method: str, response: httpx.Response, attempt: int) -> float | None:
    """How long to wait before sending again, or None to answer this response."""
    status = response.status_code
    if status != 429 and not (status >= 500 and method in IDEMPOTENT):
        return None
    after = response.headers.get("Retry-After", "")
    delay = float(after) if after.isdigit() else BACKOFF_SECONDS * 2 ** (attempt - 1)
    return delay if delay <= MAX_RETRY_AFTER_SECONDS else None


def _body(content: bytes, grant: str) -> Any:
    """e-conomic's body as JSON (text when it is not), with the grant blanked should any answer
    ever echo it."""
    text = content.decode("utf-8", "replace").replace(grant, GRANT_REDACTED)
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text
