"""What every service's HTTP answers get whatever route made them: no framing, no referrer and no
cache (our URLs carry tokens, codes, states and links), and a 400 for JSON too deep to parse."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

HEADERS = [
    # Nobody may frame our pages (clickjacking "Connect" or "Disconnect").
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
    # A page reached by a URL with a token must not hand that URL to the next site, nor stay in
    # a shared cache or the browser's history cache.
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """Pure ASGI (no BaseHTTPMiddleware): a webhook pays a few microseconds for it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in HEADERS if n not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


async def too_deep(request: Request, error: Exception) -> JSONResponse:
    """Python's JSON parser recurses once per nesting level: a body of ten thousand '[' is a
    RecursionError, which would be a 500. It is bad input, and changes nothing."""
    return JSONResponse(
        {"error": "invalid_json", "message": "the body is nested too deeply"}, status_code=400
    )


def harden(app: FastAPI) -> None:
    app.add_exception_handler(RecursionError, too_deep)
    app.add_middleware(SecurityHeaders)
