"""sync's two doors to the outside, both lent by the service that holds the secret: econ-auth's
e-conomic broker (`POST /internal/economic`) and install's read-only Stripe broker
(`POST /internal/stripe`). sync sends its own caller token and never sees a grant or a Stripe
token. Over real HTTP, as any other caller would."""

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

log = logging.getLogger(__name__)

# A broker call includes the broker's own retries of e-conomic (econ-auth's deadline is 45 s).
TIMEOUT = httpx.Timeout(60.0, connect=3.0)


class Unavailable(OSError):
    """The broker, or the party behind it, did not answer or is out of budget: try again later.
    An OSError, so the consumer treats it as the outage it is (retried, never parked)."""


@dataclass(frozen=True)
class Refused(Exception):
    """The broker would not pass the call on: not connected, out of scope, unknown account."""

    status: int
    error: str
    message: str

    def __str__(self) -> str:
        return f"{self.status} {self.error}: {self.message}"


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class Economic:
    """e-conomic through econ-auth's broker."""

    url: str
    token: str
    http: httpx.AsyncClient

    async def call(
        self,
        account_id: str,
        livemode: bool,
        method: str,
        path: str,
        body: Any = None,
        idempotency_key: str | None = None,
    ) -> Answer:
        headers = {"Authorization": f"Bearer {self.token}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        request = {
            "account_id": account_id,
            "livemode": livemode,
            "method": method,
            "path": path,
            "body": body,
        }
        raw = await _post(self.http, f"{self.url}/internal/economic", request, headers)
        answer = Answer(raw["status"], raw.get("body"), raw.get("headers") or {})
        if answer.status >= 500 or answer.status == 429:
            # e-conomic itself failed or throttled: a create may or may not have landed, which
            # the caller's intent record and marker lookup settle on the next attempt.
            raise Unavailable(
                f"e-conomic answered {answer.status} to {method} {path.split('?')[0]}"
            )
        return answer


@dataclass
class Stripe:
    """Stripe, read-only, through install's broker."""

    url: str
    token: str
    http: httpx.AsyncClient

    async def get(self, account_id: str, livemode: bool, path: str) -> Answer:
        headers = {"Authorization": f"Bearer {self.token}"}
        request = {"account_id": account_id, "livemode": livemode, "path": path}
        raw = await _post(self.http, f"{self.url}/internal/stripe", request, headers)
        answer = Answer(raw["status"], raw.get("body"))
        if answer.status >= 500 or answer.status == 429:
            raise Unavailable(f"Stripe answered {answer.status} to {path.split('?')[0]}")
        return answer


async def _post(
    http: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    try:
        response = await http.post(url, json=body, headers=headers, timeout=TIMEOUT)
    except httpx.HTTPError as error:
        raise Unavailable(f"{type(error).__name__} calling {url}") from None
    if response.status_code == 200:
        answer: dict[str, Any] = response.json()
        return answer
    if response.status_code in (429, 502, 503, 504):
        raise Unavailable(f"broker answered {response.status_code}")
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    named = problem.get("error") if isinstance(problem, dict) else None
    message = problem.get("message") or problem.get("detail") if isinstance(problem, dict) else None
    raise Refused(response.status_code, str(named or "refused"), str(message or ""))
