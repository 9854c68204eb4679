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

    def annotation(self, k: str, v: str) -> "PodBuilder":
        self.pod["metadata"].setdefault("annotations", {})[k] = v
        return self

    def image(self, image: str, container: int = 0) -> "PodBuilder":
        """The image of a container (by index; the first by default)."""
        self._spec["containers"][container]["image"] = image
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

    def preemption_policy(self, policy: str) -> "PodBuilder":
        self._spec["preemptionPolicy"] = policy
        return self

    def start_time(self, ts: str) -> "PodBuilder":
        """status.startTime (RFC 3339)."""
        self.pod["status"]["startTime"] = ts
        return self

    def nominated(self, node: str) -> "PodBuilder":
        """status.nominatedNodeName."""
        self.pod["status"]["nominatedNodeName"] = node
        return self

    def pod_condition(self, type_: str, status: str, reason: str = "") -> "PodBuilder":
        c = {"type": type_, "status": status}
        if reason:
            c["reason"] = reason
        self.pod["status"].setdefault("conditions", []).append(c)
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

    def owner(self, kind: str, name: str, uid: str = "", api_version: str = "",
              controller: bool = True) -> "PodBuilder":
        """A (controller) ownerReference; apiVersion defaults to v1 / apps/v1 by kind."""
        ref = {"apiVersion": api_version or ("v1" if kind == "ReplicationController" else "apps/v1"),
               "kind": kind, "name": name, "uid": uid or f"uid-{kind}-{name}", "controller": controller}
        self.pod["metadata"].setdefault("ownerReferences", []).append(ref)
        return self

    def _pod_affinity(self, kind: str, field: str, item: dict[str, Any]) -> "PodBuilder":
        aff = self._spec.setdefault("affinity", {}).setdefault(kind, {})
        aff.setdefault(field, []).append(item)
        return self

    def pod_affinity(self, topology_key: str, selector: dict[str, Any] | None, **kw: Any) -> "PodBuilder":
        """A required podAffinity term (kw: namespaces=, namespace_selector=, match_label_keys=, ...)."""
        return self._pod_affinity("podAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
                                  affinity_term(topology_key, selector, **kw))

    def pod_anti_affinity(self, topology_key: str, selector: dict[str, Any] | None, **kw: Any) -> "PodBuilder":
        return self._pod_affinity("podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
                                  affinity_term(topology_key, selector, **kw))

    def preferred_pod_affinity(self, weight: int, topology_key: str, selector: dict[str, Any] | None,
                               **kw: Any) -> "PodBuilder":
        return self._pod_affinity("podAffinity", "preferredDuringSchedulingIgnoredDuringExecution",
                                  {"weight": weight, "podAffinityTerm": affinity_term(topology_key, selector, **kw)})

    def preferred_pod_anti_affinity(self, weight: int, topology_key: str, selector: dict[str, Any] | None,
                                    **kw: Any) -> "PodBuilder":
        return self._pod_affinity("podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution",
                                  {"weight": weight, "podAffinityTerm": affinity_term(topology_key, selector, **kw)})

    def spread(self, max_skew: int, topology_key: str, selector: dict[str, Any] | None,
               when: str = "DoNotSchedule", min_domains: int | None = None, node_affinity_policy: str = "",
               node_taints_policy: str = "", match_label_keys: list[str] | None = None) -> "PodBuilder":
        """A topologySpreadConstraint (upstream st.SpreadConstraint)."""
        c: dict[str, Any] = {"maxSkew": max_skew, "topologyKey": topology_key, "whenUnsatisfiable": when}
        if selector is not None:
            c["labelSelector"] = selector
        if min_domains is not None:
            c["minDomains"] = min_domains
        if node_affinity_policy:
            c["nodeAffinityPolicy"] = node_affinity_policy
        if node_taints_policy:
            c["nodeTaintsPolicy"] = node_taints_policy
        if match_label_keys:
            c["matchLabelKeys"] = match_label_keys
        self._spec.setdefault("topologySpreadConstraints", []).append(c)
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

    def image(self, size_bytes: int, *names: str) -> "NodeBuilder":
        """One entry of status.images (names as the kubelet reports them)."""
        self.node["status"].setdefault("images", []).append({"names": list(names), "sizeBytes": size_bytes})
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


def sel(*exprs: dict[str, Any], **match_labels: str) -> dict[str, Any]:
    """A metav1.LabelSelector: sel(app="web"), sel(expr("tier", "In", "a", "b"))."""
    s: dict[str, Any] = {}
    if match_labels:
        s["matchLabels"] = dict(match_labels)
    if exprs:
        s["matchExpressions"] = list(exprs)
    return s


def affinity_term(topology_key: str, selector: dict[str, Any] | None, namespaces: list[str] | None = None,
                  namespace_selector: dict[str, Any] | None = None, match_label_keys: list[str] | None = None,
                  mismatch_label_keys: list[str] | None = None) -> dict[str, Any]:
    """A v1.PodAffinityTerm."""
    t: dict[str, Any] = {"topologyKey": topology_key}
    if selector is not None:
        t["labelSelector"] = selector
    if namespaces is not None:
        t["namespaces"] = namespaces
    if namespace_selector is not None:
        t["namespaceSelector"] = namespace_selector
    if match_label_keys:
        t["matchLabelKeys"] = match_label_keys
    if mismatch_label_keys:
        t["mismatchLabelKeys"] = mismatch_label_keys
    return t
