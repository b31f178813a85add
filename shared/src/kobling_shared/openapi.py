"""What our routes answer besides their success, declared so each service's /openapi.json tells
callers the truth; the schemathesis test holds every service to it."""

from typing import Any

from pydantic import BaseModel

Responses = dict[int | str, dict[str, Any]]


class Problem(BaseModel):
    """Our own refusals: a stable code to branch on and a sentence safe to show."""

    error: str
    message: str


class Detail(BaseModel):
    """FastAPI's refusals (HTTPException): one sentence."""

    detail: str


def problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


def detail(description: str) -> dict[str, Any]:
    return {"model": Detail, "description": description}


def page(description: str) -> dict[str, Any]:
    """An HTML page for the merchant's browser."""
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def redirect(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"Location": {"schema": {"type": "string"}, "description": "where to go"}},
    }


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its raw body itself (signatures cover the bytes)."""
    schema = _inlined(model.model_json_schema())
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


TOO_LARGE: Responses = {413: problem("The body is over 64 KiB; nothing was read.")}
BEARER: Responses = {401: detail("No valid `Authorization: Bearer` token.")}
VIEW: Responses = {
    400: detail(
        "The body is not JSON with `user_id`, `account_id`, `livemode` and `action`, or it names"
        " another action than the endpoint's."
    ),
    401: detail("The `Stripe-Signature` of the app view is missing, stale or wrong."),
    **TOO_LARGE,
}


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """The model's schema with its nested models written in place: pydantic's `#/$defs/…` refs
    would point into the OpenAPI document, where no `$defs` is."""
    defs = schema.pop("$defs", {})

    def expand(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return expand(defs[ref.removeprefix("#/$defs/")])
            return {key: expand(value) for key, value in node.items()}
        if isinstance(node, list):
            return [expand(item) for item in node]
        return node

    result: dict[str, Any] = expand(schema)
    return result
