"""A whole cluster on real Ray actors (compressed timeScale): the control-plane story.

3 nodes Ready; a Deployment of 3 runs 3 pods spread over the nodes; a deleted pod is
replaced; scale 3 → 5 → 1; a pod with an impossible nodeSelector stays Pending with
the FailedScheduling event; invalid manifests are rejected with field errors and
nothing is stored; deleting a Deployment deletes its ReplicaSets and pods; deleting a
namespace deletes its content, then the namespace.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

import pytest

from actors.api.errors import APIError

from tests.e2e.conftest import launched_cluster, wait_for  # noqa: E402

pytestmark = pytest.mark.e2e

TIME_SCALE = 0.2


@pytest.fixture(scope="module")
def cluster(ray_address: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = str(tmp_path_factory.mktemp("kubemu-home"))
    with launched_cluster(ray_address, home, "e2e-cluster", TIME_SCALE) as state:
        yield state



def deployment(name: str, replicas: int, **spec_extra: Any) -> dict[str, Any]:
    pod_spec: dict[str, Any] = {"containers": [{"name": "web", "image": "nginx:1.25",
                                                "resources": {"requests": {"cpu": "100m"}}}]}
    pod_spec.update(spec_extra)
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec}}}


def running_pods(api: Any, app: str) -> list[dict[str, Any]]:
    pods = api.list("pods", namespace="default", label_selector=f"app={app}")["items"]
    return [p for p in pods if (p.get("status") or {}).get("phase") == "Running"
            and not p["metadata"].get("deletionTimestamp")]


def test_nodes_ready(api: Any, cluster: Any) -> None:
    nodes = api.list("nodes")["items"]
    assert sorted(n["metadata"]["name"] for n in nodes) == ["node-1", "node-2", "node-3"]
    for n in nodes:
        ready = [c for c in n["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True"
    leases = api.list("leases", namespace="kube-node-lease")["items"]
    assert {lease["metadata"]["name"] for lease in leases} >= {"node-1", "node-2", "node-3"}


def test_system_namespaces_exist(api: Any) -> None:
    names = {n["metadata"]["name"] for n in api.list("namespaces")["items"]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names


def test_deployment_runs_spread_replaced_and_scaled(api: Any) -> None:
    api.create("deployments", deployment("web", 3), namespace="default")
    pods = wait_for(lambda: len(running_pods(api, "web")) == 3 and running_pods(api, "web"),
                    60, "3 Running pods")
    assert len({p["spec"]["nodeName"] for p in pods}) == 3, "pods should spread over 3 nodes"
    rs = api.list("replicasets", namespace="default", label_selector="app=web")["items"]
    assert len(rs) == 1
    h = rs[0]["metadata"]["labels"]["pod-template-hash"]
    assert rs[0]["metadata"]["name"] == f"web-{h}"
    for p in pods:
        assert p["metadata"]["name"].startswith(f"web-{h}-")
        assert p["status"]["podIP"] and p["status"]["hostIP"]
        conds = {c["type"]: c["status"] for c in p["status"]["conditions"]}
        assert conds.get("Ready") == "True" and conds.get("PodScheduled") == "True"

    victim = pods[0]["metadata"]["name"]
    api.delete("pods", victim, namespace="default")
    wait_for(lambda: len(running_pods(api, "web")) == 3 and
             victim not in {p["metadata"]["name"] for p in running_pods(api, "web")},
             60, "a replacement pod")

    for n in (5, 1):
        api.patch("deployments", "web", {"spec": {"replicas": n}}, namespace="default")
        wait_for(lambda n=n: len(api.list("pods", namespace="default",
                                          label_selector="app=web")["items"]) == n
                 and len(running_pods(api, "web")) == n, 90, f"{n} pods")
    d = wait_for(lambda: (lambda d: d if (d.get("status") or {}).get("readyReplicas") == 1
                          else None)(api.get("deployments", "web", namespace="default")),
                 30, "deployment status")
    assert d["status"]["replicas"] == 1 and d["status"]["availableReplicas"] == 1


def test_impossible_node_selector_stays_pending_with_event(api: Any) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "nowhere", "namespace": "default"},
           "spec": {"nodeSelector": {"disktype": "ssd"},
                    "containers": [{"name": "c", "image": "nginx:1.25"}]}}
    api.create("pods", pod, namespace="default")

    def event() -> Any:
        evs = api.list("events", namespace="default",
                       field_selector="involvedObject.name=nowhere")["items"]
        return [e for e in evs if e.get("reason") == "FailedScheduling"]

    evs = wait_for(event, 30, "FailedScheduling event")
    # with DefaultPreemption's verdict, as upstream prints it
    assert evs[0]["message"] == ("0/3 nodes are available: 3 node(s) didn't match Pod's "
                                 "node affinity/selector. preemption: 0/3 nodes are available: "
                                 "3 Preemption is not helpful for scheduling.")
    time.sleep(1.0)
    p = api.get("pods", "nowhere", namespace="default")
    assert p["status"]["phase"] == "Pending" and not p["spec"].get("nodeName")
    api.delete("pods", "nowhere", namespace="default")


@pytest.mark.parametrize("manifest,field", [
    pytest.param(deployment("bad-replicas", -1), "spec.replicas", id="negative-replicas"),
    pytest.param({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "noimage",
                  "namespace": "default"}, "spec": {"containers": [{"name": "c"}]}},
                 "spec.containers[0].image", id="missing-image"),
    pytest.param({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "Bad_Name",
                  "namespace": "default"},
                  "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}},
                 "metadata.name", id="bad-name"),
])
def test_invalid_manifests_rejected_and_not_stored(api: Any, manifest: dict[str, Any],
                                                    field: str) -> None:
    resource = "deployments" if manifest["kind"] == "Deployment" else "pods"
    with pytest.raises(APIError) as ei:
        api.create(resource, manifest, namespace="default")
    assert ei.value.code == 422 and ei.value.reason == "Invalid"
    assert field in ei.value.message
    with pytest.raises(APIError) as ei2:
        api.get(resource, manifest["metadata"]["name"], namespace="default")
    assert ei2.value.code == 404


def test_namespace_must_exist(api: Any) -> None:
    with pytest.raises(APIError) as ei:
        api.create("pods", {"apiVersion": "v1", "kind": "Pod",
                            "metadata": {"name": "p", "namespace": "nope"},
                            "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}},
                   namespace="nope")
    assert ei.value.code == 404 and 'namespaces "nope" not found' in ei.value.message


def test_deleting_deployment_deletes_replicasets_and_pods(api: Any) -> None:
    api.create("deployments", deployment("gone", 2), namespace="default")
    wait_for(lambda: len(running_pods(api, "gone")) == 2, 60, "2 Running pods")
    api.delete("deployments", "gone", namespace="default")
    wait_for(lambda: not api.list("replicasets", namespace="default",
                                  label_selector="app=gone")["items"], 60, "ReplicaSets gone")
    wait_for(lambda: not api.list("pods", namespace="default",
                                  label_selector="app=gone")["items"], 60, "pods gone")


def test_deleting_a_namespace_deletes_its_content_then_the_namespace(api: Any) -> None:
    api.create("namespaces", {"apiVersion": "v1", "kind": "Namespace",
                              "metadata": {"name": "doomed"}})
    d = deployment("doomed", 2)
    d["metadata"]["namespace"] = "doomed"
    api.create("deployments", d, namespace="doomed")
    wait_for(lambda: sum((p.get("status") or {}).get("phase") == "Running"
                         for p in api.list("pods", namespace="doomed")["items"]) == 2,
             60, "2 Running pods in doomed")
    api.delete("namespaces", "doomed")
    assert api.get("namespaces", "doomed")["status"]["phase"] == "Terminating"

    def gone() -> bool:
        try:
            api.get("namespaces", "doomed")
        except APIError as e:
            return e.code == 404
        return False
    wait_for(gone, 90, "the namespace controller to empty and finalize doomed")
    for r in ("pods", "replicasets", "deployments"):
        assert not api.list(r, namespace="doomed")["items"], r


def kubemu(*args: str, stdin: str | None = None) -> Any:
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "cli.main", *args], input=stdin,
                          capture_output=True, text=True, timeout=120,
                          cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]))


CLI_MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cli-web
spec:
  replicas: 2
  selector:
    matchLabels: {app: cli-web}
  template:
    metadata:
      labels: {app: cli-web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cli-config
data:
  mode: demo
"""


def test_kubemu_cli_everyday_workflow(api: Any, cluster: Any) -> None:
    p = kubemu("apply", "-f", "-", "--name", cluster.name, stdin=CLI_MANIFEST)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n")[:2] == ["deployment.apps/cli-web created",
                                        "configmap/cli-config created"]
    wait_for(lambda: len(running_pods(api, "cli-web")) == 2, 60, "2 Running pods")
    p = kubemu("apply", "-f", "-", "--name", cluster.name, stdin=CLI_MANIFEST)
    assert p.returncode == 0 and "deployment.apps/cli-web unchanged" in p.stdout, p.stdout

    p = kubemu("get", "pods", "-o", "wide", "-l", "app=cli-web", "--name", cluster.name)
    lines = p.stdout.strip().splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                                "NOMINATED", "NODE", "READINESS", "GATES"]
    assert len(lines) == 3 and all(" Running " in ln and "1/1" in ln for ln in lines[1:])
    p = kubemu("get", "deploy", "cli-web", "--name", cluster.name)
    assert p.stdout.split()[:5] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert p.stdout.splitlines()[1].split()[:4] == ["cli-web", "2/2", "2", "2"]

    p = kubemu("describe", "deployment", "cli-web", "--name", cluster.name)
    assert p.returncode == 0
    assert "Replicas:               2 desired | 2 updated | 2 total | 2 available | 0 unavailable" \
        in p.stdout
    assert "ScalingReplicaSet" in p.stdout  # the controller's event, shown as kubectl does

    p = kubemu("scale", "deployment/cli-web", "--replicas=1", "--name", cluster.name)
    assert p.stdout.strip() == "deployment.apps/cli-web scaled"
    wait_for(lambda: len(api.list("pods", namespace="default",
                                  label_selector="app=cli-web")["items"]) == 1, 60, "1 pod")

    p = kubemu("get", "pods", "no-such-pod", "--name", cluster.name)
    assert p.returncode == 1
    assert p.stderr.strip() == 'Error from server (NotFound): pods "no-such-pod" not found'

    p = kubemu("delete", "-f", "-", "--name", cluster.name, stdin=CLI_MANIFEST)
    assert p.returncode == 0, p.stderr
    assert 'deployment.apps "cli-web" deleted' in p.stdout
    assert 'configmap "cli-config" deleted' in p.stdout


def test_service_gets_endpoints_and_every_kube_proxy_routes_to_ready_pods(api: Any,
                                                                           cluster: Any) -> None:
    from actors.common import rayutil

    api.create("deployments", deployment("svc-web", 2, **{}), namespace="default")
    api.create("services", {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "svc-web", "namespace": "default"},
        "spec": {"selector": {"app": "svc-web"}, "ports": [{"port": 80, "targetPort": 8080}]}},
        namespace="default")
    pods = wait_for(lambda: (lambda r: r if len(r) == 2 else None)(running_pods(api, "svc-web")),
                    60, "2 Running pods")
    want = sorted(f"{p['status']['podIP']}:8080" for p in pods)

    def endpoints() -> Any:
        ep = api.get("endpoints", "svc-web", namespace="default")
        addrs = [a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []]
        return ep if len(addrs) == 2 else None

    ep = wait_for(endpoints, 30, "Endpoints with 2 ready addresses")
    assert ep["subsets"][0]["ports"][0]["port"] == 8080
    svc = api.get("services", "svc-web", namespace="default")
    cluster_ip = svc["spec"]["clusterIP"]
    for node in cluster.nodes:
        proxy = rayutil.get_actor(f"kube-proxy-{node}", cluster.namespace)

        def routed(proxy: Any = proxy) -> Any:
            rules = rayutil.call(proxy, "rules", "default/svc-web", timeout=10)
            return rules if rules and sorted(rules[0]["backends"]) == want else None

        rules = wait_for(routed, 30, f"kube-proxy on {node} to route svc-web")
        assert rules[0]["ip"] == cluster_ip and rules[0]["port"] == 80
    api.delete("services", "svc-web", namespace="default")
    api.delete("deployments", "svc-web", namespace="default")
