"""The container and the Kubernetes manifests agree with the code and lock the pod down.

PyYAML is not a dependency, so the manifests are written in a small YAML subset (block
mappings and sequences, plain or double-quoted scalars, comments) that `parse_yaml` reads
exactly and rejects loudly outside of; the parser has its own tests below.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from connector.cli import _TLS_FLAGS, _parser
from connector.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# Needs cert-manager: a kustomize component that the base kustomization only names in a comment.
OPTIONAL = {"cert-manager/certificate.yaml", "cert-manager/kustomization.yaml"}


class YamlSubsetError(ValueError):
    pass


# --- the YAML subset ------------------------------------------------------------------------

_KEY = re.compile(r"^([A-Za-z0-9_.\-/]+):(?: +(.*))?$")
_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_OCTAL = re.compile(r"^0[0-7]+$")  # YAML 1.1, as kubectl reads defaultMode: 0440
_Line = tuple[int, str, int]  # indentation, text, line number


def parse_yaml(text: str) -> Any:
    lines = _lines(text)
    if not lines:
        return None
    value, end = _block(lines, 0, lines[0][0])
    if end != len(lines):
        raise YamlSubsetError(f"line {lines[end][2]}: unexpected indentation")
    return value


def _lines(text: str) -> list[_Line]:
    out: list[_Line] = []
    for number, raw in enumerate(text.splitlines(), 1):
        if "\t" in raw:
            raise YamlSubsetError(f"line {number}: tab")
        line = _strip_comment(raw).rstrip()
        if not line:
            continue
        if line == "---":
            raise YamlSubsetError(f"line {number}: one document per file")
        out.append((len(line) - len(line.lstrip(" ")), line.lstrip(" "), number))
    return out


def _strip_comment(raw: str) -> str:
    quoted = False
    for i, ch in enumerate(raw):
        if ch == '"':
            quoted = not quoted
        elif ch == "#" and not quoted and (i == 0 or raw[i - 1] == " "):
            return raw[:i]
    return raw


def _is_item(text: str) -> bool:
    return text == "-" or text.startswith("- ")


def _block(lines: list[_Line], i: int, indent: int) -> tuple[Any, int]:
    return _sequence(lines, i, indent) if _is_item(lines[i][1]) else _mapping(lines, i, indent)


def _sequence(lines: list[_Line], i: int, indent: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    while i < len(lines) and lines[i][0] == indent and _is_item(lines[i][1]):
        _, text, number = lines[i]
        rest = text[1:].lstrip(" ")
        if not rest:
            i += 1
            if i >= len(lines) or lines[i][0] <= indent:
                raise YamlSubsetError(f"line {number}: empty item")
            value, i = _block(lines, i, lines[i][0])
        elif _KEY.match(rest) or _is_item(rest):  # "- key: v", "- - x": a block after the dash
            child = indent + len(text) - len(rest)
            lines[i] = (child, rest, number)
            value, i = _block(lines, i, child)
        else:
            value, i = _scalar(rest, number), i + 1
        items.append(value)
    return items, i


def _mapping(lines: list[_Line], i: int, indent: int) -> tuple[dict[str, Any], int]:
    out: dict[str, Any] = {}
    while i < len(lines) and lines[i][0] == indent and not _is_item(lines[i][1]):
        _, text, number = lines[i]
        match = _KEY.match(text)
        if match is None:
            raise YamlSubsetError(f"line {number}: expected 'key: value'")
        key, value_text = match.group(1), match.group(2)
        if key in out:
            raise YamlSubsetError(f"line {number}: duplicate key {key}")
        i += 1
        nested = i < len(lines) and (
            lines[i][0] > indent or (lines[i][0] == indent and _is_item(lines[i][1]))
        )
        if value_text:
            if nested and lines[i][0] > indent:
                raise YamlSubsetError(f"line {lines[i][2]}: unexpected indentation")
            out[key] = _scalar(value_text, number)
        elif nested:
            out[key], i = _block(lines, i, lines[i][0])
        else:
            out[key] = None
    if i < len(lines) and lines[i][0] > indent:
        raise YamlSubsetError(f"line {lines[i][2]}: unexpected indentation")
    return out, i


def _scalar(text: str, number: int) -> Any:
    if text.startswith('"'):
        if len(text) < 2 or not text.endswith('"'):
            raise YamlSubsetError(f"line {number}: unterminated string")
        return json.loads(text)
    if text in ("[]", "{}"):
        return [] if text == "[]" else {}
    if text[0] in "[]{}&*!|>'%@`" or ": " in text:
        raise YamlSubsetError(f"line {number}: outside the subset: {text}")
    if text.lower() in ("yes", "no", "on", "off", "y", "n"):
        raise YamlSubsetError(f"line {number}: ambiguous boolean {text}: quote it")
    words = {"true": True, "false": False, "null": None, "~": None}
    if text in words:
        return words[text]
    if _OCTAL.match(text):
        return int(text, 8)
    if _INT.match(text):
        return int(text)
    return text


def test_parser_reads_the_subset() -> None:
    text = """
# a comment
top:
  name: "quoted # not a comment"  # a comment
  plain: clerk-connector:dev
  mode: 0440
  count: 3
  flag: false
  empty: []
  list:
  - a
  - "0.0.0.0:1"
  nested:
    - key: 1
      other:
        deep: x
    - - inner
    -
      late: true
  last:
"""
    assert parse_yaml(text) == {
        "top": {
            "name": "quoted # not a comment",
            "plain": "clerk-connector:dev",
            "mode": 0o440,
            "count": 3,
            "flag": False,
            "empty": [],
            "list": ["a", "0.0.0.0:1"],
            "nested": [{"key": 1, "other": {"deep": "x"}}, ["inner"], {"late": True}],
            "last": None,
        }
    }


@pytest.mark.parametrize(
    "text",
    [
        "a:\n\tb: 1",
        "a: {b: 1}",
        "a: [1, 2]",
        "a: &anchor 1",
        "a: |\n  text",
        "a: yes",
        "a: 1\na: 2",
        "a: 1\n  b: 2",
        "a:\n  b: 1\n c: 2",
        "a: 1\n---\nb: 2",
        "a: b: c",
        'a: "open',
    ],
)
def test_parser_rejects_what_it_does_not_understand(text: str) -> None:
    with pytest.raises(YamlSubsetError):
        parse_yaml(text)


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
