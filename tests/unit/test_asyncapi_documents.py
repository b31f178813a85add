"""The AsyncAPI documents kept in docs/asyncapi/ say what the code does: each is what its
service generates now, and every channel, read or written, names the schemas of the events on
its topic (a consumer that reads our topics by them must not find an empty payload). Regenerate
with `uv run python deploy/asyncapi.py`."""

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kobling_econ_auth.app import create_app as econ_auth
from kobling_install.app import create_app as install
from kobling_shared.events import AnyEvent, topic_of
from kobling_status.app import create_app as status
from kobling_sync.app import create_app as sync

DOCS = Path(__file__).resolve().parents[2] / "docs" / "asyncapi"
SERVICES = {"install": install, "econ-auth": econ_auth, "status": status, "sync": sync}
EVENTS = AnyEvent.__args__[0].__args__  # type: ignore[attr-defined]


def kept(service: str) -> dict[str, Any]:
    return dict(json.loads((DOCS / f"{service}.json").read_text()))


def generated(create: Any) -> dict[str, Any]:
    app: FastAPI = create()
    return dict(TestClient(app).get("/asyncapi.json").json())  # no lifespan: no Kafka needed


def types_on(topic: str) -> set[str]:
    """The event types the code puts on `topic`."""
    return {
        event.model_fields["type"].default
        for event in EVENTS
        if topic_of(event.model_construct()) == topic
    }


def resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = doc["components"]["schemas"][node["$ref"].split("/")[-1]]
    return node


def types_named(doc: dict[str, Any], payload: dict[str, Any]) -> set[str]:
    """The event types a message payload's schema admits."""
    schema = resolve(doc, payload)
    members = [resolve(doc, m) for m in schema.get("oneOf", [schema])]
    return {m.get("properties", {}).get("type", {}).get("const") for m in members} - {None}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_kept_document_is_what_the_service_generates(service: str) -> None:
    assert generated(SERVICES[service]) == kept(service), (
        f"docs/asyncapi/{service}.json is not what the code generates: "
        "run `uv run python deploy/asyncapi.py`"
    )


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_channel_names_the_events_on_its_topic(service: str) -> None:
    doc = kept(service)
    for name, channel in doc["channels"].items():
        for ref in channel["messages"].values():
            message = doc["components"]["messages"][ref["$ref"].split("/")[-1]]
            named = types_named(doc, message["payload"])
            assert named == types_on(channel["address"]), (service, name, message["payload"])
    assert "EmptyPayload" not in json.dumps(doc)
