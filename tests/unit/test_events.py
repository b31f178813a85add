import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from kobling_shared.events import (
    CONNECTIONS_TOPIC,
    INSTALLS_TOPIC,
    ConnectedData,
    EconomicConnected,
    InstallData,
    StripeAppInstalled,
    parse_event,
    topic_of,
)


def installed() -> StripeAppInstalled:
    return StripeAppInstalled(
        source="kobling/install",
        subject="acct_123",
        livemode=True,
        time=datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC),
        data=InstallData(via="webhook", stripe_event_id="evt_1"),
    )


def test_the_envelope_has_the_cloudevents_attributes() -> None:
    doc = json.loads(installed().model_dump_json())
    assert doc["specversion"] == "1.0"
    assert doc["type"] == "com.kobling.stripe.app_installed.v1"
    assert doc["subject"] == "acct_123" and doc["livemode"] is True
    assert {"id", "source", "time", "data", "datacontenttype"} <= doc.keys()


def test_an_event_survives_the_wire() -> None:
    event = installed()
    assert parse_event(event.model_dump_json()) == event


def test_times_are_kept_to_the_millisecond_as_the_database_keeps_them() -> None:
    assert installed().time.microsecond == 123000


def test_each_event_goes_to_its_topic() -> None:
    connected = EconomicConnected(
        source="kobling/econ-auth",
        subject="acct_123",
        livemode=False,
        data=ConnectedData(sequence=1, agreement_number=1, company_name="Acme ApS"),
    )
    assert topic_of(installed()) == INSTALLS_TOPIC
    assert topic_of(connected) == CONNECTIONS_TOPIC
    assert connected.account_key == "acct_123:test"


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b'{"type": "com.kobling.unknown.v1"}',
        installed().model_dump_json().replace(".v1", ".v2").encode(),
        installed().model_dump_json().replace("acct_123", "acct_$ne").encode(),
    ],
)
def test_anything_else_is_refused(raw: bytes) -> None:
    with pytest.raises(ValidationError):
        parse_event(raw)
