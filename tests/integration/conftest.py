"""Fixtures more than one integration test file uses."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from kobling_devkit.infra import Infra
from kobling_devkit.merchant import SANDBOX
from kobling_shared.mongo import Document, make_client


@pytest.fixture
async def db(infra: Infra) -> AsyncIterator[AsyncDatabase[Document]]:
    """A database of the test's own on the real one, dropped afterwards."""
    client: AsyncMongoClient[Document] = make_client(infra.mongodb)
    database = client[f"test_{uuid.uuid4().hex[:12]}"]
    yield database
    await client.drop_database(database.name)
    await client.close()


@pytest.fixture
async def app_secret(http: httpx.AsyncClient) -> AsyncIterator[Any]:
    """Resets the App Secret Token at e-conomic (as its owner can); set back afterwards."""

    async def reset(token: str | None) -> None:
        await http.post(f"{SANDBOX}/_sandbox/economic/app-secret", json={"token": token})

    try:
        yield reset
    finally:
        await reset(None)
