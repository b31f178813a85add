"""The sandbox's e-conomic REST endpoints as e-conomic documents them (issue 22, item 3;
docs/external-contracts.md E7, E19-E22, E24). In-process, a grant made by hand."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from kobling_devkit.merchant import ECONOMIC_CUSTOMER
from kobling_sandbox.app import create_app
from kobling_sandbox.config import settings
from kobling_sandbox.economic import state
from kobling_sandbox.economic_books import BOOKS
from kobling_sandbox.economic_state import USERS, Grant, self_body
from tests.in_process import client_of

CUSTOMER = {**ECONOMIC_CUSTOMER, "barred": False}


def draft(customer: dict[str, Any], zone: int = 1, **line: Any) -> dict[str, Any]:
    return {
        "date": "2026-11-30",
        "currency": "DKK",
        "customer": customer,
        "recipient": {"name": "Hygge Kaffe ApS", "vatZone": {"vatZoneNumber": zone}},
        "layout": {"layoutNumber": 19},
        "paymentTerms": {"paymentTermsNumber": 1},
        "lines": [{"description": "po_1", "quantity": 2, **line}],
    }


@pytest.fixture
async def books() -> AsyncIterator[httpx.AsyncClient]:
    token = f"unit-books-{id(object())}"
    BOOKS.pop(987001, None)
    state.grants[token] = Grant(987001, USERS["jane@acme.test"])
    headers = {
        "X-AppSecretToken": settings().economic_app_secret_token,
        "X-AgreementGrantToken": token,
    }
    async with client_of(create_app(), "http://sandbox/economic/api") as client:
        client.headers.update(headers)
        yield client
    state.grants.pop(token)


def test_self_carries_every_property_the_docs_mark_required() -> None:
    body = self_body(Grant(123456, USERS["jane@acme.test"]), "pub", "http://e.test")
    assert body["self"] and body["application"]["self"] and body["user"]["language"]["self"]
    assert all(role["self"] for role in body["application"]["requiredRoles"])
    assert body["modules"] and all(module["self"] for module in body["modules"])


async def test_a_create_answers_201_with_the_resource_and_its_location(books) -> None:
    created = await books.post("/customers", json=CUSTOMER)
    assert created.status_code == 201
    customer = created.json()
    assert created.headers["location"] == customer["self"]
    assert "barred" not in customer  # e-conomic leaves false booleans out


async def test_references_by_number_or_by_self_link(books) -> None:
    customer = (await books.post("/customers", json=CUSTOMER)).json()
    by_link = await books.post("/invoices/drafts", json=draft({"self": customer["self"]}, 1))
    assert by_link.status_code == 201, by_link.text
    number = {"customerNumber": customer["customerNumber"]}
    assert (await books.post("/invoices/drafts", json=draft(number))).status_code == 201


async def test_vat_comes_from_the_product_group_and_the_vat_zone(books) -> None:
    customer = {
        "customerNumber": (await books.post("/customers", json=CUSTOMER)).json()["customerNumber"]
    }

    async def vat(zone: int, **line: Any) -> tuple[float, float]:
        body = (await books.post("/invoices/drafts", json=draft(customer, zone, **line))).json()
        return body["netAmount"], body["vatAmount"]

    assert await vat(1, unitNetPrice=100.0) == (200.0, 50.0)  # domestic
    assert await vat(2, unitNetPrice=100.0) == (200.0, 0.0)  # EU: no Danish VAT
    assert await vat(1, unitNetPrice=100.0, product={"productNumber": "2"}) == (200.0, 0.0)
    assert await vat(1) == (0.0, 0.0)  # unitNetPrice is optional: never a 500


async def test_validation_errors_are_nested_like_the_payload(books) -> None:
    customer = {
        "customerNumber": (await books.post("/customers", json=CUSTOMER)).json()["customerNumber"]
    }
    body = {**draft(customer, unitNetPrice="lots"), "customer": {"customerNumber": 424242}}
    refused = await books.post("/invoices/drafts", json=body)
    assert refused.status_code == 400
    answer = refused.json()
    assert answer["message"] == "Validation error."
    (error,) = answer["errors"]["customer"]["customerNumber"]["errors"]
    assert error["value"] == 424242 and {"errorCode", "message", "developerHint"} <= set(error)
    (line,) = answer["errors"]["lines"]["unitNetPrice"]["errors"]
    assert line["arrayIndex"] == 0 and line["value"] == "lots"


async def test_a_repeated_idempotency_key_gets_the_first_answer(books) -> None:
    headers = {"Idempotency-Key": "sync-in_1"}
    first = await books.post("/customers", json=CUSTOMER, headers=headers)
    again = await books.post("/customers", json=CUSTOMER, headers=headers)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["x-resultfromcache"] == "true"
    assert "x-resultfromcache" not in first.headers
    listed = (await books.get("/customers")).json()["collection"]
    assert len(listed) == 1


async def test_journals_carry_their_settings_and_links(books) -> None:
    (journal, _) = (await books.get("/journals")).json()["collection"]
    assert journal["settings"]
    assert journal["vouchers"] == f"{journal['self']}/vouchers"
    assert journal["entries"] == f"{journal['self']}/entries"
