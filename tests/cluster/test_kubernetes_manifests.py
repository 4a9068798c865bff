"""cluster/kubernetes/: every manifest parses, every object passes the Kubernetes API's schema (strict:
no unknown field), and every snn-search command in them is one our own parsers accept, with the
storage URL from the Secret, never on a command line.

Nothing here runs a cluster (none can run on this machine); docs/distributed.md says so.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from search.store import STORAGE_URL_ENV
from support import REPO_ROOT

MANIFESTS = REPO_ROOT / "cluster" / "kubernetes"
# The oldest Kubernetes release the manifests are checked against, and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())


def _objects() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document is not None:
                found.append((f"{path.name}:{document['kind']}/{document['metadata']['name']}", document))
    return found


OBJECTS = _objects()


def _pod_specs() -> list[tuple[str, dict[str, Any]]]:
    specs = []
    for name, obj in OBJECTS:
        template = obj.get("spec", {}).get("template")
        if template is not None:
            specs.append((name, template["spec"]))
    return specs


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_the_manifests_hold_the_database_the_three_jobs_and_the_secret() -> None:
    kinds = sorted(name.split(":")[1] for name, _ in OBJECTS)
    assert kinds == [
        "Job/snn-search-create-study",
        "Job/snn-search-retrain",
        "Job/snn-search-workers",
        "PersistentVolumeClaim/snn-search-results",
        "Secret/snn-search-storage",
        "Service/postgres",
        "StatefulSet/postgres",
    ]
    workers = dict(OBJECTS)["workers.yaml:Job/snn-search-workers"]["spec"]
    assert workers["parallelism"] >= 2 and workers["completions"] == workers["parallelism"]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", [name for name, _ in OBJECTS])
def test_every_object_passes_the_kubernetes_schema(name: str, version: str) -> None:
    kubernetes_validate.validate(dict(OBJECTS)[name], version, strict=True)


def test_the_schema_check_can_fail() -> None:
    job = yaml.safe_load((MANIFESTS / "workers.yaml").read_text())
    job["spec"]["paralelism"] = 4  # a typo: strict validation names the unknown field
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, KUBERNETES_VERSIONS[0], strict=True)


@pytest.mark.parametrize(
    "name, container",
    [
        (f"{name}:{c['name']}", c)
        for name, spec in _pod_specs()
        for c in _containers(spec)
        if c.get("command", [])[:2] == ["python", "-m"]
    ],
)
def test_every_command_parses_and_reads_its_storage_from_the_secret(name: str, container: dict[str, Any]) -> None:
    module, argv = container["command"][2], container["command"][3:]
    assert module.startswith("search.") and "--storage" not in argv, name
    importlib.import_module(module).parse_args(argv)  # exits 2 on a flag our parser refuses
    (storage,) = [e for e in container["env"] if e["name"] == STORAGE_URL_ENV]
    ref = storage["valueFrom"]["secretKeyRef"]
    secret = dict(OBJECTS)[f"secret.yaml:Secret/{ref['name']}"]
    assert ref["key"] in secret["stringData"] and secret["stringData"][ref["key"]].startswith("postgresql+psycopg://")


def test_the_jobs_search_one_study_at_one_budget() -> None:
    """The creation Job fixes the study's epochs; the workers ask for the same, or they would be refused."""
    commands = {
        c["name"]: c["command"]
        for _, spec in _pod_specs()
        for c in _containers(spec)
        if c.get("command", [])[:2] == ["python", "-m"]
    }
    studies = {cmd[cmd.index("--study") + 1] for cmd in commands.values()}
    assert studies == {"fmnist-snn"}
    epochs = {cmd[cmd.index("--epochs") + 1] for name, cmd in commands.items() if name in ("create-study", "worker")}
    assert len(epochs) == 1 and "--create-only" in commands["create-study"]


def test_the_dockerfile_installs_what_the_jobs_run() -> None:
    text = (MANIFESTS / "Dockerfile").read_text()
    assert "torch==2.14.1 torchvision==0.29.1" in text and '".[postgres]"' in text
    assert "dataset-fashion-mnist" in text
    images = {c["image"] for _, spec in _pod_specs() for c in _containers(spec) if c["name"] != "postgres"}
    assert images == {"snn-search:latest"}
    assert Path(MANIFESTS / "Dockerfile").read_text().count("COPY") >= 3
