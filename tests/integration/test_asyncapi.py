"""The AsyncAPI documents in docs/asyncapi/ are what the running services serve, and together
they describe every topic and event we publish. Regenerate with `uv run python
deploy/asyncapi.py` after changing an event or a subscriber."""

import json
from pathlib import Path
from typing import Any

import pytest

from kobling_devkit.merchant import ECON_AUTH, INSTALL, STATUS
from kobling_shared.events import STATUS_PROJECTED_TOPIC, AnyEvent
from kobling_shared.kafka import topic_specs

pytestmark = pytest.mark.usefixtures("stack")

DOCS = Path(__file__).resolve().parents[2] / "docs" / "asyncapi"
SERVED = {
    "install": INSTALL,
    "econ-auth": ECON_AUTH,
    "status": STATUS,
    "sync": "http://127.0.0.1:8004",
}


def kept(service: str) -> dict[str, Any]:
    return dict(json.loads((DOCS / f"{service}.json").read_text()))


@pytest.mark.parametrize("service", sorted(SERVED))
async def test_each_service_serves_the_document_kept_in_docs(http, service) -> None:
    served = await http.get(f"{SERVED[service]}/asyncapi.json")
    assert served.status_code == 200
    assert served.json() == kept(service), (
        f"docs/asyncapi/{service}.json is not what {service} serves: "
        "run `uv run python deploy/asyncapi.py`"
    )


def test_every_topic_and_event_we_publish_is_documented() -> None:
    docs = {service: kept(service) for service in SERVED}
    sent = {
        docs[s]["channels"][op["channel"]["$ref"].split("/")[-1]]["address"]
        for s in docs
        for op in docs[s]["operations"].values()
        if op["action"] == "send"
    }
    # Not events: the dead letters, and status's word to its other instances (kobling_status.markers).
    ours = {spec.name for spec in topic_specs()} - {
        "kobling.dead-letter.v1",
        STATUS_PROJECTED_TOPIC,
    }
    assert sent == ours
    text = json.dumps(docs)
    for event in AnyEvent.__args__[0].__args__:  # type: ignore[attr-defined]
        assert event.model_fields["type"].default in text, event.__name__
