"""The e-conomic REST client: proving a grant with GET /self."""

import asyncio
import logging
from dataclasses import dataclass

import httpx

from kobling_econ_auth.connection import Agreement

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(3.0, connect=2.0)
ATTEMPTS = 3
BACKOFF_SECONDS = 0.25
MAX_RETRY_AFTER_SECONDS = 5.0


class GrantRejected(Exception):
    """e-conomic did not accept the credentials (401): a revoked or wrong grant (E02250), or
    just as well our own app secret token (see rejections.py)."""


class PermissionRefused(Exception):
    """e-conomic accepted the credentials but refuses the request (403): the user who granted
    the app lacks a role it needs. Never a revocation."""


class EconomicUnavailable(Exception):
    """No answer about the grant: 5xx, 429 or a timeout, after bounded retries."""


@dataclass
class EconomicClient:
    api_url: str
    app_secret_token: str
    http: httpx.AsyncClient

    async def self_info(self, grant_token: str) -> Agreement:
        headers = {"X-AppSecretToken": self.app_secret_token, "X-AgreementGrantToken": grant_token}
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = await self.http.get(
                    f"{self.api_url}/self", headers=headers, timeout=TIMEOUT
                )
            except httpx.HTTPError as error:
                log.warning("e-conomic /self attempt %d failed: %s", attempt, type(error).__name__)
                delay = BACKOFF_SECONDS * 2 ** (attempt - 1)
            else:
                if response.status_code == 200:
                    return _agreement(response.json())
                if response.status_code == 401:
                    raise GrantRejected(_error_code(response))
                if response.status_code == 403:
                    raise PermissionRefused(_error_code(response))
                if response.status_code != 429 and response.status_code < 500:
                    raise EconomicUnavailable(f"unexpected status {response.status_code}")
                log.warning("e-conomic /self attempt %d answered %d", attempt, response.status_code)
                delay = _retry_after(response) or BACKOFF_SECONDS * 2 ** (attempt - 1)
                if delay > MAX_RETRY_AFTER_SECONDS:
                    break  # the merchant is waiting on this page: do not hold them for minutes
            if attempt < ATTEMPTS:
                await asyncio.sleep(delay)
        raise EconomicUnavailable("e-conomic did not answer")


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


def _error_code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("errorCode") or "unauthorized")
    except ValueError:
        return "unauthorized"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
