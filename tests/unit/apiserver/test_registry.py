"""The generic registry over MemoryKV: REST semantics end to end, no gRPC."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import pytest

from actors.api.errors import APIError
from actors.apiserver import strategy
from actors.apiserver.registry import Registry
from actors.apiserver.storage import MemoryKV, WriteResult
from actors.common.clock import rfc3339

from .helpers import T0, configmap, deployment, make_registry, namespace, pod, run


def err(coro: Awaitable[Any]) -> APIError:
    try:
        run(coro)  # type: ignore[arg-type]
    except APIError as e:
        return e
    raise AssertionError("no APIError")


# ---- create / get ---------------------------------------------------------------------


def test_create_sets_metadata_and_get_returns_it() -> None:
    reg, kv, _ = make_registry()
    out = run(reg.create("pods", pod("web")))
    m = out["metadata"]
    assert m["resourceVersion"] == str(kv.revision) and m["generation"] == 1
    assert m["creationTimestamp"] == rfc3339(T0) and m["uid"]
    assert out["status"]["phase"] == "Pending"
    assert run(reg.get("pods", "web", "default")) == out
    raw = run(kv.get("/registry/pods/default/web"))
    assert raw is not None and b"resourceVersion" not in raw.value


def test_create_errors() -> None:
    reg, kv, _ = make_registry()
    run(reg.create("pods", pod("web")))
    e = err(reg.create("pods", pod("web")))
    assert (e.code, e.reason, e.message) == (409, "AlreadyExists", 'pods "web" already exists')
    e = err(reg.create("pods", pod("p", ns="nope"), "nope"))
    assert (e.code, e.message) == (404, 'namespaces "nope" not found')
    e = err(reg.get("pods", "ghost", "default"))
    assert (e.code, e.message) == (404, 'pods "ghost" not found')
    e = err(reg.get("deployments", "ghost", "default"))
    assert e.message == 'deployments.apps "ghost" not found'
    e = err(reg.get("widgets", "x", "default"))
    assert (e.code, e.message) == (404, "the server could not find the requested resource")


def test_generate_name() -> None:
    reg, _, _ = make_registry()
    p = pod("")
    p["metadata"] = {"generateName": "web-", "namespace": "default"}
    out = run(reg.create("pods", p))
    assert out["metadata"]["name"].startswith("web-") and len(out["metadata"]["name"]) == 9


def test_invalid_object_is_rejected_and_not_stored() -> None:
    reg, kv, _ = make_registry()
    rev = kv.revision
    bad = pod("noimage")
    del bad["spec"]["containers"][0]["image"]
    e = err(reg.create("pods", bad))
    assert (e.code, e.reason) == (422, "Invalid")
    assert "spec.containers[0].image: Required value" in e.message
    assert kv.revision == rev
    assert err(reg.get("pods", "noimage", "default")).code == 404


def test_dry_run_stores_nothing() -> None:
    reg, kv, _ = make_registry()
    rev = kv.revision
    out = run(reg.create("configmaps", configmap("c"), dry_run=True))
    assert out["metadata"]["name"] == "c" and kv.revision == rev


@pytest.mark.parametrize("seconds", [300, 30])
def test_default_tolerations_come_from_config(seconds: int) -> None:
    reg, _, _ = make_registry(toleration_seconds=seconds)
    out = run(reg.create("pods", pod("p")))
    tols = {t["key"]: t for t in out["spec"]["tolerations"]}
    assert set(tols) == {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}
    assert {t["tolerationSeconds"] for t in tols.values()} == {seconds}


def test_system_namespaces_bootstrap_is_idempotent() -> None:
    reg, _, _ = make_registry()
    assert run(reg.ensure_system_namespaces()) == []
    names = [n["metadata"]["name"] for n in run(reg.list("namespaces"))["items"]]
    assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]
    assert all(n["status"]["phase"] == "Active" for n in run(reg.list("namespaces"))["items"])


# ---- list -----------------------------------------------------------------------------


def _fill(reg: Registry) -> None:
    run(reg.create("namespaces", namespace("team")))
    for i, app in enumerate(["web", "web", "db", "web", "db"]):
        run(reg.create("pods", pod(f"p{i}", labels={"app": app}, node="n1" if i % 2 else "")))
    run(reg.create("pods", pod("t0", ns="team", labels={"app": "web"})))


@pytest.mark.parametrize("kw,names", [
    pytest.param({}, ["p0", "p1", "p2", "p3", "p4", "t0"], id="all-namespaces"),
    pytest.param({"namespace": "team"}, ["t0"], id="namespace"),
    pytest.param({"label_selector": "app=web"}, ["p0", "p1", "p3", "t0"], id="labels"),
    pytest.param({"label_selector": "app in (db),app!=web", "namespace": "default"},
                 ["p2", "p4"], id="label-set"),
    pytest.param({"field_selector": "spec.nodeName=n1"}, ["p1", "p3"], id="fields"),
    pytest.param({"field_selector": "spec.nodeName=,metadata.namespace=default"},
                 ["p0", "p2", "p4"], id="unscheduled"),
])
def test_list_filters(kw: dict[str, Any], names: list[str]) -> None:
    reg, kv, _ = make_registry()
    _fill(reg)
    out = run(reg.list("pods", **kw))
    assert out["kind"] == "PodList" and out["apiVersion"] == "v1"
    assert out["metadata"] == {"resourceVersion": str(kv.revision)}
    assert [p["metadata"]["name"] for p in out["items"]] == names


def test_list_rejects_unsupported_field() -> None:
    reg, _, _ = make_registry()
    e = err(reg.list("pods", field_selector="spec.containers=x"))
    assert (e.code, e.message) == (400, "field label not supported: spec.containers")


def test_pagination_is_a_consistent_snapshot() -> None:
    reg, kv, _ = make_registry()
    _fill(reg)
    page1 = run(reg.list("pods", "default", limit=2))
    md = page1["metadata"]
    assert [p["metadata"]["name"] for p in page1["items"]] == ["p0", "p1"]
    assert md["remainingItemCount"] == 3 and md["continue"]
    run(reg.create("pods", pod("p10")))  # after the snapshot: not in later pages
    run(reg.delete("pods", "p3", "default"))
    names = []
    token = md["continue"]
    while token:
        page = run(reg.list("pods", "default", limit=2, continue_=token))
        assert page["metadata"]["resourceVersion"] == md["resourceVersion"]
        names += [p["metadata"]["name"] for p in page["items"]]
        token = page["metadata"].get("continue", "")
    assert names == ["p2", "p3", "p4"]


def test_pagination_with_selector_fills_pages() -> None:
    reg, _, _ = make_registry()
    _fill(reg)
    page = run(reg.list("pods", label_selector="app=web", limit=3))
    assert [p["metadata"]["name"] for p in page["items"]] == ["p0", "p1", "p3"]
    assert "remainingItemCount" not in page["metadata"]
    rest = run(reg.list("pods", label_selector="app=web", limit=3,
                        continue_=page["metadata"]["continue"]))
    assert [p["metadata"]["name"] for p in rest["items"]] == ["t0"]
    assert "continue" not in rest["metadata"]


def test_expired_and_bad_continue_tokens() -> None:
    reg, kv, _ = make_registry()
    _fill(reg)
    token = run(reg.list("pods", limit=1))["metadata"]["continue"]
    run(kv.compact(kv.revision))
    e = err(reg.list("pods", limit=1, continue_=token))
    assert e.code == 410 and e.message.startswith("The provided continue parameter is too old")
    assert err(reg.list("pods", continue_="garbage!")).code == 400


# ---- update ---------------------------------------------------------------------------


def test_update_conflict_on_stale_resource_version() -> None:
    reg, _, _ = make_registry()
    v1 = run(reg.create("configmaps", configmap("c", data={"k": "1"})))
    v2 = run(reg.update("configmaps", {**v1, "data": {"k": "2"}}))
    assert int(v2["metadata"]["resourceVersion"]) > int(v1["metadata"]["resourceVersion"])
    e = err(reg.update("configmaps", {**v1, "data": {"k": "3"}}))
    assert (e.code, e.reason) == (409, "Conflict")
    assert e.message == ('Operation cannot be fulfilled on configmaps "c": the object has been '
                         'modified; please apply your changes to the latest version and try again')
    assert run(reg.get("configmaps", "c", "default"))["data"] == {"k": "2"}


def test_unconditional_update_and_noop_update() -> None:
    reg, kv, _ = make_registry()
    v1 = run(reg.create("configmaps", configmap("c", data={"k": "1"})))
    body = configmap("c", data={"k": "2"})  # no resourceVersion: last write wins
    v2 = run(reg.update("configmaps", body))
    assert v2["data"] == {"k": "2"} and v2["metadata"]["uid"] == v1["metadata"]["uid"]
    rev = kv.revision
    v3 = run(reg.update("configmaps", v2))  # nothing changed: nothing written
    assert v3["metadata"]["resourceVersion"] == v2["metadata"]["resourceVersion"]
    assert kv.revision == rev


@pytest.mark.parametrize("change,generation", [
    pytest.param(lambda d: d["spec"].update(replicas=3), 2, id="spec-change-bumps"),
    pytest.param(lambda d: d["metadata"].update(labels={"x": "y"}), 1, id="labels-do-not"),
    pytest.param(lambda d: d["metadata"].update(annotations={"x": "y"}), 2,
                 id="deployment-annotations-bump"),
    pytest.param(lambda d: d.update(status={"replicas": 3}), 1, id="status-ignored"),
])
def test_generation(change: Callable[[dict[str, Any]], None], generation: int) -> None:
    reg, _, _ = make_registry()
    d = run(reg.create("deployments", deployment("web")))
    change(d)
    out = run(reg.update("deployments", d))
    assert out["metadata"]["generation"] == generation
    assert out.get("status") == {}


def test_status_subresource() -> None:
    reg, _, _ = make_registry()
    p = run(reg.create("pods", pod("p")))
    body = {**p, "spec": {**p["spec"], "nodeName": "sneaky"},
            "status": {"phase": "Running"},
            "metadata": {**p["metadata"], "labels": {"sneaky": "1"}}}
    out = run(reg.update("pods", body, subresource="status"))
    assert out["status"] == {"phase": "Running"}
    assert "nodeName" not in out["spec"] and "labels" not in out["metadata"]
    # and the main resource keeps the status
    again = run(reg.update("pods", {**out, "status": {"phase": "Failed"},
                                    "metadata": {**out["metadata"], "labels": {"a": "b"}}}))
    assert again["status"] == {"phase": "Running"} and again["metadata"]["labels"] == {"a": "b"}
    stale = err(reg.update("pods", {**p, "status": {"phase": "Succeeded"}}, subresource="status"))
    assert stale.code == 409
    assert err(reg.update("configmaps", configmap("c"), subresource="status")).code == 404


def test_update_errors() -> None:
    reg, _, _ = make_registry()
    assert err(reg.update("configmaps", configmap("ghost"))).code == 404
    c = run(reg.create("configmaps", configmap("c")))
    e = err(reg.update("configmaps", c, name="other"))
    assert e.code == 400 and "does not match the name on the URL" in e.message
    e = err(reg.update("configmaps", {**c, "metadata": {**c["metadata"], "uid": "x"}}))
    assert e.code == 422 and "metadata.uid" in e.message


def test_leases_are_created_on_update() -> None:
    reg, _, _ = make_registry()
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "n1", "namespace": "kube-node-lease"},
             "spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40}}
    out = run(reg.update("leases", lease))
    assert out["metadata"]["resourceVersion"] and out["spec"]["holderIdentity"] == "n1"


# ---- patch ----------------------------------------------------------------------------


def test_merge_and_json_patch() -> None:
    reg, _, _ = make_registry()
    run(reg.create("deployments", deployment("web")))
    out = run(reg.patch("deployments", "web", {"spec": {"replicas": 5}}, "default"))
    assert out["spec"]["replicas"] == 5 and out["metadata"]["generation"] == 2
    out = run(reg.patch("deployments", "web",
                        [{"op": "replace", "path": "/spec/replicas", "value": 2}], "default",
                        patch_type="json"))
    assert out["spec"]["replicas"] == 2
    out = run(reg.patch("deployments", "web", {"status": {"replicas": 2}}, "default",
                        subresource="status"))
    assert out["status"] == {"replicas": 2} and out["spec"]["replicas"] == 2
    assert err(reg.patch("deployments", "ghost", {}, "default")).code == 404
    assert err(reg.patch("deployments", "web", [], "default", patch_type="xml")).code == 400


class RacyKV(MemoryKV):
    """Before the first guarded update, somebody else writes the key."""

    def __init__(self) -> None:
        super().__init__()
        self.race: Callable[[], Awaitable[Any]] | None = None

    async def update(self, key: str, value: bytes, mod_revision: int) -> WriteResult:
        if self.race is not None:
            race, self.race = self.race, None
            await race()
        return await super().update(key, value, mod_revision)


def test_patch_retries_a_lost_race_but_a_pinned_rv_conflicts() -> None:
    kv = RacyKV()
    from actors.common.clock import FakeClock

    reg = Registry(kv, clock=FakeClock(T0))
    run(reg.ensure_system_namespaces())
    run(reg.create("configmaps", configmap("c", data={"a": "1"})))

    async def other() -> None:
        await MemoryKV.update(kv, "/registry/configmaps/default/c",
                              strategy.encode({**configmap("c", data={"a": "1", "b": "2"})}),
                              (await kv.get("/registry/configmaps/default/c")).mod_revision)  # type: ignore[union-attr]

    kv.race = other
    out = run(reg.patch("configmaps", "c", {"data": {"c": "3"}}, "default"))
    assert out["data"] == {"a": "1", "b": "2", "c": "3"}
    rv = out["metadata"]["resourceVersion"]
    kv.race = other
    e = err(reg.patch("configmaps", "c", {"metadata": {"resourceVersion": rv},
                                          "data": {"d": "4"}}, "default"))
    assert e.code == 409 and e.reason == "Conflict"


# ---- delete ---------------------------------------------------------------------------


def test_delete_plain_object() -> None:
    reg, kv, _ = make_registry()
    run(reg.create("configmaps", configmap("c")))
    out = run(reg.delete("configmaps", "c", "default"))
    assert out["metadata"]["name"] == "c"
    assert err(reg.get("configmaps", "c", "default")).code == 404
    assert err(reg.delete("configmaps", "c", "default")).code == 404


def test_unbound_pod_is_deleted_at_once() -> None:
    reg, _, _ = make_registry()
    run(reg.create("pods", pod("p", grace=30)))
    run(reg.delete("pods", "p", "default"))
    assert err(reg.get("pods", "p", "default")).code == 404


def test_bound_pod_graceful_deletion_until_kubelet_deletes_with_grace_0() -> None:
    reg, _, clock = make_registry()
    run(reg.create("pods", pod("p", node="n1", grace=30)))
    out = run(reg.delete("pods", "p", "default"))
    m = out["metadata"]
    assert m["deletionTimestamp"] == rfc3339(T0 + 30) and m["deletionGracePeriodSeconds"] == 30
    assert m["generation"] == 2
    again = run(reg.delete("pods", "p", "default"))  # pending: nothing changes
    assert again["metadata"]["resourceVersion"] == m["resourceVersion"]
    clock.advance(5)
    shorter = run(reg.delete("pods", "p", "default", grace_period_seconds=10))
    assert shorter["metadata"]["deletionTimestamp"] == rfc3339(T0 + 10)
    assert run(reg.get("pods", "p", "default"))["metadata"]["deletionGracePeriodSeconds"] == 10
    run(reg.delete("pods", "p", "default", grace_period_seconds=0))  # the kubelet
    assert err(reg.get("pods", "p", "default")).code == 404


def test_finalizers_hold_the_object_until_removed() -> None:
    reg, _, _ = make_registry()
    run(reg.create("configmaps", configmap("c", finalizers=["example.com/x"])))
    out = run(reg.delete("configmaps", "c", "default"))
    assert out["metadata"]["deletionTimestamp"] == rfc3339(T0)
    assert out["metadata"]["deletionGracePeriodSeconds"] == 0
    cur = run(reg.get("configmaps", "c", "default"))
    assert cur["metadata"]["finalizers"] == ["example.com/x"]
    # updates cannot clear the deletionTimestamp
    cur2 = run(reg.update("configmaps", {**cur, "metadata": {
        **{k: v for k, v in cur["metadata"].items() if k != "deletionTimestamp"},
        "labels": {"a": "b"}}}))
    assert cur2["metadata"]["deletionTimestamp"] == rfc3339(T0)
    run(reg.patch("configmaps", "c", {"metadata": {"finalizers": None}}, "default"))
    assert err(reg.get("configmaps", "c", "default")).code == 404


def test_graceful_pod_with_finalizer_waits_for_both() -> None:
    reg, _, _ = make_registry()
    run(reg.create("pods", pod("p", node="n1", grace=30, finalizers=["x/y"])))
    run(reg.delete("pods", "p", "default"))
    run(reg.delete("pods", "p", "default", grace_period_seconds=0))
    cur = run(reg.get("pods", "p", "default"))
    assert cur["metadata"]["deletionGracePeriodSeconds"] == 0
    run(reg.patch("pods", "p", {"metadata": {"finalizers": []}}, "default"))
    assert err(reg.get("pods", "p", "default")).code == 404


@pytest.mark.parametrize("policy,finalizers,gone", [
    pytest.param(None, None, True, id="default-background"),
    pytest.param("Background", None, True, id="background"),
    pytest.param("Foreground", ["foregroundDeletion"], False, id="foreground"),
    pytest.param("Orphan", ["orphan"], False, id="orphan"),
])
def test_propagation_policy(policy: str | None, finalizers: list[str] | None,
                            gone: bool) -> None:
    reg, _, _ = make_registry()
    run(reg.create("deployments", deployment("web")))
    out = run(reg.delete("deployments", "web", "default", propagation_policy=policy))
    if gone:
        assert err(reg.get("deployments", "web", "default")).code == 404
        return
    assert out["metadata"]["finalizers"] == finalizers
    assert out["metadata"]["deletionTimestamp"] and out["metadata"]["generation"] == 2


def test_delete_preconditions_and_options() -> None:
    reg, _, _ = make_registry()
    run(reg.create("pods", pod("p")))
    e = err(reg.delete("pods", "p", "default", preconditions_uid="not-it"))
    assert e.code == 409 and e.message.startswith(
        'Operation cannot be fulfilled on Pod "p": the UID in the precondition (not-it)')
    assert err(reg.delete("pods", "p", "default", propagation_policy="Nope")).code == 422


# ---- binding --------------------------------------------------------------------------


def test_binding() -> None:
    reg, _, _ = make_registry()
    run(reg.create("pods", pod("p")))
    st = run(reg.bind("default", "p", {"target": {"kind": "Node", "name": "n1"}}))
    assert st["status"] == "Success" and st["code"] == 201
    cur = run(reg.get("pods", "p", "default"))
    assert cur["spec"]["nodeName"] == "n1"
    assert cur["status"]["conditions"][0]["type"] == "PodScheduled"
    e = err(reg.create("pods", {"metadata": {"name": "p"}, "target": {"name": "n2"}},
                       "default", subresource="binding"))
    assert (e.code, e.message) == (409, 'Operation cannot be fulfilled on pods/binding "p": '
                                         'pod p is already assigned to node "n1"')
    assert err(reg.bind("default", "ghost", {"target": {"name": "n1"}})).code == 404


# ---- namespaces -----------------------------------------------------------------------


def test_namespace_deletion_terminates_and_blocks_creates() -> None:
    reg, _, _ = make_registry()
    run(reg.create("namespaces", namespace("team")))
    run(reg.create("configmaps", configmap("c", ns="team")))
    out = run(reg.delete("namespaces", "team"))
    assert out["status"]["phase"] == "Terminating" and out["metadata"]["deletionTimestamp"]
    assert run(reg.get("namespaces", "team"))["status"]["phase"] == "Terminating"
    e = err(reg.create("configmaps", configmap("d", ns="team")))
    assert e.code == 403 and "because it is being terminated" in e.message
    # existing content can still be updated and deleted
    run(reg.patch("configmaps", "c", {"data": {"k": "v"}}, "team"))
    run(reg.delete("configmaps", "c", "team"))
    # waits for the namespace controller: spec.finalizers ["kubernetes"]
    run(reg.delete("namespaces", "team"))
    ns = run(reg.patch("namespaces", "team", {"metadata": {"labels": {"a": "b"}}}))
    assert ns["spec"]["finalizers"] == ["kubernetes"]
    # the controller's last step: finalize with no finalizers left removes it
    run(reg.update("namespaces", {**ns, "spec": {"finalizers": []}}, subresource="finalize"))
    assert err(reg.get("namespaces", "team")).code == 404


def test_immortal_namespace_cannot_be_deleted() -> None:
    reg, _, _ = make_registry()
    e = err(reg.delete("namespaces", "default"))
    assert (e.code, e.message) == (403, 'namespaces "default" is forbidden: this namespace '
                                        'may not be deleted')


# ---- services -------------------------------------------------------------------------


def service(name: str, typ: str = "ClusterIP", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"type": typ, "selector": {"app": name},
                     "ports": [{"port": 80, "targetPort": 8080}], **spec}}


def test_services_get_distinct_cluster_ips_and_node_ports() -> None:
    import ipaddress

    reg, _, _ = make_registry()
    a = run(reg.create("services", service("a")))
    b = run(reg.create("services", service("b", "NodePort")))
    ips = [s["spec"]["clusterIP"] for s in (a, b)]
    assert ips[0] != ips[1]
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/12") for ip in ips)
    assert a["spec"]["clusterIPs"] == [ips[0]] and "nodePort" not in a["spec"]["ports"][0]
    assert 30000 <= b["spec"]["ports"][0]["nodePort"] <= 32767
    headless = run(reg.create("services", service("h", clusterIP="None")))
    assert headless["spec"]["clusterIP"] == "None"
    ext = run(reg.create("services", {"apiVersion": "v1", "kind": "Service",
                                      "metadata": {"name": "x", "namespace": "default"},
                                      "spec": {"type": "ExternalName",
                                               "externalName": "example.com"}}))
    assert "clusterIP" not in ext["spec"]


def test_taken_service_ip_and_node_port_are_invalid() -> None:
    reg, _, _ = make_registry()
    a = run(reg.create("services", service("a", "NodePort")))
    e = err(reg.create("services", service("b", clusterIP=a["spec"]["clusterIP"])))
    assert e.code == 422 and (f'failed to allocate IP {a["spec"]["clusterIP"]}: provided IP is '
                              f'already allocated') in e.message
    port = a["spec"]["ports"][0]["nodePort"]
    c = service("c", "NodePort")
    c["spec"]["ports"][0]["nodePort"] = port
    e = err(reg.create("services", c))
    assert f"spec.ports[0].nodePort: Invalid value: {port}: provided port is already allocated" \
        in e.message
    e = err(reg.create("services", service("d", clusterIP="192.168.0.1")))
    assert "is not in the valid range" in e.message


def test_service_update_keeps_allocations_and_allocates_new_node_ports() -> None:
    reg, _, _ = make_registry()
    a = run(reg.create("services", service("a")))
    body = service("a")  # a replace without the allocated IP
    body["metadata"]["resourceVersion"] = a["metadata"]["resourceVersion"]
    out = run(reg.update("services", body))
    assert out["spec"]["clusterIP"] == a["spec"]["clusterIP"]
    np_ = run(reg.patch("services", "a", {"spec": {"type": "NodePort"}}, "default"))
    assert np_["spec"]["clusterIP"] == a["spec"]["clusterIP"]
    assert 30000 <= np_["spec"]["ports"][0]["nodePort"] <= 32767
