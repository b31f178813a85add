"""Fixtures more than one integration test file uses."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from kobling_devkit.merchant import SANDBOX


@pytest.fixture
async def app_secret(http: httpx.AsyncClient) -> AsyncIterator[Any]:
    """Resets the App Secret Token at e-conomic (as its owner can); set back afterwards."""

    async def reset(token: str | None) -> None:
        await http.post(f"{SANDBOX}/_sandbox/economic/app-secret", json={"token": token})

    try:
        yield reset
    finally:
        await reset(None)
