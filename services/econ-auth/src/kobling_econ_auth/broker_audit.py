"""What the audit (economic.grant-uses.v1) says of one broker call, answered or refused. Pure.

The query is left out (it can name a customer or an e-mail) but not forgotten: a keyed digest of
it tells a caller repeating one lookup from one walking through many, and the page size tells a
single read from a bulk one. The key is derived from the app secret token, which only econ-auth
holds, so a reader of the topic cannot confirm a guessed e-mail by hashing it.
"""

import hashlib
import hmac
from urllib.parse import parse_qsl

from kobling_econ_auth.connection import SOURCE
from kobling_econ_auth.rest_paths import METHODS, RestRequest
from kobling_shared.events import EconomicGrantUsed, GrantUseData

UNAUTHENTICATED = "(unauthenticated)"  # parentheses: never a caller's name (settings.CALLER)
_CONTEXT = b"kobling:broker-query-digest:v1"


def digest_key(app_secret_token: str) -> bytes:
    return hmac.new(app_secret_token.encode(), _CONTEXT, hashlib.sha256).digest()


def query_digest(key: bytes, query: str) -> str | None:
    if not query:
        return None
    return hmac.new(key, query.encode(), hashlib.sha256).hexdigest()[:32]


def page_size(query: str) -> int | None:
    sizes = [v for k, v in parse_qsl(query) if k.lower() == "pagesize" and v.isdigit()]
    return int(sizes[-1]) if sizes else None


def use_event(
    key: bytes,
    caller: str,
    account_id: str,
    livemode: bool,
    agreement_number: int | None,
    request: RestRequest,
    **data: object,
) -> EconomicGrantUsed:
    """One call as the audit tells it; `data` adds the status, outcome and the rest."""
    return EconomicGrantUsed(
        source=SOURCE,
        subject=account_id,
        livemode=livemode,
        data=GrantUseData.model_validate(
            {
                "caller": caller,
                "method": request.method,
                "path": request.path,
                "status": 0,
                "duration_ms": 0,
                "agreement_number": agreement_number,
                "query_digest": query_digest(key, request.query),
                "page_size": page_size(request.query),
                **data,
            }
        ),
    )


def unparsed(method: str, given: str) -> RestRequest:
    """A request that is not a REST path, as the audit may hold it: never its text (it may be
    hostile, or name a customer), only a method we know and the given path as the 'query' to
    digest, so repeated probes compare equal."""
    return RestRequest(method if method in METHODS else "?", "", given)
