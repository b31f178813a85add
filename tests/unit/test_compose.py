"""docker-compose.yml cannot run here (no Docker engine), so it is checked by reading."""

from pathlib import Path

import yaml

from kobling_econ_auth.settings import EconAuthSettings
from kobling_shared.settings import Settings
from kobling_status.settings import StatusSettings

ROOT = Path(__file__).resolve().parents[2]
PORTS = {"install": 8001, "econ-auth": 8002, "status": 8003, "sandbox": 8010}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_system_runs_on_the_official_kafka_and_mongo_images() -> None:
    services = compose()["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["mongo"]["image"].startswith("mongo:")
    assert all("healthcheck" in service for service in services.values())


def test_each_service_publishes_its_fixed_port_and_checks_its_readiness() -> None:
    services = compose()["services"]
    for name, port in PORTS.items():
        assert services[name]["ports"] == [f"{port}:{port}"]
        assert services[name]["environment"]["SERVICE"] == name
        probe = " ".join(services[name]["healthcheck"]["test"])
        assert f"localhost:{port}/" in probe


def test_every_variable_set_is_one_the_services_read() -> None:
    known = {name.upper() for name in Settings.model_fields} | {"SERVICE"}
    for name in PORTS:
        assert set(compose()["services"][name]["environment"]) <= known, name


def test_services_wait_for_a_healthy_broker_and_database() -> None:
    for name in ("install", "econ-auth", "status"):
        depends = compose()["services"][name]["depends_on"]
        assert depends == {
            "kafka": {"condition": "service_healthy"},
            "mongo": {"condition": "service_healthy"},
        }


def test_env_example_documents_every_setting() -> None:
    documented = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    for settings in (Settings, EconAuthSettings, StatusSettings):
        assert {name.upper() for name in settings.model_fields} <= documented
