"""The everyday kubectl workflow against a whole kubemu cluster (compressed timeScale).

`kubemu kubeconfig` writes the kubeconfig; the real kubectl then creates a namespace,
applies a Deployment and a Service, waits with `rollout status`, reads pods with
`-o wide`, describes a pod, the Deployment and a node, scales, rolls out a new image and
undoes it, prints logs (also `--previous` after a restart), cordons and drains a node,
and deletes everything — and what it prints is checked column for column against what
kubectl prints for a real cluster.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.e2e.conftest import launched_cluster, wait_for  # noqa: E402
from tests.kubectl import Kubectl, needs_kubectl, table_lines

pytestmark = [pytest.mark.e2e, needs_kubectl]

TIME_SCALE = 0.2
ROOT = Path(__file__).resolve().parents[2]

APP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports: [{containerPort: 80}]
        resources: {requests: {cpu: 100m}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
"""


@pytest.fixture(scope="module")
def cluster(ray_address: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = str(tmp_path_factory.mktemp("kubemu-home"))
    with launched_cluster(ray_address, home, "e2e-kubectl", TIME_SCALE) as state:
        yield state


@pytest.fixture(scope="module")
def kubectl(cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    out = str(tmp_path_factory.mktemp("kc") / "kubeconfig")
    p = subprocess.run([sys.executable, "-m", "cli.main", "kubeconfig", "--name",
                        cluster.name, "-o", out], capture_output=True, text=True, cwd=ROOT,
                       env=dict(os.environ), timeout=60)
    assert p.returncode == 0, p.stderr
    assert f"export KUBECONFIG={out}" in p.stdout
    k = Kubectl(out)
    yield k
    k.close()


def pods(k: Kubectl, *args: str) -> list[dict[str, Any]]:
    return json.loads(k.ok("get", "pods", "-o", "json", *args))["items"]  # type: ignore[no-any-return]


def test_context_named_after_the_cluster(kubectl: Kubectl, cluster: Any) -> None:
    assert kubectl.ok("config", "current-context").strip() == cluster.name
    rows = table_lines(kubectl.ok("get", "nodes"))
    assert rows[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [(r[0], r[1], r[2], r[4]) for r in rows[1:]] == [
        (n, "Ready", "<none>", "v1.30.0-kubemu") for n in ("node-1", "node-2", "node-3")]


def test_apply_rollout_get_wide(kubectl: Kubectl, tmp_path: Path) -> None:
    assert kubectl.ok("create", "namespace", "shop").strip() == "namespace/shop created"
    f = tmp_path / "app.yaml"
    f.write_text(APP)
    assert kubectl.ok("apply", "-f", str(f)).splitlines() == [
        "deployment.apps/web created", "service/web created"]
    out = kubectl.ok("rollout", "status", "deployment/web", "-n", "shop", "--timeout=120s",
                     timeout=150)
    assert out.splitlines()[-1] == 'deployment "web" successfully rolled out'
    rows = table_lines(kubectl.ok("get", "pods", "-n", "shop", "-o", "wide"))
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                       "NOMINATED NODE", "READINESS GATES"]
    assert len(rows) == 4
    for r in rows[1:]:
        assert r[0].startswith("web-") and r[1:4] == ["1/1", "Running", "0"]
        assert r[5].count(".") == 3 and r[6].startswith("node-") and r[7:] == ["<none>",
                                                                               "<none>"]
    rows = table_lines(kubectl.ok("get", "deploy,rs", "-n", "shop"))
    assert rows[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert rows[1][:4] == ["deployment.apps/web", "3/3", "3", "3"]
    assert rows[2] == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"] or \
        rows[3][0] == "NAME"
    svc = table_lines(kubectl.ok("get", "svc", "web", "-n", "shop"))
    assert svc[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert svc[1][1] == "ClusterIP" and svc[1][3] == "<none>" and svc[1][4] == "80/TCP"
    # applying the same file again changes nothing
    assert kubectl.ok("apply", "-f", str(f)).splitlines() == [
        "deployment.apps/web unchanged", "service/web unchanged"]


def test_describe_pod_deployment_node(kubectl: Kubectl) -> None:
    p = pods(kubectl, "-n", "shop", "-l", "app=web")[0]
    name, node = p["metadata"]["name"], p["spec"]["nodeName"]
    out = kubectl.ok("describe", "pod", name, "-n", "shop")
    assert f"Name:             {name}" in out
    assert "Status:           Running" in out
    assert f"Node:             {node}/" in out
    assert "Controlled By:  ReplicaSet/web-" in out
    for reason in ("Scheduled", "Pulling", "Pulled", "Created", "Started"):
        assert f"  Normal  {reason} " in out, out
    out = kubectl.ok("describe", "deployment", "web", "-n", "shop")
    assert "Replicas:               3 desired | 3 updated | 3 total | 3 available | " \
        "0 unavailable" in out
    assert "StrategyType:           RollingUpdate" in out
    assert "ScalingReplicaSet" in out
    out = kubectl.ok("describe", "node", node)
    assert f"Name:               {node}" in out
    assert "Ready            True" in out
    assert re.search(rf"^  shop +{name} ", out, re.M), out  # Non-terminated Pods


def test_scale_and_rolling_update_and_undo(kubectl: Kubectl) -> None:
    assert kubectl.ok("scale", "deployment/web", "-n", "shop", "--replicas=4").strip() == \
        "deployment.apps/web scaled"
    kubectl.ok("rollout", "status", "deployment/web", "-n", "shop", "--timeout=120s",
               timeout=150)
    assert len(pods(kubectl, "-n", "shop", "-l", "app=web")) == 4
    kubectl.ok("set", "image", "deployment/web", "-n", "shop", "nginx=nginx:1.27")
    kubectl.ok("rollout", "status", "deployment/web", "-n", "shop", "--timeout=120s",
               timeout=150)
    wait_for(lambda: {c["image"] for p in pods(kubectl, "-n", "shop", "-l", "app=web")
                      for c in p["spec"]["containers"]} == {"nginx:1.27"}, 60,
             "only nginx:1.27 pods")
    hist = kubectl.ok("rollout", "history", "deployment/web", "-n", "shop")
    assert table_lines(hist)[1] == ["REVISION", "CHANGE-CAUSE"]
    kubectl.ok("rollout", "undo", "deployment/web", "-n", "shop")
    kubectl.ok("rollout", "status", "deployment/web", "-n", "shop", "--timeout=120s",
               timeout=150)
    d = json.loads(kubectl.ok("get", "deploy", "web", "-n", "shop", "-o", "json"))
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"


def test_logs_and_previous(kubectl: Kubectl) -> None:
    kubectl.ok("run", "talker", "-n", "shop", "--image=busybox:1.36", "--restart=Always",
               "--", "sh", "-c", "echo hello from talker; sleep 2; exit 1")
    wait_for(lambda: "hello from talker" in kubectl.run("logs", "talker", "-n", "shop").stdout,
             60, "the first log line")
    wait_for(lambda: pods(kubectl, "-n", "shop", "--field-selector=metadata.name=talker")[0]
             ["status"]["containerStatuses"][0]["restartCount"] >= 1, 90, "a restart")
    prev = kubectl.ok("logs", "talker", "-n", "shop", "--previous")
    assert prev.splitlines() == ["hello from talker"]
    # -f streams until the container exits (it does, 2 s after each start)
    follow = kubectl.ok("logs", "-f", "talker", "-n", "shop", "--timestamps", timeout=60)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z hello from talker\n", follow), follow
    err = kubectl.fails("logs", "talker", "-n", "shop", "-c", "nope")
    assert "container nope is not valid for pod talker" in err
    kubectl.ok("delete", "pod", "talker", "-n", "shop", "--grace-period=0", "--force")


def test_cordon_and_drain(kubectl: Kubectl) -> None:
    node = pods(kubectl, "-n", "shop", "-l", "app=web")[0]["spec"]["nodeName"]
    assert kubectl.ok("cordon", node).strip() == f"node/{node} cordoned"
    out = kubectl.ok("drain", node, "--ignore-daemonsets", "--timeout=120s", timeout=150)
    assert f"node/{node} drained" in out
    assert "evicting pod shop/web-" in kubectl.run("drain", node, "--ignore-daemonsets",
                                                   "--timeout=5s").stderr + out
    wait_for(lambda: all(p["spec"]["nodeName"] != node
                         for p in pods(kubectl, "-n", "shop", "-l", "app=web")), 90,
             "no web pod left on the drained node")
    kubectl.ok("rollout", "status", "deployment/web", "-n", "shop", "--timeout=120s",
               timeout=150)
    row = table_lines(kubectl.ok("get", "node", node))[1]
    assert row[1] == "Ready,SchedulingDisabled"
    assert kubectl.ok("uncordon", node).strip() == f"node/{node} uncordoned"


def test_delete_cascade_orphan_keeps_the_replicaset(kubectl: Kubectl) -> None:
    kubectl.ok("create", "deployment", "orphan", "-n", "shop", "--image=nginx:1.25")
    kubectl.ok("rollout", "status", "deployment/orphan", "-n", "shop", "--timeout=120s",
               timeout=150)
    assert kubectl.ok("delete", "deployment", "orphan", "-n", "shop",
                      "--cascade=orphan").strip() == 'deployment.apps "orphan" deleted'
    rs = json.loads(kubectl.ok("get", "rs", "-n", "shop", "-l", "app=orphan", "-o", "json"))
    assert len(rs["items"]) == 1 and not rs["items"][0]["metadata"].get("ownerReferences")
    kubectl.ok("delete", "rs", "-n", "shop", "-l", "app=orphan")  # background: pods go too
    wait_for(lambda: not pods(kubectl, "-n", "shop", "-l", "app=orphan"), 90,
             "the orphaned ReplicaSet's pods gone")


def test_delete_by_file_and_name(kubectl: Kubectl, tmp_path: Path) -> None:
    f = tmp_path / "app.yaml"
    f.write_text(APP)
    assert kubectl.ok("delete", "-f", str(f)).splitlines() == [
        'deployment.apps "web" deleted', 'service "web" deleted']
    wait_for(lambda: not pods(kubectl, "-n", "shop"), 90, "the pods gone")
    assert kubectl.ok("delete", "namespace", "shop").strip() == 'namespace "shop" deleted'
