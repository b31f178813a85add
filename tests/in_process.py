"""A service's app called over HTTP inside the test's own process and event loop."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI


@asynccontextmanager
async def client_of(app: FastAPI, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """No lifespan runs: nothing connects to Kafka or the database, so the test puts fakes in
    `app.state` first."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        yield client
