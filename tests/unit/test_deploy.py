"""The container and the Kubernetes manifests agree with the code and lock the pod down.

The manifests are read with PyYAML's safe loader (YAML 1.1, as kubectl reads them: `0440` is
octal), made strict about one thing it lets pass: a key given twice in one mapping.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from connector.cli import _TLS_FLAGS, _parser
from connector.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# Needs cert-manager: a kustomize component that the base kustomization only names in a comment.
OPTIONAL = {"cert-manager/certificate.yaml", "cert-manager/kustomization.yaml"}


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a duplicate key instead of keeping the last value silently."""


def _unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)


def test_the_loader_reads_kubectl_octal_and_refuses_duplicate_keys() -> None:
    assert parse_yaml("mode: 0440\nname: x") == {"mode": 0o440, "name": "x"}
    with pytest.raises(yaml.YAMLError, match="duplicate key 'a'"):
        parse_yaml("a: 1\nb:\n  c: 2\na: 3")


# --- the manifests --------------------------------------------------------------------------


def manifests() -> dict[str, Any]:
    """Every YAML file under deploy/, by its path relative to it."""
    paths = sorted(DEPLOY.rglob("*.yaml"))
    return {path.relative_to(DEPLOY).as_posix(): parse_yaml(path.read_text()) for path in paths}


def by_kind(kind: str) -> Any:
    found = [doc for doc in manifests().values() if doc.get("kind") == kind]
    assert len(found) == 1, kind
    return found[0]


def pod() -> Any:
    return by_kind("Deployment")["spec"]["template"]


def container() -> Any:
    containers = pod()["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env() -> dict[str, Any]:
    return {item["name"]: item for item in container()["env"]}


def port_of(address: str) -> int:
    return int(address.rpartition(":")[2])


def test_every_manifest_parses_and_the_kustomization_lists_them() -> None:
    docs = manifests()
    assert {"deployment.yaml", "service.yaml", "networkpolicy.yaml"} <= set(docs)
    for name, doc in docs.items():
        assert isinstance(doc, dict), name
        assert doc.get("apiVersion"), name
        assert doc.get("kind"), name
    kustomization = docs["kustomization.yaml"]
    listed = set(kustomization["resources"])
    assert listed == set(docs) - {"kustomization.yaml"} - OPTIONAL
    assert docs["cert-manager/kustomization.yaml"]["kind"] == "Component"
    assert docs["cert-manager/kustomization.yaml"]["resources"] == ["certificate.yaml"]


def test_the_image_is_set_in_one_place_the_kustomization() -> None:
    # The Deployment's name is only what the images entry matches (exactly, tag and all):
    # left alone it would resolve to a Docker Hub image that does not exist.
    (image,) = manifests()["kustomization.yaml"]["images"]
    assert container()["image"] == image["name"] == "clerk-connector"
    assert "/" in image["newName"]  # a registry of the operator's
    assert image["newTag"]


def test_the_pod_is_locked_down() -> None:
    spec = pod()["spec"]
    assert by_kind("Deployment")["spec"]["replicas"] == 1
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 10001
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = container()["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["runAsNonRoot"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    # The only writable path is an emptyDir at /tmp.
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    writable = [m for m in container()["volumeMounts"] if not m.get("readOnly")]
    assert [m["mountPath"] for m in writable] == ["/tmp"]  # noqa: S108
    assert "emptyDir" in volumes[writable[0]["name"]]


def test_resources_and_probes() -> None:
    resources = container()["resources"]
    assert resources["requests"] == {"cpu": "100m", "memory": "256Mi"}
    assert resources["limits"]["memory"] == "512Mi"
    probes = {name: container()[name] for name in ("readinessProbe", "livenessProbe")}
    probes["startupProbe"] = container()["startupProbe"]
    for name, probe in probes.items():
        command = probe["exec"]["command"]
        assert command[:2] == ["clerk-connector", "health"], name
        args = _parser().parse_args(command[1:])  # every flag exists (SystemExit otherwise)
        # Readiness follows the key; liveness and start-up only need an answer.
        assert args.liveness is (name != "readinessProbe"), name
        assert probe["timeoutSeconds"] >= 3, name


def test_env_names_exist_and_the_key_is_a_mounted_secret_file() -> None:
    settings_names = {field.validation_alias for field in Settings.model_fields.values()}
    variables = env()
    assert set(variables) <= settings_names
    assert all(set(item) == {"name", "value"} for item in variables.values())
    assert "CLERK_SECRET_KEY" not in variables
    assert "CONNECTOR_ALLOW_INSECURE" not in variables  # TLS instead

    spec = pod()["spec"]
    mounts = {m["name"]: m["mountPath"] for m in container()["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    key_path = variables["CLERK_SECRET_KEY_FILE"]["value"]
    key_volume = volumes["clerk-key"]["secret"]
    assert key_path == f"{mounts['clerk-key']}/{key_volume['items'][0]['path']}"
    assert key_volume["defaultMode"] == 0o440
    assert spec["securityContext"]["fsGroup"] == spec["securityContext"]["runAsUser"]
    tls_files = [value["value"] for name, value in variables.items() if "_TLS_" in name]
    tls_files = [path for path in tls_files if path.startswith("/")]
    assert len(tls_files) == 6
    assert all(path.startswith(mounts["tls"] + "/") for path in tls_files)
    assert "secret" in volumes["tls"]


def test_ports_line_up_across_env_container_service_policy_and_image() -> None:
    variables = env()
    ports = {p["name"]: p["containerPort"] for p in container()["ports"]}
    assert port_of(variables["CONNECTOR_LISTEN"]["value"]) == ports["grpc"]
    assert port_of(variables["CONNECTOR_METRICS_LISTEN"]["value"]) == ports["metrics"] == 9090

    labels = pod()["metadata"]["labels"]
    service = by_kind("Service")["spec"]
    assert service["type"] == "ClusterIP"
    assert service["selector"].items() <= labels.items()
    assert {p["targetPort"] for p in service["ports"]} == set(ports)
    assert {p["name"]: p["port"] for p in service["ports"]} == ports

    policy = by_kind("NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    assert policy["policyTypes"] == ["Ingress"]
    allowed = {port["port"] for rule in policy["ingress"] for port in rule["ports"]}
    assert allowed == set(ports)
    assert all(rule["from"] for rule in policy["ingress"])  # no rule open to everyone

    dockerfile = (ROOT / "Dockerfile").read_text()
    exposed = re.search(r"^EXPOSE (.+)$", dockerfile, re.MULTILINE)
    assert exposed is not None
    assert {int(port) for port in exposed.group(1).split()} == set(ports.values())
    assert f"CONNECTOR_LISTEN=0.0.0.0:{ports['grpc']}" in dockerfile


def test_probe_tls_matches_the_certificate() -> None:
    variables = env()
    certificate = by_kind("Certificate")["spec"]
    tls_volume = {v["name"]: v for v in pod()["spec"]["volumes"]}["tls"]
    assert certificate["secretName"] == tls_volume["secret"]["secretName"]
    assert {"server auth", "client auth"} <= set(certificate["usages"])
    assert variables["CONNECTOR_HEALTH_TLS_SERVER_NAME"]["value"] in certificate["dnsNames"]
    # A platform dials the Service from its own namespace or from another one.
    service = by_kind("Service")["metadata"]["name"]
    namespace = manifests()["kustomization.yaml"]["namespace"]
    assert by_kind("Certificate")["metadata"]["name"] == service
    assert {
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.cluster.local",
    } <= set(certificate["dnsNames"])
    # The probe presents the pod's own certificate, trusted by the same CA as clients.
    assert variables["CONNECTOR_HEALTH_TLS_CERT_FILE"] == {
        "name": "CONNECTOR_HEALTH_TLS_CERT_FILE",
        "value": variables["CONNECTOR_TLS_CERT_FILE"]["value"],
    }
    ca = variables["CONNECTOR_TLS_CLIENT_CA_FILE"]["value"]
    assert variables["CONNECTOR_HEALTH_TLS_CA_FILE"]["value"] == ca


def test_dockerfile_runs_unprivileged_and_without_insecure_defaults() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    user = re.search(r"^USER (\d+):(\d+)$", dockerfile, re.MULTILINE)
    assert user is not None
    assert int(user.group(1)) == pod()["spec"]["securityContext"]["runAsUser"]
    assert int(user.group(1)) != 0
    assert "PYTHONDONTWRITEBYTECODE=1" in dockerfile  # no writes under a read-only root
    assert "CONNECTOR_ALLOW_INSECURE" not in dockerfile.split("ENV ", 1)[1].split("USER")[0]
    assert 'CMD ["clerk-connector", "health"]' in dockerfile


def test_every_setting_is_documented() -> None:
    names = {field.validation_alias for field in Settings.model_fields.values()}
    # `health` reads its TLS flags' fallbacks through the settings too.
    assert {setting for _flag, setting in _TLS_FLAGS.values()} <= set(Settings.model_fields)
    example = (ROOT / "config" / "example.env").read_text()
    readme = (ROOT / "README.md").read_text()
    for name in sorted(str(n) for n in names):
        assert re.search(rf"^#? ?{name}=", example, re.MULTILINE), f"{name} not in example.env"
        short = "…" + name.rpartition("_TLS")[2] if name.startswith("CONNECTOR_HEALTH_") else name
        assert f"`{name}`" in readme or f"`{short}`" in readme, f"{name} not in README"
