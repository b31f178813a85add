"""The e-conomic REST client: GET /self to prove a grant, and the broker's pass-through calls.
It alone sends to e-conomic, so it alone owns the retries (tenacity) and `Retry-After`."""

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
    wait_exponential,
)

from kobling_econ_auth.connection import Agreement
from kobling_econ_auth.ports import (
    EconomicUnavailable,
    GrantRejected,
    PermissionRefused,
    Reply,
    RestRequest,
    Sent,
    Unanswered,
)
from kobling_econ_auth.rest_paths import url_under

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(3.0, connect=2.0)
ATTEMPTS = 3
BACKOFF_SECONDS = 0.25  # then twice that: when e-conomic names no wait of its own
# The longest Retry-After waited out. The merchant is waiting on the callback's page: not for
# minutes. A caller of the broker is a service: a longer one is handed to it with the 429.
MERCHANT_PATIENCE_SECONDS = 5.0
CALLER_PATIENCE_SECONDS = 10.0
# A 5xx to a POST may have created the draft all the same: only these are safe to send again,
# and a POST that carries an Idempotency-Key (e-conomic answers its repeat from its cache).
IDEMPOTENT = frozenset({"GET", "PUT", "DELETE"})
IDEMPOTENCY_HEADER = "Idempotency-Key"
_BACKOFF = wait_exponential(multiplier=BACKOFF_SECONDS)


async def _nothing() -> None:
    pass


@dataclass
class EconomicClient:
    api_url: str
    app_secret_token: str
    http: httpx.AsyncClient

    async def self_info(self, grant_token: str) -> Agreement:
        url, request = f"{self.api_url}/self", RestRequest("GET", "/self", "")
        try:
            reply = await self._send(
                url, request, grant_token, None, Sent(), _nothing, MERCHANT_PATIENCE_SECONDS
            )
        except Unanswered:
            raise EconomicUnavailable("e-conomic did not answer") from None
        if reply.status == 200:
            return _agreement(json.loads(reply.content))
        if reply.status == 401:
            raise GrantRejected(_error_code(reply))
        if reply.status == 403:
            raise PermissionRefused(_error_code(reply))
        raise EconomicUnavailable(f"e-conomic answered {reply.status}")

    async def send(
        self,
        request: RestRequest,
        grant: str,
        body: Any,
        sent: Sent,
        before_each: Callable[[], Awaitable[object]],
    ) -> Reply:
        url = url_under(self.api_url, request)
        return await self._send(
            url, request, grant, body, sent, before_each, CALLER_PATIENCE_SECONDS
        )

    async def _send(
        self,
        url: str | httpx.URL,
        request: RestRequest,
        grant: str,
        body: Any,
        sent: Sent,
        before_each: Callable[[], Awaitable[object]],
        patience: float,
    ) -> Reply:
        headers = {"X-AppSecretToken": self.app_secret_token, "X-AgreementGrantToken": grant}
        if request.idempotency_key:
            headers[IDEMPOTENCY_HEADER] = request.idempotency_key
        payload = body if request.method in ("POST", "PUT", "PATCH") else None

        async def attempt() -> Reply:
            await before_each()
            sent.attempts, sent.status = sent.attempts + 1, 0
            response = await self.http.request(
                request.method, url, headers=headers, json=payload, timeout=TIMEOUT
            )
            sent.status = response.status_code
            return Reply(response.status_code, dict(response.headers.items()), response.content)

        try:
            return await _retrying(request, patience)(attempt)
        except httpx.HTTPError as error:
            log.warning("e-conomic %s %s: %s", request.method, request.path, type(error).__name__)
            raise Unanswered(type(error).__name__) from None


def _retrying(request: RestRequest, patience: float) -> AsyncRetrying:
    """At most ATTEMPTS: after a lost connection, a 429, or a 5xx to a request safe to repeat
    (a POST is, with an Idempotency-Key), each waiting what e-conomic's Retry-After says (when it
    is no longer than `patience`) or a short backoff. What the last attempt got is the answer."""
    safe = request.method in IDEMPOTENT or bool(
        request.method == "POST" and request.idempotency_key
    )

    def again(reply: Reply) -> bool:
        if reply.status != 429 and not (reply.status >= 500 and safe):
            return False
        after = _retry_after(reply)
        return after is None or after <= patience

    def wait(state: RetryCallState) -> float:
        outcome = state.outcome
        reply = outcome.result() if outcome and not outcome.failed else None
        after = _retry_after(reply) if reply else None
        return _BACKOFF(state) if after is None else after

    def tell(state: RetryCallState) -> None:
        outcome, n = state.outcome, state.attempt_number
        said = "?" if outcome is None else outcome.exception() or outcome.result().status
        log.warning("e-conomic %s %s attempt %d: %r", request.method, request.path, n, said)

    return AsyncRetrying(
        stop=stop_after_attempt(ATTEMPTS),
        wait=wait,
        retry=retry_if_exception(lambda e: safe and isinstance(e, httpx.HTTPError))
        | retry_if_result(again),
        before_sleep=tell,
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
    )


def _retry_after(reply: Reply) -> float | None:
    """e-conomic's Retry-After in seconds (a whole number, as HTTP has it), or None."""
    after = reply.headers.get("retry-after", "")
    return float(after) if after.isdigit() else None


def _agreement(body: dict[str, object]) -> Agreement:
    company = body.get("company") if isinstance(body.get("company"), dict) else {}
    user = body.get("user") if isinstance(body.get("user"), dict) else {}
    assert isinstance(company, dict) and isinstance(user, dict)
    # A developer agreement manages apps and holds no books: nothing can sync to it. Only that
    # value is taken as one (the field's other values are not documented).
    affiliation = body.get("companyAffiliation")
    return Agreement(
        agreement_number=int(str(body["agreementNumber"])),
        company_name=str(company.get("name") or "Unnamed company"),
        company_identification_number=company.get("companyIdentificationNumber") or None,
        vat_number=company.get("vatNumber") or None,
        user_name=user.get("name"),
        developer_agreement=isinstance(affiliation, str) and affiliation.lower() == "developer",
    )


def _error_code(reply: Reply) -> str:
    try:
        return str(json.loads(reply.content).get("errorCode") or "unauthorized")
    except ValueError:
        return "unauthorized"
