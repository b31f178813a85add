"""docker-compose.yml cannot run here (no Docker engine), so it is checked by reading."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

from kobling_econ_auth.settings import EconAuthSettings
from kobling_install.settings import InstallSettings
from kobling_sandbox.config import SandboxSettings
from kobling_shared.settings import Settings
from kobling_status.settings import StatusSettings
from kobling_sync.settings import SyncSettings

ROOT = Path(__file__).resolve().parents[2]
PORTS = {"install": 8001, "econ-auth": 8002, "status": 8003, "sync": 8004, "sandbox": 8010}
OURS = ("install", "econ-auth", "status", "sync")
# What each service reads; the sandbox the shared settings and where sync answers.
SETTINGS: dict[str, type[Settings]] = {
    "install": InstallSettings,
    "econ-auth": EconAuthSettings,
    "status": StatusSettings,
    "sync": SyncSettings,
    "sandbox": SandboxSettings,
}


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
        assert services[name]["ports"] == [f"127.0.0.1:{port}:{port}"]
        assert services[name]["environment"]["SERVICE"] == name
        probe = " ".join(services[name]["healthcheck"]["test"])
        assert f"localhost:{port}/" in probe


def test_every_variable_set_is_one_the_services_read() -> None:
    for name in PORTS:
        known = {field.upper() for field in SETTINGS[name].model_fields} | {"SERVICE"}
        assert set(compose()["services"][name]["environment"]) <= known, name


def test_sync_reaches_the_brokers_by_their_compose_names() -> None:
    """sync calls econ-auth's e-conomic broker and install's Stripe broker; the loopback defaults
    would be sync's own container."""
    env = compose()["services"]["sync"]["environment"]
    assert env["ECONOMIC_BROKER_URL"] == f"http://econ-auth:{PORTS['econ-auth']}"
    assert env["STRIPE_BROKER_URL"] == f"http://install:{PORTS['install']}"


def test_services_wait_for_a_healthy_broker_and_database() -> None:
    for name in OURS:
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
    for settings in (Settings, EconAuthSettings, StatusSettings, SyncSettings, SandboxSettings):
        assert {name.upper() for name in settings.model_fields} <= documented


def test_readme_documents_each_sync_setting_with_its_default() -> None:
    """The README's configuration table of sync: every setting SyncSettings adds, with its default."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = {
        row.split("|")[1].strip().strip("`"): row.split("|")[2]
        for row in section.splitlines()
        if row.startswith("| `")
    }
    defaults = SyncSettings(kobling_env="development")
    for name in set(SyncSettings.model_fields) - set(Settings.model_fields):
        assert name.upper() in rows, name
        default = getattr(defaults, name)
        shown = f"{default:g}" if isinstance(default, float) else str(default)
        assert f"`{shown}`" in rows[name.upper()], (name, shown)


def test_no_port_is_published_beyond_this_machine() -> None:
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_kafka_and_mongodb_take_their_credentials_from_the_environment() -> None:
    services = compose()["services"]
    kafka = services["kafka"]["environment"]
    protocols = dict(p.split(":") for p in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    client_listener = kafka["KAFKA_ADVERTISED_LISTENERS"].split(":")[0]
    assert protocols[client_listener] == "SASL_PLAINTEXT"
    assert "${KAFKA_PASSWORD:?" in kafka["KAFKA_LISTENER_NAME_BROKER_PLAIN_SASL_JAAS_CONFIG"]
    mongo = services["mongo"]["environment"]
    assert mongo["MONGO_INITDB_ROOT_PASSWORD"].startswith("${MONGO_PASSWORD:?")
    for name in OURS:
        env = services[name]["environment"]
        assert env["KAFKA_SASL_MECHANISM"] == "PLAIN"
        assert env["KAFKA_PASSWORD"].startswith("${KAFKA_PASSWORD:?")
        assert "${MONGO_PASSWORD:?" in env["MONGODB_URL"]
    # No literal password anywhere: every one is interpolated from the environment.
    text = (ROOT / "docker-compose.yml").read_text()
    assert not re.search(r"password=\"(?!\$\{)", text, re.IGNORECASE)


def dockerfile_stages() -> dict[str, str]:
    """The Dockerfile's stages by name, in order; the last is what a plain `docker build` makes."""
    text = (ROOT / "deploy/Dockerfile").read_text()
    parts = re.split(r"^FROM .* AS (\S+)$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def base_images() -> set[str]:
    """Every image the Dockerfile builds on (its ARG defaults resolved), stages of its own aside."""
    text = (ROOT / "deploy/Dockerfile").read_text()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, flags=re.MULTILINE))
    refs = re.findall(r"^FROM (\S+)", text, flags=re.MULTILINE) + re.findall(r"--from=(\S+)", text)
    resolved = {re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], ref) for ref in refs}
    return resolved - set(dockerfile_stages())


def test_every_base_image_is_pinned_by_digest_or_marked_for_pinning_at_release() -> None:
    """A tag moves: the image built at release is not the one tested. Pinned by digest, or, where
    no registry could be asked, named with the command that pins it, in the Dockerfile and the
    README's release steps (issue 23, item 12)."""
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    readme = (ROOT / "README.md").read_text()
    images = base_images()
    assert {image.split("@")[0] for image in images} == {
        "python:3.11-slim",
        "ghcr.io/astral-sh/uv:0.9",
    }
    for image in images:
        if re.fullmatch(r"[^@\s]+@sha256:[0-9a-f]{64}", image):
            continue
        command = f"docker buildx imagetools inspect {image}"
        assert "UNVERIFIED: not yet pinned by digest" in dockerfile
        assert f"#   {command}\n" in dockerfile
        assert command in readme


def test_the_production_image_holds_no_sandbox() -> None:
    stages = dockerfile_stages()
    assert list(stages)[-1] == "production"
    chain = stages["production"] + stages["build"]  # production copies /app from `build`
    assert "COPY --from=build /app /app" in stages["production"]
    assert "COPY sandbox sandbox" not in chain
    assert "--no-install-package kobling-sandbox" in stages["build"]
    assert "COPY devkit devkit" not in chain  # the devkit signs as Stripe: the sandbox's alone
    assert "--no-install-package kobling-devkit" in stages["build"]
    services = compose()["services"]
    assert services["sandbox"]["build"]["target"] == "sandbox"
    for name in OURS:
        assert services[name]["build"]["target"] == "production"


def test_the_sandbox_refuses_to_start_in_production() -> None:
    for env in ("production", "staging"):
        ran = subprocess.run(
            [sys.executable, "-m", "kobling_sandbox"],
            env={"KOBLING_ENV": env, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert ran.returncode != 0
        assert "the sandbox is a development tool" in ran.stderr
        assert "Uvicorn running" not in ran.stderr
