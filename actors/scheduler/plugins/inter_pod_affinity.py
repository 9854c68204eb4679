"""InterPodAffinity: pods drawn to, or kept away from, other pods of a topology domain.

A PodAffinityTerm (framework.AffinityTerm) selects pods by labelSelector within
`namespaces` / `namespaceSelector` (neither: the pod's own namespace) and names a node
label, `topologyKey`; the nodes sharing that label's value form one domain.

PreFilter counts matching pods per (topologyKey, value) pair:

- existing pods' required anti-affinity terms that match the incoming pod (visiting only
  the nodes that hold such pods, `NodeInfo.pods_with_required_anti_affinity`);
- existing pods matching *all* the incoming pod's required affinity terms (one count
  per term, in that term's domain of the existing pod's node);
- existing pods matching each of the incoming pod's required anti-affinity terms.

It returns Skip when the pod has no required term and no existing anti-affinity term
matches it, so a plain pod costs one pass over the node list and no Filter call. A pod
whose terms do not parse is UnschedulableAndUnresolvable ("parsing pod: ...").

Filter, O(terms) per node, the first failing check wins:

1. "node(s) didn't match pod affinity rules" (UnschedulableAndUnresolvable): the node
   lacks some term's topologyKey, or some term's domain holds no matching pod. A pod
   that matches all its own affinity terms still passes when no pod anywhere matches
   them (the first pod of a group with affinity to itself);
2. "node(s) didn't match pod anti-affinity rules" (Unschedulable): a pod matching one of
   the pod's anti-affinity terms runs in that term's domain of the node;
3. "node(s) didn't satisfy existing pods anti-affinity rules" (Unschedulable): an
   existing pod whose anti-affinity term matches the incoming pod runs in that term's
   domain of the node.

Score: each existing pod (all pods of all nodes when the incoming pod has preferred
terms, else only the pods with affinity) contributes to its own domains:

- + / - the weight of each preferred affinity / anti-affinity term of the incoming pod
  that it matches;
- + hardPodAffinityWeight (argument, default 1, 0 turns it off) for each of its required
  affinity terms the incoming pod matches;
- + / - the weight of each of its preferred affinity / anti-affinity terms the incoming
  pod matches.

A node scores the sum, over topology keys, of its domains' totals; NormalizeScore maps
[min, max] linearly to [0, 100] (truncated; every node 0 when all are equal). PreScore
skips when nothing contributed, or, with ignorePreferredTermsOfExistingPods, when the
incoming pod has no preferred term. Default weight 2.

How many of a node's pods match a set of terms (the incoming pod's required terms in
PreFilter, each of its preferred terms in PreScore) is memoised per NodeInfo generation,
so only the nodes whose pods changed since the last cycle are scanned again.

Namespace selectors see a namespace's labels as {kubernetes.io/metadata.name: name}
(no namespace lister). AddPod/RemovePod (PreFilterExtensions) keep the PreFilter
counts right for preemption's dry runs and the pods nominated to a node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..framework import (MAX_NODE_SCORE, NODE, POD, SKIP, SUCCESS, ActionType, AffinityTerm, ClusterEvent, Code,
                         CycleState, NodeInfo, NodeScore, Pod, PodAffinityInfo, PodInfo, PreFilterResult, Status,
                         WeightedAffinityTerm, as_status, new_status, pod_affinity_info, read_state)

NAME = "InterPodAffinity"
ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't satisfy existing pods anti-affinity rules"
ERR_REASON_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod affinity rules"
ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod anti-affinity rules"
DEFAULT_HARD_POD_AFFINITY_WEIGHT = 1
MAX_HARD_POD_AFFINITY_WEIGHT = 100

_PREFILTER_KEY = "PreFilter" + NAME
_PRESCORE_KEY = "PreScore" + NAME
_NODES_KEY = "Nodes" + NAME  # (every node, the nodes with affinity pods), from PreFilter for PreScore
_NO_AFFINITY = PodAffinityInfo()

TopologyPair = tuple[str, str]
Counts = dict[TopologyPair, int]
TopologyScores = dict[str, dict[str, int]]  # topologyKey -> value -> score


def node_labels(ni: NodeInfo) -> Mapping[str, str]:
    m = ni.node.get("metadata") if ni.node is not None else None
    return (m.get("labels") if m else None) or {}


def matches_all(terms: Sequence[AffinityTerm], pod: Pod) -> bool:
    """podMatchesAllAffinityTerms: false for no terms."""
    return bool(terms) and all(t.matches(pod) for t in terms)


def _count(counts: Counts, labels: Mapping[str, str], key: str, n: int = 1) -> None:
    value = labels.get(key)
    if value is not None:
        counts[(key, value)] = counts.get((key, value), 0) + n


def existing_anti_affinity_counts(pod: Pod, nodes: Sequence[NodeInfo]) -> Counts:
    """Pairs covered by existing pods' required anti-affinity terms matching `pod`."""
    counts: Counts = {}
    for ni in nodes:
        if not ni.pods_with_required_anti_affinity:
            continue
        labels = node_labels(ni)
        for pi in ni.pods_with_required_anti_affinity:
            if pi.affinity is None:
                continue
            for t in pi.affinity.required_anti_affinity_terms:
                if t.matches(pod):
                    _count(counts, labels, t.topology_key)
    return counts


def term_key(terms: Sequence[AffinityTerm]) -> str:
    """What decides which pods match all of `terms` (topology keys aside), as a memo key."""
    return "\x01".join(f"{','.join(sorted(t.namespaces))}\x00{t.selector!r}\x00{t.namespace_selector!r}"
                        for t in terms)


def _update(counts: Counts, labels: Mapping[str, str], key: str, delta: int) -> None:
    value = labels.get(key)
    if value is not None:
        n = counts.get((key, value), 0) + delta
        if n == 0:
            counts.pop((key, value), None)  # an empty map means "no pod matches anywhere"
        else:
            counts[(key, value)] = n


@dataclass
class PreFilterState:
    pod: Pod
    info: PodAffinityInfo
    existing_anti_affinity_counts: Counts
    affinity_counts: Counts
    anti_affinity_counts: Counts
    self_match: bool  # the pod matches all its own required affinity terms

    def __post_init__(self) -> None:
        self.existing_keys = {k for k, _ in self.existing_anti_affinity_counts}

    def clone(self) -> "PreFilterState":
        """For preemption's dry runs: the counts copied, the pod's terms shared."""
        return PreFilterState(self.pod, self.info, dict(self.existing_anti_affinity_counts),
                              dict(self.affinity_counts), dict(self.anti_affinity_counts), self.self_match)

    def update_with_pod(self, pi: PodInfo, labels: Mapping[str, str], delta: int) -> None:
        """preFilterState.updateWithPod: `pi` added to (+1) or removed from (-1) a node."""
        if pi.affinity is not None:
            for t in pi.affinity.required_anti_affinity_terms:
                if t.matches(self.pod):
                    _update(self.existing_anti_affinity_counts, labels, t.topology_key, delta)
                    self.existing_keys.add(t.topology_key)
        if matches_all(self.info.required_affinity_terms, pi.pod):
            for t in self.info.required_affinity_terms:
                _update(self.affinity_counts, labels, t.topology_key, delta)
        for t in self.info.required_anti_affinity_terms:
            if t.matches(pi.pod):
                _update(self.anti_affinity_counts, labels, t.topology_key, delta)


def satisfies_pod_affinity(s: PreFilterState, labels: Mapping[str, str]) -> bool:
    pods_exist = True
    for t in s.info.required_affinity_terms:
        value = labels.get(t.topology_key)
        if value is None:
            return False  # every topology key must be on the node
        if s.affinity_counts.get((t.topology_key, value), 0) <= 0:
            pods_exist = False
    if not pods_exist:
        # the first pod of a self-affine group: nothing matches anywhere, but the pod itself does
        return not s.affinity_counts and s.self_match
    return True


def satisfies_pod_anti_affinity(s: PreFilterState, labels: Mapping[str, str]) -> bool:
    if s.anti_affinity_counts:
        for t in s.info.required_anti_affinity_terms:
            value = labels.get(t.topology_key)
            if value is not None and s.anti_affinity_counts.get((t.topology_key, value), 0) > 0:
                return False
    return True


def satisfies_existing_pods_anti_affinity(s: PreFilterState, labels: Mapping[str, str]) -> bool:
    for key in s.existing_keys:
        value = labels.get(key)
        if value is not None and s.existing_anti_affinity_counts.get((key, value), 0) > 0:
            return False
    return True


def _aggregate(errors: Sequence[str]) -> str:
    """utilerrors.NewAggregate(...).Error()."""
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"


def _add_score(scores: TopologyScores, labels: Mapping[str, str], term: AffinityTerm, weight: int,
               pod: Pod) -> bool:
    if not term.matches(pod):
        return False
    value = labels.get(term.topology_key)
    if value is None:
        return False
    per_value = scores.setdefault(term.topology_key, {})
    per_value[value] = per_value.get(value, 0) + weight
    return True


def _add_weighted(scores: TopologyScores, labels: Mapping[str, str], terms: Sequence[WeightedAffinityTerm],
                  pod: Pod, sign: int) -> bool:
    added = False
    for wt in terms:
        added = _add_score(scores, labels, wt.term, sign * wt.weight, pod) or added
    return added


class InterPodAffinity:
    name = NAME

    def __init__(self, hard_pod_affinity_weight: int = DEFAULT_HARD_POD_AFFINITY_WEIGHT,
                 ignore_preferred_terms_of_existing_pods: bool = False) -> None:
        self.hard_pod_affinity_weight = hard_pod_affinity_weight
        self.ignore_preferred_terms_of_existing_pods = ignore_preferred_terms_of_existing_pods
        # NodeInfo generation -> term_key -> pods matching; a generation names one state of one node's pods
        self._memo: dict[int, dict[str, int]] = {}

    def events_to_register(self) -> list[ClusterEvent]:
        return [ClusterEvent(POD, ActionType.ADD | ActionType.UPDATE_POD_LABEL | ActionType.DELETE),
                ClusterEvent(NODE, ActionType.ADD | ActionType.UPDATE_NODE_LABEL)]

    def _trim_memo(self, nodes: int) -> None:
        """Forget every count once stale generations outnumber the live ones."""
        if len(self._memo) > 2 * nodes + 64:
            self._memo.clear()

    def matching_pods(self, ni: NodeInfo, terms: Sequence[AffinityTerm], key: str) -> int:
        """How many of the node's pods match all `terms`, memoised per NodeInfo generation."""
        memo = self._memo.get(ni.generation)
        if memo is None:
            memo = self._memo[ni.generation] = {}
        n = memo.get(key)
        if n is None:
            n = memo[key] = sum(1 for pi in ni.pods if matches_all(terms, pi.pod))
        return n

    def incoming_counts(self, info: PodAffinityInfo, nodes: Sequence[NodeInfo]) -> tuple[Counts, Counts]:
        """(pairs holding pods that match all the affinity terms, pairs per anti-affinity term match)."""
        affinity: Counts = {}
        anti: Counts = {}
        aff_terms, anti_terms = info.required_affinity_terms, info.required_anti_affinity_terms
        if not aff_terms and not anti_terms:
            return affinity, anti
        self._trim_memo(len(nodes))
        aff_key = term_key(aff_terms)
        antis = [((t,), term_key((t,))) for t in anti_terms]
        for ni in nodes:
            if not ni.pods:
                continue
            labels = node_labels(ni)
            if aff_terms:
                n = self.matching_pods(ni, aff_terms, aff_key)
                if n:
                    for t in aff_terms:
                        _count(affinity, labels, t.topology_key, n)
            for one, key in antis:
                n = self.matching_pods(ni, one, key)
                if n:
                    _count(anti, labels, one[0].topology_key, n)
        return affinity, anti

    # ---- filtering ----------------------------------------------------------------------

    def pre_filter(self, state: CycleState, pod: Pod,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status]:
        with_affinity = [ni for ni in nodes if ni.pods_with_affinity]
        state.write(_NODES_KEY, (nodes, with_affinity))
        info = pod_affinity_info(pod) or _NO_AFFINITY
        if info.parse_errors:
            return None, new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
                                    f"parsing pod: {_aggregate(info.parse_errors)}")
        existing = existing_anti_affinity_counts(pod, with_affinity)
        if not existing and not info.required_affinity_terms and not info.required_anti_affinity_terms:
            return None, SKIP
        affinity, anti = self.incoming_counts(info, nodes)
        state.write(_PREFILTER_KEY, PreFilterState(pod, info, existing, affinity, anti,
                                                   matches_all(info.required_affinity_terms, pod)))
        return None, SUCCESS

    def add_pod(self, state: CycleState, pod_to_schedule: Pod, pod_to_add: PodInfo,
                node_info: NodeInfo) -> Status:
        return self._update_with_pod(state, pod_to_add, node_info, 1)

    def remove_pod(self, state: CycleState, pod_to_schedule: Pod, pod_to_remove: PodInfo,
                   node_info: NodeInfo) -> Status:
        return self._update_with_pod(state, pod_to_remove, node_info, -1)

    def _update_with_pod(self, state: CycleState, pi: PodInfo, node_info: NodeInfo, delta: int) -> Status:
        s, err = read_state(state, _PREFILTER_KEY, PreFilterState)
        if s is None:
            return err
        s.update_with_pod(pi, node_labels(node_info), delta)
        return SUCCESS

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        if node_info.node is None:
            return as_status("node not found")
        s, err = read_state(state, _PREFILTER_KEY, PreFilterState)
        if s is None:
            return err
        labels = node_labels(node_info)
        if not satisfies_pod_affinity(s, labels):
            return new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_REASON_AFFINITY_RULES_NOT_MATCH)
        if not satisfies_pod_anti_affinity(s, labels):
            return new_status(Code.UNSCHEDULABLE, ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH)
        if not satisfies_existing_pods_anti_affinity(s, labels):
            return new_status(Code.UNSCHEDULABLE, ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH)
        return SUCCESS

    # ---- scoring ------------------------------------------------------------------------

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        if not nodes:
            return SKIP
        info = pod_affinity_info(pod) or _NO_AFFINITY
        if info.parse_errors:
            return as_status(f"failed to parse pod: {_aggregate(info.parse_errors)}")
        has_constraints = bool(info.preferred_affinity_terms or info.preferred_anti_affinity_terms)
        if self.ignore_preferred_terms_of_existing_pods and not has_constraints:
            return SKIP
        cached = state.get(_NODES_KEY)
        all_nodes: Sequence[NodeInfo] = cached[0] if cached is not None else nodes
        with_affinity = cached[1] if cached is not None else [ni for ni in all_nodes if ni.pods_with_affinity]
        scores: TopologyScores = {}
        added = False
        if has_constraints:
            # the pod's preferred terms against every pod: per node, the matching pods counted (memoised)
            weighted = [(wt, sign, term_key((wt.term,))) for terms, sign in
                        ((info.preferred_affinity_terms, 1), (info.preferred_anti_affinity_terms, -1))
                        for wt in terms]
            self._trim_memo(len(all_nodes))
            for ni in all_nodes:
                if not ni.pods:
                    continue
                labels = node_labels(ni)
                for wt, sign, key in weighted:
                    value = labels.get(wt.term.topology_key)
                    if value is None:
                        continue
                    n = self.matching_pods(ni, (wt.term,), key)
                    if n:
                        per_value = scores.setdefault(wt.term.topology_key, {})
                        per_value[value] = per_value.get(value, 0) + sign * wt.weight * n
                        added = True
        # the terms of the pods with affinity against the incoming pod
        for ni in with_affinity:
            labels = node_labels(ni)
            if not labels:
                continue
            for pi in ni.pods_with_affinity:
                if pi.affinity is not None:
                    added = self._process_existing_pod_terms(scores, pi.affinity, labels, pod) or added
        if not added:
            return SKIP
        state.write(_PRESCORE_KEY, scores)
        return SUCCESS

    def _process_existing_pod_terms(self, scores: TopologyScores, existing: PodAffinityInfo,
                                    labels: Mapping[str, str], incoming: Pod) -> bool:
        """processExistingPod's second half: the existing pod's terms matching the incoming pod."""
        added = False
        if self.hard_pod_affinity_weight > 0:
            for t in existing.required_affinity_terms:
                added = _add_score(scores, labels, t, self.hard_pod_affinity_weight, incoming) or added
        added = _add_weighted(scores, labels, existing.preferred_affinity_terms, incoming, 1) or added
        return _add_weighted(scores, labels, existing.preferred_anti_affinity_terms, incoming, -1) or added

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> tuple[int, Status]:
        if node_info.node is None:
            return 0, as_status("node not found")
        scores, err = read_state(state, _PRESCORE_KEY, dict)
        if scores is None:
            return 0, err
        labels = node_labels(node_info)
        return sum(per_value.get(labels[key], 0) for key, per_value in scores.items() if key in labels), SUCCESS

    def normalize_score(self, state: CycleState, pod: Pod, scores: list[NodeScore]) -> Status:
        if not state.get(_PRESCORE_KEY) or not scores:
            return SUCCESS
        lo = min(s.score for s in scores)
        diff = max(s.score for s in scores) - lo
        for s in scores:
            s.score = int(MAX_NODE_SCORE * ((s.score - lo) / diff)) if diff > 0 else 0
        return SUCCESS


def new(args: Mapping[str, Any] | None = None) -> InterPodAffinity:
    args = args or {}
    weight = args.get("hardPodAffinityWeight", DEFAULT_HARD_POD_AFFINITY_WEIGHT)
    if not isinstance(weight, int) or not 0 <= weight <= MAX_HARD_POD_AFFINITY_WEIGHT:
        raise ValueError(f"hardPodAffinityWeight: Invalid value: {weight}: not in valid range "
                         f"[0-{MAX_HARD_POD_AFFINITY_WEIGHT}]")
    return InterPodAffinity(weight, bool(args.get("ignorePreferredTermsOfExistingPods", False)))
