"""Test doubles for the scenario runner: object builders, a fake clock whose sleep moves
time, a scripted in-memory API (the CLI's FakeClient plus timed changes), and a fake
Faults recording what it was asked."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any, Callable

from tests.unit.cli.fake_client import FakeClient

Obj = dict[str, Any]
T0 = 1_700_000_000.0
_uids = itertools.count(1)


# ---- builders ---------------------------------------------------------------------------------


def node(name: str, ready: str = "True", taints: list[tuple[str, str]] | None = None,
         rv: int = 1, reason: str = "", unschedulable: bool = False) -> Obj:
    cond = {"type": "Ready", "status": ready}
    if reason:
        cond["reason"] = reason
    n: Obj = {"apiVersion": "v1", "kind": "Node",
              "metadata": {"name": name, "uid": f"uid-{name}", "resourceVersion": str(rv)},
              "spec": {}, "status": {"conditions": [cond]}}
    if taints:
        n["spec"]["taints"] = [{"key": k, "effect": e} for k, e in taints]
    if unschedulable:
        n["spec"]["unschedulable"] = True
    return n


def pod(name: str, node_name: str = "", phase: str = "Running",
        labels: dict[str, str] | None = None, *, deleting: bool = False, rv: int = 1,
        uid: str | None = None, ns: str = "default", created: str = "2023-11-14T22:00:00Z",
        ready: bool | None = None, conditions: list[Obj] | None = None) -> Obj:
    p: Obj = {"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": name, "namespace": ns, "uid": uid or f"uid-{name}",
                           "resourceVersion": str(rv), "labels": dict(labels or {"app": "web"}),
                           "creationTimestamp": created},
              "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]},
              "status": {"phase": phase}}
    if node_name:
        p["spec"]["nodeName"] = node_name
    if deleting:
        p["metadata"]["deletionTimestamp"] = "2023-11-14T22:13:20Z"
    conds = list(conditions or [])
    if ready is not None:
        conds.append({"type": "Ready", "status": "True" if ready else "False"})
    if conds:
        p["status"]["conditions"] = conds
    return p


def deployment(name: str = "web", replicas: int = 3, available: int | None = None,
               updated: int | None = None, generation: int = 1, observed: int = 1,
               labels: dict[str, str] | None = None, ns: str = "default") -> Obj:
    sel = dict(labels or {"app": name})
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "uid": f"uid-dep-{name}",
                         "generation": generation, "resourceVersion": "1"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": sel},
                     "template": {"metadata": {"labels": sel},
                                  "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}},
            "status": {"observedGeneration": observed, "replicas": replicas,
                       "availableReplicas": replicas if available is None else available,
                       "updatedReplicas": replicas if updated is None else updated}}


def event(reason: str, kind: str = "Pod", name: str = "web-1", message: str = "",
          ts: str = "2023-11-14T22:13:25Z", ns: str = "default", uid: str | None = None,
          obj_uid: str = "") -> Obj:
    io = {"kind": kind, "name": name, "namespace": ns}
    if obj_uid:
        io["uid"] = obj_uid
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{name}.{reason}", "namespace": ns,
                         "uid": uid or f"uid-ev-{next(_uids)}", "resourceVersion": "1"},
            "involvedObject": io, "reason": reason, "message": message,
            "lastTimestamp": ts, "firstTimestamp": ts, "count": 1}


# ---- clock ----------------------------------------------------------------------------------


class Clock:
    """time() and sleep(): sleeping moves time; `on_tick` runs after each move."""

    def __init__(self, start: float = T0) -> None:
        self.t = start
        self.on_tick: list[Callable[[float], None]] = []
        self.slept = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += max(s, 0.0)
        self.slept += max(s, 0.0)
        for f in list(self.on_tick):
            f(self.t)


# ---- the API --------------------------------------------------------------------------------


class ScriptedAPI(FakeClient):
    """FakeClient + changes scheduled at clock times (applied when time passes them),
    + resourceVersions bumped on every change, + lists of every namespace."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(now=clock.t)
        self.clock = clock
        self.script: list[tuple[float, Callable[["ScriptedAPI"], None]]] = []
        self.fail_lists_until = 0.0
        self.on_create: list[Callable[["ScriptedAPI", str, Obj], None]] = []
        clock.on_tick.append(self._tick)

    def create(self, resource: str, obj: Obj, namespace: str | None = None) -> Obj:
        out = super().create(resource, obj, namespace)
        for f in self.on_create:
            f(self, resource, out)
        return out

    def later(self, seconds: float, fn: Callable[["ScriptedAPI"], None]) -> None:
        """Run fn(api) `seconds` of real time from now."""
        self.script.append((self.clock.t + seconds, fn))
        self.script.sort(key=lambda x: x[0])

    def at(self, t_offset: float, fn: Callable[["ScriptedAPI"], None]) -> None:
        """Run fn(api) once the clock reaches start + t_offset (real seconds)."""
        self.script.append((T0 + t_offset, fn))
        self.script.sort(key=lambda x: x[0])

    def _tick(self, now: float) -> None:
        self.now = now
        while self.script and self.script[0][0] <= now:
            _, fn = self.script.pop(0)
            fn(self)

    def put(self, obj: Obj) -> Obj:
        """Add or replace an object, bumping its resourceVersion."""
        o = copy.deepcopy(obj)
        from actors.api import resources

        info = resources.for_kind(o["kind"])
        m = o.setdefault("metadata", {})
        if info.namespaced:
            m.setdefault("namespace", "default")
        key = (info.plural, m.get("namespace", "") if info.namespaced else "", m["name"])
        old = self.store.get(key)
        m.setdefault("uid", (old or {}).get("metadata", {}).get("uid") or f"uid-{m['name']}")
        m["resourceVersion"] = str(next(self.rv))
        self.store[key] = o
        return o

    def remove(self, resource: str, name: str, ns: str = "default") -> None:
        from actors.api import resources

        info = resources.RESOURCES[resource]
        self.store.pop((resource, ns if info.namespaced else "", name), None)

    def list(self, resource: str, namespace: str | None = None, label_selector: str = "",
             field_selector: str = "", limit: int = 0, continue_: str = "") -> Obj:
        if self.clock.t < self.fail_lists_until:
            from actors.api import errors

            raise errors.service_unavailable("the apiserver is unavailable: connection refused")
        return super().list(resource, namespace, label_selector, field_selector, limit,
                            continue_)


# ---- faults ---------------------------------------------------------------------------------


@dataclass
class FaultRecord:
    id: int
    time: float
    action: str
    target: str
    detail: dict[str, Any] = field(default_factory=dict)
    ok: bool = True
    message: str = ""


class FakeFaults:
    """Records calls; `effects[action]` (fn(target, api)) simulates what follows."""

    def __init__(self, clock: Clock, api: ScriptedAPI | None = None) -> None:
        self.clock = clock
        self.api = api
        self.calls: list[tuple[str, Any, ...]] = []  # type: ignore[misc]
        self.records: list[FaultRecord] = []
        self.effects: dict[str, Callable[[Any, Any], None]] = {}
        self.fail: set[str] = set()
        self.closed = False

    def _rec(self, action: str, target: Any, **detail: Any) -> FaultRecord:
        ok = action not in self.fail
        r = FaultRecord(len(self.records) + 1, self.clock.t, action, str(target or "all"),
                        dict(detail), ok, f"{action}: {'done' if ok else 'refused'}")
        self.records.append(r)
        if ok and action in self.effects:
            self.effects[action](target, self.api)
        return r

    def kill(self, target: str, restart_after: float | None = None) -> FaultRecord:
        self.calls.append(("kill", target, restart_after))
        return self._rec("kill", target, restart_after=restart_after)

    def stop(self, node: str) -> FaultRecord:
        self.calls.append(("stop", node))
        return self._rec("stop", node)

    def start(self, node: str) -> FaultRecord:
        self.calls.append(("start", node))
        return self._rec("start", node)

    def partition(self, node: str) -> FaultRecord:
        self.calls.append(("partition", node))
        return self._rec("partition", node)

    def heal(self, node: str | None = None) -> FaultRecord:
        self.calls.append(("heal", node))
        return self._rec("heal", node)

    def delay(self, component: str, seconds: float) -> FaultRecord:
        self.calls.append(("delay", component, seconds))
        return self._rec("delay", component, seconds=seconds)

    def drop(self, component: str, rate: float) -> FaultRecord:
        self.calls.append(("drop", component, rate))
        return self._rec("drop", component, rate=rate)

    def log(self) -> list[FaultRecord]:
        return list(self.records)

    def close(self) -> None:
        self.closed = True
