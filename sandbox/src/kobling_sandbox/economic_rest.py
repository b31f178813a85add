"""What every e-conomic REST endpoint of the sandbox shares, in the shapes restdocs documents
(docs/external-contracts.md E17-E21, E24, E26): the grant check, collections paged by
`skippages`/`pagesize` and filtered by `filter`, validation errors nested like the payload,
references by number or self link, and the Idempotency-Key cache."""

import re
import time
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import JSONResponse

from kobling_sandbox.config import settings
from kobling_sandbox.economic import _error, granted, state
from kobling_sandbox.economic_filters import FilterError, parse
from kobling_sandbox.economic_ledger import Books, books_of

PREFIX = "/economic/api"
MAX_PAGE_SIZE = 1000
IDEMPOTENCY_SECONDS = 3600  # a repeat within the hour gets the first answer


def books_for(request: Request) -> Books | JSONResponse:
    """The books the request's two headers open, or e-conomic's refusal. Names the agreement on
    the request, so the call log (economic_calls) counts the call as that agreement's."""
    state.api_calls += 1
    grant = granted(
        request.headers.get("X-AppSecretToken"), request.headers.get("X-AgreementGrantToken")
    )
    if isinstance(grant, JSONResponse):
        return grant
    request.state.agreement = grant.agreement_number
    return books_of(grant.agreement_number)


def url(path: str) -> str:
    return f"{settings().economic_api_url}{path}"


def not_found(what: str) -> JSONResponse:
    return _error(404, f"{what} not found.", errorCode="E06000")


def invalid(errors: dict[str, str], values: Any = None) -> JSONResponse:
    """e-conomic's validation error: 400 "Validation error.", `errors` nested like the payload,
    each with errorCode, message, value and developerHint (and arrayIndex inside arrays)."""
    nested: dict[str, Any] = {}
    for path, why in errors.items():
        node, parts = nested, path.split(".")
        index = None
        for part in parts[:-1]:
            name, _, position = part.partition("[")
            node = node.setdefault(name, {})
            if position:
                index = int(position.rstrip("]"))
        leaf = {
            "errorCode": "E06000",
            "message": why,
            "value": value_at(values, path),
            "developerHint": f"Check '{path}'.",
        }
        if index is not None:
            leaf["arrayIndex"] = index
        node.setdefault(parts[-1], {"errors": []})["errors"].append(leaf)
    return _error(400, "Validation error.", errorCode="E04300", errors=nested)


def value_at(body: Any, path: str) -> Any:
    node = body
    for part in path.split("."):
        name, _, position = part.partition("[")
        node = node.get(name) if isinstance(node, dict) else None
        if position and isinstance(node, list):
            i = int(position.rstrip("]"))
            node = node[i] if i < len(node) else None
    return node


def present(body: Any) -> Any:
    """e-conomic leaves `false` booleans out of what it answers."""
    if isinstance(body, dict):
        return {k: present(v) for k, v in body.items() if v is not False}
    if isinstance(body, list):
        return [present(v) for v in body]
    return body


def reference(value: Any, key: str, resource: str) -> int | None:
    """A reference given by number (`{"customerNumber": 7}`) or by self link
    (`{"self": ".../customers/7"}`): e-conomic takes either."""
    if not isinstance(value, dict):
        return None
    if value.get(key) not in (None, ""):
        try:
            return int(value[key])
        except (TypeError, ValueError):
            return None
    match = re.search(rf"/{resource}/(\d+)$", str(value.get("self") or ""))
    return int(match.group(1)) if match else None


def missing(body: Any, *paths: str) -> dict[str, str]:
    """The required properties (dotted paths) absent from `body`."""
    return {
        path: f"Property '{path}' is required."
        for path in paths
        if value_at(body, path) in (None, "")
    }


def created(books: Books, key: str | None, body: Any, location: str) -> JSONResponse:
    headers = {"Location": location}
    if key:
        books.answers[key] = (time.time(), 201, body, headers)
    return JSONResponse(body, status_code=201, headers=headers)


def repeat(books: Books, request: Request) -> JSONResponse | None:
    """The first answer to this Idempotency-Key, within the hour, marked as from the cache."""
    key = request.headers.get("Idempotency-Key")
    if not key or key not in books.answers:
        return None
    at, status, body, headers = books.answers[key]
    if time.time() - at > IDEMPOTENCY_SECONDS:
        del books.answers[key]
        return None
    return JSONResponse(body, status_code=status, headers={**headers, "X-ResultFromCache": "true"})


def collection(
    request: Request,
    path: str,
    items: list[dict[str, Any]],
    filterable: frozenset[str] = frozenset(),
) -> JSONResponse:
    """A page of `items` as e-conomic answers a collection, after its `filter`, if any."""
    expression = request.query_params.get("filter")
    total = len(items)
    if expression is not None:
        try:
            predicate = parse(expression, filterable)
        except FilterError as why:
            return _error(400, str(why), errorCode="E07010", developerHint=why.args[0])
        items = [item for item in items if predicate(item)]
    try:
        skip = int(request.query_params.get("skippages", 0))
        size = int(request.query_params.get("pagesize", 20))
    except ValueError:
        return invalid({"pagesize": "skippages and pagesize are whole numbers"})
    if size < 1 or size > MAX_PAGE_SIZE or skip < 0:
        return invalid({"pagesize": f"pagesize is 1 to {MAX_PAGE_SIZE}"})
    last = max(0, (len(items) - 1) // size)
    extra = f"&filter={quote(expression, safe='')}" if expression is not None else ""

    def page(n: int) -> str:
        return url(f"{path}?skippages={n}&pagesize={size}{extra}")

    pagination: dict[str, Any] = {
        "maxPageSizeAllowed": MAX_PAGE_SIZE,
        "skipPages": skip,
        "pageSize": size,
        "results": len(items),
        "resultsWithoutFilter": total,
        "firstPage": page(0),
        "lastPage": page(last),
    }
    if skip < last:
        pagination["nextPage"] = page(skip + 1)
    if skip > 0:
        pagination["previousPage"] = page(skip - 1)
    body = {
        "collection": items[skip * size : (skip + 1) * size],
        "pagination": pagination,
        "metaData": {},
        "self": url(path),
    }
    return JSONResponse(body)
