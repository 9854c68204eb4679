"""The REST API with the real kubectl and the official Python client as its clients.

One in-process apiserver (MemoryKV, HTTPS with a CA made like `kubemu up` makes it, a
bearer token) serves the whole module; nothing but the apiserver runs, so objects stay
as written (no controllers). The e2e test (tests/e2e/test_kubectl.py) drives a whole
cluster. Pure parts (paths, patch types, DeleteOptions, Accept) are tested directly.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from actors.apiserver import rest, tables
from actors.apiserver.actor import ApiServer
from actors.api.resources import RESOURCES
from actors.common.certs import make_credentials
from actors.common.loopthread import LoopThread
from cli.cluster_cmds import kubeconfig_doc
from tests.kubectl import Kubectl, needs_kubectl, python_client, table_lines


# ============================================================================ pure parts

PATHS = [
    pytest.param("/api/v1/pods", ("pods", "", "", "", False), id="all-namespaces"),
    pytest.param("/api/v1/namespaces/demo/pods", ("pods", "demo", "", "", False), id="namespaced"),
    pytest.param("/api/v1/namespaces/demo/pods/web/log", ("pods", "demo", "web", "log", False),
                 id="subresource"),
    pytest.param("/api/v1/namespaces/demo", ("namespaces", "", "demo", "", False),
                 id="a-namespace"),
    pytest.param("/api/v1/namespaces/demo/finalize", ("namespaces", "", "demo", "finalize",
                                                      False), id="namespace-finalize"),
    pytest.param("/apis/apps/v1/namespaces/d/deployments/web/scale",
                 ("deployments", "d", "web", "scale", False), id="group"),
    pytest.param("/api/v1/watch/namespaces/d/pods", ("pods", "d", "", "", True), id="watch-path"),
    pytest.param("/api/v1/nodes/n1/status", ("nodes", "", "n1", "status", False), id="cluster"),
]


@pytest.mark.parametrize("path,want", PATHS)
def test_parse_path(path: str, want: tuple[str, str, str, str, bool]) -> None:
    t = rest.parse_path(path)
    assert t is not None
    assert (t.info.plural, t.namespace, t.name, t.subresource, t.watch_path) == want


@pytest.mark.parametrize("path", [
    pytest.param("/api/v1/deployments", id="wrong-group"),
    pytest.param("/apis/apps/v2/deployments", id="wrong-version"),
    pytest.param("/api/v1/pods/web", id="namespaced-without-namespace"),
    pytest.param("/api/v1/namespaces/d/pods/web/log/x", id="too-deep"),
    pytest.param("/api/v1/widgets", id="unknown"),
    pytest.param("/healthz", id="not-a-resource"),
])
def test_parse_path_rejects(path: str) -> None:
    assert rest.parse_path(path) is None


@pytest.mark.parametrize("ct,want", [
    pytest.param("application/json-patch+json", "json", id="json"),
    pytest.param("application/merge-patch+json", "merge", id="merge"),
    pytest.param("application/strategic-merge-patch+json; charset=utf-8", "strategic",
                 id="strategic"),
    pytest.param("application/apply-patch+yaml", "apply", id="apply"),
])
def test_patch_types(ct: str, want: str) -> None:
    assert rest.patch_type_of(ct) == want


def test_unknown_patch_type_is_415() -> None:
    with pytest.raises(rest.APIError) as ei:
        rest.patch_type_of("application/json")
    assert (ei.value.code, ei.value.reason) == (415, "UnsupportedMediaType")


@pytest.mark.parametrize("accept,want", [
    pytest.param("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;"
                 "v=v1beta1;g=meta.k8s.io,application/json", True, id="kubectl-get"),
    pytest.param("application/json", False, id="json"),
    pytest.param("application/json, */*", False, id="client-go"),
    pytest.param("", False, id="none"),
])
def test_wants_table(accept: str, want: bool) -> None:
    assert tables.wants_table(accept) is want


def test_delete_options_from_query_and_body() -> None:
    from multidict import MultiDict

    q = MultiDict([("gracePeriodSeconds", "0"), ("dryRun", "All")])
    opts = rest.delete_options({"propagationPolicy": "Foreground"}, q)
    assert opts == {"propagationPolicy": "Foreground", "gracePeriodSeconds": 0,
                    "dryRun": ["All"]}
    assert rest.delete_options({"orphanDependents": True}, MultiDict())["propagationPolicy"] \
        == "Orphan"
    with pytest.raises(rest.APIError):
        rest.delete_options(None, MultiDict([("gracePeriodSeconds", "soon")]))


# ============================================================================ the server


class Server:
    def __init__(self, tmp: Path) -> None:
        creds = make_credentials(tmp / "pki", [])
        self.token = creds.token
        self.ca = creds.ca_cert
        self.lt = LoopThread("rest-test")
        self.srv: ApiServer = self.lt.start_bound(
            lambda: ApiServer({"port": 0, "storage": "memory", "watch_window": 50,
                               "bookmark_interval": 0.5, "rest_port": 0,
                               "rest_token": creds.token, "rest_tls_cert": str(creds.cert),
                               "rest_tls_key": str(creds.key)}),
            lambda s: s.start(), cleanup=lambda s: s.stop(), timeout=30)
        self.url = self.srv.rest_address
        self.kubeconfig = str(tmp / "kubeconfig")
        Path(self.kubeconfig).write_text(yaml.safe_dump(
            kubeconfig_doc("unit", self.url, creds.ca_cert.read_bytes(), creds.token)))

    def request(self, method: str, path: str, body: Any = None, *, token: str | None = None,
                headers: dict[str, str] | None = None, raw: bool = False) -> tuple[int, Any]:
        ctx = ssl.create_default_context(cafile=str(self.ca))
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token if token is None else token}")
        req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
                data = r.read()
                if raw or data[:1] not in (b"{", b"["):
                    return r.status, data.decode()
                return r.status, json.loads(data)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def close(self) -> None:
        self.lt.run(self.srv.stop(), timeout=10)
        self.lt.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("rest"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def kubectl(server: Server) -> Iterator[Kubectl]:
    k = Kubectl(server.kubeconfig)
    yield k
    k.close()


def test_requests_without_the_token_get_401(server: Server) -> None:
    for token in ("", "wrong"):
        code, body = server.request("GET", "/api/v1/namespaces", token=token)
        assert code == 401
        assert (body["kind"], body["reason"], body["code"]) == ("Status", "Unauthorized", 401)
    code, _ = server.request("GET", "/api/v1/namespaces")
    assert code == 200
    code, body = server.request("GET", "/healthz", token="")
    assert (code, body) == (200, "ok")


def test_discovery_documents(server: Server) -> None:
    _, core = server.request("GET", "/api/v1")
    names = {r["name"]: r for r in core["resources"]}
    assert names["pods"]["shortNames"] == ["po"] and names["pods"]["namespaced"] is True
    ev = names["pods/eviction"]
    assert (ev["group"], ev["version"], ev["kind"]) == ("policy", "v1", "Eviction")
    _, groups = server.request("GET", "/apis")
    served = {g["name"] for g in groups["groups"]}
    assert served == {i.group for i in RESOURCES.values() if i.group} | {
        "authorization.k8s.io", "authentication.k8s.io"}
    code, body = server.request("GET", "/apis/nosuch.io/v1")
    assert (code, body["reason"]) == (404, "NotFound")


@needs_kubectl
def test_kubectl_uses_aggregated_discovery(server: Server, tmp_path: Path) -> None:
    """kubectl asks /api and /apis for APIGroupDiscoveryList and needs nothing else."""
    k = Kubectl(server.kubeconfig)
    try:
        p = k.run("api-resources", "-v=6")
    finally:
        k.close()
    assert p.returncode == 0, p.stderr
    gets = re.findall(r"GET https://[^/]+(/[^?\s]*)", p.stderr)
    assert sorted(set(gets)) == ["/api", "/apis"]
    rows = {r[0]: r for r in table_lines(p.stdout)}
    assert rows["deployments"] == ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    assert rows["nodes"] == ["nodes", "no", "v1", "false", "Node"]
    assert rows["selfsubjectaccessreviews"][-3:] == ["authorization.k8s.io/v1", "false",
                                                     "SelfSubjectAccessReview"]


def test_aggregated_discovery_document(server: Server) -> None:
    accept = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
              "application/json")
    code, doc = server.request("GET", "/apis", headers={"Accept": accept})
    assert code == 200 and doc["kind"] == "APIGroupDiscoveryList"
    apps = next(i for i in doc["items"] if i["metadata"]["name"] == "apps")
    deploy = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
    assert deploy["scope"] == "Namespaced" and deploy["categories"] == ["all"]
    assert {s["subresource"]: s["responseKind"]["kind"] for s in deploy["subresources"]} == \
        {"scale": "Scale", "status": "Deployment"}
    code, legacy = server.request("GET", "/apis")
    assert legacy["kind"] == "APIGroupList"


def test_errors_are_status_with_http_codes(server: Server) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "errs"}}
    assert server.request("POST", "/api/v1/namespaces/default/configmaps", cm)[0] == 201
    code, st = server.request("POST", "/api/v1/namespaces/default/configmaps", cm)
    assert (code, st["reason"]) == (409, "AlreadyExists")
    code, st = server.request("GET", "/api/v1/namespaces/default/configmaps/nope")
    assert (code, st["reason"], st["message"]) == (404, "NotFound",
                                                   'configmaps "nope" not found')
    stale = {**cm, "metadata": {"name": "errs", "resourceVersion": "1"}, "data": {"a": "b"}}
    code, st = server.request("PUT", "/api/v1/namespaces/default/configmaps/errs", stale)
    assert (code, st["reason"]) == (409, "Conflict")
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}}
    code, st = server.request("POST", "/api/v1/namespaces/default/configmaps", bad)
    assert (code, st["reason"]) == (422, "Invalid")
    assert st["details"]["causes"][0]["field"] == "metadata.name"


def test_table_response(server: Server) -> None:
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    code, t = server.request("GET", "/api/v1/namespaces", headers={"Accept": accept})
    assert code == 200 and t["kind"] == "Table"
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Status", "Age"]
    row = next(r for r in t["rows"] if r["cells"][0] == "default")
    assert row["cells"][1] == "Active"
    assert row["object"]["kind"] == "PartialObjectMetadata"


def test_watch_resource_version_too_old_is_an_error_event_410(server: Server) -> None:
    for i in range(60):  # more events than the watch window (50)
        server.request("POST", "/api/v1/namespaces/default/configmaps",
                       {"metadata": {"name": f"churn-{i}"}})
    code, text = server.request("GET", "/api/v1/namespaces/default/configmaps?watch=1&"
                                       "resourceVersion=2&timeoutSeconds=2", raw=True)
    assert code == 200
    ev = json.loads(text.splitlines()[0])
    assert ev["type"] == "ERROR"
    assert (ev["object"]["code"], ev["object"]["reason"]) == (410, "Expired")


@needs_kubectl
def test_kubectl_namespace_apply_get(server: Server, kubectl: Kubectl, tmp_path: Path) -> None:
    assert kubectl.ok("create", "namespace", "shop").strip() == "namespace/shop created"
    err = kubectl.fails("create", "namespace", "shop")
    assert err.strip() == 'Error from server (AlreadyExists): namespaces "shop" already exists'
    f = tmp_path / "app.yaml"
    f.write_text(APP)
    out = kubectl.ok("apply", "-f", str(f))
    assert out.splitlines() == ["deployment.apps/web created", "service/web created",
                                "configmap/web-config created", "secret/web-secret created"]
    out = kubectl.ok("apply", "-f", str(f))
    # a Secret written with stringData is "configured" every time, against a real cluster
    # too: the live object has only data, so kubectl's three-way patch re-sends stringData
    assert out.splitlines() == ["deployment.apps/web unchanged", "service/web unchanged",
                                "configmap/web-config unchanged", "secret/web-secret configured"]
    f.write_text(APP.replace("replicas: 2", "replicas: 3").replace('a: "1"', 'a: "2"'))
    out = kubectl.ok("apply", "-f", str(f))
    assert out.splitlines() == ["deployment.apps/web configured", "service/web unchanged",
                                "configmap/web-config configured",
                                "secret/web-secret configured"]
    d = json.loads(kubectl.ok("get", "deploy", "web", "-n", "shop", "-o", "json"))
    assert d["spec"]["replicas"] == 3
    rows = table_lines(kubectl.ok("get", "deployments", "-n", "shop"))
    assert rows[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert rows[1][:4] == ["web", "0/3", "0", "0"]
    rows = table_lines(kubectl.ok("get", "svc", "-n", "shop", "-o", "wide"))
    assert rows[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE",
                       "SELECTOR"]
    assert rows[1][1] == "ClusterIP" and rows[1][4] == "80/TCP" and rows[1][6] == "app=web"
    assert kubectl.ok("get", "cm,secret", "-n", "shop", "-o", "name").split() == [
        "configmap/web-config", "secret/web-secret"]
    y = yaml.safe_load(kubectl.ok("get", "secret", "web-secret", "-n", "shop", "-o", "yaml"))
    assert y["type"] == "Opaque" and y["data"] == {"token": "czNjcjN0"}
    rows = table_lines(kubectl.ok("get", "deploy", "-A", "--show-labels"))
    assert rows[0] == ["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE",
                       "LABELS"]
    assert rows[1][0] == "shop" and rows[1][-1] == "app=web,tier=front"
    p = kubectl.run("get", "deploy", "-A", "-l", "tier=back")
    assert (p.returncode, p.stdout, p.stderr.strip()) == (0, "", "No resources found")
    err = kubectl.fails("apply", "-f", "-", stdin=APP.split("---")[2].replace("\ndata:", "\ndataa:"))
    assert 'strict decoding error: unknown field "dataa"' in err
    assert kubectl.ok("delete", "-f", str(f)).splitlines() == [
        'deployment.apps "web" deleted', 'service "web" deleted',
        'configmap "web-config" deleted', 'secret "web-secret" deleted']
    err = kubectl.fails("get", "deploy", "web", "-n", "shop")
    assert err.strip() == 'Error from server (NotFound): deployments.apps "web" not found'


@needs_kubectl
def test_kubectl_invalid_object_prints_causes(kubectl: Kubectl) -> None:
    bad = APP.split("---")[0].replace("replicas: 2", "replicas: -1").replace("shop", "default")
    err = kubectl.fails("create", "-f", "-", stdin=bad)
    assert 'The Deployment "web" is invalid' in err
    assert "spec.replicas: Invalid value: -1: must be greater than or equal to 0" in err


@needs_kubectl
def test_kubectl_label_scale_cordon_delete(server: Server, kubectl: Kubectl) -> None:
    kubectl.ok("create", "-f", "-", stdin=NODE)
    kubectl.ok("create", "deployment", "api", "--image=nginx:1.27", "--replicas=1")
    assert kubectl.ok("scale", "deployment/api", "--replicas=4").strip() == \
        "deployment.apps/api scaled"
    assert json.loads(kubectl.ok("get", "deploy", "api", "-o", "json"))["spec"]["replicas"] == 4
    kubectl.ok("label", "node", "unit-node", "disk=ssd")
    err = kubectl.fails("label", "node", "unit-node", "disk=hdd")
    assert "already has a value (ssd), and --overwrite is false" in err
    kubectl.ok("label", "node", "unit-node", "disk=hdd", "--overwrite")
    rows = table_lines(kubectl.ok("get", "nodes", "-l", "disk=hdd"))
    assert rows[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert rows[1][:3] == ["unit-node", "Ready", "<none>"]
    assert kubectl.ok("cordon", "unit-node").strip() == "node/unit-node cordoned"
    assert table_lines(kubectl.ok("get", "node", "unit-node"))[1][1] == \
        "Ready,SchedulingDisabled"
    assert kubectl.ok("uncordon", "unit-node").strip() == "node/unit-node uncordoned"
    assert kubectl.ok("delete", "deployment", "api").strip() == 'deployment.apps "api" deleted'


@needs_kubectl
def test_kubectl_server_side_apply_owns_fields_and_conflicts(kubectl: Kubectl) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {a: \"1\"}\n"
    assert kubectl.ok("apply", "--server-side", "-f", "-", stdin=cm).strip() == \
        "configmap/ssa serverside-applied"
    live = json.loads(kubectl.ok("get", "cm", "ssa", "-o", "json", "--show-managed-fields"))
    owners = {(m["manager"], m["operation"]) for m in live["metadata"]["managedFields"]}
    assert owners == {("kubectl", "Apply")}
    # another manager takes the field over with a plain update ...
    kubectl.ok("patch", "cm", "ssa", "--type=merge", "-p", '{"data":{"a":"2"}}')
    # ... so applying the old value again is a conflict, and --force-conflicts wins it
    err = kubectl.fails("apply", "--server-side", "-f", "-", stdin=cm)
    assert "Apply failed with 1 conflict: conflict with \"kubectl-patch\"" in err
    assert ".data.a" in err
    kubectl.ok("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=cm)
    assert json.loads(kubectl.ok("get", "cm", "ssa", "-o", "json"))["data"] == {"a": "1"}


@needs_kubectl
def test_kubectl_diff_and_server_dry_run_change_nothing(kubectl: Kubectl) -> None:
    d = APP.split("---")[0].replace("shop", "default").replace("name: web", "name: dry")
    kubectl.ok("apply", "-f", "-", stdin=d)
    rv = json.loads(kubectl.ok("get", "deploy", "dry", "-o", "json"))["metadata"]["resourceVersion"]
    p = kubectl.run("diff", "-f", "-", stdin=d.replace("replicas: 2", "replicas: 5"))
    assert p.returncode == 1, p.stderr  # 1: differences found
    assert "-  replicas: 2" in p.stdout and "+  replicas: 5" in p.stdout
    out = kubectl.ok("apply", "--dry-run=server", "-f", "-",
                     stdin=d.replace("replicas: 2", "replicas: 7"))
    assert out.strip() == "deployment.apps/dry configured (server dry run)"
    out = kubectl.ok("scale", "deploy/dry", "--replicas=9", "--dry-run=server")
    assert out.strip() == "deployment.apps/dry scaled (server dry run)"
    live = json.loads(kubectl.ok("get", "deploy", "dry", "-o", "json"))
    assert (live["spec"]["replicas"], live["metadata"]["resourceVersion"]) == (2, rv)
    assert kubectl.run("diff", "-f", "-", stdin=d).returncode == 0
    kubectl.ok("delete", "deploy", "dry", "--dry-run=server")
    kubectl.ok("get", "deploy", "dry")


@needs_kubectl
def test_kubectl_auth_the_token_is_the_admin(kubectl: Kubectl) -> None:
    assert kubectl.ok("auth", "can-i", "delete", "nodes").strip() == "yes"
    rows = table_lines(kubectl.ok("auth", "whoami"))
    assert rows[1] == ["Username", "kubernetes-admin"]


@needs_kubectl
def test_kubectl_get_watch_prints_changes(kubectl: Kubectl) -> None:
    kubectl.ok("create", "configmap", "watched", "--from-literal=a=1")
    out: list[str] = []

    def watch() -> None:
        p = kubectl.run("get", "configmap", "watched", "-w", "--request-timeout=4s", timeout=20)
        out.append(p.stdout)

    t = threading.Thread(target=watch)
    t.start()
    time.sleep(1.5)
    kubectl.ok("patch", "configmap", "watched", "--type=merge", "-p", '{"data":{"b":"2"}}')
    kubectl.ok("delete", "configmap", "watched")
    t.join()
    rows = table_lines(out[0])
    assert rows[0] == ["NAME", "DATA", "AGE"]
    assert [r[:2] for r in rows[1:]] == [["watched", "1"], ["watched", "2"], ["watched", "2"]]


def test_python_client_crud_and_watch(server: Server) -> None:
    from kubernetes import client, watch

    api = python_client(server.kubeconfig)
    v1 = client.CoreV1Api(api)
    assert "default" in [n.metadata.name for n in v1.list_namespace().items]
    seen: list[tuple[str, str]] = []
    started = threading.Event()

    def run() -> None:
        w = watch.Watch()
        started.set()
        for ev in w.stream(v1.list_namespaced_config_map, "default",
                           label_selector="app=py", timeout_seconds=4):
            seen.append((ev["type"], (ev["object"].data or {}).get("k", "")))
            if ev["type"] == "DELETED":
                w.stop()

    t = threading.Thread(target=run)
    t.start()
    started.wait()
    time.sleep(1)
    v1.create_namespaced_config_map("default", client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="py", labels={"app": "py"}), data={"k": "v1"}))
    v1.patch_namespaced_config_map("py", "default", {"data": {"k": "v2"}})
    got = v1.read_namespaced_config_map("py", "default")
    assert got.data == {"k": "v2"}
    v1.delete_namespaced_config_map("py", "default")
    t.join()
    assert seen == [("ADDED", "v1"), ("MODIFIED", "v2"), ("DELETED", "v2")]
    with pytest.raises(client.exceptions.ApiException) as ei:
        v1.read_namespaced_config_map("py", "default")
    assert ei.value.status == 404


def test_watch_sends_bookmarks_when_asked(server: Server) -> None:
    _, lst = server.request("GET", "/api/v1/namespaces/kube-public/configmaps")
    rv = lst["metadata"]["resourceVersion"]
    code, text = server.request("GET", "/api/v1/namespaces/kube-public/configmaps?watch=true&"
                                       f"resourceVersion={rv}&allowWatchBookmarks=true&"
                                       "timeoutSeconds=2", raw=True)
    events = [json.loads(line) for line in text.splitlines()]
    assert code == 200 and events and {e["type"] for e in events} == {"BOOKMARK"}
    assert int(events[-1]["object"]["metadata"]["resourceVersion"]) >= int(rv)


def test_python_client_subresources(server: Server) -> None:
    """status, scale, binding, eviction and deletecollection through the official client."""
    from kubernetes import client

    api = python_client(server.kubeconfig)
    v1, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    body = yaml.safe_load(APP.split("---")[0].replace("shop", "default").replace(
        "name: web", "name: subs"))
    apps.create_namespaced_deployment("default", body)
    st = apps.patch_namespaced_deployment_status("subs", "default",
                                                 {"status": {"observedGeneration": 1}})
    assert st.status.observed_generation == 1 and st.spec.replicas == 2
    sc = apps.patch_namespaced_deployment_scale("subs", "default", {"spec": {"replicas": 5}})
    assert (sc.kind, sc.spec.replicas, sc.status.selector) == ("Scale", 5, "app=web")
    assert apps.read_namespaced_deployment("subs", "default").spec.replicas == 5
    with pytest.raises(client.exceptions.ApiException) as ei:
        apps.replace_namespaced_deployment_scale("subs", "default", {
            "apiVersion": "autoscaling/v1", "kind": "Scale",
            "metadata": {"name": "subs", "namespace": "default"}, "spec": {"replicas": -1}})
    assert ei.value.status == 422

    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bindme", "labels": {"x": "1"}},
           "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}
    v1.create_namespaced_pod("default", pod)
    code, st = server.request("POST", "/api/v1/namespaces/default/pods/bindme/binding", {
        "apiVersion": "v1", "kind": "Binding", "metadata": {"name": "bindme"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "somewhere"}})
    assert (code, st["status"]) == (201, "Success")
    assert v1.read_namespaced_pod("bindme", "default").spec.node_name == "somewhere"
    v1.create_namespaced_pod_eviction("bindme", "default", client.V1Eviction(
        metadata=client.V1ObjectMeta(name="bindme", namespace="default"),
        delete_options=client.V1DeleteOptions(grace_period_seconds=0)))
    with pytest.raises(client.exceptions.ApiException) as ei:
        v1.read_namespaced_pod("bindme", "default")
    assert ei.value.status == 404

    for i in range(3):
        v1.create_namespaced_config_map("default", client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=f"bulk-{i}", labels={"bulk": "yes"})))
    v1.delete_collection_namespaced_config_map("default", label_selector="bulk=yes")
    assert v1.list_namespaced_config_map("default", label_selector="bulk=yes").items == []
    apps.delete_namespaced_deployment("subs", "default")


APP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web, tier: front}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: shop}
data: {a: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: web-secret, namespace: shop}
stringData: {token: s3cr3t}
"""

NODE = """\
apiVersion: v1
kind: Node
metadata: {name: unit-node, labels: {kubernetes.io/hostname: unit-node}}
status:
  capacity: {cpu: "4", memory: 8Gi, pods: "110"}
  allocatable: {cpu: "4", memory: 8Gi, pods: "110"}
  conditions: [{type: Ready, status: "True", reason: KubeletReady, message: ok}]
  nodeInfo: {kubeletVersion: v1.30.0-kubemu}
"""
