"""PodTopologySpread: spread matching pods evenly over topology domains.

A constraint of `spec.topologySpreadConstraints` names a node label (`topologyKey`; the
nodes sharing a value form a domain), a labelSelector (plus `matchLabelKeys`: the pod's
values of those labels are ANDed into it), `maxSkew`, `whenUnsatisfiable`
(DoNotSchedule: Filter; ScheduleAnyway: Score), `minDomains` (default 1),
`nodeAffinityPolicy` (default Honor: only nodes matching the pod's nodeSelector /
required node affinity count) and `nodeTaintsPolicy` (default Ignore; Honor: nodes with
a NoSchedule/NoExecute taint the pod does not tolerate do not count). The pods counted
are those of the pod's namespace matching the selector, terminating pods excepted.

PreFilter (DoNotSchedule constraints) counts the matching pods per domain over every
node that has all the constraints' topology keys and passes the inclusion policies;
Skip when the pod has none. Filter, per constraint:

- the node lacks the topology key: UnschedulableAndUnresolvable, "node(s) didn't match
  pod topology spread constraints (missing required label)";
- `count(node's domain) + (1 if the pod matches the selector) - global minimum > maxSkew`:
  Unschedulable, "node(s) didn't match pod topology spread constraints"; the global
  minimum is the smallest domain count, or 0 when fewer than minDomains domains exist.

Score (ScheduleAnyway constraints): domains are those of the feasible nodes (the nodes
missing a topology key are ignored -- score 0 -- except under the system defaults),
counts come from every node as in PreFilter, and a node scores
`sum(count(its domain) * log(domains + 2) + maxSkew - 1)` over the constraints whose key
it has (for kubernetes.io/hostname the domain count is the number of scored nodes and
the count is the node's own), rounded. NormalizeScore reverses it:
`100 * (max + min - score) / max` (100 for every node when max is 0). Default weight 2.

Default constraints for a pod without any (args `defaultingType`: System, the default,
or List with `defaultConstraints`): System is hostname maxSkew 3 and zone maxSkew 5,
both ScheduleAnyway. Upstream selects the pods of the Services, ReplicaSet,
ReplicationController or StatefulSet of the pod; the scheduler here has no such
listers, so the selector is approximated from the pod itself: a pod whose controller
ownerReference is an apps/v1 ReplicaSet or StatefulSet or a v1 ReplicationController
gets a selector equal to its own labels (minus a StatefulSet's per-pod labels);
other pods (including pods only selected by a Service) get no default constraints.

Per-node pod counts are memoised per (namespace, selector) and NodeInfo generation, so
a cycle costs O(nodes x constraints) dictionary lookups once the counts are warm.
AddPod/RemovePod (PreFilterExtensions) keep the PreFilter counts right for preemption's
dry runs and the pods nominated to a node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

from actors.api.selectors import Selector, selector_from_dict, selector_from_set

from .. import helpers
from ..framework import (MAX_NODE_SCORE, NODE, POD, SKIP, SUCCESS, ActionType, ClusterEvent, Code, CycleState,
                         NodeInfo, NodeScore, Pod, PodInfo, PreFilterResult, Status, as_status, new_status,
                         read_state)

NAME = "PodTopologySpread"
ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints"
ERR_REASON_NODE_LABEL_NOT_MATCH = ERR_REASON_CONSTRAINTS_NOT_MATCH + " (missing required label)"

LABEL_HOSTNAME = "kubernetes.io/hostname"
LABEL_TOPOLOGY_ZONE = "topology.kubernetes.io/zone"
DO_NOT_SCHEDULE = "DoNotSchedule"
SCHEDULE_ANYWAY = "ScheduleAnyway"
HONOR = "Honor"
IGNORE = "Ignore"
SYSTEM_DEFAULTING = "System"
LIST_DEFAULTING = "List"
SYSTEM_DEFAULT_CONSTRAINTS: tuple[Mapping[str, Any], ...] = (
    {"topologyKey": LABEL_HOSTNAME, "whenUnsatisfiable": SCHEDULE_ANYWAY, "maxSkew": 3},
    {"topologyKey": LABEL_TOPOLOGY_ZONE, "whenUnsatisfiable": SCHEDULE_ANYWAY, "maxSkew": 5},
)
# the controllers whose selector the default constraints use: (apiVersion, kind)
DEFAULT_SELECTOR_OWNERS = frozenset({("apps/v1", "ReplicaSet"), ("apps/v1", "StatefulSet"),
                                     ("v1", "ReplicationController")})
# labels the StatefulSet controller sets per pod, never part of the set's selector
STATEFULSET_POD_LABELS = ("statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
                          "controller-revision-hash")

_MAX_INT32 = 2**31 - 1
_PREFILTER_KEY = "PreFilter" + NAME
_PRESCORE_KEY = "PreScore" + NAME
_NODES_KEY = "Nodes" + NAME  # every node of the cycle, from PreFilter for PreScore
_MEMO_ENTRIES_PER_NODE = 64


@dataclass(frozen=True)
class Constraint:
    """topologySpreadConstraint: a v1.TopologySpreadConstraint with its selector parsed."""

    max_skew: int
    topology_key: str
    selector: Selector
    min_domains: int = 1
    node_affinity_policy: str = HONOR
    node_taints_policy: str = IGNORE


def filter_constraints(constraints: Sequence[Mapping[str, Any]], pod_labels: Mapping[str, str],
                       action: str) -> list[Constraint]:
    """The constraints with whenUnsatisfiable == action, parsed; raises ValueError."""
    out: list[Constraint] = []
    for c in constraints:
        if c.get("whenUnsatisfiable") != action:
            continue
        selector = selector_from_dict(c.get("labelSelector"))
        match_labels = {str(k): str(pod_labels[k]) for k in c.get("matchLabelKeys") or [] if k in pod_labels}
        if match_labels:
            merged = selector_from_set(match_labels)
            selector = merged if selector.is_nothing else merged.add(*selector.requirements)
        min_domains = c.get("minDomains")
        out.append(Constraint(int(c.get("maxSkew") or 0), str(c.get("topologyKey") or ""), selector,
                              1 if min_domains is None else int(min_domains),
                              str(c.get("nodeAffinityPolicy") or HONOR), str(c.get("nodeTaintsPolicy") or IGNORE)))
    return out


def controller_ref(pod: Pod) -> Mapping[str, Any] | None:
    """metav1.GetControllerOf: the ownerReference with controller: true."""
    return next((r for r in helpers.meta(pod).get("ownerReferences") or [] if r.get("controller") is True), None)


def default_selector(pod: Pod) -> Selector:
    """The approximated helper.DefaultSelector (see the module docstring); empty: none."""
    owner = controller_ref(pod)
    if owner is None or (owner.get("apiVersion"), owner.get("kind")) not in DEFAULT_SELECTOR_OWNERS:
        return Selector()
    labels = {str(k): str(v) for k, v in (helpers.meta(pod).get("labels") or {}).items()}
    if owner.get("kind") == "StatefulSet":
        for k in STATEFULSET_POD_LABELS:
            labels.pop(k, None)
    return selector_from_set(labels)


def count_pods_match_selector(pods: Sequence[PodInfo], selector: Selector, namespace: str) -> int:
    n = 0
    for pi in pods:
        m = pi.pod.get("metadata") or {}
        if m.get("deletionTimestamp") or (m.get("namespace") or "") != namespace:
            continue
        if selector.matches(m.get("labels") or {}):
            n += 1
    return n


def node_labels(ni: NodeInfo) -> Mapping[str, str]:
    m = ni.node.get("metadata") if ni.node is not None else None
    return (m.get("labels") if m else None) or {}


def has_all_keys(labels: Mapping[str, str], constraints: Sequence[Constraint]) -> bool:
    """nodeLabelsMatchSpreadConstraints."""
    return all(c.topology_key in labels for c in constraints)


class _Inclusion:
    """matchNodeInclusionPolicies for one pod, the node checks computed once per node."""

    def __init__(self, pod: Pod, constraints: Sequence[Constraint]) -> None:
        self.affinity = (helpers.RequiredNodeAffinity(pod)
                         if any(c.node_affinity_policy == HONOR for c in constraints) else None)
        self.tolerations = helpers.pod_tolerations(pod)
        self.taints = any(c.node_taints_policy == HONOR for c in constraints)
        # whether any node can fail a policy (a pod without nodeSelector / node affinity matches all)
        self.active = self.taints or (self.affinity is not None and (bool(self.affinity.node_selector)
                                                                    or self.affinity.terms is not None))

    def node(self, node: Mapping[str, Any]) -> tuple[bool, bool]:
        """(passes node affinity, has no untolerated NoSchedule/NoExecute taint)."""
        if not self.active:
            return True, True
        aff = self.affinity.matches(node) if self.affinity is not None else True
        taints = (helpers.find_matching_untolerated_taint(helpers.node_taints(node), self.tolerations,
                                                          helpers.do_not_schedule_taint) is None
                  if self.taints else True)
        return aff, taints

    @staticmethod
    def included(c: Constraint, aff: bool, taints: bool) -> bool:
        return (aff or c.node_affinity_policy != HONOR) and (taints or c.node_taints_policy != HONOR)


def _round(x: float) -> int:
    """Go's math.Round: half away from zero."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def topology_normalizing_weight(size: int) -> float:
    return math.log(size + 2)


def score_for_count(count: int, max_skew: int, weight: float) -> float:
    return count * weight + (max_skew - 1)


class CriticalPaths:
    """criticalPaths: the two domains with the fewest matching pods, `[0]` holding the global
    minimum (MaxInt32 without domains). Built exact; kept in O(1) under AddPod/RemovePod's
    +-1 updates, after which, as upstream, `[1]` is only known to be >= `[0]`."""

    __slots__ = ("paths",)

    def __init__(self, paths: list[list[Any]] | None = None) -> None:
        self.paths: list[list[Any]] = paths or [["", _MAX_INT32], ["", _MAX_INT32]]  # [value, count]

    @classmethod
    def of(cls, counts: Mapping[str, int]) -> "CriticalPaths":
        p = cls()
        for value, n in counts.items():
            p.update(value, n)
        return p

    def update(self, value: str, n: int) -> None:
        p = self.paths
        i = 0 if value == p[0][0] else 1 if value == p[1][0] else -1
        if i >= 0:
            p[i][1] = n
            if p[0][1] > p[1][1]:
                p[0], p[1] = p[1], p[0]
        elif n < p[0][1]:
            p[1], p[0] = p[0], [value, n]
        elif n < p[1][1]:
            p[1] = [value, n]

    @property
    def min(self) -> int:
        return int(self.paths[0][1])

    def clone(self) -> "CriticalPaths":
        return CriticalPaths([list(self.paths[0]), list(self.paths[1])])


@dataclass
class PreFilterState:
    constraints: list[Constraint]
    counts: list[dict[str, int]]  # per constraint: topology value -> matching pods
    paths: list[CriticalPaths]  # per constraint
    self_match: list[int]  # per constraint: 1 when the incoming pod matches the selector

    def __post_init__(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        # per constraint (topologyKey, counts, selfMatch - global minimum, maxSkew): Filter's whole input
        self.checks = [(c.topology_key, self.counts[i], self.self_match[i] - self.min_match_num(i), c.max_skew)
                       for i, c in enumerate(self.constraints)]

    def min_match_num(self, i: int) -> int:
        """The global minimum; 0 while fewer domains than minDomains exist."""
        c = self.constraints[i]
        return 0 if len(self.counts[i]) < c.min_domains else self.paths[i].min

    def clone(self) -> "PreFilterState":
        """For preemption's dry runs: counts and paths copied, constraints shared."""
        return PreFilterState(self.constraints, [dict(d) for d in self.counts], [p.clone() for p in self.paths],
                              self.self_match)


@dataclass
class PreScoreState:
    constraints: list[Constraint]
    ignored_nodes: set[str]
    counts: list[dict[str, int]]  # per non-hostname constraint: topology value -> matching pods
    weights: list[float]
    memo_keys: list[str]
    namespace: str


class PodTopologySpread:
    name = NAME

    def __init__(self, default_constraints: Sequence[Mapping[str, Any]] = SYSTEM_DEFAULT_CONSTRAINTS,
                 system_defaulted: bool = True) -> None:
        self.default_constraints = list(default_constraints)
        self.system_defaulted = system_defaulted
        # NodeInfo generation -> memo key -> count; a generation names one state of one node's pods
        self._memo: dict[int, dict[str, int]] = {}

    def events_to_register(self) -> list[ClusterEvent]:
        return [ClusterEvent(POD, ActionType.ADD | ActionType.UPDATE_POD_LABEL | ActionType.DELETE),
                ClusterEvent(NODE, ActionType.ADD | ActionType.DELETE | ActionType.UPDATE_NODE_LABEL
                             | ActionType.UPDATE_NODE_TAINT)]

    # ---- constraints and counting -----------------------------------------------------------

    def constraints(self, pod: Pod, action: str) -> tuple[list[Constraint], bool]:
        """(the pod's constraints for `action`, whether they are defaults); raises ValueError."""
        labels = helpers.meta(pod).get("labels") or {}
        own = helpers.spec(pod).get("topologySpreadConstraints") or []
        if own:
            return filter_constraints(own, labels, action), False
        if not self.default_constraints:
            return [], True
        defaults = filter_constraints(self.default_constraints, labels, action)
        if not defaults:
            return [], True
        selector = default_selector(pod)
        if selector.empty:
            return [], True
        return [replace(c, selector=selector) for c in defaults], True

    def count(self, ni: NodeInfo, selector: Selector, memo_key: str, namespace: str) -> int:
        """countPodsMatchSelector over the node's pods, memoised per NodeInfo generation."""
        if not ni.pods:
            return 0
        memo = self._memo.get(ni.generation)
        if memo is None:
            memo = self._memo[ni.generation] = {}
        n = memo.get(memo_key)
        if n is None:
            n = count_pods_match_selector(ni.pods, selector, namespace)
            if len(memo) >= _MEMO_ENTRIES_PER_NODE:
                memo.clear()
            memo[memo_key] = n
        return n

    def _trim_memo(self, nodes: int) -> None:
        """Forget every count once stale generations outnumber the live ones."""
        if len(self._memo) > 2 * nodes + 64:
            self._memo.clear()

    @staticmethod
    def _memo_keys(constraints: Sequence[Constraint], namespace: str) -> list[str]:
        return [f"{namespace}\x00{c.selector!r}" for c in constraints]

    # ---- filtering ----------------------------------------------------------------------

    def pre_filter(self, state: CycleState, pod: Pod,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status]:
        state.write(_NODES_KEY, nodes)
        try:
            constraints, _ = self.constraints(pod, DO_NOT_SCHEDULE)
        except ValueError as e:
            what = "setting default hard" if not helpers.spec(pod).get("topologySpreadConstraints") \
                else "obtaining pod's hard"
            return None, as_status(f"get constraints from pod: {what} topology spread constraints: {e}")
        if not constraints:
            return None, SKIP
        state.write(_PREFILTER_KEY, self.pre_filter_state(pod, constraints, nodes))
        return None, SUCCESS

    def pre_filter_state(self, pod: Pod, constraints: list[Constraint],
                         nodes: Sequence[NodeInfo]) -> PreFilterState:
        namespace = helpers.namespace_of(pod)
        keys = self._memo_keys(constraints, namespace)
        self._trim_memo(len(nodes))
        inclusion = _Inclusion(pod, constraints)
        counts: list[dict[str, int]] = [{} for _ in constraints]
        for ni in nodes:
            if ni.node is None:
                continue
            labels = node_labels(ni)
            if not has_all_keys(labels, constraints):
                continue
            aff, taints = inclusion.node(ni.node) if inclusion.active else (True, True)
            for i, c in enumerate(constraints):
                if inclusion.active and not inclusion.included(c, aff, taints):
                    continue
                value = labels[c.topology_key]
                counts[i][value] = counts[i].get(value, 0) + self.count(ni, c.selector, keys[i], namespace)
        pod_labels = helpers.meta(pod).get("labels") or {}
        return PreFilterState(constraints, counts, [CriticalPaths.of(d) for d in counts],
                              [1 if c.selector.matches(pod_labels) else 0 for c in constraints])

    def add_pod(self, state: CycleState, pod_to_schedule: Pod, pod_to_add: PodInfo,
                node_info: NodeInfo) -> Status:
        return self._update_with_pod(state, pod_to_schedule, pod_to_add, node_info, 1)

    def remove_pod(self, state: CycleState, pod_to_schedule: Pod, pod_to_remove: PodInfo,
                   node_info: NodeInfo) -> Status:
        return self._update_with_pod(state, pod_to_schedule, pod_to_remove, node_info, -1)

    def _update_with_pod(self, state: CycleState, pod: Pod, pi: PodInfo, node_info: NodeInfo,
                         delta: int) -> Status:
        """updateWithPod: `pi` (of the pod's namespace) added to / removed from the node."""
        s, err = read_state(state, _PREFILTER_KEY, PreFilterState, reading="reading")
        if s is None:
            return err
        node = node_info.node
        if node is None or helpers.namespace_of(pi.pod) != helpers.namespace_of(pod):
            return SUCCESS
        labels = node_labels(node_info)
        if not has_all_keys(labels, s.constraints):
            return SUCCESS
        inclusion = _Inclusion(pod, s.constraints)
        aff, taints = inclusion.node(node)
        pod_labels = helpers.meta(pi.pod).get("labels") or {}
        for i, c in enumerate(s.constraints):
            if c.selector.matches(pod_labels) and inclusion.included(c, aff, taints):
                value = labels[c.topology_key]
                n = s.counts[i][value] = s.counts[i].get(value, 0) + delta
                s.paths[i].update(value, n)
        s.refresh()
        return SUCCESS

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        if node_info.node is None:
            return as_status("node not found")
        s, err = read_state(state, _PREFILTER_KEY, PreFilterState, reading="reading")
        if s is None:
            return err
        labels = node_labels(node_info)
        for key, counts, offset, max_skew in s.checks:
            value = labels.get(key)
            if value is None:
                return new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_REASON_NODE_LABEL_NOT_MATCH)
            if counts.get(value, 0) + offset > max_skew:  # the skew this pod would make
                return new_status(Code.UNSCHEDULABLE, ERR_REASON_CONSTRAINTS_NOT_MATCH)
        return SUCCESS

    # ---- scoring ------------------------------------------------------------------------

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        all_nodes: Sequence[NodeInfo] = state.get(_NODES_KEY) or nodes
        if not nodes or not all_nodes:
            return SKIP
        try:
            constraints, defaulted = self.constraints(pod, SCHEDULE_ANYWAY)
        except ValueError as e:
            what = "setting default soft" if not helpers.spec(pod).get("topologySpreadConstraints") \
                else "obtaining pod's soft"
            return as_status(f"calculating preScoreState: {what} topology spread constraints: {e}")
        if not constraints:
            return SKIP
        # nodes without every topology key are left out unless spreading by the system defaults
        require_all = not defaulted or not self.system_defaulted
        namespace = helpers.namespace_of(pod)
        ignored: set[str] = set()
        counts: list[dict[str, int]] = [{} for _ in constraints]
        for ni in nodes:
            labels = node_labels(ni)
            if require_all and not has_all_keys(labels, constraints):
                ignored.add(ni.name)
                continue
            for i, c in enumerate(constraints):
                if c.topology_key != LABEL_HOSTNAME:
                    counts[i].setdefault(labels.get(c.topology_key, ""), 0)
        weights = [topology_normalizing_weight(len(nodes) - len(ignored) if c.topology_key == LABEL_HOSTNAME
                                               else len(counts[i])) for i, c in enumerate(constraints)]
        keys = self._memo_keys(constraints, namespace)
        self._trim_memo(len(all_nodes))
        # hostname constraints have no domains here: their counts are the node's own, taken in Score
        spread = [(i, c, counts[i]) for i, c in enumerate(constraints) if counts[i]]
        if spread:  # the hot loop of a ReplicaSet's pods under the system defaults: kept lean
            inclusion = _Inclusion(pod, constraints)
            memo = self._memo
            for ni in all_nodes:
                if ni.node is None or not ni.pods:
                    continue
                labels = node_labels(ni)
                if require_all and not has_all_keys(labels, constraints):
                    continue
                aff, taints = inclusion.node(ni.node) if inclusion.active else (True, True)
                counted = memo.get(ni.generation)
                for i, c, domain in spread:
                    value = labels.get(c.topology_key, "")
                    if value in domain and (not inclusion.active or inclusion.included(c, aff, taints)):
                        n = counted.get(keys[i]) if counted is not None else None
                        domain[value] += n if n is not None else self.count(ni, c.selector, keys[i], namespace)
        state.write(_PRESCORE_KEY, PreScoreState(constraints, ignored, counts, weights, keys, namespace))
        return SUCCESS

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> tuple[int, Status]:
        if node_info.node is None:
            return 0, as_status("node not found")
        s, err = read_state(state, _PRESCORE_KEY, PreScoreState)
        if s is None:
            return 0, err
        if s.ignored_nodes and node_info.name in s.ignored_nodes:
            return 0, SUCCESS
        labels = node_labels(node_info)
        total = 0.0
        for i, c in enumerate(s.constraints):
            value = labels.get(c.topology_key)
            if value is None:
                continue
            if c.topology_key == LABEL_HOSTNAME:
                cnt = self.count(node_info, c.selector, s.memo_keys[i], s.namespace)
            else:
                cnt = s.counts[i].get(value, 0)
            total += score_for_count(cnt, c.max_skew, s.weights[i])
        return _round(total), SUCCESS

    def normalize_score(self, state: CycleState, pod: Pod, scores: list[NodeScore]) -> Status:
        s = state.get(_PRESCORE_KEY)
        if not isinstance(s, PreScoreState):
            return SUCCESS
        valid = [x.score for x in scores if x.name not in s.ignored_nodes]
        lo, hi = min(valid, default=0), max(max(valid, default=0), 0)
        for x in scores:
            if x.name in s.ignored_nodes:
                x.score = 0
            elif hi == 0:
                x.score = MAX_NODE_SCORE
            else:
                x.score = MAX_NODE_SCORE * (hi + lo - x.score) // hi
        return SUCCESS


def new(args: Mapping[str, Any] | None = None) -> PodTopologySpread:
    args = args or {}
    defaulting = str(args.get("defaultingType") or SYSTEM_DEFAULTING)
    listed = list(args.get("defaultConstraints") or [])
    if defaulting == SYSTEM_DEFAULTING:
        if listed:
            raise ValueError('defaultConstraints: Invalid value: when .defaultingType is "System", '
                             ".defaultConstraints must be empty")
        return PodTopologySpread(SYSTEM_DEFAULT_CONSTRAINTS, True)
    if defaulting != LIST_DEFAULTING:
        raise ValueError(f'defaultingType: Unsupported value: "{defaulting}": supported values: "List", "System"')
    return PodTopologySpread(listed, False)
