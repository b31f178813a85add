"""deploy/k8s/ against Kubernetes' own OpenAPI schemas (kubernetes-validate ships them; no cluster
runs here), and the properties an operator relies on: probes, budgets, autoscaling."""

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from fastapi.routing import APIRoute

MANIFESTS = sorted((Path(__file__).resolve().parents[2] / "deploy" / "k8s").glob("*.yaml"))
# The oldest Kubernetes we support: autoscaling/v2 and policy/v1 are GA there.
KUBERNETES = "1.30.0"
SERVICES = {"install": 8001, "econ-auth": 8002, "status": 8003, "sync": 8004}


def documents() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents() if d["kind"] == kind}


@pytest.mark.parametrize("doc", documents(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_each_manifest_is_valid_kubernetes(doc: dict[str, Any]) -> None:
    # strict: a field Kubernetes does not know (a typo) fails too, instead of being dropped.
    kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def test_every_service_runs_twice_with_probes_on_its_port() -> None:
    deployments = of_kind("Deployment")
    assert set(deployments) == {f"kobling-{name}" for name in SERVICES}
    for name, port in SERVICES.items():
        spec = deployments[f"kobling-{name}"]["spec"]
        assert spec["replicas"] >= 2
        (container,) = spec["template"]["spec"]["containers"]
        assert {"name": "SERVICE", "value": name} in container["env"]
        assert container["ports"] == [{"name": "http", "containerPort": port}]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["resources"]["requests"]["cpu"]
        assert container["resources"]["requests"]["memory"]


def test_every_deployment_has_a_budget_and_an_autoscaler() -> None:
    deployments = of_kind("Deployment")
    budgets = of_kind("PodDisruptionBudget")
    scalers = of_kind("HorizontalPodAutoscaler")
    for name, deployment in deployments.items():
        labels = deployment["spec"]["selector"]["matchLabels"]
        assert budgets[name]["spec"]["selector"]["matchLabels"] == labels
        assert budgets[name]["spec"]["minAvailable"] >= 1
        target = scalers[name]["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", name)
        assert scalers[name]["spec"]["minReplicas"] >= 2
        (metric,) = scalers[name]["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"


def test_production_config_holds_no_secret() -> None:
    (config,) = of_kind("ConfigMap").values()
    assert config["data"]["KOBLING_ENV"] == "production"
    secret_names = {"PASSWORD", "SECRET", "TOKEN", "KEY", "MONGODB_URL"}
    assert not [k for k in config["data"] if any(s in k for s in secret_names)]


def test_production_config_names_every_public_url_on_https() -> None:
    from kobling_shared.settings import PUBLIC_URLS, public_url_problem

    (config,) = of_kind("ConfigMap").values()
    for name in PUBLIC_URLS:
        url = config["data"][name.upper()]
        assert url.startswith("https://") and public_url_problem(url) is None


# Served on each service's one public port (DESIGN.md fixes it), never routed from outside.
INTERNAL_PATHS = (
    "/internal/economic",
    "/internal/stripe",
    "/internal/grants/check",
    "/v1/accounts",
    "/v1/accounts/acct_1/timeline",
    "/v1/funnel",
    "/metrics",
    "/asyncapi.json",
    "/openapi.json",
    "/docs",
    "/healthz",
    "/readyz",
)


def sync_view_paths() -> list[str]:
    """Every route of sync's Stripe App view: each must be routed, to sync alone."""
    from kobling_sync.view_routes import router

    return [route.path for route in router.routes if isinstance(route, APIRoute)]


# What Stripe and the merchant's browser must reach (DESIGN.md, "HTTP surface").
PUBLIC_PATHS = {
    "install": ["/stripe/webhooks", "/stripe/install", "/stripe/oauth/callback"],
    "econ-auth": [
        "/api/connect-link",
        "/api/disconnect",
        "/api/join/approve",
        "/api/join/refuse",
        "/api/join/cancel",
        "/economic/connect",
        "/economic/callback/abc",
        "/economic/callback",
    ],
    "status": ["/api/status", "/accounts/acct_1"],
    "sync": sync_view_paths(),
}
# sync has no public URL setting (it links nowhere); the Stripe App view calls it on this host.
SYNC_HOST = "sync.kobling.example"


def routed(path: str) -> set[str]:
    """The services the Ingress sends `path` to, on any host (Kubernetes' matching rules)."""
    services = set()
    ingresses = of_kind("Ingress")
    assert ingresses, "deploy/k8s has no Ingress: what reaches the services from outside?"
    for ingress in ingresses.values():
        assert "defaultBackend" not in ingress["spec"]
        for rule in ingress["spec"]["rules"]:
            for route in rule["http"]["paths"]:
                prefix = route["path"].rstrip("/")
                if route["pathType"] == "Exact":
                    hit = path == route["path"]
                else:  # Prefix (and ImplementationSpecific, read as the widest): whole segments
                    hit = path == prefix or path.startswith(prefix + "/")
                if hit:
                    services.add(route["backend"]["service"]["name"].removeprefix("kobling-"))
    return services


@pytest.mark.parametrize("path", INTERNAL_PATHS)
def test_the_ingress_routes_no_internal_or_operator_path(path: str) -> None:
    assert routed(path) == set()


def test_the_ingress_routes_each_public_path_to_its_service_only() -> None:
    from kobling_shared.settings import PUBLIC_URLS

    (config,) = of_kind("ConfigMap").values()
    hosts = {
        rule["host"]: {r["backend"]["service"]["name"] for r in rule["http"]["paths"]}
        for ingress in of_kind("Ingress").values()
        for rule in ingress["spec"]["rules"]
    }
    for service, paths in PUBLIC_PATHS.items():
        assert paths
        assert {service} == set().union(*(routed(path) for path in paths))
        if service == "sync":
            host = SYNC_HOST
        else:
            host = config["data"][f"{service.replace('-', '_').upper()}_PUBLIC_URL"]
        assert hosts[host.removeprefix("https://")] == {f"kobling-{service}"}
    assert len(hosts) == len(PUBLIC_URLS) + 1  # sync's
    (ingress,) = of_kind("Ingress").values()
    (tls,) = ingress["spec"]["tls"]
    assert set(tls["hosts"]) == set(hosts)


INGRESS_CONTROLLER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
}
KOBLING_PODS = {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "kobling"}}}
MONITORING = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
# Who may reach each port. sync's port: the ingress controller and Prometheus alone, since no
# Kobling pod calls it; the others' also Kobling's pods (the brokers' and the internal API's callers).
ADMITTED = {
    "install": [INGRESS_CONTROLLER, KOBLING_PODS, MONITORING],
    "econ-auth": [INGRESS_CONTROLLER, KOBLING_PODS, MONITORING],
    "status": [INGRESS_CONTROLLER, KOBLING_PODS, MONITORING],
    "sync": [INGRESS_CONTROLLER, MONITORING],
}


def test_a_network_policy_keeps_each_port_to_the_ingress_kobling_and_monitoring() -> None:
    policies = of_kind("NetworkPolicy")
    for name, port in SERVICES.items():
        spec = policies[f"kobling-{name}"]["spec"]
        assert spec["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": f"kobling-{name}"}
        assert spec["policyTypes"][0] == "Ingress"
        (rule,) = spec["ingress"]
        assert rule["ports"] == [{"port": port}]
        assert not [peer for peer in rule["from"] if "ipBlock" in peer or not peer]
        assert rule["from"] == ADMITTED[name], name


def pod_labels(service: str) -> dict[str, str]:
    template = of_kind("Deployment")[f"kobling-{service}"]["spec"]["template"]
    return dict(template["metadata"]["labels"])


def plain_env(service: str) -> dict[str, str]:
    (container,) = of_kind("Deployment")[f"kobling-{service}"]["spec"]["template"]["spec"][
        "containers"
    ]
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}


def admits(policy: dict[str, Any], labels: dict[str, str], port: int) -> bool:
    """Whether `policy` lets a pod with `labels`, in the policy's own namespace, reach `port`."""
    for rule in policy["spec"]["ingress"]:
        if {"port": port} not in rule["ports"]:
            continue
        for peer in rule["from"]:
            if set(peer) == {"podSelector"}:
                wanted = peer["podSelector"]["matchLabels"]
                if wanted.items() <= labels.items():
                    return True
    return False


@pytest.mark.parametrize(
    ("broker", "path"), [("econ-auth", "/internal/economic"), ("install", "/internal/stripe")]
)
def test_sync_reaches_each_broker_and_nothing_else_of_ours(broker: str, path: str) -> None:
    """A NetworkPolicy cannot tell paths apart: the broker's port admits sync's pods, the broker's
    bearer token admits sync to its path, and the Ingress never routes that path."""
    policies = of_kind("NetworkPolicy")
    assert admits(policies[f"kobling-{broker}"], pod_labels("sync"), SERVICES[broker])
    assert routed(path) == set()
    spec = policies["kobling-sync"]["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    ours = {
        peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]: rule["ports"]
        for rule in spec["egress"]
        for peer in rule["to"]
        if set(peer) == {"podSelector"}
    }
    assert ours == {
        "kobling-econ-auth": [{"port": SERVICES["econ-auth"]}],
        "kobling-install": [{"port": SERVICES["install"]}],
    }


def test_sync_goes_out_only_to_kafka_mongodb_the_brokers_and_dns() -> None:
    spec = of_kind("NetworkPolicy")["kobling-sync"]["spec"]
    ports = sorted(port["port"] for rule in spec["egress"] for port in rule["ports"])
    assert ports == [53, 53, 8001, 8002, 9093, 27017]
    for rule in spec["egress"]:
        assert rule["to"], "an egress rule without `to` admits every address"
        for peer in rule["to"]:
            assert peer.get("ipBlock", {}).get("cidr") != "0.0.0.0/0"
    (config,) = of_kind("ConfigMap").values()
    brokers = config["data"]["KAFKA_BOOTSTRAP_SERVERS"].split(",")
    assert {broker.rsplit(":", 1)[1] for broker in brokers} == {"9093"}
    # The brokers through their Services, whose port 80 leads to the pods' ports admitted above.
    env = plain_env("sync")
    services = of_kind("Service")
    for setting, broker in (("ECONOMIC_BROKER_URL", "econ-auth"), ("STRIPE_BROKER_URL", "install")):
        assert env[setting] == f"http://kobling-{broker}"
        (port,) = services[f"kobling-{broker}"]["spec"]["ports"]
        assert (port["port"], port["targetPort"]) == (80, "http")


def test_no_service_opens_a_way_around_the_ingress() -> None:
    for service in of_kind("Service").values():
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
