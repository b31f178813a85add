"""Stripe's read API over a connected account's objects, for the install's read-only Stripe
broker (docs/external-contracts.md S11, S19, S23-S25): the OAuth access token the sandbox minted
for that account and mode, lists paged by `limit` / `starting_after` / `ending_before`, `expand[]`,
and Stripe's error shape."""

import base64
import copy
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from kobling_sandbox.stripe import Access, state_
from kobling_sandbox.stripe_objects import (
    PREFIXES,
    Ledger,
    account_object,
    kind_of,
    ledger_of,
)

router = APIRouter(prefix="/v1")
Endpoint = Callable[..., Awaitable[JSONResponse]]

# The fields Stripe lets `expand[]` replace with their object, per object type (Stripe's API
# reference marks them "expandable").
EXPANDABLE = {
    "invoice": {"customer", "payments"},
    "invoice_payment": {"invoice", "payment.payment_intent", "payment.charge"},
    "payment_intent": {"customer", "latest_charge"},
    "charge": {"balance_transaction", "customer", "payment_intent"},
    "refund": {"balance_transaction", "charge", "payment_intent"},
    "balance_transaction": {"source"},
    "payout": {"balance_transaction", "failure_balance_transaction"},
}


def stripe_error(
    status: int, message: str, kind: str = "invalid_request_error", **more: Any
) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, **more}}, status_code=status)


def _key(request: Request) -> str:
    """The key of `Authorization: Bearer <key>`, or of HTTP Basic (`-u key:`) as Stripe takes it."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value).decode().split(":", 1)[0]
        except ValueError:
            return ""
    return ""


def opened(request: Request) -> Ledger | JSONResponse:
    """The account and mode the request's access token opens, or Stripe's 401."""
    key = _key(request)
    access: Access | None = state_.access.get(key)
    if not key:
        return stripe_error(
            401,
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth "
            "(e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        )
    if access is None:
        return stripe_error(401, f"Invalid API Key provided: {key[:8]}{'*' * 8}{key[-4:]}")
    if access.expires_at < state_.clock():
        return stripe_error(
            401, f"Expired API Key provided: {key[:8]}{'*' * 8}{key[-4:]}", code="api_key_expired"
        )
    return ledger_of(access.account, access.livemode)


def _expansions(request: Request) -> list[str]:
    """`expand[]=a` and `expand[0]=a` alike."""
    return [
        v
        for k, v in request.query_params.multi_items()
        if k == "expand[]" or (k.startswith("expand[") and k[7:-1].isdigit())
    ]


def _expand(ledger: Ledger, obj: dict[str, Any], path: str) -> str | None:
    """Replaces the id at `path` (dotted; nested expansions go on inside the object expanded)
    with its object; answers why not when Stripe would refuse."""
    kind = obj.get("object", "")
    allowed = sorted(EXPANDABLE.get(kind, set()), key=len, reverse=True)
    field = next((f for f in allowed if path == f or path.startswith(f + ".")), None)
    if field is None:
        return f"This property cannot be expanded ({path})."
    rest = path[len(field) + 1 :]
    *parents, name = field.split(".")
    holder = obj
    for parent in parents:
        holder = holder[parent]
    value = holder.get(name)
    if (kind, field) == ("invoice", "payments"):  # includable: absent unless asked for
        paid = [p for p in ledger.of("invoice_payment") if p["invoice"] == obj["id"]]
        value = {
            "object": "list",
            "data": copy.deepcopy(paid),
            "has_more": False,
            "url": f"/v1/invoice_payments?invoice={obj['id']}",
        }
        holder[name] = value
    elif isinstance(value, str) and value in ledger.objects:
        value = copy.deepcopy(ledger.objects[value])
        holder[name] = value
    if rest and isinstance(value, dict):
        for target in value["data"] if value.get("object") == "list" else [value]:
            if why := _expand(ledger, target, rest):
                return why
    return None


def _answer(request: Request, ledger: Ledger, obj: dict[str, Any]) -> JSONResponse:
    obj = copy.deepcopy(obj)
    for path in _expansions(request):
        if why := _expand(ledger, obj, path):
            return stripe_error(400, why, param="expand")
    return JSONResponse(obj)


def _listed(
    request: Request, ledger: Ledger, items: list[dict[str, Any]], url: str
) -> JSONResponse:
    """A page of a list, newest first: `limit` 1 to 100 (10 unless told), after
    `starting_after` or before `ending_before` (ids in the list)."""
    query = request.query_params
    try:
        limit = int(query.get("limit", 10))
    except ValueError:
        return stripe_error(400, f"Invalid integer: {query.get('limit')}", param="limit")
    if not 1 <= limit <= 100:
        return stripe_error(400, "This value must be between 1 and 100.", param="limit")
    ids = [item["id"] for item in items]
    for cursor in ("starting_after", "ending_before"):
        if cursor in query and query[cursor] not in ids:
            kind = kind_of(query[cursor]) or "object"
            return stripe_error(
                400, f"No such {kind}: '{query[cursor]}'", param=cursor, code="resource_missing"
            )
    if "starting_after" in query:
        items = items[ids.index(query["starting_after"]) + 1 :]
        page = items[:limit]
    elif "ending_before" in query:
        items = items[: ids.index(query["ending_before"])]
        page = items[-limit:]
    else:
        page = items[:limit]
    data = copy.deepcopy(page)
    for path in _expansions(request):
        if not path.startswith("data."):
            return stripe_error(400, f"This property cannot be expanded ({path}).", param="expand")
        for item in data:
            if why := _expand(ledger, item, path[5:]):
                return stripe_error(400, why, param="expand")
    return JSONResponse(
        {"object": "list", "data": data, "has_more": len(items) > len(page), "url": url}
    )


def _retrieve(kind: str) -> Endpoint:
    async def retrieve(object_id: str, request: Request) -> JSONResponse:
        ledger = opened(request)
        if isinstance(ledger, JSONResponse):
            return ledger
        obj = ledger.objects.get(object_id)
        if obj is None or obj["object"] != kind:
            return stripe_error(
                404, f"No such {kind}: '{object_id}'", param="id", code="resource_missing"
            )
        return _answer(request, ledger, obj)

    return retrieve


PATHS = {
    "customer": "customers",
    "invoice": "invoices",
    "invoice_payment": "invoice_payments",
    "payment_intent": "payment_intents",
    "charge": "charges",
    "refund": "refunds",
    "tax_rate": "tax_rates",
    "balance_transaction": "balance_transactions",
    "payout": "payouts",
}
for _kind, _path in PATHS.items():
    assert _kind in PREFIXES.values()
    router.add_api_route(f"/{_path}/{{object_id}}", _retrieve(_kind), methods=["GET"])


@router.get("/account")
async def account(request: Request) -> JSONResponse:
    ledger = opened(request)
    if isinstance(ledger, JSONResponse):
        return ledger
    return JSONResponse(account_object(ledger.account, ledger.livemode))


# Which query parameters filter which list, and the object field each compares with.
FILTERS = {
    "customers": {"email": "email"},
    "invoices": {"customer": "customer", "status": "status"},
    "invoice_payments": {
        "invoice": "invoice",
        "status": "status",
        "payment[payment_intent]": "payment.payment_intent",
        "payment[type]": "payment.type",
    },
    "payment_intents": {"customer": "customer"},
    "charges": {"customer": "customer", "payment_intent": "payment_intent"},
    "refunds": {"charge": "charge", "payment_intent": "payment_intent"},
    "balance_transactions": {"type": "type", "source": "source", "currency": "currency"},
    "payouts": {"status": "status"},
    "tax_rates": {},
}


def _field(obj: dict[str, Any], dotted: str) -> Any:
    node: Any = obj
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _list(path: str, kind: str) -> Endpoint:
    async def listing(request: Request) -> JSONResponse:
        ledger = opened(request)
        if isinstance(ledger, JSONResponse):
            return ledger
        items = ledger.of(kind)
        for name, dotted in FILTERS[path].items():
            if name in request.query_params:
                items = [i for i in items if _field(i, dotted) == request.query_params[name]]
        return _listed(request, ledger, items, f"/v1/{path}")

    return listing


for _kind, _path in PATHS.items():
    if _path != "balance_transactions":
        router.add_api_route(f"/{_path}", _list(_path, _kind), methods=["GET"])


@router.get("/invoices/{invoice}/lines")
async def invoice_lines(invoice: str, request: Request) -> JSONResponse:
    ledger = opened(request)
    if isinstance(ledger, JSONResponse):
        return ledger
    found = ledger.objects.get(invoice)
    if found is None or found["object"] != "invoice":
        return stripe_error(
            404, f"No such invoice: '{invoice}'", param="invoice", code="resource_missing"
        )
    return _listed(request, ledger, found["lines"]["data"], f"/v1/invoices/{invoice}/lines")


@router.get("/balance_transactions")
async def balance_transactions(request: Request) -> JSONResponse:
    """With `payout`: that automatic payout's transactions (its own among them), once Stripe has
    reconciled it; a manual payout cannot be listed (S19)."""
    ledger = opened(request)
    if isinstance(ledger, JSONResponse):
        return ledger
    items = ledger.of("balance_transaction")
    payout_id = request.query_params.get("payout")
    if payout_id is not None:
        payout = ledger.objects.get(payout_id)
        if payout is None or payout["object"] != "payout":
            return stripe_error(
                404, f"No such payout: '{payout_id}'", param="payout", code="resource_missing"
            )
        if not payout["automatic"]:
            return stripe_error(
                400,
                "Balance transaction history can only be filtered on automatic transfers, "
                "not manual.",
                param="payout",
            )
        done = payout["reconciliation_status"] == "completed"
        items = [t for t in items if done and ledger.paid_out.get(t["id"]) == payout_id]
    for name, dotted in FILTERS["balance_transactions"].items():
        if name in request.query_params:
            items = [i for i in items if _field(i, dotted) == request.query_params[name]]
    return _listed(request, ledger, items, "/v1/balance_transactions")
