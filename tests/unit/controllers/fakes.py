"""Test doubles for the controllers: an in-memory cluster and object builders.

`FakeCluster` is both the `View` (informer caches) and the executor of `Action`s,
behaving like the apiserver where the controllers care: uids, resourceVersions,
generation bumps on spec changes, optimistic concurrency (409), AlreadyExists,
status subresource, merge/JSON patches, and deletion with finalizers and
propagationPolicy (Foreground → ``foregroundDeletion``, Orphan → ``orphan``). Every
write becomes a watch event handed to the listeners (the `Runner`), at once or —
with ``deliver=False`` — held back to simulate a lagging informer.
"""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any, Callable

from actors.api import errors
from actors.api.resources import RESOURCES
from actors.common.clock import FakeClock, rfc3339
from actors.controllers.loop import Action, OwnerExists, WatchEvent

Obj = dict[str, Any]


# ---- JSON patch (RFC 6902), enough for the controllers' patches -------------------------------

def _walk(doc: Any, path: str) -> tuple[Any, str]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
    cur = doc
    for p in parts[:-1]:
        cur = cur[int(p)] if isinstance(cur, list) else cur[p]
    return cur, parts[-1]


def json_patch(doc: Obj, ops: list[Obj]) -> Obj:
    doc = copy.deepcopy(doc)
    for op in ops:
        parent, last = _walk(doc, op["path"])
        kind = op["op"]
        try:
            if kind == "test":
                cur = parent[int(last)] if isinstance(parent, list) else parent.get(last)
                if cur != op["value"]:
                    raise errors.APIError({"code": 422, "reason": "Invalid",
                                           "message": f"test failed at {op['path']}"})
            elif kind == "add":
                if isinstance(parent, list):
                    if last == "-":
                        parent.append(copy.deepcopy(op["value"]))
                    else:
                        parent.insert(int(last), copy.deepcopy(op["value"]))
                else:
                    parent[last] = copy.deepcopy(op["value"])
            elif kind == "remove":
                if isinstance(parent, list):
                    parent.pop(int(last))
                else:
                    del parent[last]
            elif kind == "replace":
                if isinstance(parent, list):
                    parent[int(last)] = copy.deepcopy(op["value"])
                else:
                    if last not in parent:
                        raise KeyError(last)
                    parent[last] = copy.deepcopy(op["value"])
            else:
                raise ValueError(kind)
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise errors.APIError({"code": 422, "reason": "Invalid",
                                   "message": f"json patch {kind} {op['path']}: {e}"}) from None
    return doc


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


# ---- the fake cluster -----------------------------------------------------------------------------

Listener = Callable[[WatchEvent, float], None]


class FakeCluster:
    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()
        self.store: dict[str, dict[tuple[str, str], Obj]] = {r: {} for r in RESOURCES}
        self._rv = itertools.count(100)
        self._uid = itertools.count(1)
        self.listeners: list[Listener] = []
        self.deliver = True
        self.pending: list[WatchEvent] = []
        self.log: list[Action] = []  # every action executed
        self.fail: Callable[[Action], BaseException | None] | None = None
        self.events: list[tuple[str, Any]] = []  # (controller, EventSpec) recorded
        # upstream's deployment status strategy keeps the body's annotations; kubemu's
        # apiserver (so far) stores only the status: False mimics that
        self.status_keeps_annotations = True
        self.graceful_pods = False  # pod deletes only set deletionTimestamp (a kubelet's grace)

    # -- View --
    def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        return self.store[resource].get((namespace, name))

    def list(self, resource: str, namespace: str | None = None, selector: Any = None) -> list[Obj]:
        out = [o for (ns, _), o in self.store[resource].items()
               if namespace is None or ns == namespace]
        if selector is not None:
            out = [o for o in out if selector.matches(o["metadata"].get("labels") or {})]
        return out

    # -- events --
    def _emit(self, ev: WatchEvent) -> None:
        if not self.deliver:
            self.pending.append(ev)
            return
        for fn in self.listeners:
            fn(ev, self.clock.now())

    def flush(self) -> None:
        pend, self.pending = self.pending, []
        for ev in pend:
            for fn in self.listeners:
                fn(ev, self.clock.now())

    def record(self, controller: str, spec: Any, now: float) -> None:
        self.events.append((controller, spec))

    def event_messages(self, reason: str | None = None) -> list[str]:
        return [s.message for _, s in self.events if reason is None or s.reason == reason]

    # -- the API --
    def _info(self, resource: str) -> Any:
        return RESOURCES[resource]

    def add(self, resource: str, obj: Obj) -> Obj:
        """Create an object directly (test setup); keeps a given uid/creationTimestamp."""
        return self.create(resource, obj)

    def create(self, resource: str, obj: Obj) -> Obj:
        obj = copy.deepcopy(obj)
        md = obj.setdefault("metadata", {})
        ns = md.get("namespace", "default") if self._info(resource).namespaced else ""
        if ns:
            md["namespace"] = ns
        key = (ns, md["name"])
        if key in self.store[resource]:
            raise errors.already_exists(self._info(resource), md["name"])
        md.setdefault("uid", f"uid-{next(self._uid):04d}")
        md.setdefault("creationTimestamp", rfc3339(self.clock.now()))
        md["resourceVersion"] = str(next(self._rv))
        md.setdefault("generation", 1)
        self.store[resource][key] = obj
        self._emit(WatchEvent("ADDED", resource, copy.deepcopy(obj)))
        return copy.deepcopy(obj)

    def _current(self, resource: str, ns: str, name: str) -> Obj:
        cur = self.store[resource].get((ns, name))
        if cur is None:
            raise errors.not_found(self._info(resource), name)
        return cur

    def _replace(self, resource: str, old: Obj, new: Obj) -> Obj:
        md = new["metadata"]
        md["resourceVersion"] = str(next(self._rv))
        if json.dumps(old.get("spec"), sort_keys=True) != json.dumps(new.get("spec"), sort_keys=True):
            md["generation"] = int(old["metadata"].get("generation", 1)) + 1
        key = (md.get("namespace", ""), md["name"])
        if md.get("deletionTimestamp") and not md.get("finalizers"):
            del self.store[resource][key]
            self._emit(WatchEvent("DELETED", resource, copy.deepcopy(new)))
            return copy.deepcopy(new)
        self.store[resource][key] = new
        self._emit(WatchEvent("MODIFIED", resource, copy.deepcopy(new), copy.deepcopy(old)))
        return copy.deepcopy(new)

    def update(self, resource: str, obj: Obj, status: bool = False) -> Obj:
        md = obj["metadata"]
        ns = md.get("namespace", "")
        old = self._current(resource, ns, md["name"])
        if md.get("resourceVersion") and md["resourceVersion"] != old["metadata"]["resourceVersion"]:
            raise errors.conflict(self._info(resource), md["name"])
        new = copy.deepcopy(obj)
        for k in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
            if k in old["metadata"]:
                new["metadata"][k] = old["metadata"][k]
            else:
                new["metadata"].pop(k, None)
        if self._info(resource).has_status:
            if status:  # status subresource: spec and labels stay
                new["spec"] = copy.deepcopy(old.get("spec"))
                new["metadata"]["labels"] = copy.deepcopy(old["metadata"].get("labels"))
                if not self.status_keeps_annotations:
                    new["metadata"]["annotations"] = copy.deepcopy(
                        old["metadata"].get("annotations"))
            else:
                new["status"] = copy.deepcopy(old.get("status"))
                if new["status"] is None:
                    new.pop("status")
        return self._replace(resource, old, new)

    def patch(self, resource: str, ns: str, name: str, patch: Any, patch_type: str) -> Obj:
        old = self._current(resource, ns, name)
        if patch_type == "json":
            new = json_patch(old, patch)
        else:
            rv = ((patch or {}).get("metadata") or {}).get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:  # the caller's precondition
                raise errors.conflict(self._info(resource), name)
            new = merge_patch(old, patch)
        return self._replace(resource, old, new)

    def delete(self, resource: str, ns: str, name: str, propagation_policy: str | None = None,
               preconditions_uid: str | None = None,
               grace_period_seconds: int | None = None) -> Obj:
        cur = self._current(resource, ns, name)
        if preconditions_uid and cur["metadata"]["uid"] != preconditions_uid:
            raise errors.conflict(self._info(resource), name, "Precondition failed: UID")
        fins = list(cur["metadata"].get("finalizers") or [])
        if resource == "pods" and grace_period_seconds == 0 and not fins:  # a force delete
            del self.store[resource][(ns, name)]
            self._emit(WatchEvent("DELETED", resource, copy.deepcopy(cur)))
            return copy.deepcopy(cur)
        if resource == "pods" and self.graceful_pods and not cur["metadata"].get("deletionTimestamp"):
            new = copy.deepcopy(cur)
            new["metadata"]["deletionTimestamp"] = rfc3339(self.clock.now())
            self.store[resource][(ns, name)] = new
            new["metadata"]["resourceVersion"] = str(next(self._rv))
            self._emit(WatchEvent("MODIFIED", resource, copy.deepcopy(new), copy.deepcopy(cur)))
            return copy.deepcopy(new)
        if propagation_policy == "Foreground" and "foregroundDeletion" not in fins:
            fins.append("foregroundDeletion")
        if propagation_policy == "Orphan" and "orphan" not in fins:
            fins.append("orphan")
        if not fins:
            del self.store[resource][(ns, name)]
            self._emit(WatchEvent("DELETED", resource, copy.deepcopy(cur)))
            return copy.deepcopy(cur)
        if cur["metadata"].get("deletionTimestamp") and fins == cur["metadata"].get("finalizers"):
            return copy.deepcopy(cur)
        new = copy.deepcopy(cur)
        new["metadata"]["finalizers"] = fins
        new["metadata"].setdefault("deletionTimestamp", rfc3339(self.clock.now()))
        return self._replace(resource, cur, new)

    # -- the executor the Runner calls --
    def execute(self, a: Action) -> Obj | None:
        self.log.append(a)
        if self.fail is not None:
            err = self.fail(a)
            if err is not None:
                raise err
        for chk in a.options.get("if_absent") or []:
            o = self.get(chk["resource"], chk["namespace"], chk["name"])
            if o is not None and (chk.get("any_uid") or o["metadata"]["uid"] == chk["uid"]):
                raise OwnerExists(f'{chk["resource"]} "{chk["name"]}"')
        if a.verb == "create":
            assert a.body is not None
            return self.create(a.resource, a.body)
        if a.verb in ("update", "update_status"):
            assert a.body is not None
            return self.update(a.resource, a.body, status=a.verb == "update_status")
        if a.verb == "patch":
            return self.patch(a.resource, a.namespace, a.name, a.options["patch"],
                              a.options.get("patch_type", "merge"))
        if a.verb == "delete":
            return self.delete(a.resource, a.namespace, a.name,
                               a.options.get("propagation_policy"),
                               a.options.get("preconditions_uid"),
                               a.options.get("grace_period_seconds"))
        raise AssertionError(a.verb)

    # -- a kubelet stand-in --
    def finish_terminating(self) -> int:
        """Remove the pods whose graceful deletion started (the kubelet confirmed)."""
        n = 0
        for (ns, name), p in list(self.store["pods"].items()):
            if p["metadata"].get("deletionTimestamp") and not p["metadata"].get("finalizers"):
                del self.store["pods"][(ns, name)]
                self._emit(WatchEvent("DELETED", "pods", copy.deepcopy(p)))
                n += 1
        return n

    def set_pod_status(self, pod: Obj, *, phase: str = "Running", ready: bool = True,
                       node: str | None = "node-1", ready_at: float | None = None,
                       restarts: int = 0) -> Obj:
        cur = copy.deepcopy(self._current("pods", pod["metadata"].get("namespace", ""),
                                          pod["metadata"]["name"]))
        if node is not None:
            cur.setdefault("spec", {})["nodeName"] = node
        t = rfc3339(self.clock.now() if ready_at is None else ready_at)
        cur["status"] = {"phase": phase,
                         "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                         "lastTransitionTime": t}],
                         "containerStatuses": [{"name": "c", "restartCount": restarts}]}
        return self.update("pods", cur, status=True)

    def run_pods(self, ready: bool = True, node: str = "node-1") -> int:
        """Make every not-yet-ready pod Running (and Ready)."""
        n = 0
        for p in list(self.store["pods"].values()):
            st = p.get("status") or {}
            if p["metadata"].get("deletionTimestamp"):
                continue
            is_ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                           for c in st.get("conditions") or [])
            if st.get("phase") == "Running" and is_ready == ready:
                continue
            self.set_pod_status(p, ready=ready, node=node)
            n += 1
        return n


# ---- builders ---------------------------------------------------------------------------------------

T0 = 1_700_000_000.0


def make_pod(name: str, *, ns: str = "default", labels: dict[str, str] | None = None,
             owner: Obj | None = None, node: str | None = None, phase: str = "Pending",
             ready: bool = False, ready_at: float | None = None, created: float | None = None,
             restarts: int = 0, uid: str | None = None, deletion_cost: int | None = None,
             deleting: bool = False) -> Obj:
    md: Obj = {"name": name, "namespace": ns, "labels": dict(labels or {"app": "web"}),
               "uid": uid or f"pod-uid-{name}"}
    if created is not None:
        md["creationTimestamp"] = rfc3339(created)
    if owner is not None:
        md["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                  "name": owner["metadata"]["name"],
                                  "uid": owner["metadata"]["uid"], "controller": True,
                                  "blockOwnerDeletion": True}]
    if deletion_cost is not None:
        md["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": str(deletion_cost)}
    if deleting:
        md["deletionTimestamp"] = rfc3339(T0)
    spec: Obj = {"containers": [{"name": "c", "image": "nginx"}]}
    if node:
        spec["nodeName"] = node
    status: Obj = {"phase": phase}
    if ready or ready_at is not None:
        status["conditions"] = [{"type": "Ready", "status": "True" if ready else "False",
                                 "lastTransitionTime": rfc3339(ready_at or T0)}]
    if restarts:
        status["containerStatuses"] = [{"name": "c", "restartCount": restarts}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec, "status": status}


def make_rs(name: str = "web", *, replicas: int = 3, ns: str = "default",
            labels: dict[str, str] | None = None, selector: Obj | None = None,
            owner: Obj | None = None, uid: str | None = None, min_ready_seconds: int = 0,
            image: str = "nginx") -> Obj:
    lbls = dict(labels or {"app": "web"})
    md: Obj = {"name": name, "namespace": ns, "labels": dict(lbls), "uid": uid or f"rs-uid-{name}"}
    if owner is not None:
        md["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner["kind"],
                                  "name": owner["metadata"]["name"],
                                  "uid": owner["metadata"]["uid"], "controller": True,
                                  "blockOwnerDeletion": True}]
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": md,
            "spec": {"replicas": replicas, "minReadySeconds": min_ready_seconds,
                     "selector": selector or {"matchLabels": dict(lbls)},
                     "template": {"metadata": {"labels": dict(lbls)},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}}}


def make_deploy(name: str = "web", *, replicas: int = 3, ns: str = "default",
                image: str = "nginx:1.25", strategy: str = "RollingUpdate",
                max_surge: Any = "25%", max_unavailable: Any = "25%",
                revision_history_limit: int | None = 10, progress_deadline: int | None = 600,
                min_ready_seconds: int = 0, uid: str | None = None,
                labels: dict[str, str] | None = None, paused: bool = False) -> Obj:
    lbls = dict(labels or {"app": name})
    strat: Obj = {"type": strategy}
    if strategy == "RollingUpdate":
        strat["rollingUpdate"] = {"maxSurge": max_surge, "maxUnavailable": max_unavailable}
    spec: Obj = {"replicas": replicas, "selector": {"matchLabels": dict(lbls)},
                 "template": {"metadata": {"labels": dict(lbls)},
                              "spec": {"containers": [{"name": name, "image": image}]}},
                 "strategy": strat, "minReadySeconds": min_ready_seconds}
    if revision_history_limit is not None:
        spec["revisionHistoryLimit"] = revision_history_limit
    if progress_deadline is not None:
        spec["progressDeadlineSeconds"] = progress_deadline
    if paused:
        spec["paused"] = True
    md: Obj = {"name": name, "namespace": ns, "labels": dict(lbls)}
    if uid:
        md["uid"] = uid
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": md, "spec": spec}


def make_node(name: str = "node-1", *, ready: str | None = "True", heartbeat: float = T0,
              transition: float | None = None, zone: str | None = None, region: str | None = None,
              taints: list[Obj] | None = None, labels: dict[str, str] | None = None,
              created: float | None = None, unschedulable: bool = False) -> Obj:
    """A Node as the kubelet posts it: the four conditions (Ready as given, no pressure),
    heartbeats at `heartbeat`. ready=None: the kubelet never posted a status."""
    lbls = {"kubernetes.io/hostname": name, **(labels or {})}
    if zone is not None:
        lbls["topology.kubernetes.io/zone"] = zone
    if region is not None:
        lbls["topology.kubernetes.io/region"] = region
    md: Obj = {"name": name, "labels": lbls, "uid": f"node-uid-{name}",
               "creationTimestamp": rfc3339(T0 if created is None else created)}
    spec: Obj = {"podCIDR": "10.244.0.0/24"}
    if taints:
        spec["taints"] = [dict(t) for t in taints]
    if unschedulable:
        spec["unschedulable"] = True
    status: Obj = {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}}
    if ready is not None:
        hb, tr = rfc3339(heartbeat), rfc3339(heartbeat if transition is None else transition)
        status["conditions"] = [
            {"type": t, "status": "False", "reason": f"KubeletHasNo{t}", "message": "ok",
             "lastHeartbeatTime": hb, "lastTransitionTime": tr}
            for t in ("MemoryPressure", "DiskPressure", "PIDPressure")] + [
            {"type": "Ready", "status": ready,
             "reason": "KubeletReady" if ready == "True" else "KubeletNotReady",
             "message": "kubelet is posting ready status", "lastHeartbeatTime": hb,
             "lastTransitionTime": tr}]
    return {"apiVersion": "v1", "kind": "Node", "metadata": md, "spec": spec, "status": status}


def make_lease(node: str = "node-1", *, renew: float = T0) -> Obj:
    from actors.common.clock import rfc3339_micro
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": node, "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": node, "leaseDurationSeconds": 40,
                     "renewTime": rfc3339_micro(renew)}}


class Sim:
    """A FakeCluster with a Runner over the given controllers, on a fake clock."""

    def __init__(self, controllers: tuple[str, ...] = ("replicaset", "deployment",
                                                       "garbagecollector"),
                 seed: int = 1, config: Obj | None = None) -> None:
        import random

        from actors.controllers.loop import Runner, build_controllers
        self.clock = FakeClock(T0)
        self.cluster = FakeCluster(self.clock)
        self.controllers = {c.name: c for c in build_controllers(controllers, config)}
        self.runner = Runner(list(self.controllers.values()), self.cluster, random.Random(seed),
                             recorder=self.cluster.record)
        self.cluster.listeners.append(self.runner.handle)

    def settle(self, *, advance: bool = False, until: float | None = None) -> int:
        return self.runner.run_until_idle(self.cluster.execute, self.clock, advance=advance,
                                          until=until)

    def get(self, resource: str, name: str, ns: str = "default") -> Obj | None:
        """A copy: tests edit it and write it back."""
        return copy.deepcopy(self.cluster.get(resource, ns, name))

    def objs(self, resource: str, ns: str = "default") -> list[Obj]:
        return self.cluster.list(resource, ns)

    def names(self, resource: str, ns: str = "default") -> list[str]:
        return sorted(o["metadata"]["name"] for o in self.objs(resource, ns))


class KubeletSim:
    """A node's kubelet as the node controllers see it (actors.kubelet's cadence): the Lease
    renewed every `lease_every` s; every `update_every` s the status is computed and posted
    when Ready differs from what the apiserver has, or `report_every` s after the last
    post (heartbeats = the post time). `alive = False` stops both."""

    def __init__(self, sim: "Sim", name: str, *, ready: str = "True", lease: bool = True,
                 lease_every: float = 10.0, update_every: float = 10.0,
                 report_every: float = 300.0, offset: float = 1.0) -> None:
        self.sim, self.name, self.ready, self.lease = sim, name, ready, lease
        self.lease_every, self.update_every, self.report_every = \
            lease_every, update_every, report_every
        now = sim.clock.now()
        self.alive = True
        self.next_lease = now + offset
        self.next_update = now + offset
        self.last_report = now
        self.posts = 0

    def tick(self) -> None:
        if not self.alive:
            return
        c = self.sim.cluster
        now = self.sim.clock.now()
        if self.lease and now >= self.next_lease:
            cur = c.get("leases", "kube-node-lease", self.name)
            if cur is None:
                c.create("leases", make_lease(self.name, renew=now))
            else:
                from actors.common.clock import rfc3339_micro
                new = copy.deepcopy(cur)
                new["spec"]["renewTime"] = rfc3339_micro(now)
                c.update("leases", new)
            self.next_lease = now + self.lease_every
        if now >= self.next_update:
            self.next_update = now + self.update_every
            node = c.get("nodes", "", self.name)
            if node is None:
                return
            ready = next((x for x in node["status"].get("conditions") or []
                          if x["type"] == "Ready"), None)
            changed = ready is None or ready["status"] != self.ready or any(
                x["status"] == "Unknown" for x in node["status"].get("conditions") or [])
            if changed or now - self.last_report >= self.report_every:
                conds = make_node(self.name, ready=self.ready, heartbeat=now)["status"][
                    "conditions"]
                old = {x["type"]: x for x in node["status"].get("conditions") or []}
                for x in conds:  # lastTransitionTime moves only with the status
                    if x["type"] in old and old[x["type"]]["status"] == x["status"]:
                        x["lastTransitionTime"] = old[x["type"]]["lastTransitionTime"]
                body = copy.deepcopy(node)
                body["status"]["conditions"] = conds
                c.update("nodes", body, status=True)
                self.last_report = now
                self.posts += 1


def run_for(sim: "Sim", kubelets: list[KubeletSim], until: float, step: float = 0.5,
            each: Callable[[float], None] | None = None) -> None:
    """Move the fake clock to `until` in `step`s: at each step the controllers' due keys
    run first, then the kubelets act (and their writes are reconciled at once)."""
    t = sim.clock.now()
    while t < until - 1e-9:
        t = min(t + step, until)
        sim.settle(advance=True, until=t)
        for k in kubelets:
            k.tick()
        if each is not None:
            each(t)
        sim.settle()
