"""cli/kubectl.py end to end (argv -> stdout/stderr/exit code) against a FakeClient."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from actors.api import printers
from actors.api.errors import FieldError
from actors.common.clock import rfc3339
from cli import context, kubectl
from cli.main import main
from tests.unit.cli.fake_client import FakeClient

NOW = 1_700_000_000.0


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeClient:
    home = tmp_path / "kubemu"
    (home / "test").mkdir(parents=True)
    (home / "test" / "cluster.json").write_text(json.dumps({"apiserver": "127.0.0.1:6443"}))
    (home / "current").write_text("test\n")
    monkeypatch.setenv("KUBEMU_HOME", str(home))
    monkeypatch.delenv("KUBEMU_CLUSTER", raising=False)
    client = FakeClient(NOW)
    addresses: list[str] = []

    def factory(address: str) -> FakeClient:
        addresses.append(address)
        return client

    client.addresses = addresses  # type: ignore[attr-defined]
    monkeypatch.setattr(kubectl, "CLIENT_FACTORY", factory)
    monkeypatch.setattr(kubectl, "CLOCK", lambda: NOW)
    monkeypatch.setattr(kubectl, "SLEEP", lambda s: None)
    monkeypatch.setattr(printers, "LOCAL_TZ", dt.timezone.utc)
    return client


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def ago(s: float) -> str:
    return rfc3339(NOW - s)


DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: front}
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
"""

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 80
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def pod(name: str, phase: str = "Running", ns: str = "default", **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": "web"},
                         "creationTimestamp": ago(312), **meta},
            "spec": {"nodeName": "node-1", "containers": [{"name": "web", "image": "nginx"}]},
            "status": {"phase": phase, "podIP": "10.244.1.5",
                       "containerStatuses": [{"name": "web", "ready": phase == "Running",
                                              "restartCount": 0,
                                              "state": {"running": {}} if phase == "Running"
                                              else {"waiting": {"reason": "ContainerCreating"}}}]}}


# ============================================================================ apply


def test_apply_created_unchanged_configured(fake: FakeClient, capsys: Any,
                                            tmp_path: Path) -> None:
    f = write(tmp_path, "app.yaml", DEPLOY + "---\n" + SERVICE)
    assert run(capsys, "apply", "-f", f) == (
        0, "deployment.apps/web created\nservice/web created\n", "")
    assert fake.addresses == ["127.0.0.1:6443"]  # type: ignore[attr-defined]
    live = fake.stored("deployments", "web")
    assert live is not None
    last = json.loads(live["metadata"]["annotations"][kubectl.LAST_APPLIED])
    assert last["metadata"] == {"name": "web", "namespace": "default",
                                "labels": {"app": "web", "tier": "front"}}
    assert live["metadata"]["annotations"][kubectl.LAST_APPLIED].endswith("}\n")

    # what the server adds (defaults, status) does not make a re-apply a change
    live["spec"]["template"]["spec"]["containers"][0].update(
        imagePullPolicy="IfNotPresent", terminationMessagePath="/dev/termination-log")
    live["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] = "TCP"
    live["spec"]["revisionHistoryLimit"] = 10
    live["status"] = {"replicas": 3, "readyReplicas": 3}
    svc = fake.stored("services", "web")
    assert svc is not None
    svc["spec"].update(clusterIP="10.96.0.10", type="ClusterIP", sessionAffinity="None")
    svc["spec"]["ports"][0]["protocol"] = "TCP"
    assert run(capsys, "apply", "-f", f) == (
        0, "deployment.apps/web unchanged\nservice/web unchanged\n", "")
    assert not [c for c in fake.calls if c[0] in ("update", "create")][2:]

    # a changed field and a dropped label: configured, both applied, the rest kept
    changed = DEPLOY.replace("nginx:1.25", "nginx:1.26").replace(", tier: front", "")
    write(tmp_path, "app.yaml", changed + "---\n" + SERVICE)
    rv_before = live["metadata"]["resourceVersion"]
    assert run(capsys, "apply", "-f", f) == (
        0, "deployment.apps/web configured\nservice/web unchanged\n", "")
    update = [c for c in fake.calls if c[0] == "update"][-1][1][1]
    assert update["metadata"]["resourceVersion"] == rv_before
    new = fake.stored("deployments", "web")
    assert new is not None
    c0 = new["spec"]["template"]["spec"]["containers"][0]
    assert c0["image"] == "nginx:1.26"
    assert c0["imagePullPolicy"] == "IfNotPresent"  # merged by name, not replaced
    assert new["metadata"]["labels"] == {"app": "web"}
    assert new["spec"]["revisionHistoryLimit"] == 10
    assert new["status"] == {"replicas": 3, "readyReplicas": 3}


def test_apply_from_stdin_and_directory(fake: FakeClient, capsys: Any, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(SERVICE))
    assert run(capsys, "apply", "-f", "-") == (0, "service/web created\n", "")
    d = tmp_path / "manifests"
    d.mkdir()
    (d / "a-deploy.yaml").write_text(DEPLOY)
    (d / "b-cm.json").write_text(json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                             "metadata": {"name": "cfg"}, "data": {"a": "1"}}))
    (d / "notes.txt").write_text("not a manifest")
    assert run(capsys, "apply", "-f", str(d), "-n", "prod") == (
        0, "deployment.apps/web created\nconfigmap/cfg created\n", "")
    assert fake.stored("configmaps", "cfg", "prod") is not None


def test_apply_list_and_cluster_scoped(fake: FakeClient, capsys: Any, tmp_path: Path) -> None:
    lst = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg",
                                                               "namespace": "prod"}}]}
    f = write(tmp_path, "list.yaml", yaml.safe_dump(lst))
    assert run(capsys, "apply", "-f", f) == (
        0, "namespace/prod created\nconfigmap/cfg created\n", "")
    assert fake.stored("namespaces", "prod", None) is not None


def test_apply_dry_run(fake: FakeClient, capsys: Any, tmp_path: Path) -> None:
    f = write(tmp_path, "d.yaml", DEPLOY)
    assert run(capsys, "apply", "-f", f, "--dry-run=client") == (
        0, "deployment.apps/web created (dry run)\n", "")
    assert fake.stored("deployments", "web") is None


def test_apply_invalid(fake: FakeClient, capsys: Any, tmp_path: Path) -> None:
    f = write(tmp_path, "d.yaml", DEPLOY.replace("replicas: 3", "replicas: -1"))
    assert run(capsys, "apply", "-f", f) == (
        1, "", 'The Deployment "web" is invalid: spec.replicas: Invalid value: -1: must be '
               "greater than or equal to 0\n")
    # several failures: one "Error from server" line each, the good ones still applied
    two = (DEPLOY.replace("replicas: 3", "replicas: -1") + "---\n" + SERVICE + "---\n"
           + DEPLOY.replace("name: web\n  labels", "name: api\n  labels")
           .replace("replicas: 3", "replicas: -2"))
    f = write(tmp_path, "two.yaml", two)
    rc, out, err = run(capsys, "apply", "-f", f)
    assert (rc, out) == (1, "service/web created\n")
    assert err == (
        f'Error from server (Invalid): error when creating "{f}": Deployment.apps "web" is '
        "invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0\n"
        f'Error from server (Invalid): error when creating "{f}": Deployment.apps "api" is '
        "invalid: spec.replicas: Invalid value: -2: must be greater than or equal to 0\n")


def test_apply_invalid_update(fake: FakeClient, capsys: Any, tmp_path: Path) -> None:
    f = write(tmp_path, "d.yaml", DEPLOY)
    assert run(capsys, "apply", "-f", f)[0] == 0
    write(tmp_path, "d.yaml", DEPLOY.replace("replicas: 3", "replicas: -1"))
    assert run(capsys, "apply", "-f", f) == (
        1, "", 'The Deployment "web" is invalid: spec.replicas: Invalid value: -1: must be '
               "greater than or equal to 0\n")


def test_apply_manifest_errors(fake: FakeClient, capsys: Any, tmp_path: Path) -> None:
    f = write(tmp_path, "x.yaml", "apiVersion: apps/v2\nkind: Deployment\nmetadata:\n  name: w\n")
    assert run(capsys, "apply", "-f", f) == (
        1, "", f'error: resource mapping not found for name: "w" namespace: "" from "{f}": no '
               'matches for kind "Deployment" in version "apps/v2"\nensure CRDs are installed '
               "first\n")
    f = write(tmp_path, "k.yaml", "apiVersion: v1\nmetadata:\n  name: w\n")
    rc, _, err = run(capsys, "apply", "-f", f)
    assert rc == 1 and err.startswith(f'error: error validating "{f}": error validating data: '
                                      "kind not set")
    f = write(tmp_path, "bad.yaml", "a: [1\n")
    rc, _, err = run(capsys, "apply", "-f", f)
    assert rc == 1 and err.startswith(f"error: error parsing {f}: error converting YAML")
    assert run(capsys, "apply", "-f", str(tmp_path / "nope.yaml")) == (
        1, "", f'error: the path "{tmp_path / "nope.yaml"}" does not exist\n')
    f = write(tmp_path, "ns.yaml", SERVICE.replace("name: web", "name: web\n  namespace: a"))
    assert run(capsys, "apply", "-f", f, "-n", "b") == (
        1, "", 'error: the namespace from the provided object "a" does not match the namespace '
               "\"b\". You must pass '--namespace=a' to perform this operation.\n")


# ============================================================================ get


@pytest.fixture
def seeded(fake: FakeClient) -> FakeClient:
    fake.add(pod("web-1"))
    fake.add(pod("web-2", phase="Pending"))
    fake.add(pod("coredns-1", ns="kube-system"))
    fake.add({"kind": "Deployment", "metadata": {"name": "web", "creationTimestamp": ago(3600)},
              "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
              "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}})
    fake.add({"kind": "Node", "metadata": {"name": "node-1", "creationTimestamp": ago(86400)},
              "spec": {}, "status": {"conditions": [{"type": "Ready", "status": "True"}],
                                     "nodeInfo": {"kubeletVersion": "v1.30.0"}}})
    return fake


def test_get_table(seeded: FakeClient, capsys: Any) -> None:
    assert run(capsys, "get", "pods") == (0, (
        "NAME    READY   STATUS              RESTARTS   AGE\n"
        "web-1   1/1     Running             0          5m12s\n"
        "web-2   0/1     ContainerCreating   0          5m12s\n"), "")
    assert run(capsys, "get", "po", "web-2", "-o", "wide") == (0, (
        "NAME    READY   STATUS              RESTARTS   AGE     IP           NODE     "
        "NOMINATED NODE   READINESS GATES\n"
        "web-2   0/1     ContainerCreating   0          5m12s   10.244.1.5   node-1   "
        "<none>           <none>\n"), "")
    assert run(capsys, "get", "deploy") == (0, (
        "NAME   READY   UP-TO-DATE   AVAILABLE   AGE\n"
        "web    2/3     3            2           60m\n"), "")
    assert run(capsys, "get", "nodes", "--no-headers") == (
        0, "node-1   Ready   <none>   24h   v1.30.0\n", "")


def test_get_all_namespaces_labels_and_selectors(seeded: FakeClient, capsys: Any) -> None:
    rc, out, _ = run(capsys, "get", "pods", "-A", "--show-labels")
    assert out.splitlines() == [
        "NAMESPACE     NAME        READY   STATUS              RESTARTS   AGE     LABELS",
        "default       web-1       1/1     Running             0          5m12s   app=web",
        "default       web-2       0/1     ContainerCreating   0          5m12s   app=web",
        "kube-system   coredns-1   1/1     Running             0          5m12s   app=web"]
    rc, out, err = run(capsys, "get", "pods", "-l", "app=db")
    assert (rc, out, err) == (0, "", "No resources found in default namespace.\n")
    rc, out, err = run(capsys, "get", "pods", "-A", "--field-selector", "status.phase=Pending",
                       "-o", "name")
    assert (rc, out) == (0, "pod/web-2\n")
    assert ("list", ("pods", None, "", "status.phase=Pending")) in seeded.calls
    assert run(capsys, "get", "leases", "-n", "kube-node-lease") == (
        0, "", "No resources found in kube-node-lease namespace.\n")
    assert run(capsys, "get", "ns") == (0, "", "No resources found\n")


def test_get_several_types_and_kind_name_form(seeded: FakeClient, capsys: Any) -> None:
    rc, out, _ = run(capsys, "get", "deploy,po")
    assert out == ("NAME                  READY   UP-TO-DATE   AVAILABLE   AGE\n"
                   "deployment.apps/web   2/3     3            2           60m\n"
                   "\n"
                   "NAME        READY   STATUS              RESTARTS   AGE\n"
                   "pod/web-1   1/1     Running             0          5m12s\n"
                   "pod/web-2   0/1     ContainerCreating   0          5m12s\n")
    rc, out, _ = run(capsys, "get", "pod/web-1", "deployment.apps/web", "-o", "name")
    assert out == "pod/web-1\ndeployment.apps/web\n"
    rc, out, _ = run(capsys, "get", "all")
    assert "pod/web-1" in out and "deployment.apps/web" in out
    # only one kind found: no kind/ prefix (kubectl's multipleGVKsRequested)
    rc, out, _ = run(capsys, "get", "svc,po", "--no-headers")
    assert out.splitlines()[0].startswith("web-1 ")
    rc, out, _ = run(capsys, "get", "deploy,po", "--no-headers")
    assert out.splitlines()[:2] == ["deployment.apps/web   2/3   3     2     60m",
                                    "pod/web-1   1/1   Running             0     5m12s"]
    assert run(capsys, "get", "svc,nodes", "-l", "x=y") == (0, "", "No resources found\n")
    assert run(capsys, "get", "svc,po", "-l", "x=y") == (
        0, "", "No resources found in default namespace.\n")


def test_get_yaml_and_json(seeded: FakeClient, capsys: Any) -> None:
    rc, out, _ = run(capsys, "get", "pod", "web-1", "-o", "yaml")
    assert rc == 0
    assert out.startswith("apiVersion: v1\nkind: Pod\nmetadata:\n  creationTimestamp: "
                          '"2023-11-14T22:08:08Z"\n  labels:\n    app: web\n  name: web-1\n')
    assert "  containers:\n  - image: nginx\n    name: web\n" in out
    assert yaml.safe_load(out)["metadata"]["name"] == "web-1"
    rc, out, _ = run(capsys, "get", "pods", "-o", "yaml")
    doc = yaml.safe_load(out)
    assert doc["kind"] == "List" and [i["metadata"]["name"] for i in doc["items"]] == [
        "web-1", "web-2"]
    assert out.endswith('kind: List\nmetadata:\n  resourceVersion: ""\n')
    rc, out, _ = run(capsys, "get", "deploy", "web", "-o", "json")
    assert out.startswith('{\n    "apiVersion": "apps/v1",\n    "kind": "Deployment",\n')
    assert json.loads(out)["spec"]["replicas"] == 3
    rc, out, err = run(capsys, "get", "pods", "-l", "app=none", "-o", "json")
    assert json.loads(out) == {"apiVersion": "v1", "items": [], "kind": "List",
                               "metadata": {"resourceVersion": ""}}
    assert run(capsys, "get", "pods", "-o", "xml") == (
        1, "", 'error: unable to match a printer suitable for the output format "xml", allowed '
               "formats are: json,name,wide,yaml\n")


def test_get_multiline_strings_are_literal_blocks(fake: FakeClient, capsys: Any) -> None:
    fake.add({"kind": "ConfigMap", "metadata": {"name": "cfg"},
              "data": {"script": "echo a\necho b\n", "empty": ""}})
    rc, out, _ = run(capsys, "get", "cm", "cfg", "-o", "yaml")
    assert 'data:\n  empty: ""\n  script: |\n    echo a\n    echo b\n' in out


def test_get_errors(seeded: FakeClient, capsys: Any) -> None:
    assert run(capsys, "get", "pods", "nope") == (
        1, "", 'Error from server (NotFound): pods "nope" not found\n')
    rc, out, err = run(capsys, "get", "pods", "web-1", "nope", "nada")
    assert rc == 1 and out.startswith("NAME    READY")
    assert err == ('Error from server (NotFound): pods "nope" not found\n'
                   'Error from server (NotFound): pods "nada" not found\n')
    assert run(capsys, "get", "deploy", "api") == (
        1, "", 'Error from server (NotFound): deployments.apps "api" not found\n')
    assert run(capsys, "get", "foo") == (
        1, "", 'error: the server doesn\'t have a resource type "foo"\n')
    assert run(capsys, "get") == (1, "", "error: Required resource not specified.\n")


def test_get_watch(seeded: FakeClient, capsys: Any) -> None:
    p = pod("web-3", phase="Pending")
    p["metadata"]["creationTimestamp"] = ago(1)
    q = pod("web-3")
    q["metadata"]["creationTimestamp"] = ago(1)
    seeded.watch_events = [("ADDED", p), ("BOOKMARK", {}), ("MODIFIED", q),
                           ("DELETED", pod("web-1")), ("MODIFIED", KeyboardInterrupt())]
    rc, out, err = run(capsys, "get", "pods", "-w")
    assert (rc, err) == (0, "")
    assert out == ("NAME    READY   STATUS              RESTARTS   AGE\n"
                   "web-1   1/1     Running             0          5m12s\n"
                   "web-2   0/1     ContainerCreating   0          5m12s\n"
                   "web-3   0/1     ContainerCreating   0          1s\n"
                   "web-3   1/1     Running             0          1s\n"
                   "web-1   1/1     Running             0          5m12s\n")
    watch = [c for c in seeded.calls if c[0] == "watch"][-1][1]
    assert watch[0:2] == ("pods", "default") and watch[2] != ""
    seeded.watch_events = [("ADDED", p)]
    rc, out, err = run(capsys, "get", "pods", "--watch-only")
    assert out == ("NAME    READY   STATUS              RESTARTS   AGE\n"
                   "web-3   0/1     ContainerCreating   0          1s\n")
    seeded.watch_events = [("ERROR", {"kind": "Status", "code": 410, "reason": "Expired",
                                      "message": "too old resource version: 5 (20)"})]
    rc, out, err = run(capsys, "get", "pods", "--watch-only")
    assert (rc, err) == (1, "Error from server (Expired): too old resource version: 5 (20)\n")


# ============================================================================ describe


def test_describe_pod_with_events(seeded: FakeClient, capsys: Any) -> None:
    uid = seeded.stored("pods", "web-1")["metadata"]["uid"]  # type: ignore[index]
    seeded.add({"kind": "Event", "metadata": {"name": "web-1.1", "namespace": "default"},
                "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default",
                                   "uid": uid},
                "type": "Normal", "reason": "Scheduled", "count": 1,
                "message": "Successfully assigned default/web-1 to node-1",
                "source": {"component": "default-scheduler"},
                "firstTimestamp": ago(312), "lastTimestamp": ago(312)})
    seeded.add({"kind": "Event", "metadata": {"name": "old.1", "namespace": "default"},
                "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default",
                                   "uid": "an-older-web-1"},
                "type": "Normal", "reason": "Killing", "message": "Stopping container web",
                "source": {"component": "kubelet"}, "firstTimestamp": ago(900)})
    rc, out, err = run(capsys, "describe", "pod", "web-1")
    assert (rc, err) == (0, "")
    assert out.startswith("Name:         web-1\nNamespace:    default\n")
    assert out.endswith(
        "Events:\n"
        "  Type    Reason     Age    From               Message\n"
        "  ----    ------     ----   ----               -------\n"
        "  Normal  Scheduled  5m12s  default-scheduler  Successfully assigned default/web-1 to "
        "node-1\n")
    fs = [c[1][3] for c in seeded.calls if c[0] == "list" and c[1][0] == "events"][-1]
    assert fs == (f"involvedObject.name=web-1,involvedObject.namespace=default,"
                  f"involvedObject.uid={uid}")


def test_describe_prefix_match_missing_and_several(seeded: FakeClient, capsys: Any) -> None:
    rc, out, err = run(capsys, "describe", "pods", "web")
    assert rc == 0 and out.count("Name:         web-") == 2
    assert "\n\n\nName:         web-2\n" in out
    assert run(capsys, "describe", "pod", "nope") == (
        1, "", 'Error from server (NotFound): pods "nope" not found\n')
    rc, out, err = run(capsys, "describe", "node/node-1")
    assert rc == 0 and out.startswith("Name:               node-1\nRoles:              <none>\n")
    assert 'Lease:              Failed to get lease: leases.coordination.k8s.io "node-1" not ' \
           "found\n" in out
    assert "Non-terminated Pods:          (3 in total)\n" in out
    assert "  kube-system                 coredns-1" in out
    rc, out, err = run(capsys, "describe", "deploy", "web")
    assert rc == 0 and "Replicas:               3 desired | 3 updated | 0 total | 2 available | 0 unavailable\n" in out


# ============================================================================ delete


def test_delete(seeded: FakeClient, capsys: Any, tmp_path: Path) -> None:
    assert run(capsys, "delete", "pod", "web-1") == (0, 'pod "web-1" deleted\n', "")
    assert seeded.stored("pods", "web-1") is None
    assert run(capsys, "delete", "pod", "web-1") == (
        1, "", 'Error from server (NotFound): pods "web-1" not found\n')
    assert run(capsys, "delete", "pod", "web-1", "--ignore-not-found") == (0, "", "")
    assert run(capsys, "delete", "deploy/web", "--cascade=foreground") == (
        0, 'deployment.apps "web" deleted\n', "")
    d = [c for c in seeded.calls if c[0] == "delete"][-1][1]
    assert d == ("deployments", "default", "web", None, "Foreground")
    assert run(capsys, "delete", "pods", "-A", "-l", "app=web") == (
        0, 'pod "web-2" deleted\npod "coredns-1" deleted\n', "")
    assert run(capsys, "delete", "pods", "-l", "app=web") == (0, "No resources found\n", "")
    assert run(capsys, "delete", "pods") == (
        1, "", "error: resource(s) were provided, but no name was specified\n")


def test_delete_from_file_and_flags(fake: FakeClient, capsys: Any, tmp_path: Path) -> None:
    f = write(tmp_path, "app.yaml", DEPLOY + "---\n" + SERVICE)
    run(capsys, "apply", "-f", f)
    assert run(capsys, "delete", "-f", f, "--cascade=orphan", "--grace-period=0") == (
        0, 'deployment.apps "web" deleted\nservice "web" deleted\n', "")
    d = [c for c in fake.calls if c[0] == "delete"]
    assert d[0][1] == ("deployments", "default", "web", 1, "Orphan")
    fake.add(pod("x"))
    rc, out, err = run(capsys, "delete", "pod", "x", "--force", "--wait=false")
    assert (rc, out) == (0, 'pod "x" deleted\n')
    assert err.startswith("Warning: Immediate deletion does not wait for confirmation")
    assert [c for c in fake.calls if c[0] == "delete"][-1][1][3] == 0
    assert run(capsys, "delete", "pod", "x", "--cascade=sideways") == (
        1, "", 'error: invalid cascade value (sideways). Must be "background", "foreground", '
               'or "orphan".\n')


def test_delete_waits_until_gone(fake: FakeClient, capsys: Any) -> None:
    fake.add(pod("slow"))
    fake.pod_grace_gets = 3  # Terminating for 3 reads, then gone
    assert run(capsys, "delete", "pod", "slow") == (0, 'pod "slow" deleted\n', "")
    gets = [c for c in fake.calls if c[0] == "get" and c[1] == ("pods", "default", "slow")]
    assert len(gets) == 4
    fake.add(pod("slower"))
    fake.pod_grace_gets = 10**6
    assert run(capsys, "delete", "pod", "slower", "--timeout=0.001") == (
        1, 'pod "slower" deleted\n', "error: timed out waiting for the condition on "
                                     "pods/slower\n")
    fake.add(pod("quick"))
    assert run(capsys, "delete", "pod", "quick", "--wait=false")[0] == 0
    assert not [c for c in fake.calls if c[0] == "get" and c[1][2] == "quick"]


# ============================================================================ scale, label, cordon


def test_scale(seeded: FakeClient, capsys: Any) -> None:
    assert run(capsys, "scale", "deployment/web", "--replicas=5") == (
        0, "deployment.apps/web scaled\n", "")
    assert seeded.stored("deployments", "web")["spec"]["replicas"] == 5  # type: ignore[index]
    assert run(capsys, "scale", "deploy", "web", "--replicas", "2", "--current-replicas=5") == (
        0, "deployment.apps/web scaled\n", "")
    assert run(capsys, "scale", "deploy", "web", "--replicas", "2", "--current-replicas=7") == (
        1, "", "error: Expected replicas to be 7, was 2\n")
    assert run(capsys, "scale", "deploy/web", "--replicas=-1") == (
        1, "", "error: The --replicas=COUNT flag is required, and COUNT must be greater than or "
               "equal to 0\n")
    assert run(capsys, "scale", "deploy/web") == (
        1, "", "error: The --replicas=COUNT flag is required, and COUNT must be greater than or "
               "equal to 0\n")
    assert run(capsys, "scale", "pod/web-1", "--replicas=2") == (
        1, "", 'error: no scaler has been implemented for {"" "Pod"}\n')
    assert run(capsys, "scale", "deploy/api", "--replicas=2") == (
        1, "", 'Error from server (NotFound): deployments.apps "api" not found\n')


def test_scale_rejected_by_the_server(seeded: FakeClient, capsys: Any) -> None:
    seeded.validators.append(lambda res, obj: [
        FieldError.invalid("spec.replicas", 500, "must be at most 100")])
    assert run(capsys, "scale", "deploy/web", "--replicas=500") == (
        1, "", 'The Deployment "web" is invalid: spec.replicas: Invalid value: 500: must be at '
               "most 100\n")


def test_label(seeded: FakeClient, capsys: Any) -> None:
    assert run(capsys, "label", "pod", "web-1", "tier=front") == (0, "pod/web-1 labeled\n", "")
    assert seeded.stored("pods", "web-1")["metadata"]["labels"] == {  # type: ignore[index]
        "app": "web", "tier": "front"}
    assert run(capsys, "label", "pod", "web-1", "tier=back") == (
        1, "", "error: 'tier' already has a value (front), and --overwrite is false\n")
    assert run(capsys, "label", "pods/web-1", "tier=back", "--overwrite") == (
        0, "pod/web-1 labeled\n", "")
    assert run(capsys, "label", "pod", "web-1", "tier=back") == (0, "pod/web-1 not labeled\n", "")
    assert run(capsys, "label", "pod", "web-1", "tier-") == (0, "pod/web-1 unlabeled\n", "")
    assert seeded.stored("pods", "web-1")["metadata"]["labels"] == {  # type: ignore[index]
        "app": "web"}
    assert run(capsys, "label", "pod", "web-1", "gone-") == (
        0, "pod/web-1 not labeled\n", 'label "gone" not found.\n')
    assert run(capsys, "label", "pods", "-l", "app=web", "v=1") == (
        0, "pod/web-1 labeled\npod/web-2 labeled\n", "")
    assert run(capsys, "label", "pod", "web-1") == (
        1, "", "error: at least one label update is required\n")
    assert run(capsys, "label", "pod", "nope", "a=b") == (
        1, "", 'Error from server (NotFound): pods "nope" not found\n')


def test_cordon_uncordon(seeded: FakeClient, capsys: Any) -> None:
    assert run(capsys, "cordon", "node-1") == (0, "node/node-1 cordoned\n", "")
    assert seeded.stored("nodes", "node-1", None)["spec"]["unschedulable"] is True  # type: ignore[index]
    assert run(capsys, "cordon", "node-1") == (0, "node/node-1 already cordoned\n", "")
    rc, out, _ = run(capsys, "get", "nodes")
    assert out.splitlines()[1].split()[1] == "Ready,SchedulingDisabled"
    assert run(capsys, "uncordon", "node/node-1") == (0, "node/node-1 uncordoned\n", "")
    assert "unschedulable" not in seeded.stored("nodes", "node-1", None)["spec"]  # type: ignore[index]
    assert run(capsys, "uncordon", "node-1") == (0, "node/node-1 already uncordoned\n", "")
    assert run(capsys, "cordon", "node-9") == (
        1, "", 'Error from server (NotFound): nodes "node-9" not found\n')


# ============================================================================ clusters and failures


def test_no_cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any) -> None:
    monkeypatch.setenv("KUBEMU_HOME", str(tmp_path))
    monkeypatch.delenv("KUBEMU_CLUSTER", raising=False)
    rc, out, err = run(capsys, "get", "pods")
    assert (rc, out) == (1, "")
    assert err.startswith("error: no kubemu cluster found") and "kubemu up" in err
    rc, out, err = run(capsys, "get", "pods", "--name", "prod")
    assert (rc, out) == (1, "")
    assert err.startswith('error: cluster "prod" not found (') and "kubemu up --name prod" in err


def test_cluster_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KUBEMU_HOME", str(tmp_path))
    monkeypatch.delenv("KUBEMU_CLUSTER", raising=False)
    for name, port in (("a", 1), ("b", 2), ("c", 3)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "cluster.json").write_text(json.dumps({"apiserver": f"h:{port}"}))
    (tmp_path / "current").write_text("a\n")
    assert context.resolve_apiserver(None) == "h:1"
    monkeypatch.setenv("KUBEMU_CLUSTER", "b")
    assert context.resolve_apiserver(None) == "h:2"
    assert context.resolve_apiserver("c") == "h:3"
    (tmp_path / "c" / "cluster.json").write_text("{}")
    with pytest.raises(context.ClusterNotFound, match="no apiserver address"):
        context.resolve_apiserver("c")


def test_connection_and_unexpected_errors(fake: FakeClient, capsys: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import grpc

    class Unavailable(grpc.RpcError):
        def code(self) -> Any:
            return grpc.StatusCode.UNAVAILABLE

        def details(self) -> str:
            return "failed to connect to all addresses"

    def refuse(*a: Any, **kw: Any) -> Any:
        raise Unavailable()

    monkeypatch.setattr(fake, "list", refuse)
    assert run(capsys, "get", "pods") == (
        1, "", "The connection to the server 127.0.0.1:6443 was refused - did you specify the "
               "right host or port?\n")

    def boom(*a: Any, **kw: Any) -> Any:
        raise RuntimeError("something broke")

    monkeypatch.setattr(fake, "list", boom)
    assert run(capsys, "get", "pods") == (1, "", "error: something broke\n")
    assert fake.closed


def test_usage_errors_exit_1(fake: FakeClient, capsys: Any) -> None:
    with pytest.raises(SystemExit) as e:
        main(["get", "pods", "--bogus"])
    assert e.value.code == 1
    assert capsys.readouterr().err.startswith("error: unknown flag: --bogus")


def test_invalid_error_formats() -> None:
    from actors.api import errors as E
    from actors.api import resources as R

    two = E.invalid(R.lookup("pod"), "p", [
        E.FieldError.required("spec.containers[0].image"),
        E.FieldError.invalid("metadata.name", "P", "must be lowercase")])
    assert kubectl.format_api_error(two) == (
        'The Pod "p" is invalid: \n'
        "* spec.containers[0].image: Required value\n"
        '* metadata.name: Invalid value: "P": must be lowercase')
    bare = E.APIError({"reason": "Invalid", "code": 422, "message": "bad"})
    assert kubectl.format_api_error(bare) == "The request is invalid: bad"
    assert kubectl.format_api_error(E.APIError({"code": 500, "message": "oops"})) == (
        "Error from server: oops")


def test_desired_state_merges() -> None:
    live = {"spec": {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
                     "args": ["a", "b"], "keep": 1}}
    new = {"spec": {"ports": [{"port": 80, "targetPort": 8080}], "args": ["c"]}}
    assert kubectl.desired_state(live, new, {}) == {
        "spec": {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}], "args": ["c"],
                 "keep": 1}}
    assert kubectl.desired_state(live, {"spec": {}}, {"spec": {"keep": 1}}) == {
        "spec": {"ports": live["spec"]["ports"], "args": ["a", "b"]}}


def test_usage_text_lists_the_commands(capsys: Any) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for cmd in ("apply", "get", "describe", "delete", "scale", "label", "cordon", "uncordon",
                "demo", "bench"):
        assert cmd in out
