"""The ceilings: each measured route's shape on the same server settings, doing no work at all
(no signature check, no database): the webhook, and the two status reads (bench/reads.py)."""

from typing import Annotated

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

app = FastAPI()

# What status answers for an installed, not yet connected account (same fields, same size).
STATUS = {
    "account_id": "acct_0123456789abcdef",
    "livemode": False,
    "updated_at": "2026-12-01T01:47:13.113023Z",
    "stripe": {
        "installed": True,
        "installed_at": "2026-12-01T01:47:13.113094Z",
        "uninstalled_at": None,
    },
    "economic": {
        "state": "not_connected",
        "since": None,
        "agreement_number": None,
        "company_name": None,
        "vat_number": None,
        "user_name": None,
        "connected_at": None,
        "reason": None,
        "warning": None,
        "developer_agreement": False,
    },
}
VIEW = {**STATUS, "economic": {**STATUS["economic"], "shared_with_count": 0}}  # type: ignore[dict-item]
INTERNAL = {
    **STATUS,
    "economic": {**STATUS["economic"], "shared_with": []},  # type: ignore[dict-item]
    "grant_uses": {"count": 0, "last_used_at": None, "last_use": None},
}


@app.post("/stripe/webhooks")
async def webhook(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"received": True})


@app.post("/api/status")
async def view_status(
    request: Request, stripe_signature: Annotated[str | None, Header()] = None
) -> JSONResponse:
    await request.body()
    return JSONResponse(VIEW)


@app.get("/v1/accounts/{account_id}")
async def internal_account(
    account_id: str, authorization: Annotated[str | None, Header()] = None
) -> JSONResponse:
    return JSONResponse(INTERNAL)


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8099, log_level="warning", access_log=False)
