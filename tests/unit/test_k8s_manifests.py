"""deploy/k8s/ against Kubernetes' own OpenAPI schemas (kubernetes-validate ships them; no cluster
runs here), and the properties an operator relies on: probes, budgets, autoscaling."""

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

MANIFESTS = sorted((Path(__file__).resolve().parents[2] / "deploy" / "k8s").glob("*.yaml"))
# The oldest Kubernetes we support: autoscaling/v2 and policy/v1 are GA there.
KUBERNETES = "1.30.0"
SERVICES = {"install": 8001, "econ-auth": 8002, "status": 8003}


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
}


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
        assert {service} == set().union(*(routed(path) for path in paths))
        url = config["data"][f"{service.replace('-', '_').upper()}_PUBLIC_URL"]
        assert hosts[url.removeprefix("https://")] == {f"kobling-{service}"}
    assert len(hosts) == len(PUBLIC_URLS)


def test_a_network_policy_keeps_each_port_to_the_ingress_kobling_and_monitoring() -> None:
    policies = of_kind("NetworkPolicy")
    for name, port in SERVICES.items():
        spec = policies[f"kobling-{name}"]["spec"]
        assert spec["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": f"kobling-{name}"}
        assert spec["policyTypes"] == ["Ingress"]
        (rule,) = spec["ingress"]
        assert rule["ports"] == [{"port": port}]
        peers = [peer.get("namespaceSelector") or peer.get("podSelector") for peer in rule["from"]]
        assert not [peer for peer in rule["from"] if "ipBlock" in peer or not peer]
        assert peers == [
            {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
            {"matchLabels": {"app.kubernetes.io/part-of": "kobling"}},
            {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
        ]


def test_no_service_opens_a_way_around_the_ingress() -> None:
    for service in of_kind("Service").values():
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
