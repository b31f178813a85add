"""Each key has one job and one holder (issue 23, item 3). Each service starts in production with
only what its own Secret in deploy/k8s holds; the connect-link key is econ-auth's alone, so what a
status pod holds mints no connect link; each service's database user reaches only its own
databases (deploy/k8s/mongo-users.js) and its Kafka principal only its own topics
(deploy/k8s/kafka-acls.sh)."""

import base64
import os
import re
import secrets
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from kobling_econ_auth import connecting
from kobling_econ_auth.connecting import LinkInvalid
from kobling_econ_auth.grants import KEYS_DATABASE
from kobling_econ_auth.settings import EconAuthSettings
from kobling_install.settings import InstallSettings
from kobling_shared.events import (
    ACCOUNT_EVENTS_TOPIC,
    CONNECTIONS_TOPIC,
    DEAD_LETTER_TOPIC,
    GRANT_USES_TOPIC,
    INSTALLS_TOPIC,
    STATUS_PROJECTED_TOPIC,
    SYNC_RESULTS_TOPIC,
)
from kobling_shared.kafka import topic_specs
from kobling_shared.links import connect_url
from kobling_shared.settings import Settings
from kobling_status import rebuild
from kobling_status.settings import StatusSettings
from kobling_sync.settings import SyncSettings
from tests.fakes.econ_auth import fake_deps

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
SETTINGS: dict[str, type[Settings]] = {
    "install": InstallSettings,
    "econ-auth": EconAuthSettings,
    "status": StatusSettings,
    "sync": SyncSettings,
}
# What each pod needs besides the secrets its Settings require: its own database user's URL and
# its own Kafka principal's password.
CONNECTIONS = {"MONGODB_URL", "KAFKA_PASSWORD"}


def manifests() -> list[dict[str, Any]]:
    paths = sorted(K8S.glob("*.yaml"))
    return [doc for path in paths for doc in yaml.safe_load_all(path.read_text()) if doc]


def container(service: str) -> dict[str, Any]:
    (deployment,) = [
        d
        for d in manifests()
        if d["kind"] == "Deployment" and d["metadata"]["name"] == f"kobling-{service}"
    ]
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


def secret_refs(service: str) -> dict[str, str]:
    """{variable: the Secret it comes from}, for every variable the pod takes from a Secret."""
    env = container(service).get("env", [])
    return {
        e["name"]: e["valueFrom"]["secretKeyRef"]["name"]
        for e in env
        if "secretKeyRef" in e.get("valueFrom", {})
    }


def pod_environment(service: str) -> dict[str, str]:
    """What the pod's environment holds: the ConfigMap, its plain env, and a strong value for
    each key of its own Secret."""
    (config,) = [d for d in manifests() if d["kind"] == "ConfigMap"]
    env = dict(config["data"])
    env |= {e["name"]: e["value"] for e in container(service).get("env", []) if "value" in e}
    for name in secret_refs(service):
        env[name] = secrets.token_urlsafe(32)
    if "TOKEN_ENCRYPTION_KEYS" in env:
        env["TOKEN_ENCRYPTION_KEYS"] = base64.urlsafe_b64encode(os.urandom(32)).decode()
    for tokens in ("ECONOMIC_BROKER_TOKENS", "STRIPE_BROKER_TOKENS"):
        if tokens in env:
            env[tokens] = f"sync:{secrets.token_urlsafe(32)}"
    return env


@pytest.mark.parametrize("service", SETTINGS)
def test_no_pod_takes_a_shared_secret_wholesale(service: str) -> None:
    """`envFrom` a Secret hands the pod every key in it, now and whatever is added later."""
    assert not [s for s in container(service).get("envFrom", []) if "secretRef" in s]
    assert set(secret_refs(service).values()) == {f"kobling-{service}-secrets"}


@pytest.mark.parametrize("service", SETTINGS)
def test_each_secret_holds_what_its_service_needs_and_nothing_more(service: str) -> None:
    needs = {name.upper() for name in SETTINGS[service].required_secrets} | CONNECTIONS
    assert set(secret_refs(service)) == needs


@pytest.mark.parametrize("service", SETTINGS)
def test_each_service_starts_in_production_with_only_its_own_secrets(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in pod_environment(service).items():
        monkeypatch.setenv(name, value)
    settings = SETTINGS[service]()
    assert settings.production
    assert all(getattr(settings, name) for name in settings.required_secrets)


def test_the_connect_link_key_is_econ_auths_alone() -> None:
    assert "CONNECT_LINK_KEY" in secret_refs("econ-auth")
    assert "CONNECT_LINK_KEY" not in secret_refs("install")
    assert "CONNECT_LINK_KEY" not in secret_refs("status")
    assert "CONNECT_LINK_KEY" not in secret_refs("sync")
    for service in SETTINGS:
        assert "LINK_SIGNING_KEY" not in pod_environment(service)


def test_econ_auth_refuses_one_key_for_both_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    env = pod_environment("econ-auth")
    env["CONNECT_LINK_KEY"] = env["PAGE_LINK_KEY"]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="CONNECT_LINK_KEY and PAGE_LINK_KEY"):
        EconAuthSettings()


def test_production_takes_the_single_link_key_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """LINK_SIGNING_KEY is a name DESIGN.md fixes: a deployment that sets it alone keeps
    working (it signs both kinds of link, as before the split), and is told what it risks."""
    for name, value in pod_environment("econ-auth").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PAGE_LINK_KEY")
    monkeypatch.delenv("CONNECT_LINK_KEY")
    single = secrets.token_urlsafe(32)
    monkeypatch.setenv("LINK_SIGNING_KEY", single)
    settings = EconAuthSettings()
    assert settings.page_link_key == settings.connect_link_key == single
    assert "CONNECT_LINK_KEY (econ-auth alone)" in caplog.text


async def test_what_a_status_pod_holds_mints_no_connect_link() -> None:
    """The attack: a key leaked from status signs a connect link for any account."""
    stolen = StatusSettings().page_link_key
    deps = fake_deps()
    forged = connect_url(deps.settings.econ_auth_public_url, stolen, "acct_victim", True)
    link = forged.split("link=", 1)[1]
    with pytest.raises(LinkInvalid):
        await connecting.read_connect_link(link, deps)


def test_development_keeps_a_single_link_signing_key_working(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before the split, one LINK_SIGNING_KEY did both jobs: set alone, it still does both in
    development, so an old .env keeps working."""
    monkeypatch.setenv("LINK_SIGNING_KEY", "an-old-single-key")
    settings = EconAuthSettings()
    assert settings.page_link_key == settings.connect_link_key == "an-old-single-key"
    monkeypatch.setenv("PAGE_LINK_KEY", "a-page-key")
    assert EconAuthSettings().page_link_key == "a-page-key"


def test_development_gives_each_job_its_own_key() -> None:
    settings = EconAuthSettings()
    assert settings.page_link_key != settings.connect_link_key


# --- the database: a user per service --------------------------------------------------------


def database_roles() -> dict[str, set[tuple[str, str]]]:
    """{user: {(role, database)}} from the mongosh script's createUser calls."""
    script = (K8S / "mongo-users.js").read_text()
    users = {}
    for user, roles in re.findall(
        r'createUser\(\{\s*user: "([^"]+)".*?roles: \[(.*?)\]', script, re.S
    ):
        users[user] = set(re.findall(r'role: "(\w+)", db: "(\w+)"', roles))
    return users


def database_user(service: str) -> str:
    """The user a pod connects as: its own, named in the Secret's creation command."""
    text = next(
        p.read_text() for p in K8S.glob("*.yaml") if f"name: kobling-{service}\n" in p.read_text()
    )
    (user,) = set(re.findall(r"MONGODB_URL='mongodb://([^:]+):", text))
    return user


def test_each_service_has_its_own_database_user() -> None:
    users = {service: database_user(service) for service in SETTINGS}
    assert len(set(users.values())) == len(users)
    assert set(users.values()) == set(database_roles())


def test_only_econ_auth_reaches_the_keys_database() -> None:
    roles = database_roles()
    own = {
        "install": {"kobling_install"},
        "econ-auth": {"kobling_econ_auth", KEYS_DATABASE},
        "status": {StatusSettings().status_database},
        "sync": {SyncSettings().sync_database},
    }
    for service, databases in own.items():
        granted = roles[database_user(service)]
        assert {db for _, db in granted} == databases
        assert {role for role, _ in granted} == {"readWrite"}


# --- Kafka: a principal per service, its own topics only ----------------------------------------


def acls() -> dict[str, set[tuple[str, str]]]:
    """{principal: {(operation, topic or group)}} from kafka-acls.sh's `acl` lines."""
    granted: dict[str, set[tuple[str, str]]] = {}
    for line in (K8S / "kafka-acls.sh").read_text().splitlines():
        if not line.startswith("acl "):
            continue
        words = shlex.split(line)
        principal, args = words[1], words[2:]
        operations = [args[i + 1] for i, a in enumerate(args) if a == "--operation"]
        targets = [args[i + 1] for i, a in enumerate(args) if a in ("--topic", "--group")]
        granted.setdefault(principal, set()).update((o, t) for o in operations for t in targets)
    return granted


def kafka_user(service: str) -> str:
    return next(e["value"] for e in container(service)["env"] if e["name"] == "KAFKA_USERNAME")


# Every topic a service looks for at start (ensure_topics): each principal must Describe them all,
# or a service finds one missing and, without the right to create it, does not start.
ALL_TOPICS = {spec.name for spec in topic_specs()}
# Who reads and who writes what: kobling_shared.events.topic_of, each service's consumers.py,
# and the dead letters a consumer writes (kobling_shared.kafka).
TOPICS = {
    "install": {"Read": set(), "Write": {INSTALLS_TOPIC, ACCOUNT_EVENTS_TOPIC}},
    "econ-auth": {
        "Read": {INSTALLS_TOPIC},
        "Write": {CONNECTIONS_TOPIC, GRANT_USES_TOPIC, DEAD_LETTER_TOPIC},
    },
    "status": {
        "Read": {*rebuild.TOPICS, STATUS_PROJECTED_TOPIC},
        "Write": {DEAD_LETTER_TOPIC, STATUS_PROJECTED_TOPIC},
    },
    "sync": {"Read": {ACCOUNT_EVENTS_TOPIC}, "Write": {SYNC_RESULTS_TOPIC, DEAD_LETTER_TOPIC}},
}


@pytest.mark.parametrize("service", SETTINGS)
def test_each_kafka_principal_reads_and_writes_only_its_topics(service: str) -> None:
    granted = acls()[f"User:{kafka_user(service)}"]
    for operation, topics in TOPICS[service].items():
        assert {t for o, t in granted if o == operation and t in ALL_TOPICS} == topics
    # Describe shows a topic exists (so a service finds it and creates nothing), never its data.
    assert {t for o, t in granted if o == "Describe"} >= ALL_TOPICS
    assert {o for o, _ in granted} <= {"Read", "Write", "Describe"}


def test_each_service_has_its_own_kafka_principal() -> None:
    users = {kafka_user(service) for service in SETTINGS}
    assert len(users) == len(SETTINGS)
    assert {f"User:{u}" for u in users} == set(acls())


def group_acls() -> dict[str, set[tuple[str, str]]]:
    """{principal: {(group, pattern type)}} from kafka-acls.sh's `acl … --group` lines."""
    granted: dict[str, set[tuple[str, str]]] = {}
    for line in (K8S / "kafka-acls.sh").read_text().splitlines():
        words = shlex.split(line) if line.startswith("acl ") else []
        if "--group" in words:
            group = words[words.index("--group") + 1]
            kind = "prefixed" if "prefixed" in words else "literal"
            granted.setdefault(words[1], set()).add((group, kind))
    return granted


def may_read_group(service: str, group: str) -> bool:
    return any(
        group == name or (kind == "prefixed" and group.startswith(name))
        for name, kind in group_acls().get(f"User:{kafka_user(service)}", set())
    )


def test_each_consumer_group_is_granted_to_its_service() -> None:
    """status's groups (the live one's and a rebuild's, sync results' among them) and sync's."""
    status = StatusSettings().status_group_id
    for group in (*rebuild.groups(status), *rebuild.groups("kobling-status-new")):
        assert may_read_group("status", group), group
    assert may_read_group("sync", SyncSettings().sync_group_id)
    assert not may_read_group("sync", status)
