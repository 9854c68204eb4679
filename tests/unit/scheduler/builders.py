"""Fluent builders for scheduler tests (upstream's st.MakePod()/st.MakeNode()):

    make_pod().name("p").req(cpu="500m").obj()
    make_node().name("n1").cap(cpu="2", memory="4Gi", pods=110).taint("k", "v").obj()
"""

from __future__ import annotations

import copy
from typing import Any


def _resources(kw: dict[str, Any]) -> dict[str, str]:
    return {k.replace("_", "-"): str(v) for k, v in kw.items()}


class PodBuilder:
    def __init__(self) -> None:
        self.pod: dict[str, Any] = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [{"name": "c0", "image": "nginx"}],
                     "schedulerName": "default-scheduler"},
            "status": {"phase": "Pending"},
        }

    @property
    def _spec(self) -> dict[str, Any]:
        return self.pod["spec"]  # type: ignore[no-any-return]

    def name(self, n: str) -> "PodBuilder":
        self.pod["metadata"]["name"] = n
        return self

    def namespace(self, ns: str) -> "PodBuilder":
        self.pod["metadata"]["namespace"] = ns
        return self

    def uid(self, u: str) -> "PodBuilder":
        self.pod["metadata"]["uid"] = u
        return self

    def rv(self, rv: str) -> "PodBuilder":
        self.pod["metadata"]["resourceVersion"] = rv
        return self

    def label(self, k: str, v: str) -> "PodBuilder":
        self.pod["metadata"].setdefault("labels", {})[k] = v
        return self

    def req(self, **kw: Any) -> "PodBuilder":
        """Requests of the first container (cpu=, memory=, ephemeral_storage=, **{"x/y": ...})."""
        self._spec["containers"][0].setdefault("resources", {}).setdefault("requests", {}).update(_resources(kw))
        return self

    def container(self, **kw: Any) -> "PodBuilder":
        c: dict[str, Any] = {"name": f"c{len(self._spec['containers'])}", "image": "nginx"}
        if kw:
            c["resources"] = {"requests": _resources(kw)}
        self._spec["containers"].append(c)
        return self

    def init_container(self, sidecar: bool = False, **kw: Any) -> "PodBuilder":
        c: dict[str, Any] = {"name": f"i{len(self._spec.get('initContainers', []))}", "image": "busybox",
                             "resources": {"requests": _resources(kw)}}
        if sidecar:
            c["restartPolicy"] = "Always"
        self._spec.setdefault("initContainers", []).append(c)
        return self

    def overhead(self, **kw: Any) -> "PodBuilder":
        self._spec["overhead"] = _resources(kw)
        return self

    def host_port(self, port: int, protocol: str = "", ip: str = "") -> "PodBuilder":
        p: dict[str, Any] = {"containerPort": port, "hostPort": port}
        if protocol:
            p["protocol"] = protocol
        if ip:
            p["hostIP"] = ip
        self._spec["containers"][0].setdefault("ports", []).append(p)
        return self

    def node(self, n: str) -> "PodBuilder":
        self._spec["nodeName"] = n
        return self

    def node_selector(self, **labels: str) -> "PodBuilder":
        self._spec.setdefault("nodeSelector", {}).update(labels)
        return self

    def tolerate(self, key: str = "", value: str = "", effect: str = "", operator: str = "") -> "PodBuilder":
        t = {k: v for k, v in (("key", key), ("value", value), ("effect", effect), ("operator", operator)) if v}
        self._spec.setdefault("tolerations", []).append(t)
        return self

    def _node_affinity(self) -> dict[str, Any]:
        return self._spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})  # type: ignore[no-any-return]

    def required_terms(self, *terms: dict[str, Any]) -> "PodBuilder":
        """requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms (ORed)."""
        req = self._node_affinity().setdefault("requiredDuringSchedulingIgnoredDuringExecution",
                                               {"nodeSelectorTerms": []})
        req["nodeSelectorTerms"].extend(terms)
        return self

    def node_affinity_in(self, key: str, *values: str) -> "PodBuilder":
        return self.required_terms(term(expr(key, "In", *values)))

    def preferred(self, weight: int, *exprs: dict[str, Any]) -> "PodBuilder":
        self._node_affinity().setdefault("preferredDuringSchedulingIgnoredDuringExecution", []).append(
            {"weight": weight, "preference": {"matchExpressions": list(exprs)}})
        return self

    def priority(self, p: int) -> "PodBuilder":
        self._spec["priority"] = p
        return self

    def scheduler(self, name: str) -> "PodBuilder":
        self._spec["schedulerName"] = name
        return self

    def gates(self, *names: str) -> "PodBuilder":
        self._spec["schedulingGates"] = [{"name": n} for n in names]
        return self

    def terminating(self) -> "PodBuilder":
        self.pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        return self

    def phase(self, phase: str) -> "PodBuilder":
        self.pod["status"]["phase"] = phase
        return self

    def obj(self) -> dict[str, Any]:
        pod = copy.deepcopy(self.pod)
        pod["metadata"].setdefault("uid", f"uid-{pod['metadata']['namespace']}-{pod['metadata']['name']}")
        return pod


class NodeBuilder:
    def __init__(self) -> None:
        self.node: dict[str, Any] = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "n", "labels": {}},
            "spec": {},
            "status": {"capacity": {}, "allocatable": {},
                       "conditions": [{"type": "Ready", "status": "True"}]},
        }

    def name(self, n: str) -> "NodeBuilder":
        self.node["metadata"]["name"] = n
        self.node["metadata"]["labels"]["kubernetes.io/hostname"] = n
        return self

    def cap(self, **kw: Any) -> "NodeBuilder":
        """Capacity and allocatable (cpu=, memory=, pods=, ephemeral_storage=, ...)."""
        r = _resources(kw)
        self.node["status"]["capacity"].update(r)
        self.node["status"]["allocatable"].update(r)
        return self

    def allocatable(self, **kw: Any) -> "NodeBuilder":
        self.node["status"]["allocatable"].update(_resources(kw))
        return self

    def label(self, k: str, v: str) -> "NodeBuilder":
        self.node["metadata"]["labels"][k] = v
        return self

    def zone(self, z: str, region: str = "r1") -> "NodeBuilder":
        return self.label("topology.kubernetes.io/zone", z).label("topology.kubernetes.io/region", region)

    def taint(self, key: str, value: str = "", effect: str = "NoSchedule") -> "NodeBuilder":
        t = {"key": key, "effect": effect}
        if value:
            t["value"] = value
        self.node["spec"].setdefault("taints", []).append(t)
        return self

    def unschedulable(self) -> "NodeBuilder":
        self.node["spec"]["unschedulable"] = True
        return self

    def condition(self, type_: str, status: str, heartbeat: str = "") -> "NodeBuilder":
        conds = [c for c in self.node["status"]["conditions"] if c["type"] != type_]
        c = {"type": type_, "status": status}
        if heartbeat:
            c["lastHeartbeatTime"] = heartbeat
        self.node["status"]["conditions"] = conds + [c]
        return self

    def obj(self) -> dict[str, Any]:
        return copy.deepcopy(self.node)


def make_pod() -> PodBuilder:
    return PodBuilder()


def make_node() -> NodeBuilder:
    return NodeBuilder()


def expr(key: str, op: str, *values: str) -> dict[str, Any]:
    e: dict[str, Any] = {"key": key, "operator": op}
    if values:
        e["values"] = list(values)
    return e


def term(*exprs: dict[str, Any], fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    t: dict[str, Any] = {}
    if exprs:
        t["matchExpressions"] = list(exprs)
    if fields:
        t["matchFields"] = fields
    return t


def name_in(*names: str) -> dict[str, Any]:
    return {"key": "metadata.name", "operator": "In", "values": list(names)}
