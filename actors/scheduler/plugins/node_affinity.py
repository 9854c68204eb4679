"""NodeAffinity: `spec.nodeSelector` and node affinity.

Filter: the node must match the pod's nodeSelector (every label equal) AND, when
present, one of the `requiredDuringSchedulingIgnoredDuringExecution` NodeSelectorTerms
(terms ORed, a term's requirements ANDed). UnschedulableAndUnresolvable.

PreFilter skips the plugin for pods with neither, and narrows the cycle to the named
nodes when every term pins `metadata.name` with `matchFields ... In` (the union over
terms of each term's intersection); terms that pin disjoint names make the pod
unschedulable outright ("pod affinity terms conflict").

Score: the summed weights of the `preferredDuringSchedulingIgnoredDuringExecution`
terms the node matches, normalized to 0..100 by the best node (skipped for pods with
no preferred terms). Default weight 2.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .. import helpers
from ..framework import (MAX_NODE_SCORE, SKIP, SUCCESS, Code, CycleState, NodeInfo, NodeScore, Pod,
                         PreFilterResult, Status, as_status, default_normalize_score, new_status)
from ..framework import NODE, ActionType, ClusterEvent

NAME = "NodeAffinity"
ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector"
ERR_REASON_CONFLICT = "pod affinity terms conflict"
_PREFILTER_KEY = "PreFilter" + NAME
_PRESCORE_KEY = "PreScore" + NAME


def fits(pod: Pod, node: Mapping[str, Any]) -> bool:
    return helpers.RequiredNodeAffinity(pod).matches(node)


def _required_terms(pod: Pod) -> list[Mapping[str, Any]] | None:
    required = ((((helpers.spec(pod).get("affinity") or {}).get("nodeAffinity") or {})
                 .get("requiredDuringSchedulingIgnoredDuringExecution")))
    if required is None:
        return None
    return list(required.get("nodeSelectorTerms") or [])


def node_names_from_terms(terms: Sequence[Mapping[str, Any]]) -> frozenset[str] | None:
    """The nodes the terms pin by metadata.name, or None when some term allows any node."""
    names: set[str] | None = None
    for t in terms:
        term_names: set[str] | None = None
        for r in t.get("matchFields") or []:
            if r.get("key") == "metadata.name" and r.get("operator") == "In":
                s = {str(v) for v in r.get("values") or []}
                term_names = s if term_names is None else term_names & s
        if term_names is None:
            return None  # this term does not restrict names: every node is eligible
        names = term_names if names is None else names | term_names
    return frozenset(names) if names is not None else None


class NodeAffinity:
    name = NAME

    def events_to_register(self) -> list[ClusterEvent]:
        return [ClusterEvent(NODE, ActionType.ADD | ActionType.UPDATE_NODE_LABEL)]

    def pre_filter(self, state: CycleState, pod: Pod,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status]:
        terms = _required_terms(pod)
        if terms is None and not helpers.spec(pod).get("nodeSelector"):
            return None, SKIP
        state.write(_PREFILTER_KEY, helpers.RequiredNodeAffinity(pod))
        if not terms:
            return None, SUCCESS
        names = node_names_from_terms(terms)
        if names is None:
            return None, SUCCESS
        if not names:
            return None, new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_REASON_CONFLICT)
        return PreFilterResult(names), SUCCESS

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        if node_info.node is None:
            return as_status("node not found")
        required = state.get(_PREFILTER_KEY)
        if not isinstance(required, helpers.RequiredNodeAffinity):
            required = helpers.RequiredNodeAffinity(pod)  # PreFilter disabled or skipped
        if not required.matches(node_info.node):
            return new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_REASON_POD)
        return SUCCESS

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        if not nodes:
            return SUCCESS
        preferred = helpers.preferred_node_affinity(pod)
        if preferred is None:
            return SKIP
        state.write(_PRESCORE_KEY, preferred)
        return SUCCESS

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> tuple[int, Status]:
        if node_info.node is None:
            return 0, as_status("node not found")
        preferred = state.get(_PRESCORE_KEY)
        if not isinstance(preferred, helpers.PreferredSchedulingTerms):
            preferred = helpers.preferred_node_affinity(pod)
            if preferred is None:
                return 0, SUCCESS
        return preferred.score(node_info.node), SUCCESS

    def normalize_score(self, state: CycleState, pod: Pod, scores: list[NodeScore]) -> Status:
        return default_normalize_score(MAX_NODE_SCORE, False, scores)


def new(args: Mapping[str, Any] | None = None) -> NodeAffinity:
    return NodeAffinity()
