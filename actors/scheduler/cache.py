"""The scheduler cache (kube-scheduler's cacheImpl), pure.

It aggregates the informers' nodes and assigned pods into NodeInfos, plus the pods the
scheduler has *assumed*: placed on a node in the cache right after a successful
cycle, before the (asynchronous) bind reaches the apiserver, so the next cycle already
sees the node's resources taken. The life of a pod in the cache:

    assume_pod(pod with nodeName)  -> assumed
    finish_binding(pod)            -> the bind call returned; with a TTL, the assumption
                                      expires `ttl` seconds later unless confirmed
                                      (upstream's default TTL is 0: never expires)
    add_pod(pod)  (informer)       -> confirmed: no longer assumed
    forget_pod(pod)                -> the bind failed: removed
    update_pod / remove_pod        -> for confirmed pods

A pod whose node is unknown (yet, or any more) is kept on a node-less NodeInfo that
snapshots leave out; a deleted node with pods lingers the same way until its pods go.

`snapshot()` returns the NodeInfos of a scheduling cycle, in node-tree order (zones
round-robin, nodes of a zone in the order they were added), cloning only the
NodeInfos whose generation changed since the previous snapshot.
Pods are keyed by UID (namespace/name when there is none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from . import helpers
from .framework import NodeInfo, Snapshot, pod_uid_key

Pod = Mapping[str, Any]
Node = Mapping[str, Any]

ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
REGION_LABELS = ("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region")


class CacheError(Exception):
    pass


def zone_key(node: Node) -> str:
    """utilnode.GetZoneKey: region + ":\\x00:" + zone, "" when the node has neither."""
    labels = helpers.node_labels(node)
    zone = next((labels[k] for k in ZONE_LABELS if k in labels), "")
    region = next((labels[k] for k in REGION_LABELS if k in labels), "")
    if not zone and not region:
        return ""
    return region + ":\x00:" + zone


class NodeTree:
    """Node names by zone; list() interleaves the zones (upstream's nodeTree)."""

    def __init__(self) -> None:
        self.tree: dict[str, list[str]] = {}
        self._order: list[str] | None = None  # list(), until the tree changes
        self.version = 0  # bumped on every change of the order

    def _changed(self) -> None:
        self._order = None
        self.version += 1

    def add(self, node: Node) -> None:
        names = self.tree.setdefault(zone_key(node), [])
        if helpers.name_of(node) not in names:
            names.append(helpers.name_of(node))
            self._changed()

    def remove(self, node: Node) -> None:
        z = zone_key(node)
        names = self.tree.get(z)
        if names is not None and helpers.name_of(node) in names:
            names.remove(helpers.name_of(node))
            if not names:
                del self.tree[z]
            self._changed()

    def update(self, old: Node | None, new: Node) -> None:
        if old is not None and zone_key(old) == zone_key(new):
            return
        if old is not None:
            self.remove(old)
        self.add(new)

    def list(self) -> list[str]:
        if self._order is not None:
            return self._order
        out: list[str] = []
        zones = [list(v) for v in self.tree.values()]
        i = 0
        while any(i < len(z) for z in zones):
            out.extend(z[i] for z in zones if i < len(z))
            i += 1
        self._order = out
        return out

    def __len__(self) -> int:
        return sum(len(v) for v in self.tree.values())


@dataclass
class _PodState:
    pod: Pod
    deadline: float | None = None
    binding_finished: bool = False


class Cache:
    def __init__(self, ttl: float = 0.0) -> None:
        self.ttl = ttl
        self.nodes: dict[str, NodeInfo] = {}
        self.node_tree = NodeTree()
        self.pod_states: dict[str, _PodState] = {}
        self.assumed_pods: set[str] = set()
        # the snapshot kept between cycles (upstream's UpdateSnapshot): rebuilt when the
        # node order changes, otherwise only the NodeInfos that changed are re-cloned
        self._snap: Snapshot | None = None
        self._snap_version = -1
        self._snap_index: dict[str, int] = {}
        self._dirty: set[str] = set()
        self.nodes_version = 0  # bumped whenever a Node object is added, replaced or removed

    # ---- pods -------------------------------------------------------------------------

    def _node_info(self, node_name: str) -> NodeInfo:
        self._dirty.add(node_name)  # every caller is about to change it
        ni = self.nodes.get(node_name)
        if ni is None:
            ni = self.nodes[node_name] = NodeInfo()
        return ni

    def _add_pod(self, pod: Pod, assume: bool) -> None:
        key = pod_uid_key(pod)
        self._node_info(helpers.pod_node_name(pod)).add_pod(pod)
        self.pod_states[key] = _PodState(pod)
        if assume:
            self.assumed_pods.add(key)

    def _remove_pod(self, pod: Pod) -> None:
        key = pod_uid_key(pod)
        name = helpers.pod_node_name(pod)
        ni = self.nodes.get(name)
        if ni is not None:
            self._dirty.add(name)
            ni.remove_pod(pod)
            if not ni.pods and ni.node is None:
                del self.nodes[name]
        self.pod_states.pop(key, None)
        self.assumed_pods.discard(key)

    def _update_pod(self, old: Pod, new: Pod) -> None:
        self._remove_pod(old)
        self._add_pod(new, False)

    def assume_pod(self, pod: Pod) -> None:
        """Place `pod` (whose spec.nodeName is the chosen node) before it is bound."""
        key = pod_uid_key(pod)
        if key in self.pod_states:
            raise CacheError(f"pod {key}({helpers.pod_key(pod)}) is in the cache, so can't be assumed")
        if not helpers.pod_node_name(pod):
            raise CacheError(f"pod {helpers.pod_key(pod)} has no nodeName, so can't be assumed")
        self._add_pod(pod, True)

    def finish_binding(self, pod: Pod, now: float) -> None:
        key = pod_uid_key(pod)
        ps = self.pod_states.get(key)
        if ps is not None and key in self.assumed_pods:
            ps.binding_finished = True
            if self.ttl > 0:
                ps.deadline = now + self.ttl

    def forget_pod(self, pod: Pod) -> None:
        """Undo assume_pod (the bind failed)."""
        key = pod_uid_key(pod)
        ps = self.pod_states.get(key)
        if ps is not None and helpers.pod_node_name(ps.pod) != helpers.pod_node_name(pod):
            raise CacheError(f"pod {key}({helpers.pod_key(pod)}) was assumed on "
                             f"{helpers.pod_node_name(pod)} but assigned to {helpers.pod_node_name(ps.pod)}")
        if ps is None or key not in self.assumed_pods:
            raise CacheError(f"pod {key}({helpers.pod_key(pod)}) wasn't assumed so cannot be forgotten")
        self._remove_pod(ps.pod)

    def add_pod(self, pod: Pod) -> None:
        """An assigned pod from the informer: confirms an assumed pod, or adds it."""
        key = pod_uid_key(pod)
        ps = self.pod_states.get(key)
        if ps is not None and key in self.assumed_pods:
            self._update_pod(ps.pod, pod)  # confirmed, on whatever node it really landed
        elif ps is None:
            self._add_pod(pod, False)  # new, or an assumed pod that already expired
        else:
            raise CacheError(f"pod {key}({helpers.pod_key(pod)}) was already in added state")

    def update_pod(self, old: Pod, new: Pod) -> None:
        key = pod_uid_key(old)
        ps = self.pod_states.get(key)
        if ps is None or key in self.assumed_pods:
            raise CacheError(f"pod {key}({helpers.pod_key(old)}) is not added to scheduler cache, "
                             "so cannot be updated")
        self._update_pod(ps.pod, new)

    def remove_pod(self, pod: Pod) -> None:
        key = pod_uid_key(pod)
        ps = self.pod_states.get(key)
        if ps is None:
            raise CacheError(f"pod {key}({helpers.pod_key(pod)}) is not found in scheduler cache, "
                             "so cannot be removed from it")
        self._remove_pod(ps.pod)

    def is_assumed_pod(self, pod: Pod) -> bool:
        return pod_uid_key(pod) in self.assumed_pods

    def get_pod(self, pod: Pod) -> Pod | None:
        ps = self.pod_states.get(pod_uid_key(pod))
        return ps.pod if ps is not None else None

    def cleanup_assumed_pods(self, now: float) -> list[Pod]:
        """Expire assumed pods whose binding finished more than `ttl` ago; returns them."""
        expired = [ps.pod for key in self.assumed_pods
                   if (ps := self.pod_states.get(key)) is not None and ps.binding_finished
                   and ps.deadline is not None and now > ps.deadline]
        for pod in expired:
            self._remove_pod(pod)
        return expired

    # ---- nodes ------------------------------------------------------------------------

    def add_node(self, node: Node) -> NodeInfo:
        self.nodes_version += 1
        ni = self._node_info(helpers.name_of(node))
        old = ni.node
        ni.set_node(node)
        self.node_tree.update(old, node)
        return ni.clone()

    def update_node(self, old: Node | None, new: Node) -> NodeInfo:
        self.nodes_version += 1
        ni = self._node_info(helpers.name_of(new))
        prev = ni.node if ni.node is not None else old
        ni.set_node(new)
        self.node_tree.update(prev, new)
        return ni.clone()

    def remove_node(self, node: Node) -> None:
        name = helpers.name_of(node)
        ni = self.nodes.get(name)
        if ni is None or ni.node is None:
            raise CacheError(f"node {name} is not found")
        self._dirty.add(name)
        self.nodes_version += 1
        self.node_tree.remove(ni.node)
        ni.remove_node()
        if not ni.pods:
            del self.nodes[name]

    # ---- snapshots --------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The NodeInfos in node-tree order, as clones the cycle may not change. The
        same Snapshot object is brought up to date and returned every cycle: O(changed
        nodes), not O(nodes), as upstream's UpdateSnapshot."""
        snap = self._snap
        if snap is None or self._snap_version != self.node_tree.version:
            infos: list[NodeInfo] = []
            for name in self.node_tree.list():
                ni = self.nodes.get(name)
                if ni is not None and ni.node is not None:
                    infos.append(ni.clone())
            snap = self._snap = Snapshot(infos)
            self._snap_version = self.node_tree.version
            self._snap_index = {n.name: i for i, n in enumerate(snap.node_info_list)}
            self._dirty.clear()
            snap.nodes_version = self.nodes_version
            return snap
        for name in self._dirty:
            i = self._snap_index.get(name)
            ni = self.nodes.get(name)
            if i is None or ni is None or ni.node is None:
                continue  # not in the order (yet): the next rebuild takes it
            if snap.node_info_list[i].generation != ni.generation:
                c = ni.clone()
                snap.node_info_list[i] = c
                snap.node_info_map[name] = c
        self._dirty.clear()
        snap.nodes_version = self.nodes_version
        return snap

    def node_count(self) -> int:
        return sum(1 for ni in self.nodes.values() if ni.node is not None)

    def pod_count(self) -> int:
        return len(self.pod_states)

    def dump(self) -> dict[str, Any]:
        return {
            "nodes": {name: {"pods": sorted(helpers.pod_key(p.pod) for p in ni.pods),
                             "requested": {"cpu": ni.requested.milli_cpu, "memory": ni.requested.memory},
                             "ghost": ni.node is None}
                      for name, ni in self.nodes.items()},
            "assumed": sorted(self.assumed_pods),
        }
