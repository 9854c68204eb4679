"""actors/api/printers.py against kubectl's output for hand-built objects."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from actors.api import printers as P
from actors.api import resources as R
from actors.common.clock import rfc3339

NOW = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 UTC
Obj = dict[str, Any]


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(P, "LOCAL_TZ", dt.timezone.utc)


def ago(seconds: float) -> str:
    return rfc3339(NOW - seconds)


def get(kind: str, objs: list[Obj], **kw: Any) -> str:
    h, rows = P.table(R.lookup(kind), objs, now=NOW, **kw)
    return P.render(h, rows)


# ============================================================================ durations


@pytest.mark.parametrize("seconds,want", [
    (0, "0s"), (-1, "0s"), (-3, "<invalid>"), (0.9, "0s"), (45, "45s"), (119, "119s"),
    (120, "2m"), (312, "5m12s"), (599, "9m59s"), (600, "10m"), (12 * 60 + 30, "12m"),
    (179 * 60 + 59, "179m"), (3 * 3600, "3h"), (3 * 3600 + 5 * 60, "3h5m"), (5 * 3600, "5h"),
    (7 * 3600 + 59 * 60, "7h59m"), (8 * 3600 + 59 * 60, "8h"), (47 * 3600, "47h"),
    (48 * 3600, "2d"), (3 * 86400 + 4 * 3600, "3d4h"), (7 * 86400 + 23 * 3600, "7d23h"),
    (8 * 86400 + 5 * 3600, "8d"), (45 * 86400, "45d"), (729 * 86400, "729d"),
    (730 * 86400, "2y"), (3 * 365 * 86400 + 10 * 86400, "3y10d"), (9 * 365 * 86400, "9y"),
])
def test_human_duration(seconds: float, want: str) -> None:
    assert P.human_duration(seconds) == want
    assert P.age(NOW - seconds, NOW) == want


def test_since_of_missing_timestamp_is_unknown() -> None:
    assert P.since(None, NOW) == "<unknown>"
    assert P.since(ago(45), NOW) == "45s"


# ============================================================================ layout


def test_render_layout() -> None:
    out = P.render(["NAME", "READY", "STATUS"], [["web-1", "1/1", "Running"],
                                                 ["a-much-longer-name", "0/1", "Pending"]])
    assert out == ("NAME                 READY   STATUS\n"
                   "web-1                1/1     Running\n"
                   "a-much-longer-name   0/1     Pending\n")


def test_render_min_width_and_empty_cells() -> None:
    # tabwriter's minwidth 6: a column never narrower than 6 (cell + padding)
    assert P.render(["A", "B"], [["x", "y"]]) == "A     B\nx     y\n"
    # an empty cell is still padded; the last column is never padded
    assert P.render(["NAME", "HOLDER", "AGE"], [["l", "", "5s"]]) == (
        "NAME   HOLDER   AGE\nl               5s\n")
    assert P.render([], []) == ""


def test_tabwriter_lines_without_tabs_end_column_blocks() -> None:
    w = P.TabWriter(padding=2)
    w.write("Name:\tx\nLonger label:\ty\nBreak\nA:\tz\n")
    assert w.getvalue() == "Name:          x\nLonger label:  y\nBreak\nA:  z\n"


def test_table_stream_remembers_widths() -> None:
    s = P.TableStream()
    first = s.emit(["NAME", "STATUS"], [["web-1", "Running"]])
    assert first == "NAME    STATUS\nweb-1   Running\n"
    # a narrower row keeps the widths; a wider one widens them for good
    assert s.emit(None, [["w", "Pending"]]) == "w       Pending\n"
    assert s.emit(None, [["web-12345", "Terminating"]]) == "web-12345   Terminating\n"
    assert s.emit(None, [["w", "Pending"]]) == "w           Pending\n"


# ============================================================================ pods


def pod(name: str = "web-1", *, phase: str = "Running", statuses: list[Obj] | None = None,
        containers: int = 1, created: float = 312, **extra: Any) -> Obj:
    p: Obj = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "creationTimestamp": ago(created),
                     "labels": {"app": "web"}},
        "spec": {"nodeName": "node-1",
                 "containers": [{"name": f"c{i}", "image": "nginx"} for i in range(containers)]},
        "status": {"phase": phase, "podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}],
                   "containerStatuses": statuses if statuses is not None else []},
    }
    for k, v in extra.items():
        p.setdefault(k, {}).update(v)
    return p


def running(name: str = "c0", restarts: int = 0, ready: bool = True, **kw: Any) -> Obj:
    return {"name": name, "ready": ready, "restartCount": restarts,
            "state": {"running": {"startedAt": ago(300)}}, **kw}


def waiting(reason: str, name: str = "c0", restarts: int = 0, **kw: Any) -> Obj:
    return {"name": name, "ready": False, "restartCount": restarts,
            "state": {"waiting": {"reason": reason}}, **kw}


def status_of(p: Obj) -> tuple[str, str, str]:
    return P.pod_status(p, NOW)


def test_pod_running() -> None:
    assert status_of(pod(statuses=[running()])) == ("1/1", "Running", "0")


def test_pod_pending_unscheduled() -> None:
    p = pod(phase="Pending")
    p["spec"].pop("nodeName")
    assert status_of(p) == ("0/1", "Pending", "0")


@pytest.mark.parametrize("reason", ["ContainerCreating", "ErrImagePull", "ImagePullBackOff",
                                    "CreateContainerConfigError"])
def test_pod_waiting_reasons(reason: str) -> None:
    assert status_of(pod(phase="Pending", statuses=[waiting(reason)])) == ("0/1", reason, "0")


def test_pod_crash_loop_back_off_with_last_restart() -> None:
    st = waiting("CrashLoopBackOff", restarts=5,
                 lastState={"terminated": {"exitCode": 1, "reason": "Error",
                                           "finishedAt": ago(130)}})
    assert status_of(pod(statuses=[st])) == ("0/1", "CrashLoopBackOff", "5 (2m10s ago)")


def test_pod_restarts_suffix_uses_the_latest_termination() -> None:
    a = running("c0", restarts=2, lastState={"terminated": {"exitCode": 1,
                                                            "finishedAt": ago(3600)}})
    b = running("c1", restarts=1, lastState={"terminated": {"exitCode": 1,
                                                            "finishedAt": ago(300)}})
    assert status_of(pod(containers=2, statuses=[a, b])) == ("2/2", "Running", "3 (5m ago)")


def test_pod_terminating() -> None:
    p = pod(statuses=[running()], metadata={"deletionTimestamp": ago(5)})
    assert status_of(p) == ("1/1", "Terminating", "0")


def test_pod_terminating_not_shown_for_finished_pods() -> None:
    st = {"name": "c0", "ready": False, "restartCount": 0,
          "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    p = pod(phase="Succeeded", statuses=[st], metadata={"deletionTimestamp": ago(5)})
    assert status_of(p) == ("0/1", "Completed", "0")


def test_pod_completed_and_errored() -> None:
    done = {"name": "c0", "ready": False, "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    assert status_of(pod(phase="Succeeded", statuses=[done])) == ("0/1", "Completed", "0")
    err = {"name": "c0", "ready": False, "restartCount": 0,
           "state": {"terminated": {"exitCode": 137}}}
    assert status_of(pod(phase="Failed", statuses=[err])) == ("0/1", "ExitCode:137", "0")
    sig = {"name": "c0", "ready": False, "restartCount": 0,
           "state": {"terminated": {"exitCode": 0, "signal": 9}}}
    assert status_of(pod(phase="Failed", statuses=[sig])) == ("0/1", "Signal:9", "0")


def test_pod_completed_with_a_container_still_running_is_not_ready() -> None:
    done = {"name": "c1", "ready": False, "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    p = pod(containers=2, statuses=[running("c0"), done])
    assert status_of(p) == ("1/2", "NotReady", "0")
    p["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    assert status_of(p) == ("1/2", "Running", "0")


def test_pod_not_ready_container_counts_as_not_ready() -> None:
    assert status_of(pod(statuses=[running(ready=False)])) == ("0/1", "Running", "0")


def test_pod_status_reason_wins() -> None:
    p = pod(phase="Failed", status={"reason": "Evicted"})
    assert status_of(p) == ("0/1", "Evicted", "0")


def test_pod_node_lost() -> None:
    p = pod(phase="Running", statuses=[running()], status={"reason": "NodeLost"})
    assert status_of(p)[1] == "NodeLost"
    p["metadata"]["deletionTimestamp"] = ago(1)
    assert status_of(p)[1] == "Unknown"


def test_pod_scheduling_gated() -> None:
    p = pod(phase="Pending", status={"conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]})
    assert status_of(p)[1] == "SchedulingGated"


def test_pod_init_containers() -> None:
    p = pod(phase="Pending", statuses=[waiting("PodInitializing")])
    p["spec"]["initContainers"] = [{"name": "i0", "image": "busybox"},
                                   {"name": "i1", "image": "busybox"}]
    p["status"]["initContainerStatuses"] = [
        {"name": "i0", "ready": False, "restartCount": 0,
         "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
        {"name": "i1", "ready": False, "restartCount": 0, "state": {"running": {}}}]
    assert status_of(p) == ("0/1", "Init:1/2", "0")
    p["status"]["initContainerStatuses"][1] = waiting("CrashLoopBackOff", name="i1", restarts=3)
    assert status_of(p) == ("0/1", "Init:CrashLoopBackOff", "3")
    p["status"]["initContainerStatuses"][1] = {
        "name": "i1", "ready": False, "restartCount": 0,
        "state": {"terminated": {"exitCode": 2, "reason": "Error"}}}
    assert status_of(p) == ("0/1", "Init:Error", "0")
    p["status"]["initContainerStatuses"][1]["state"]["terminated"].pop("reason")
    assert status_of(p) == ("0/1", "Init:ExitCode:2", "0")


def test_get_pods_table() -> None:
    a = pod("web-7d4b9c-abcde", statuses=[running()])
    b = pod("web-7d4b9c-fghij", phase="Pending", statuses=[waiting("ContainerCreating")],
            created=5)
    b["status"].pop("podIP")
    b["status"].pop("podIPs")
    c = pod("db-0", statuses=[running(restarts=1, lastState={"terminated": {
        "exitCode": 1, "finishedAt": ago(4000)}})], created=3 * 86400 + 4 * 3600,
        metadata={"deletionTimestamp": ago(1)})
    assert get("pods", [a, b, c]) == (
        "NAME               READY   STATUS              RESTARTS      AGE\n"
        "web-7d4b9c-abcde   1/1     Running             0             5m12s\n"
        "web-7d4b9c-fghij   0/1     ContainerCreating   0             5s\n"
        "db-0               1/1     Terminating         1 (66m ago)   3d4h\n")
    assert get("pods", [a, b], wide=True) == (
        "NAME               READY   STATUS              RESTARTS   AGE     IP           "
        "NODE     NOMINATED NODE   READINESS GATES\n"
        "web-7d4b9c-abcde   1/1     Running             0          5m12s   10.244.1.5   "
        "node-1   <none>           <none>\n"
        "web-7d4b9c-fghij   0/1     ContainerCreating   0          5s      <none>       "
        "node-1   <none>           <none>\n")


def test_all_namespaces_and_show_labels() -> None:
    a = pod("web-1", statuses=[running()])
    b = pod("coredns-1", statuses=[running()])
    b["metadata"].update(namespace="kube-system", labels={"k8s-app": "kube-dns", "a": "b"})
    assert get("pods", [a, b], namespace_column=True, show_labels=True) == (
        "NAMESPACE     NAME        READY   STATUS    RESTARTS   AGE     LABELS\n"
        "default       web-1       1/1     Running   0          5m12s   app=web\n"
        "kube-system   coredns-1   1/1     Running   0          5m12s   a=b,k8s-app=kube-dns\n")
    c = pod("x", statuses=[running()])
    c["metadata"].pop("labels")
    assert get("pods", [c], show_labels=True).splitlines()[1].endswith("<none>")


def test_with_kind_prefixes_names() -> None:
    h, rows = P.table(R.lookup("deploy"), [deployment()], now=NOW, with_kind=True)
    assert rows[0][0] == "deployment.apps/web"
    h, rows = P.table(R.lookup("po"), [pod()], now=NOW, with_kind=True)
    assert rows[0][0] == "pod/web-1"


# ============================================================================ workloads


def template() -> Obj:
    return {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [
                {"name": "web", "image": "nginx:1.25",
                 "ports": [{"containerPort": 80, "protocol": "TCP"}]},
                {"name": "sidecar", "image": "busybox"}]}}


def deployment(ready: int = 2, desired: int = 3) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "uid": "d1",
                         "creationTimestamp": ago(3600), "labels": {"app": "web"},
                         "annotations": {"deployment.kubernetes.io/revision": "1"}},
            "spec": {"replicas": desired, "selector": {"matchLabels": {"app": "web"}},
                     "template": template(),
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxUnavailable": "25%",
                                                    "maxSurge": "25%"}}},
            "status": {"replicas": desired, "updatedReplicas": desired, "readyReplicas": ready,
                       "availableReplicas": ready, "unavailableReplicas": desired - ready,
                       "conditions": [
                           {"type": "Available", "status": "False",
                            "reason": "MinimumReplicasUnavailable"},
                           {"type": "Progressing", "status": "True",
                            "reason": "NewReplicaSetAvailable"}]}}


def replicaset(hash_: str = "7d4b9c", replicas: int = 3, age_s: float = 3600,
               image: str = "nginx:1.25") -> Obj:
    tpl = template()
    tpl["metadata"]["labels"]["pod-template-hash"] = hash_
    tpl["spec"]["containers"][0]["image"] = image
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"web-{hash_}", "namespace": "default", "uid": f"rs-{hash_}",
                         "creationTimestamp": ago(age_s),
                         "labels": {"app": "web", "pod-template-hash": hash_},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": "web", "uid": "d1",
                                              "controller": True}]},
            "spec": {"replicas": replicas,
                     "selector": {"matchLabels": {"app": "web", "pod-template-hash": hash_}},
                     "template": tpl},
            "status": {"replicas": replicas, "readyReplicas": max(replicas - 1, 0)}}


def test_get_deployments() -> None:
    assert get("deployments", [deployment()]) == (
        "NAME   READY   UP-TO-DATE   AVAILABLE   AGE\n"
        "web    2/3     3            2           60m\n")
    assert get("deploy", [deployment(3, 3)], wide=True) == (
        "NAME   READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS    IMAGES               "
        "SELECTOR\n"
        "web    3/3     3            3           60m   web,sidecar   nginx:1.25,busybox   "
        "app=web\n")


def test_get_deployment_without_status() -> None:
    d = deployment()
    d.pop("status")
    assert get("deploy", [d]).splitlines()[1] == "web    0/3     0            0           60m"


def test_get_replicasets() -> None:
    assert get("rs", [replicaset()], wide=True) == (
        "NAME         DESIRED   CURRENT   READY   AGE   CONTAINERS    IMAGES               "
        "SELECTOR\n"
        "web-7d4b9c   3         3         2       60m   web,sidecar   nginx:1.25,busybox   "
        "app=web,pod-template-hash=7d4b9c\n")


def test_selector_formatting() -> None:
    assert P.format_label_selector(None) == "<none>"
    assert P.format_label_selector({}) == "<none>"
    assert P.selector_string({"matchLabels": {"b": "2", "a": "1"}, "matchExpressions": [
        {"key": "env", "operator": "In", "values": ["prod", "dev"]},
        {"key": "c", "operator": "Exists"}, {"key": "d", "operator": "DoesNotExist"},
        {"key": "tier", "operator": "NotIn", "values": ["db"]}]}) == (
        "a=1,b=2,c,!d,env in (dev,prod),tier notin (db)")


# ============================================================================ nodes


def node(name: str = "node-1", ready: str | None = "True", unschedulable: bool = False,
         roles: tuple[str, ...] = ()) -> Obj:
    n: Obj = {"apiVersion": "v1", "kind": "Node",
              "metadata": {"name": name, "creationTimestamp": ago(45 * 86400),
                           "labels": {"kubernetes.io/hostname": name,
                                      **{f"node-role.kubernetes.io/{r}": "" for r in roles}}},
              "spec": {"unschedulable": True} if unschedulable else {},
              "status": {"conditions": [],
                         "addresses": [{"type": "InternalIP", "address": "10.0.0.11"},
                                       {"type": "Hostname", "address": name}],
                         "nodeInfo": {"kubeletVersion": "v1.30.0", "osImage": "kubemu",
                                      "kernelVersion": "6.1.0",
                                      "containerRuntimeVersion": "kubemu://0.1"}}}
    if ready is not None:
        n["status"]["conditions"] = [
            {"type": "MemoryPressure", "status": "False"},
            {"type": "Ready", "status": ready}]
    return n


def test_node_status_column() -> None:
    assert P.node_status(node()) == "Ready"
    assert P.node_status(node(ready="False")) == "NotReady"
    assert P.node_status(node(ready="Unknown")) == "NotReady"
    assert P.node_status(node(ready=None)) == "Unknown"
    assert P.node_status(node(unschedulable=True)) == "Ready,SchedulingDisabled"
    assert P.node_status(node(ready="False", unschedulable=True)) == (
        "NotReady,SchedulingDisabled")


def test_get_nodes() -> None:
    nodes = [node("control-plane", roles=("control-plane",)),
             node("node-1", unschedulable=True), node("node-2", ready="False")]
    assert get("nodes", nodes) == (
        "NAME            STATUS                     ROLES           AGE   VERSION\n"
        "control-plane   Ready                      control-plane   45d   v1.30.0\n"
        "node-1          Ready,SchedulingDisabled   <none>          45d   v1.30.0\n"
        "node-2          NotReady                   <none>          45d   v1.30.0\n")
    assert get("no", nodes[:1], wide=True) == (
        "NAME            STATUS   ROLES           AGE   VERSION   INTERNAL-IP   EXTERNAL-IP   "
        "OS-IMAGE   KERNEL-VERSION   CONTAINER-RUNTIME\n"
        "control-plane   Ready    control-plane   45d   v1.30.0   10.0.0.11     <none>        "
        "kubemu     6.1.0            kubemu://0.1\n")


# ============================================================================ services & co


def service(name: str, typ: str = "ClusterIP", ip: str = "10.96.0.10", **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default", "creationTimestamp": ago(600)},
            "spec": {"type": typ, "clusterIP": ip, "clusterIPs": [ip],
                     "selector": {"app": name}, **spec}}


def test_get_services() -> None:
    svcs = [service("web", ports=[{"port": 80, "protocol": "TCP"},
                                  {"port": 443, "protocol": "TCP"}]),
            service("api", "NodePort", "10.96.0.11",
                    ports=[{"port": 80, "nodePort": 30080, "protocol": "TCP"}]),
            service("lb", "LoadBalancer", "10.96.0.12", ports=[{"port": 53, "protocol": "UDP"}]),
            service("db", ip="None")]
    assert get("svc", svcs) == (
        "NAME   TYPE           CLUSTER-IP   EXTERNAL-IP   PORT(S)          AGE\n"
        "web    ClusterIP      10.96.0.10   <none>        80/TCP,443/TCP   10m\n"
        "api    NodePort       10.96.0.11   <none>        80:30080/TCP     10m\n"
        "lb     LoadBalancer   10.96.0.12   <pending>     53/UDP           10m\n"
        "db     ClusterIP      None         <none>        <none>           10m\n")
    assert get("svc", svcs[:1], wide=True).splitlines() == [
        "NAME   TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)          AGE   SELECTOR",
        "web    ClusterIP   10.96.0.10   <none>        80/TCP,443/TCP   10m   app=web"]


def test_get_endpoints() -> None:
    ep = {"apiVersion": "v1", "kind": "Endpoints",
          "metadata": {"name": "web", "namespace": "default", "creationTimestamp": ago(600)},
          "subsets": [{"addresses": [{"ip": f"10.244.1.{i}"} for i in range(1, 6)],
                       "ports": [{"port": 8080, "protocol": "TCP"}]}]}
    empty = {"apiVersion": "v1", "kind": "Endpoints",
             "metadata": {"name": "db", "namespace": "default", "creationTimestamp": ago(600)}}
    assert get("ep", [ep, empty]) == (
        "NAME   ENDPOINTS                                                     AGE\n"
        "web    10.244.1.1:8080,10.244.1.2:8080,10.244.1.3:8080 + 2 more...   10m\n"
        "db     <none>                                                        10m\n")


def test_get_configmaps_secrets_namespaces_leases() -> None:
    cm = {"kind": "ConfigMap", "metadata": {"name": "cfg", "creationTimestamp": ago(45)},
          "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}
    assert get("cm", [cm]) == "NAME   DATA   AGE\ncfg    3      45s\n"
    sec = {"kind": "Secret", "metadata": {"name": "tls", "creationTimestamp": ago(45)},
           "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}}
    assert get("secret", [sec]) == (
        "NAME   TYPE                DATA   AGE\ntls    kubernetes.io/tls   2      45s\n")
    ns = [{"kind": "Namespace", "metadata": {"name": "default", "creationTimestamp": ago(86400)},
           "status": {"phase": "Active"}},
          {"kind": "Namespace", "metadata": {"name": "old", "creationTimestamp": ago(700)},
           "status": {"phase": "Terminating"}}]
    assert get("ns", ns) == (
        "NAME      STATUS        AGE\ndefault   Active        24h\nold       Terminating   11m\n")
    lease = {"kind": "Lease", "metadata": {"name": "node-1", "creationTimestamp": ago(3600)},
             "spec": {"holderIdentity": "node-1"}}
    free = {"kind": "Lease", "metadata": {"name": "kube-scheduler",
                                          "creationTimestamp": ago(3600)}, "spec": {}}
    assert get("leases", [lease, free]) == (
        "NAME             HOLDER   AGE\nnode-1           node-1   60m\nkube-scheduler            60m\n")


def test_get_events() -> None:
    ev = {"kind": "Event", "metadata": {"name": "web-1.17a", "namespace": "default"},
          "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default",
                             "fieldPath": "spec.containers{web}"},
          "reason": "Pulled", "type": "Normal", "message": "Successfully pulled image\n",
          "source": {"component": "kubelet", "host": "node-1"},
          "firstTimestamp": ago(600), "lastTimestamp": ago(45), "count": 4}
    node_ev = {"kind": "Event", "metadata": {"name": "node-1.17b", "namespace": "default"},
               "involvedObject": {"kind": "Node", "name": "node-1"},
               "reason": "NodeNotReady", "type": "Warning", "message": "Node is not ready",
               "eventTime": "2023-11-14T22:13:00.000000Z", "reportingComponent": "node-controller"}
    assert get("events", [ev, node_ev]) == (
        "LAST SEEN   TYPE      REASON         OBJECT        MESSAGE\n"
        "45s         Normal    Pulled         pod/web-1     Successfully pulled image\n"
        "20s         Warning   NodeNotReady   node/node-1   Node is not ready\n")
    assert get("events", [ev], wide=True) == (
        "LAST SEEN   TYPE     REASON   OBJECT      SUBOBJECT              SOURCE            "
        "MESSAGE                     FIRST SEEN   COUNT   NAME\n"
        "45s         Normal   Pulled   pod/web-1   spec.containers{web}   kubelet, node-1   "
        "Successfully pulled image   10m          4       web-1.17a\n")


def test_generic_resource_columns() -> None:
    info = R.lookup("pods")
    fake = type("Info", (), {"plural": "widgets", "kind": "Widget", "group": "x.io",
                             "namespaced": True})()
    w = {"metadata": {"name": "w", "creationTimestamp": ago(45)}}
    h, rows = P.table(fake, [w], now=NOW)
    assert (h, rows) == (["NAME", "AGE"], [["w", "45s"]])
    assert [c["name"] for c in P.column_definitions(info)][:3] == ["Name", "Ready", "Status"]
    assert P.column_definitions(info)[5]["priority"] == 1


def test_row_cells_keep_types_for_rest_tables() -> None:
    cells = P.row_cells(R.lookup("rs"), replicaset(), NOW)
    assert cells[1:4] == [3, 3, 2]


# ============================================================================ quantities


@pytest.mark.parametrize("s,want", [("100m", "100m"), ("0.1", "100m"), ("1000m", "1"),
                                    ("1500m", "1500m"), ("2000", "2k"), ("1500", "1500"),
                                    ("128Mi", "128Mi"), ("8192Mi", "8Gi"), ("1536Mi", "1536Mi"),
                                    ("512", "512"), ("1e3", "1k"), ("0", "0"), ("1G", "1G")])
def test_quantity_canonical_form(s: str, want: str) -> None:
    assert str(P.Qty.parse(s)) == want


def test_quantity_sums_keep_the_first_format() -> None:
    assert str(P.Qty.parse("128Mi") + P.Qty.parse("64Mi")) == "192Mi"
    assert str(P.Qty.parse("100m") + P.Qty.parse("900m")) == "1"


# ============================================================================ describe


def full_pod() -> Obj:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-7d4b9c-abcde", "namespace": "default", "uid": "u1",
                     "creationTimestamp": ago(312),
                     "labels": {"app": "web", "pod-template-hash": "7d4b9c"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                          "name": "web-7d4b9c", "uid": "rs1",
                                          "controller": True}]},
        "spec": {"nodeName": "node-1", "serviceAccountName": "default", "priority": 0,
                 "containers": [{
                     "name": "web", "image": "nginx:1.25",
                     "ports": [{"containerPort": 80, "protocol": "TCP"}],
                     "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                   "limits": {"cpu": "200m", "memory": "256Mi"}},
                     "env": [{"name": "A", "value": "b"},
                             {"name": "POD", "valueFrom": {"fieldRef": {
                                 "apiVersion": "v1", "fieldPath": "metadata.name"}}}],
                     "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                 "volumes": [{"name": "data", "emptyDir": {}}],
                 "tolerations": [
                     {"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                      "effect": "NoExecute", "tolerationSeconds": 300},
                     {"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                      "effect": "NoExecute", "tolerationSeconds": 300}]},
        "status": {"phase": "Running", "hostIP": "10.0.0.11", "podIP": "10.244.1.5",
                   "podIPs": [{"ip": "10.244.1.5"}], "startTime": ago(312),
                   "conditions": [{"type": "Initialized", "status": "True"},
                                  {"type": "Ready", "status": "True"},
                                  {"type": "ContainersReady", "status": "True"},
                                  {"type": "PodScheduled", "status": "True"}],
                   "containerStatuses": [{
                       "name": "web", "ready": True, "restartCount": 2, "image": "nginx:1.25",
                       "imageID": "docker.io/library/nginx@sha256:abc",
                       "containerID": "containerd://123",
                       "state": {"running": {"startedAt": ago(300)}},
                       "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                                    "startedAt": ago(400),
                                                    "finishedAt": ago(300)}}}]},
    }


EVENTS = [
    {"type": "Normal", "reason": "Pulled", "source": {"component": "kubelet", "host": "node-1"},
     "message": 'Container image "nginx:1.25" already present on machine',
     "firstTimestamp": ago(311), "lastTimestamp": ago(300), "count": 3},
    {"type": "Normal", "reason": "Scheduled", "source": {"component": "default-scheduler"},
     "message": "Successfully assigned default/web-7d4b9c-abcde to node-1",
     "firstTimestamp": ago(312), "lastTimestamp": ago(312), "count": 1},
]


def test_describe_pod() -> None:
    out = P.describe(R.lookup("pod"), full_pod(), EVENTS, NOW)
    assert out == """\
Name:             web-7d4b9c-abcde
Namespace:        default
Priority:         0
Service Account:  default
Node:             node-1/10.0.0.11
Start Time:       Tue, 14 Nov 2023 22:08:08 +0000
Labels:           app=web
                  pod-template-hash=7d4b9c
Annotations:      <none>
Status:           Running
IP:               10.244.1.5
IPs:
  IP:           10.244.1.5
Controlled By:  ReplicaSet/web-7d4b9c
Containers:
  web:
    Container ID:   containerd://123
    Image:          nginx:1.25
    Image ID:       docker.io/library/nginx@sha256:abc
    Port:           80/TCP
    Host Port:      0/TCP
    State:          Running
      Started:      Tue, 14 Nov 2023 22:08:20 +0000
    Last State:     Terminated
      Reason:       Error
      Exit Code:    1
      Started:      Tue, 14 Nov 2023 22:06:40 +0000
      Finished:     Tue, 14 Nov 2023 22:08:20 +0000
    Ready:          True
    Restart Count:  2
    Limits:
      cpu:     200m
      memory:  256Mi
    Requests:
      cpu:     100m
      memory:  128Mi
    Environment:
      A:    b
      POD:  web-7d4b9c-abcde (v1:metadata.name)
    Mounts:
      /data from data (rw)
Conditions:
  Type              Status
  Initialized       True 
  Ready             True 
  ContainersReady   True 
  PodScheduled      True 
Volumes:
  data:
    Type:        EmptyDir (a temporary directory that shares a pod's lifetime)
    Medium:      
    SizeLimit:   <unset>
QoS Class:       Burstable
Node-Selectors:  <none>
Tolerations:     node.kubernetes.io/not-ready:NoExecute op=Exists for 300s
                 node.kubernetes.io/unreachable:NoExecute op=Exists for 300s
Events:
  Type    Reason     Age                 From               Message
  ----    ------     ----                ----               -------
  Normal  Scheduled  5m12s               default-scheduler  Successfully assigned default/web-7d4b9c-abcde to node-1
  Normal  Pulled     5m (x3 over 5m11s)  kubelet            Container image "nginx:1.25" already present on machine
"""


def test_describe_pending_and_terminating_pods() -> None:
    p = pod("web-1", phase="Pending", statuses=[waiting("ImagePullBackOff")])
    p["spec"].pop("nodeName")
    out = P.describe(R.lookup("pod"), p, [], NOW)
    assert "Node:         <none>\n" in out
    assert "    State:          Waiting\n      Reason:       ImagePullBackOff\n" in out
    assert out.endswith("Tolerations:        <none>\nEvents:             <none>\n")
    t = full_pod()
    t["metadata"].update(deletionTimestamp=ago(12), deletionGracePeriodSeconds=30)
    out = P.describe(R.lookup("pod"), t, None, NOW)
    assert "Status:                    Terminating (lasts 12s)\n" in out
    assert "Termination Grace Period:  30s\n" in out
    assert "Events" not in out


def test_qos_classes() -> None:
    p = full_pod()
    assert P.pod_qos(p) == "Burstable"
    p["spec"]["containers"][0]["resources"] = {}
    assert P.pod_qos(p) == "BestEffort"
    p["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1", "memory": "1Gi"}}
    assert P.pod_qos(p) == "Guaranteed"
    p["status"]["qosClass"] = "Burstable"
    assert P.pod_qos(p) == "Burstable"


def test_describe_deployment() -> None:
    old = replicaset("5f6c8b", replicas=0, age_s=7200, image="nginx:1.24")
    new = replicaset("7d4b9c")
    new["spec"]["template"]["spec"]["containers"] = copy.deepcopy(
        deployment()["spec"]["template"]["spec"]["containers"])
    ev = [{"type": "Normal", "reason": "ScalingReplicaSet", "message":
           "Scaled up replica set web-7d4b9c to 3", "source": {"component":
           "deployment-controller"}, "firstTimestamp": ago(3600), "lastTimestamp": ago(3600),
           "count": 1}]
    out = P.describe(R.lookup("deploy"), deployment(), ev, NOW,
                     related={"replicasets": [new, old]})
    assert out == """\
Name:                   web
Namespace:              default
CreationTimestamp:      Tue, 14 Nov 2023 21:13:20 +0000
Labels:                 app=web
Annotations:            deployment.kubernetes.io/revision: 1
Selector:               app=web
Replicas:               3 desired | 3 updated | 3 total | 2 available | 1 unavailable
StrategyType:           RollingUpdate
MinReadySeconds:        0
RollingUpdateStrategy:  25% max unavailable, 25% max surge
Pod Template:
  Labels:  app=web
  Containers:
   web:
    Image:        nginx:1.25
    Port:         80/TCP
    Host Port:    0/TCP
    Environment:  <none>
    Mounts:       <none>
   sidecar:
    Image:         busybox
    Port:          <none>
    Host Port:     <none>
    Environment:   <none>
    Mounts:        <none>
  Volumes:         <none>
  Node-Selectors:  <none>
  Tolerations:     <none>
Conditions:
  Type           Status  Reason
  ----           ------  ------
  Available      False   MinimumReplicasUnavailable
  Progressing    True    NewReplicaSetAvailable
OldReplicaSets:  web-5f6c8b (0/0 replicas created)
NewReplicaSet:   web-7d4b9c (3/3 replicas created)
Events:
  Type    Reason             Age   From                   Message
  ----    ------             ----  ----                   -------
  Normal  ScalingReplicaSet  60m   deployment-controller  Scaled up replica set web-7d4b9c to 3
"""


def test_describe_replicaset_counts_owned_pods() -> None:
    rs = replicaset()
    owned = {"metadata": {"ownerReferences": [{"uid": "rs-7d4b9c", "controller": True}]}}
    pods = [dict(owned, status={"phase": "Running"}), dict(owned, status={"phase": "Pending"}),
            {"metadata": {}, "status": {"phase": "Running"}}]
    out = P.describe(R.lookup("rs"), rs, [], NOW, related={"pods": pods})
    assert out.startswith("""\
Name:           web-7d4b9c
Namespace:      default
Selector:       app=web,pod-template-hash=7d4b9c
Labels:         app=web
                pod-template-hash=7d4b9c
Annotations:    <none>
Controlled By:  Deployment/web
Replicas:       3 current / 3 desired
Pods Status:    1 Running / 1 Waiting / 0 Succeeded / 0 Failed
Pod Template:
""")


def test_describe_node() -> None:
    n = node("node-1", unschedulable=True, roles=("control-plane",))
    n["metadata"]["creationTimestamp"] = ago(3 * 86400)
    n["spec"].update(podCIDR="10.244.1.0/24", podCIDRs=["10.244.1.0/24"],
                     taints=[{"key": "node.kubernetes.io/unschedulable",
                              "effect": "NoSchedule"}])
    n["status"].update(
        capacity={"cpu": "4", "memory": "8Gi", "pods": "110"},
        allocatable={"cpu": "4", "memory": "8Gi", "pods": "110"},
        conditions=[{"type": "Ready", "status": "True", "lastHeartbeatTime": ago(10),
                     "lastTransitionTime": ago(3 * 86400), "reason": "KubeletReady",
                     "message": "kubelet is posting ready status"}])
    p = {"metadata": {"name": "web-1", "namespace": "default", "creationTimestamp": ago(300)},
         "spec": {"nodeName": "node-1", "containers": [{"name": "web", "resources": {
             "requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}}]},
         "status": {"phase": "Running"}}
    done = {"metadata": {"name": "job-1", "namespace": "default"}, "spec": {},
            "status": {"phase": "Succeeded"}}
    lease = {"spec": {"holderIdentity": "node-1", "renewTime": "2023-11-14T22:13:17.123456Z"}}
    out = P.describe(R.lookup("node"), n, [], NOW,
                     related={"lease": lease, "pods": [p, done]})
    assert out == """\
Name:               node-1
Roles:              control-plane
Labels:             kubernetes.io/hostname=node-1
                    node-role.kubernetes.io/control-plane=
Annotations:        <none>
CreationTimestamp:  Sat, 11 Nov 2023 22:13:20 +0000
Taints:             node.kubernetes.io/unschedulable:NoSchedule
Unschedulable:      true
Lease:
  HolderIdentity:  node-1
  AcquireTime:     <unset>
  RenewTime:       Tue, 14 Nov 2023 22:13:17 +0000
Conditions:
  Type    Status  LastHeartbeatTime                 LastTransitionTime                Reason         Message
  ----    ------  -----------------                 ------------------                ------         -------
  Ready   True    Tue, 14 Nov 2023 22:13:10 +0000   Sat, 11 Nov 2023 22:13:20 +0000   KubeletReady   kubelet is posting ready status
Addresses:
  InternalIP:  10.0.0.11
  Hostname:    node-1
Capacity:
  cpu:     4
  memory:  8Gi
  pods:    110
Allocatable:
  cpu:     4
  memory:  8Gi
  pods:    110
System Info:
  Machine ID:                 
  System UUID:                
  Boot ID:                    
  Kernel Version:             6.1.0
  OS Image:                   kubemu
  Operating System:           
  Architecture:               
  Container Runtime Version:  kubemu://0.1
  Kubelet Version:            v1.30.0
  Kube-Proxy Version:         
PodCIDR:                      10.244.1.0/24
PodCIDRs:                     10.244.1.0/24
Non-terminated Pods:          (1 in total)
  Namespace                   Name     CPU Requests  CPU Limits  Memory Requests  Memory Limits  Age
  ---------                   ----     ------------  ----------  ---------------  -------------  ---
  default                     web-1    100m (2%)     0 (0%)      128Mi (1%)       256Mi (3%)     5m
Allocated resources:
  (Total limits may be over 100 percent, i.e., overcommitted.)
  Resource           Requests    Limits
  --------           --------    ------
  cpu                100m (2%)   0 (0%)
  memory             128Mi (1%)  256Mi (3%)
  ephemeral-storage  0 (0%)      0 (0%)
Events:              <none>
"""


def test_describe_node_without_lease() -> None:
    out = P.describe(R.lookup("node"), node(), None, NOW,
                     related={"lease": 'leases.coordination.k8s.io "node-1" not found'})
    assert ('Lease:              Failed to get lease: leases.coordination.k8s.io "node-1" '
            "not found\n") in out


def test_describe_service() -> None:
    svc = service("web", ports=[{"port": 80, "targetPort": 8080, "protocol": "TCP"}],
                  ipFamilies=["IPv4"], ipFamilyPolicy="SingleStack", sessionAffinity="None")
    svc["metadata"]["labels"] = {"app": "web"}
    ep = {"subsets": [{"addresses": [{"ip": "10.244.1.5"}, {"ip": "10.244.2.3"}],
                       "ports": [{"port": 8080, "protocol": "TCP"}]}]}
    assert P.describe(R.lookup("svc"), svc, [], NOW, related={"endpoints": ep}) == """\
Name:              web
Namespace:         default
Labels:            app=web
Annotations:       <none>
Selector:          app=web
Type:              ClusterIP
IP Family Policy:  SingleStack
IP Families:       IPv4
IP:                10.96.0.10
IPs:               10.96.0.10
Port:              <unset>  80/TCP
TargetPort:        8080/TCP
Endpoints:         10.244.1.5:8080,10.244.2.3:8080
Session Affinity:  None
Events:            <none>
"""


def test_describe_namespace() -> None:
    ns = {"metadata": {"name": "default", "labels": {"kubernetes.io/metadata.name": "default"}},
          "status": {"phase": "Active"}}
    assert P.describe(R.lookup("ns"), ns, None, NOW) == """\
Name:         default
Labels:       kubernetes.io/metadata.name=default
Annotations:  <none>
Status:       Active

No resource quota.

No LimitRange resource.
"""


def test_describe_generic_lease() -> None:
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "node-1", "namespace": "kube-node-lease", "uid": "l1",
                          "resourceVersion": "123", "creationTimestamp": ago(100),
                          "ownerReferences": [{"apiVersion": "v1", "kind": "Node",
                                               "name": "node-1", "uid": "n1"}]},
             "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40}}
    assert P.describe(R.lookup("lease"), lease, [], NOW) == """\
Name:         node-1
Namespace:    kube-node-lease
Labels:       <none>
Annotations:  <none>
API Version:  coordination.k8s.io/v1
Kind:         Lease
Metadata:
  Creation Timestamp:  2023-11-14T22:11:40Z
  Owner References:
    API Version:     v1
    Kind:            Node
    Name:            node-1
    UID:             n1
  Resource Version:  123
  UID:               l1
Spec:
  Holder Identity:         node-1
  Lease Duration Seconds:  40
Events:                    <none>
"""


def test_describe_configmap_and_secret() -> None:
    cm = {"metadata": {"name": "cfg", "namespace": "default"}, "data": {"b": "2", "a": "x\ny"}}
    assert P.describe(R.lookup("cm"), cm, [], NOW) == """\
Name:         cfg
Namespace:    default
Labels:       <none>
Annotations:  <none>

Data
====
a:
----
x
y

b:
----
2


BinaryData
====

Events:  <none>
"""
    sec = {"metadata": {"name": "s", "namespace": "default"}, "type": "Opaque",
           "data": {"password": "c2VjcmV0"}}
    assert P.describe(R.lookup("secret"), sec, None, NOW).endswith(
        "\nType:  Opaque\n\nData\n====\npassword:  6 bytes\n")


def test_annotations_skip_last_applied_and_wrap_long_values() -> None:
    d = deployment()
    d["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": '{"a":1}\n', "x": "y" * 150}
    out = P.describe(R.lookup("deploy"), d, None, NOW)
    assert "last-applied" not in out
    assert "Annotations:            x:\n                          " + "y" * 138 + "...\n" in out


def test_smart_labels() -> None:
    assert P.smart_label("apiVersion") == "API Version"
    assert P.smart_label("podCIDR") == "Pod CIDR"
    assert P.smart_label("uid") == "UID"
    assert P.smart_label("leaseDurationSeconds") == "Lease Duration Seconds"
    assert P.smart_label("k8s") == "k8s"
