"""What every service offers operators: health, readiness, metrics, and logs free of secrets."""

import asyncio
import logging
import re
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo import AsyncMongoClient

from kobling_shared.mongo import ping

ReadinessCheck = Callable[[], Awaitable[bool]]
log = logging.getLogger(__name__)

# Query values that are secrets or one-time proofs. uvicorn's access log prints the request line,
# so e-conomic's callback (?token=) and Stripe's redirect (?code=) would otherwise land there.
_SECRET_QUERY = re.compile(
    r"(?i)\b(token|code|state|link|refresh_token|access_token|t)=([^&\s\"']+)"
)
_SECRET_WORDS = re.compile(r"\b(whsec|absec|sk_live|sk_test|rk_live|rk_test|rt|ac)_[A-Za-z0-9_]+")
# e-conomic's callback carries our one-time state in its path.
_SECRET_PATH = re.compile(r"(/economic/callback/)([^?\s\"'/]+)")


def redact(text: str) -> str:
    text = _SECRET_PATH.sub(r"\1[redacted]", _SECRET_QUERY.sub(r"\1=[redacted]", text))
    return _SECRET_WORDS.sub(r"\1_[redacted]", text)


class RedactingFormatter(logging.Formatter):
    """Redacts the whole line as written, tracebacks included: an exception's message or a
    frame's source line can hold a URL with its token."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(service: str, level: str = "INFO", access_log: bool = True) -> None:
    """One redacting handler for everything. Called from the app factory, after uvicorn set up
    its loggers, so this is where production's access log is turned off (`serve` says why)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = not access_log
    # aiokafka logs every failed reconnect at ERROR; one line per outage is enough.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    # httpx logs every outgoing URL at INFO, query and all: the broker's queries name customers
    # and their e-mails, which redaction (secrets only) lets through. Their warnings still come.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def ops_router(checks: dict[str, ReadinessCheck]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        results = {name: await check() for name, check in checks.items()}
        ready = all(results.values())
        body = {"status": "ready" if ready else "not ready", "checks": results}
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def serve(app_path: str, host: str, port: int, access_log: bool = True) -> None:
    """Runs a service the way production does: one uvicorn process, our logging, no reload.
    Production turns the access log off: at thousands of webhooks a second it costs more than
    the work, and /metrics counts every outcome."""
    import uvicorn

    uvicorn.run(
        app_path,
        factory=True,
        host=host,
        port=port,
        log_config=None,
        access_log=access_log,
        timeout_graceful_shutdown=20,
    )


def dependency_checks(
    broker: KafkaBroker, client: AsyncMongoClient[Any]
) -> dict[str, ReadinessCheck]:
    """Ready means the broker and the database both answer now."""
    return {"kafka": lambda: broker.ping(timeout=2.0), "mongodb": lambda: ping(client)}


class BodyLimit:
    """Answers 413 to a request body over `max_bytes`, declared or streamed, before a route reads
    it. Pure ASGI (no BaseHTTPMiddleware) so a webhook pays nothing for it."""

    def __init__(self, app: Any, max_bytes: int = 64 * 1024) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(send)
            return
        seen = 0

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await _too_large(send)


class _TooLarge(Exception):
    pass


async def _too_large(send: Any) -> None:
    body = b'{"error":"too_large","message":"request body is too large"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def every(seconds: float, job: Callable[[], Awaitable[object]]) -> None:
    """Runs `job` forever, `seconds` apart; a failed round is logged and the next one still runs."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Exception:
            log.exception("background job failed; retrying in %ss", seconds)


async def every_round(seconds: float, job: Callable[[int], Awaitable[object]]) -> None:
    """Runs `job(round)` at each multiple of `seconds` of the wall clock, so every instance starts
    round n at the same moment and can tell, by its number, work another did in it already."""
    while True:
        number = int(time.time() // seconds) + 1
        await asyncio.sleep(max(0.0, number * seconds - time.time()))
        try:
            await job(number)
        except Exception:
            log.exception("round %s failed; the next one still runs", number)
