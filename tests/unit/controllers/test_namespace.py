"""Namespace controller: a deleted namespace is emptied (every namespaced resource, pods
given their grace period), its status conditions tell what is left and why, and once
nothing is left the ``kubernetes`` finalizer goes through namespaces/finalize and the
namespace is gone. Namespaces not being deleted are never touched."""

from __future__ import annotations

import asyncio
import copy
import random
from typing import Any

import pytest

from actors.api import errors
from actors.common.clock import FakeClock, rfc3339
from actors.controllers import namespace as nsc
from actors.controllers.loop import Action, Result, Runner, WatchEvent, build_controllers

from .fakes import T0, FakeCluster, make_deploy, make_pod

Obj = dict[str, Any]
NS = "shop"


class NsCluster(FakeCluster):
    """FakeCluster plus what the apiserver does for namespaces: the `kubernetes`
    finalizer on create, the first delete only marks Terminating, NamespaceLifecycle
    refuses creates in a terminating namespace, namespaces/finalize removes a
    namespace whose spec.finalizers empties; and the executor's `deletecollection`."""

    def create(self, resource: str, obj: Obj) -> Obj:
        if resource == "namespaces":
            obj = copy.deepcopy(obj)
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            obj.setdefault("status", {"phase": "Active"})
        elif resource != "events":
            ns = self.get("namespaces", "", obj["metadata"].get("namespace", "default"))
            if ns is not None and ns["metadata"].get("deletionTimestamp"):
                raise errors.APIError({"code": 403, "reason": "Forbidden", "message":
                                       f"unable to create new content in namespace "
                                       f"{ns['metadata']['name']} because it is being "
                                       f"terminated"})
        return super().create(resource, obj)

    def delete(self, resource: str, ns: str, name: str, propagation_policy: str | None = None,
               preconditions_uid: str | None = None,
               grace_period_seconds: int | None = None) -> Obj:
        if resource == "namespaces":
            cur = self._current(resource, "", name)
            if cur["metadata"].get("deletionTimestamp") or \
                    not (cur.get("spec") or {}).get("finalizers"):
                return copy.deepcopy(cur)
            new = copy.deepcopy(cur)
            new["metadata"]["deletionTimestamp"] = rfc3339(self.clock.now())
            new.setdefault("status", {})["phase"] = "Terminating"
            return self._put(cur, new)
        return super().delete(resource, ns, name, propagation_policy, preconditions_uid,
                              grace_period_seconds)

    def finalize(self, body: Obj) -> Obj:
        name = body["metadata"]["name"]
        old = self._current("namespaces", "", name)
        rv = body["metadata"].get("resourceVersion")
        if rv not in (None, old["metadata"]["resourceVersion"]):
            raise errors.conflict(self._info("namespaces"), name)
        new = copy.deepcopy(old)
        new["spec"]["finalizers"] = list(body["spec"].get("finalizers") or [])
        if not new["spec"]["finalizers"] and new["metadata"].get("deletionTimestamp"):
            del self.store["namespaces"][("", name)]
            self._emit(WatchEvent("DELETED", "namespaces", copy.deepcopy(new)))
            return new
        return self._put(old, new)

    def _replace(self, resource: str, old: Obj, new: Obj) -> Obj:
        if resource == "namespaces":  # held by spec.finalizers, not only metadata's
            fins = (new.get("spec") or {}).get("finalizers") or new["metadata"].get("finalizers")
            if fins:
                return self._put(old, new)
        return super()._replace(resource, old, new)

    def _put(self, old: Obj, new: Obj) -> Obj:
        new["metadata"]["resourceVersion"] = str(next(self._rv))
        self.store["namespaces"][("", new["metadata"]["name"])] = new
        self._emit(WatchEvent("MODIFIED", "namespaces", copy.deepcopy(new), copy.deepcopy(old)))
        return copy.deepcopy(new)

    def execute(self, a: Action) -> Obj | None:
        if a.verb == "update" and a.options.get("subresource") == "finalize":
            self.log.append(a)
            assert a.body is not None
            return self.finalize(a.body)
        if a.verb == "deletecollection":
            self.log.append(a)
            if self.fail is not None and (err := self.fail(a)) is not None:
                raise err
            for o in self.list(a.resource, a.namespace):
                if not o["metadata"].get("deletionTimestamp"):
                    self.delete(a.resource, a.namespace, o["metadata"]["name"],
                                a.options.get("propagation_policy"))
            if self.list(a.resource, a.namespace):
                raise RuntimeError(nsc.remaining_error(a.namespace, a.resource))
            return None
        return super().execute(a)


class World:
    def __init__(self, controllers: tuple[str, ...] = ("namespace",),
                 config: Obj | None = None) -> None:
        self.clock = FakeClock(T0)
        self.cluster = NsCluster(self.clock)
        self.cluster.graceful_pods = True  # pods wait for a "kubelet" (finish_terminating)
        self.controllers = {c.name: c for c in build_controllers(controllers, config)}
        self.runner = Runner(list(self.controllers.values()), self.cluster, random.Random(1),
                             recorder=self.cluster.record)
        self.cluster.listeners.append(self.runner.handle)

    def settle(self, until: float | None = None) -> None:
        """Run due keys; with `until` (seconds after T0), move the clock there."""
        self.runner.run_until_idle(self.cluster.execute, self.clock, advance=until is not None,
                                   until=None if until is None else T0 + until)

    def ns(self, name: str = NS) -> Obj | None:
        return self.cluster.get("namespaces", "", name)

    def conditions(self, name: str = NS) -> dict[str, Obj]:
        o = self.ns(name)
        assert o is not None
        return {c["type"]: c for c in (o.get("status") or {}).get("conditions") or []}

    def actions(self, verb: str | None = None) -> list[Action]:
        return [a for a in self.cluster.log if verb is None or a.verb == verb]

    def content(self, name: str = NS) -> dict[str, list[str]]:
        out = {}
        for r in nsc.content_resources():
            names = sorted(o["metadata"]["name"] for o in self.cluster.list(r, name))
            if names:
                out[r] = names
        return out


def namespace(name: str = NS) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def configmap(name: str, ns: str = NS, finalizers: list[str] | None = None) -> Obj:
    md: Obj = {"name": name, "namespace": ns}
    if finalizers:
        md["finalizers"] = list(finalizers)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md, "data": {"k": "v"}}


def event(name: str, ns: str = NS) -> Obj:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": ns},
            "involvedObject": {"kind": "Pod", "name": "x", "namespace": ns},
            "reason": "Started", "message": "m", "type": "Normal"}


def graceful_pod(name: str, grace: int = 30, ns: str = NS, **kw: Any) -> Obj:
    p = make_pod(name, ns=ns, **kw)
    p["spec"]["terminationGracePeriodSeconds"] = grace
    return p


def ok(conds: dict[str, Obj]) -> dict[str, tuple[str, str]]:
    return {t: (c["status"], c["reason"]) for t, c in conds.items()}


ALL_OK = {nsc.DISCOVERY_FAILURE: ("False", "ResourcesDiscovered"),
          nsc.GV_PARSING_FAILURE: ("False", "ParsedGroupVersions"),
          nsc.CONTENT_FAILURE: ("False", "ContentDeleted"),
          nsc.CONTENT_REMAINING: ("False", "ContentRemoved"),
          nsc.FINALIZERS_REMAINING: ("False", "ContentRemoved")}


# ---- the story ----------------------------------------------------------------------------


def test_a_deleted_namespace_is_emptied_then_finalized() -> None:
    w = World(("replicaset", "deployment", "garbagecollector", "namespace"))
    w.cluster.add("namespaces", namespace())
    w.cluster.add("namespaces", namespace("other"))
    d = make_deploy("web", ns=NS, replicas=3)
    d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 30
    w.cluster.add("deployments", d)
    for i in range(2):
        w.cluster.add("configmaps", configmap(f"cm{i}"))
    w.cluster.add("configmaps", configmap("keep", ns="other"))
    w.cluster.add("events", event("e1"))
    w.settle()
    w.cluster.run_pods()
    w.settle()
    assert w.content() == {"pods": w.content()["pods"], "replicasets": w.content()["replicasets"],
                           "deployments": ["web"], "configmaps": ["cm0", "cm1"],
                           "events": ["e1"]}
    assert len(w.content()["pods"]) == 3
    assert not w.actions("deletecollection")  # nothing done before the delete

    w.cluster.delete("namespaces", "", NS)
    w.settle(until=4.9)  # namespaceDeletionGracePeriod: nothing yet
    assert len(w.content()) == 5
    w.settle(until=5.0)  # one pass: every object deleted, in Background
    deletes = w.actions("delete")
    assert {(a.resource, a.name) for a in deletes if a.resource != "pods"} >= {
        ("deployments", "web"), ("configmaps", "cm0"), ("configmaps", "cm1")}
    assert all(a.options["propagation_policy"] == "Background" for a in deletes)
    assert [a.resource for a in w.actions("deletecollection")] == ["events"]
    assert w.content() == {"pods": w.content()["pods"]}  # pods wait for their kubelet
    assert all(p["metadata"].get("deletionTimestamp") for p in w.cluster.list("pods", NS))

    w.settle(until=6.0)  # the next pass reports the pods, waits 30/2 + 1 s for them
    conds = w.conditions()
    assert ok(conds)[nsc.CONTENT_REMAINING] == ("True", "SomeResourcesRemain")
    assert conds[nsc.CONTENT_REMAINING]["message"] == \
        "Some resources are remaining: pods. has 3 resource instances"
    assert ok(conds)[nsc.FINALIZERS_REMAINING] == ("False", "ContentRemoved")
    assert ok(conds)[nsc.CONTENT_FAILURE] == ("False", "ContentDeleted")
    assert (w.ns() or {}).get("spec", {}).get("finalizers") == ["kubernetes"]
    assert not w.actions("update")

    w.clock.advance(2.0)
    assert w.cluster.finish_terminating() == 3  # the kubelet confirms
    w.settle(until=9.0)  # woken by the pods' deletion: nothing left → finalize
    assert w.ns() is None
    (fin,) = w.actions("update")
    assert fin.options == {"subresource": "finalize"} and fin.body is not None
    assert fin.body["spec"]["finalizers"] == []
    assert w.content() == {}
    # the other namespace and its content are untouched
    assert w.ns("other") is not None and w.content("other") == {"configmaps": ["keep"]}


def test_conditions_are_set_before_the_finalizer_goes() -> None:
    w = World()
    w.cluster.add("namespaces", namespace())
    w.cluster.add("configmaps", configmap("cm"))
    w.cluster.delete("namespaces", "", NS)
    statuses: list[Obj] = []
    w.cluster.listeners.append(
        lambda ev, now: statuses.append(copy.deepcopy(ev.obj))
        if ev.resource == "namespaces" and ev.type == "MODIFIED" else None)
    w.settle(until=10.0)
    assert w.ns() is None
    assert statuses and ok({c["type"]: c for c in statuses[-1]["status"]["conditions"]}) == ALL_OK
    assert statuses[-1]["status"]["phase"] == "Terminating"
    verbs = [a.verb for a in w.actions() if a.resource == "namespaces"]
    assert verbs == ["update_status", "update"]  # conditions, then finalize


def test_content_held_by_finalizers_is_reported_and_waited_for() -> None:
    w = World()
    w.cluster.add("namespaces", namespace())
    w.cluster.add("configmaps", configmap("held", finalizers=["example.com/hold"]))
    w.cluster.add("configmaps", configmap("held2", finalizers=["example.com/hold"]))
    w.cluster.add("secrets", {"apiVersion": "v1", "kind": "Secret",
                              "metadata": {"name": "s", "namespace": NS,
                                           "finalizers": ["example.com/other"]}})
    w.cluster.delete("namespaces", "", NS)
    w.settle(until=6.0)
    conds = w.conditions()
    assert ok(conds)[nsc.CONTENT_REMAINING] == ("True", "SomeResourcesRemain")
    assert conds[nsc.CONTENT_REMAINING]["message"] == (
        "Some resources are remaining: configmaps. has 2 resource instances, "
        "secrets. has 1 resource instances")
    assert ok(conds)[nsc.FINALIZERS_REMAINING] == ("True", "SomeFinalizersRemain")
    assert conds[nsc.FINALIZERS_REMAINING]["message"] == (
        "Some content in the namespace has finalizers remaining: example.com/hold in 2 "
        "resource instances, example.com/other in 1 resource instances")
    # finalizerEstimateSeconds 15 → requeued 15/2 + 1 = 8 s later (the status write's own
    # event asks for 5 s: the earlier wins)
    q = w.runner.queues["namespace"]
    assert q.next_deadline(w.clock.now()) == pytest.approx(T0 + 11.0)
    w.settle(until=60.0)
    assert (w.ns() or {}).get("spec", {}).get("finalizers") == ["kubernetes"]
    n_deletes = len(w.actions("delete"))
    assert n_deletes == 3  # objects already being deleted are not deleted again
    # their owners let go: the namespace follows
    for r, n in (("configmaps", "held"), ("configmaps", "held2"), ("secrets", "s")):
        w.cluster.patch(r, NS, n, {"metadata": {"finalizers": None}}, "merge")
    w.settle(until=62.0)
    assert w.ns() is None


def test_pods_past_their_grace_period_are_a_content_failure() -> None:
    w = World()
    w.cluster.add("namespaces", namespace())
    w.cluster.add("pods", graceful_pod("p", grace=10, node="node-1", phase="Running"))
    w.cluster.delete("namespaces", "", NS)
    w.settle(until=8.0)  # within the grace: waiting, no failure
    assert ok(w.conditions())[nsc.CONTENT_FAILURE] == ("False", "ContentDeleted")
    assert ok(w.conditions())[nsc.CONTENT_REMAINING] == ("True", "SomeResourcesRemain")
    w.settle(until=30.0)  # the kubelet never confirms
    conds = w.conditions()
    assert ok(conds)[nsc.CONTENT_FAILURE] == ("True", "ContentDeletionFailed")
    assert conds[nsc.CONTENT_FAILURE]["message"] == (
        "Failed to delete all resource types, 1 remaining: unexpected items still remain in "
        "namespace: shop for gvr: /v1, Resource=pods")
    assert w.runner.queues["namespace"].num_requeues(NS) > 0  # rate-limited retries
    w.cluster.finish_terminating()
    w.settle(until=32.0)
    assert w.ns() is None


def test_a_failed_delete_is_reported_and_retried() -> None:
    w = World()
    w.cluster.add("namespaces", namespace())
    w.cluster.add("configmaps", configmap("cm"))
    w.cluster.add("events", event("e1"))
    calls = {"n": 0}

    def fail(a: Action) -> BaseException | None:
        if a.verb == "delete" and a.resource == "configmaps" and calls["n"] < 2:
            calls["n"] += 1
            return errors.APIError({"code": 500, "reason": "InternalError",
                                    "message": "etcdserver: request timed out"})
        return None
    w.cluster.fail = fail
    w.cluster.delete("namespaces", "", NS)
    w.settle(until=5.0)  # pass 1 fails; the rate-limited retry reports it
    w.settle(until=5.006)
    conds = w.conditions()
    assert ok(conds)[nsc.CONTENT_FAILURE] == ("True", "ContentDeletionFailed")
    assert conds[nsc.CONTENT_FAILURE]["message"] == (
        "Failed to delete all resource types, 1 remaining: etcdserver: request timed out")
    w.settle(until=20.0)
    assert w.ns() is None and w.content() == {}


def test_unwatched_content_is_deleted_live() -> None:
    w = World(config={"namespaceResources": ["pods"]})
    c = w.controllers["namespace"]
    assert isinstance(c, nsc.NamespaceController)
    assert c.watches == ("namespaces", "pods")
    assert "configmaps" in c.content_live and "events" in c.content_live
    w.cluster.add("namespaces", namespace())
    w.cluster.add("configmaps", configmap("cm"))
    w.cluster.add("configmaps", configmap("held", finalizers=["example.com/hold"]))
    w.cluster.delete("namespaces", "", NS)
    w.settle(until=30.0)
    # the held configmap stays: every pass fails, and the namespace is not finalized
    assert w.ns() is not None and w.content() == {"configmaps": ["held"]}
    assert ok(w.conditions())[nsc.CONTENT_FAILURE] == ("True", "ContentDeletionFailed")
    assert "for gvr: /v1, Resource=configmaps" in \
        w.conditions()[nsc.CONTENT_FAILURE]["message"]
    w.cluster.patch("configmaps", NS, "held", {"metadata": {"finalizers": None}}, "merge")
    w.settle(until=200.0)
    assert w.ns() is None


def test_a_namespace_not_being_deleted_is_left_alone() -> None:
    w = World(("replicaset", "deployment", "garbagecollector", "namespace"))
    w.cluster.add("namespaces", namespace())
    w.cluster.add("deployments", make_deploy("web", ns=NS, replicas=2))
    w.cluster.add("configmaps", configmap("cm"))
    w.settle(until=60.0)
    cur = w.ns()
    assert cur is not None and "conditions" not in cur["status"]
    assert cur["status"]["phase"] == "Active"
    assert w.runner.stats["namespace"].reconciles == 0
    assert not [a for a in w.actions() if a.resource in ("namespaces", "configmaps")
                or a.verb == "deletecollection"]
    assert len(w.content()["pods"]) == 2
    # a label change is no deletion either
    lbl = copy.deepcopy(cur)
    lbl["metadata"]["labels"] = {"team": "a"}
    w.cluster.update("namespaces", lbl)
    w.settle(until=120.0)
    assert w.runner.stats["namespace"].reconciles == 0


def test_already_finalized_or_gone_namespaces_need_nothing() -> None:
    c = nsc.NamespaceController()
    cl = NsCluster(FakeClock(T0))
    rng = random.Random(1)
    assert c.reconcile("nope", cl, T0, rng) == ([], Result())
    ns = namespace("x")
    ns["spec"] = {"finalizers": []}
    ns["metadata"]["deletionTimestamp"] = rfc3339(T0)
    ns["metadata"]["finalizers"] = ["foregroundDeletion"]
    cl.store["namespaces"][("", "x")] = ns
    assert c.reconcile("x", cl, T0, rng) == ([], Result())


def test_other_spec_finalizers_are_kept() -> None:
    w = World()
    ns = namespace()
    ns["spec"] = {"finalizers": ["kubernetes", "example.com/z", "example.com/a"]}
    w.cluster.add("namespaces", ns)
    w.cluster.delete("namespaces", "", NS)
    w.settle(until=10.0)
    cur = w.ns()
    assert cur is not None and cur["spec"]["finalizers"] == ["example.com/a", "example.com/z"]
    n = len(w.actions("update"))
    w.settle(until=60.0)  # our token is gone: nothing more to finalize
    assert len(w.actions("update")) == n


def test_periods_are_scaled() -> None:
    w = World(config={"time_scale": 0.1})
    w.cluster.add("namespaces", namespace())
    w.cluster.add("configmaps", configmap("cm"))
    w.cluster.delete("namespaces", "", NS)
    w.settle(until=0.49)
    assert w.content() == {"configmaps": ["cm"]}
    w.settle(until=0.61)  # 0.5 s grace, 0.1 s settle
    assert w.ns() is None


# ---- the pure pieces ----------------------------------------------------------------------


def test_pod_grace_estimate() -> None:
    pods = [graceful_pod("a", 30), graceful_pod("b", 60, phase="Running"),
            graceful_pod("c", 90, phase="Succeeded"), make_pod("d")]
    assert nsc.pod_grace_estimate(pods, T0, T0 + 10) == 60  # terminal pods do not count
    assert nsc.pod_grace_estimate(pods, T0, T0 + 60) == 0  # that long has passed
    assert nsc.pod_grace_estimate(pods, T0, T0 + 6, time_scale=0.1) == 0
    assert nsc.pod_grace_estimate(pods, T0, T0 + 5.9, time_scale=0.1) == 60
    assert nsc.pod_grace_estimate([], T0, T0) == 0


def test_update_conditions_moves_transition_time_only_with_the_status() -> None:
    status: Obj = {"phase": "Terminating"}
    assert nsc.update_conditions(status, [], T0)
    assert [c["type"] for c in status["conditions"]] == list(nsc.CONDITION_TYPES)
    assert not nsc.update_conditions(status, [], T0 + 1)  # nothing changed
    new = nsc.failure_conditions({"pods": 2}, {}, [], T0 + 2)
    assert nsc.update_conditions(status, new, T0 + 2)
    cr = next(c for c in status["conditions"] if c["type"] == nsc.CONTENT_REMAINING)
    assert cr["lastTransitionTime"] == rfc3339(T0 + 2)
    new = nsc.failure_conditions({"pods": 1}, {}, [], T0 + 3)  # only the message changes
    assert nsc.update_conditions(status, new, T0 + 3)
    cr = next(c for c in status["conditions"] if c["type"] == nsc.CONTENT_REMAINING)
    assert cr["lastTransitionTime"] == rfc3339(T0 + 2)
    assert cr["message"] == "Some resources are remaining: pods. has 1 resource instances"
    other = next(c for c in status["conditions"] if c["type"] == nsc.DISCOVERY_FAILURE)
    assert other["lastTransitionTime"] == rfc3339(T0)


def test_failure_conditions_match_upstream_wording() -> None:
    conds = {c["type"]: c for c in nsc.failure_conditions(
        {"deployments": 1, "pods": 2}, {"b": 1, "a": 2}, ["z failed", "a failed"], T0,
        discovery_error="unable to retrieve the complete list of server APIs",
        gv_error="bad gv")}
    assert (conds[nsc.DISCOVERY_FAILURE]["reason"], conds[nsc.GV_PARSING_FAILURE]["reason"]) \
        == ("DiscoveryFailed", "GroupVersionParsingFailed")
    assert conds[nsc.CONTENT_FAILURE]["message"] == \
        "Failed to delete all resource types, 2 remaining: a failed, z failed"
    assert conds[nsc.CONTENT_REMAINING]["message"] == ("Some resources are remaining: "
                                                       "deployments.apps has 1 resource "
                                                       "instances, pods. has 2 resource "
                                                       "instances")
    assert conds[nsc.FINALIZERS_REMAINING]["message"] == (
        "Some content in the namespace has finalizers remaining: a in 2 resource instances, "
        "b in 1 resource instances")
    assert all(c["status"] == "True" for c in conds.values())


def test_unknown_watched_resources_are_refused() -> None:
    with pytest.raises(ValueError, match="nodes"):
        build_controllers(["namespace"], {"namespaceResources": ["nodes"]})


# ---- the executor's side (actors.controllers.actor) ----------------------------------------


class _Client:
    def __init__(self, cluster: NsCluster) -> None:
        self.cluster = cluster
        self.calls: list[tuple[Any, ...]] = []

    async def list_all(self, resource: str, namespace: str | None = None) -> Obj:
        self.calls.append(("list", resource, namespace))
        return {"items": copy.deepcopy(self.cluster.list(resource, namespace))}

    async def delete(self, resource: str, name: str, namespace: str | None = None,
                     grace_period_seconds: int | None = None,
                     propagation_policy: str | None = None,
                     preconditions_uid: str | None = None) -> Obj:
        self.calls.append(("delete", resource, name, propagation_policy))
        return self.cluster.delete(resource, namespace or "", name, propagation_policy,
                                   preconditions_uid)

    async def update(self, resource: str, obj: Obj, subresource: str = "") -> Obj:
        self.calls.append(("update", resource, subresource))
        assert subresource == "finalize"
        return self.cluster.finalize(obj)


def test_the_controller_manager_carries_out_deletecollection_and_finalize() -> None:
    from actors.controllers.actor import DEFAULT_CONTROLLERS, ControllerManager
    assert "namespace" in DEFAULT_CONTROLLERS
    cluster = NsCluster(FakeClock(T0))
    cluster.add("namespaces", namespace())
    for i in range(3):
        cluster.add("events", event(f"e{i}"))
    cluster.add("events", event("x", ns="other"))
    cluster.add("configmaps", configmap("held", finalizers=["example.com/hold"]))
    client = _Client(cluster)
    cm = ControllerManager({"apiserver": "fake"}, client=client)

    async def main() -> None:
        await cm._do(Action("deletecollection", "events", NS, "",
                            options={"propagation_policy": "Background"}))
        assert cluster.list("events", NS) == [] and len(cluster.list("events", "other")) == 1
        assert ("delete", "events", "e0", "Background") in client.calls
        with pytest.raises(RuntimeError, match="unexpected items still remain in namespace: "
                                               "shop for gvr: /v1, Resource=configmaps"):
            await cm._do(Action("deletecollection", "configmaps", NS, ""))
        cluster.patch("configmaps", NS, "held", {"metadata": {"finalizers": None}}, "merge")
        cluster.delete("namespaces", "", NS)
        cur = cluster.get("namespaces", "", NS)
        assert cur is not None
        await cm._do(Action("update", "namespaces", "", NS, nsc.finalize_body(cur),
                            options={"subresource": "finalize"}))
        assert cluster.get("namespaces", "", NS) is None
    asyncio.run(main())


def test_against_the_real_registry() -> None:
    """The controller's writes as kubemu's apiserver takes them: the status subresource
    keeps the conditions, namespaces/finalize with no finalizer left removes it."""
    from actors.apiserver.registry import Registry
    from actors.apiserver.storage import MemoryKV
    from actors.controllers.actor import ControllerManager
    from actors.controllers.loop import Execution

    clock = FakeClock(T0)
    reg = Registry(MemoryKV(), clock=clock, rng=random.Random(7))
    loop = asyncio.new_event_loop()
    run = loop.run_until_complete

    class View:
        def get(self, resource: str, namespace: str, name: str) -> Obj | None:
            try:
                return run(reg.get(resource, name, namespace or None))
            except errors.APIError as e:
                if e.code == 404:
                    return None
                raise

        def list(self, resource: str, namespace: str | None = None,
                 selector: Any = None) -> list[Obj]:
            return list(run(reg.list(resource, namespace))["items"])

    class Client:
        async def list_all(self, resource: str, namespace: str | None = None) -> Obj:
            return await reg.list(resource, namespace)

        async def delete(self, resource: str, name: str, namespace: str | None = None,
                         grace_period_seconds: int | None = None,
                         propagation_policy: str | None = None,
                         preconditions_uid: str | None = None) -> Obj:
            return await reg.delete(resource, name, namespace, grace_period_seconds,
                                    propagation_policy, preconditions_uid)

        async def update(self, resource: str, obj: Obj, subresource: str = "") -> Obj:
            return await reg.update(resource, obj, subresource=subresource)

    try:
        run(reg.create("namespaces", namespace()))
        run(reg.create("configmaps", configmap("cm")))
        run(reg.create("pods", graceful_pod("p", grace=30, node="node-1")))
        run(reg.create("deployments", make_deploy("web", ns=NS)))
        run(reg.create("events", event("e")))
        run(reg.delete("namespaces", NS))
        c, view = nsc.NamespaceController(), View()
        cm = ControllerManager({"apiserver": "fake"}, client=Client())

        def one_pass() -> Result:
            clock.advance(5.0)
            actions, result = c.reconcile(NS, view, clock.now(), random.Random(1))
            ex = Execution("namespace", NS, actions, result)
            while (step := ex.next_step()) is not None:
                for a in step:
                    try:
                        ex.record(a, run(cm._do(a)), None)
                    except Exception as e:
                        ex.record(a, None, e)
            assert not ex.failed, ex.errors
            for a, err, _ in ex.outcomes:
                c.action_done(NS, a, err, clock.now())
            return result

        assert one_pass().requeue_after == 1.0  # everything deleted; the pod is graceful
        assert [o["metadata"]["name"] for o in view.list("pods", NS)] == ["p"]
        assert not view.list("events", NS) and not view.list("configmaps", NS)
        assert one_pass().requeue_after == 16.0  # 30 s grace: 30/2 + 1
        cur = view.get("namespaces", "", NS)
        assert cur is not None and cur["status"]["phase"] == "Terminating"
        assert ok({x["type"]: x for x in cur["status"]["conditions"]})[nsc.CONTENT_REMAINING] \
            == ("True", "SomeResourcesRemain")
        run(reg.delete("pods", "p", NS, grace_period_seconds=0))  # the kubelet is done
        assert one_pass() == Result()
        assert view.get("namespaces", "", NS) is None
    finally:
        loop.close()


def test_a_big_namespace_is_deleted_in_chunks() -> None:
    w = World()
    w.cluster.add("namespaces", namespace())
    for i in range(250):
        w.cluster.add("configmaps", configmap(f"cm{i:03d}"))
    w.cluster.delete("namespaces", "", NS)
    w.settle(until=5.0)
    batches = [a.batch for a in w.actions() if a.verb in ("delete", "deletecollection")]
    assert batches == [0] * 100 + [1] * 100 + [2] * 51  # 250 deletes + events, in order
    assert w.content() == {}
    w.settle(until=6.0)
    assert w.ns() is None
