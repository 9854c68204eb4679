"""The kubectl commands against a real apiserver: in-process, memory storage, real
SyncAPIClient over gRPC (no etcd, no Ray; well under a second)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest

from cli.main import main

APP = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
"""


@pytest.fixture(scope="module")
def apiserver() -> Iterator[str]:
    from actors.apiserver.actor import ApiServer
    from actors.common.loopthread import LoopThread

    lt = LoopThread("cli-test-apiserver")
    srv = ApiServer({"storage": "memory"})
    try:
        yield lt.run(srv.start())
    finally:
        lt.run(srv.stop())
        lt.stop()


@pytest.fixture
def cluster(apiserver: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    (home / "live").mkdir(parents=True)
    (home / "live" / "cluster.json").write_text(json.dumps({"apiserver": apiserver}))
    monkeypatch.setenv("KUBEMU_HOME", str(home))
    monkeypatch.setenv("KUBEMU_CLUSTER", "live")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def cols(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def test_apply_get_describe_scale_label_delete(cluster: Path, capsys: Any) -> None:
    f = cluster / "app.yaml"
    f.write_text(APP)
    assert run(capsys, "apply", "-f", str(f)) == (
        0, "deployment.apps/web created\nservice/web created\n", "")
    # the server's defaults (imagePullPolicy, protocol, strategy...) are no change
    assert run(capsys, "apply", "-f", str(f)) == (
        0, "deployment.apps/web unchanged\nservice/web unchanged\n", "")
    f.write_text(APP.replace("nginx:1.25", "nginx:1.26"))
    assert run(capsys, "apply", "-f", str(f)) == (
        0, "deployment.apps/web configured\nservice/web unchanged\n", "")

    rc, out, err = run(capsys, "get", "deploy", "-o", "wide")
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert cols(lines[0]) == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS",
                              "IMAGES", "SELECTOR"]
    assert cols(lines[1])[:4] == ["web", "0/3", "0", "0"]
    assert cols(lines[1])[5:] == ["web", "nginx:1.26", "app=web"]
    rc, out, _ = run(capsys, "get", "deploy", "web", "-o", "json")
    obj = json.loads(out)
    assert obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert obj["metadata"]["generation"] == 2

    rc, out, _ = run(capsys, "describe", "deployment/web")
    assert rc == 0
    assert "Replicas:               3 desired | 0 updated | 0 total | 0 available | 0 unavailable\n" \
        in out
    assert "RollingUpdateStrategy:  25% max unavailable, 25% max surge\n" in out

    assert run(capsys, "scale", "deploy/web", "--replicas=5") == (
        0, "deployment.apps/web scaled\n", "")
    assert run(capsys, "label", "svc", "web", "tier=front") == (0, "service/web labeled\n", "")
    rc, out, _ = run(capsys, "get", "svc", "--show-labels")
    assert cols(out.splitlines()[1])[-1] == "tier=front"

    f2 = cluster / "bad.yaml"
    f2.write_text(APP.split("---")[0].replace("replicas: 3", "replicas: -1"))
    assert run(capsys, "apply", "-f", str(f2)) == (
        1, "", 'The Deployment "web" is invalid: spec.replicas: Invalid value: -1: must be '
               "greater than or equal to 0\n")

    assert run(capsys, "delete", "-f", str(f)) == (
        0, 'deployment.apps "web" deleted\nservice "web" deleted\n', "")
    assert run(capsys, "get", "deploy,svc") == (
        0, "", "No resources found in default namespace.\n")
    assert run(capsys, "get", "deploy", "web") == (
        1, "", 'Error from server (NotFound): deployments.apps "web" not found\n')


def test_namespaces_and_nodes(cluster: Path, capsys: Any) -> None:
    rc, out, _ = run(capsys, "get", "ns", "-o", "name")
    assert {"namespace/default", "namespace/kube-system", "namespace/kube-node-lease"} <= set(
        out.split())
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    f = cluster / "node.json"
    f.write_text(json.dumps(node))
    assert run(capsys, "apply", "-f", str(f)) == (0, "node/node-1 created\n", "")
    assert run(capsys, "cordon", "node-1") == (0, "node/node-1 cordoned\n", "")
    rc, out, _ = run(capsys, "get", "nodes")
    assert cols(out.splitlines()[1])[:3] == ["node-1", "Unknown,SchedulingDisabled", "<none>"]
    assert run(capsys, "uncordon", "node-1") == (0, "node/node-1 uncordoned\n", "")
    rc, out, _ = run(capsys, "describe", "node", "node-1")
    assert rc == 0 and out.startswith("Name:               node-1\n")
    assert "Unschedulable:      false\n" in out
    assert run(capsys, "delete", "node", "node-1") == (0, 'node "node-1" deleted\n', "")
