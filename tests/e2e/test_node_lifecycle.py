"""A node dies, on a whole cluster of real Ray actors (timeScale 0.05).

node-3's kubelet is killed for good (`rayutil.kill(..., no_restart=True)`; Ray would
otherwise restart it). Then, as upstream: node-3 goes NotReady (every condition Unknown)
once nodeMonitorGracePeriod (50 s, scaled: 2.5 s) has passed without a Lease renewal or a
status post; the node lifecycle controller taints it ``node.kubernetes.io/unreachable``
(NoSchedule at once, NoExecute through the rate-limited tainter) and marks its pods
NotReady; the taint eviction controller deletes a pod whose unreachable toleration is
0 s at once, a Deployment's pod (the 300 s default toleration the apiserver added) after
300 s scaled (15 s) — it stays Terminating, nobody is left to confirm it — and a pod
tolerating unreachable forever stays; the ReplicaSet's replacement runs elsewhere. A
custom NoExecute taint on a live node evicts at once the pods that do not tolerate it.
Deleting node-3's Node object lets the pod garbage collector force-delete its pods.

The apiserver's DefaultTolerationSeconds admission gives every pod lacking them the
not-ready/unreachable tolerations (300 s) — also to a pod created with
``tolerations: []`` — so "no toleration" is exercised with the custom taint, and the
at-once eviction on node-3 with tolerationSeconds: 0.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

import pytest

from actors.common.clock import parse_time

from tests.e2e.conftest import launched_cluster, wait_for  # noqa: E402

pytestmark = pytest.mark.e2e

TIME_SCALE = 0.1  # grace 50 s -> 5 s, toleration 300 s -> 30 s
DEAD = "node-3"
UNREACHABLE = "node.kubernetes.io/unreachable"


@pytest.fixture(scope="module")
def cluster(ray_address: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = str(tmp_path_factory.mktemp("kubemu-home"))
    with launched_cluster(ray_address, home, "e2e-nodelc", TIME_SCALE) as state:
        yield state



def pod(name: str, node: str, tolerations: list[dict[str, Any]] | None = None,
        labels: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"nodeSelector": {"kubernetes.io/hostname": node},
                            "containers": [{"name": "c", "image": "nginx:1.25"}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": labels or {}},
            "spec": spec}


def deployment(name: str, replicas: int) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {
                         "containers": [{"name": "web", "image": "nginx:1.25",
                                         "resources": {"requests": {"cpu": "100m"}}}]}}}}


def get_pod(api: Any, name: str) -> dict[str, Any] | None:
    from actors.api.errors import APIError

    try:
        return dict(api.get("pods", name, namespace="default"))
    except APIError as e:
        if e.code == 404:
            return None
        raise


def running(p: dict[str, Any] | None) -> bool:
    return bool(p) and (p or {}).get("status", {}).get("phase") == "Running" and \
        not (p or {})["metadata"].get("deletionTimestamp")


def wait_running(api: Any, name: str) -> None:
    wait_for(lambda: running(get_pod(api, name)), 30, f"pod {name} Running")


def pods_of(api: Any, app: str) -> list[dict[str, Any]]:
    return list(api.list("pods", namespace="default", label_selector=f"app={app}")["items"])


def condition(o: dict[str, Any], ctype: str) -> dict[str, Any]:
    return next(c for c in o["status"].get("conditions") or [] if c["type"] == ctype)


def events(api: Any, name: str, reason: str) -> list[str]:
    items = api.list("events", namespace="default",
                     field_selector=f"involvedObject.name={name}")["items"]
    return [e["message"] for e in items if e["reason"] == reason]


def test_a_dead_node_is_tainted_and_its_pods_evicted(api: Any, cluster: Any,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from actors.api.printers import node_status
    from actors.common import rayutil

    api.create("deployments", deployment("web", 3), namespace="default")
    web = wait_for(lambda: (lambda ps: ps if len(ps) == 3 and all(map(running, ps)) else None)(
        pods_of(api, "web")), 60, "3 Running web pods")
    assert len({p["spec"]["nodeName"] for p in web}) == 3, "spread over the 3 nodes"
    victim = next(p["metadata"]["name"] for p in web if p["spec"]["nodeName"] == DEAD)
    api.create("pods", pod("zero", DEAD, [{"key": UNREACHABLE, "operator": "Exists",
                                           "effect": "NoExecute", "tolerationSeconds": 0}]),
               namespace="default")
    api.create("pods", pod("forever", DEAD, [{"key": UNREACHABLE, "operator": "Exists",
                                              "effect": "NoExecute"}]), namespace="default")
    api.create("pods", pod("bare", DEAD, []), namespace="default")
    for n in ("zero", "forever", "bare"):
        wait_running(api, n)
    # DefaultTolerationSeconds: `tolerations: []` still gets both 300 s tolerations
    bare_tols = {(t["key"], t.get("tolerationSeconds"))
                 for t in (get_pod(api, "bare") or {})["spec"]["tolerations"]}
    assert bare_tols == {(UNREACHABLE, 300), ("node.kubernetes.io/not-ready", 300)}

    # -- the kubelet dies (and stays dead) --
    rayutil.kill(rayutil.get_actor(f"kubelet-{DEAD}", cluster.namespace), no_restart=True)
    killed = time.time()

    def unknown() -> Any:
        n = api.get("nodes", DEAD)
        return n if condition(n, "Ready")["status"] == "Unknown" else None
    node = wait_for(unknown, 60, f"{DEAD} Ready=Unknown")
    became = time.time() - killed
    # the 50 s grace (scaled) after the last renewal seen; renewals every 10 s (scaled)
    assert 0.6 * 50 * TIME_SCALE < became < 4 * 50 * TIME_SCALE, became
    for ctype in ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure"):
        c = condition(node, ctype)
        assert (c["status"], c["reason"], c["message"]) == (
            "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    assert node_status(node) == "NotReady"
    from cli.main import main
    capsys.readouterr()
    assert main(["get", "nodes"]) == 0
    rows = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows == {"node-1": "Ready", "node-2": "Ready", DEAD: "NotReady"}
    # the controller records the event after the status write (asynchronously, as
    # upstream's event broadcaster)
    assert wait_for(lambda: events(api, DEAD, "NodeNotReady"), 10, "NodeNotReady event") == \
        [f"Node {DEAD} status is now: NodeNotReady"]

    def tainted() -> Any:
        n = api.get("nodes", DEAD)
        ts = {(t["key"], t["effect"]): t for t in n["spec"].get("taints") or []}
        return ts if (UNREACHABLE, "NoExecute") in ts and (UNREACHABLE, "NoSchedule") in ts \
            else None
    taints = wait_for(tainted, 30, "unreachable taints")
    tainted_at = parse_time(taints[(UNREACHABLE, "NoExecute")]["timeAdded"])
    for n in api.list("nodes")["items"]:
        if n["metadata"]["name"] != DEAD:
            assert condition(n, "Ready")["status"] == "True"
            assert not n["spec"].get("taints")

    # pods on the dead node are marked NotReady
    wait_for(lambda: condition(get_pod(api, "forever") or {}, "Ready")["status"] == "False",
             10, "forever NotReady")

    # tolerationSeconds 0: evicted at once
    z = wait_for(lambda: (get_pod(api, "zero") or {}).get("metadata", {}).get(
        "deletionTimestamp") and get_pod(api, "zero"), 10, "zero evicted")
    # "at once": well before even half of the default 300 s toleration (scaled) would run
    assert time.time() - tainted_at < 0.5 * 300 * TIME_SCALE
    assert wait_for(lambda: events(api, "zero", "TaintManagerEviction"), 10, "eviction event") == [
        "Marking for deletion Pod default/zero"]
    assert any(c["type"] == "DisruptionTarget" and c["reason"] == "DeletionByTaintManager"
               for c in z["status"]["conditions"])

    # the Deployment's pod: the default 300 s toleration, scaled
    assert not (get_pod(api, victim) or {})["metadata"].get("deletionTimestamp")
    v = wait_for(lambda: (get_pod(api, victim) or {}).get("metadata", {}).get(
        "deletionTimestamp") and get_pod(api, victim), 2 * 300 * TIME_SCALE + 10,
        "the web pod evicted")
    evicted_after = time.time() - tainted_at  # timeAdded has one-second precision
    assert 300 * TIME_SCALE - 1.0 < evicted_after < 1.6 * 300 * TIME_SCALE, evicted_after
    assert wait_for(lambda: events(api, victim, "TaintManagerEviction"), 10, "eviction event") == [
        f"Marking for deletion Pod default/{victim}"]
    assert v["spec"]["nodeName"] == DEAD
    # replaced elsewhere; the evicted pod stays Terminating (no kubelet to confirm)
    wait_for(lambda: (lambda ps: len([p for p in ps if running(p)]) == 3 and
                      all(p["spec"]["nodeName"] != DEAD for p in ps if running(p)))(
        pods_of(api, "web")), 30, "a replacement Running elsewhere")
    assert (get_pod(api, victim) or {})["metadata"].get("deletionTimestamp")
    assert (get_pod(api, "bare") or {})["metadata"].get("deletionTimestamp")
    # tolerating unreachable forever: still there, not deleted
    f = get_pod(api, "forever") or {}
    assert f and not f["metadata"].get("deletionTimestamp")
    assert events(api, "forever", "TaintManagerEviction") == []

    # -- deleting the Node object garbage-collects its pods (PodGC, 40 s quarantine) --
    api.delete("nodes", DEAD)
    wait_for(lambda: not [p for p in api.list("pods", namespace="default")["items"]
                          if p["spec"].get("nodeName") == DEAD], 30, f"{DEAD}'s pods gone")
    assert len([p for p in pods_of(api, "web") if running(p)]) == 3


def test_an_untolerated_noexecute_taint_evicts_at_once(api: Any) -> None:
    live = "node-1"
    api.create("pods", pod("plain", live), namespace="default")
    api.create("pods", pod("tolerant", live, [{"key": "dedicated", "operator": "Equal",
                                                "value": "infra", "effect": "NoExecute"}]),
               namespace="default")
    for n in ("plain", "tolerant"):
        wait_running(api, n)
    node = api.get("nodes", live)
    node["spec"]["taints"] = [*(node["spec"].get("taints") or []),
                              {"key": "dedicated", "value": "infra", "effect": "NoExecute"}]
    api.update("nodes", node)
    # deleted gracefully; the (live) kubelet finishes it
    wait_for(lambda: get_pod(api, "plain") is None, 20, "plain evicted and gone")
    assert wait_for(lambda: events(api, "plain", "TaintManagerEviction"), 10, "eviction event") == [
        "Marking for deletion Pod default/plain"]
    time.sleep(1.0)
    assert running(get_pod(api, "tolerant"))
    node = api.get("nodes", live)
    node["spec"]["taints"] = [t for t in node["spec"]["taints"] if t["key"] != "dedicated"]
    api.update("nodes", node)
