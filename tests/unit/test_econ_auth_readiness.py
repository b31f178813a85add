"""A suspected app secret raises the gauge and an alert; it does not take econ-auth out of
rotation (issue 23, item 1): the callers it can still serve are served."""

import logging

import pytest
from fastapi.testclient import TestClient

from kobling_econ_auth import app as econ_auth
from kobling_econ_auth import grant_checks
from kobling_econ_auth.grant_checks import SUSPECT


def test_a_wave_of_401s_alerts_but_leaves_the_service_ready(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Kafka and the database are not this test's subject (and not reachable here).
    monkeypatch.setattr(econ_auth, "dependency_checks", lambda broker, client: {})
    app = econ_auth.create_app()
    logging.getLogger().addHandler(caplog.handler)  # the app set up its own logging
    deps = app.state.deps
    with caplog.at_level(logging.ERROR, logger=grant_checks.__name__):
        for n in range(deps.rejections.min_answers):
            grant_checks.heard(deps, True, f"acct_{n}:test")
    assert deps.rejections.in_wave and SUSPECT._value.get() == 1
    assert any("suspect ECONOMIC_APP_SECRET_TOKEN" in r.message for r in caplog.records)
    ready = TestClient(app).get("/readyz")  # no lifespan: nothing connects
    assert ready.status_code == 200, ready.text
    for n in range(deps.rejections.recent):
        grant_checks.heard(deps, False, f"acct_{n}:test")
    assert SUSPECT._value.get() == 0
