"""Small pure helpers over pod and node dicts, shared by the plugins, cache and queue.

- taints and tolerations: `Toleration.ToleratesTaint` (actors.api.meta: empty operator
  means Equal; an empty key with Exists tolerates everything; an empty effect matches
  every effect) and `FindMatchingUntoleratedTaint`;
- node selection: component-helpers' `nodeaffinity` (a pod's `nodeSelector` AND its
  required NodeSelectorTerms, the terms ORed, the requirements of one term ANDed;
  matchExpressions In/NotIn/Exists/DoesNotExist/Gt/Lt over labels, matchFields over
  `metadata.name`; a term that is empty or does not parse matches nothing), the
  requirements parsed once per cycle with actors.api.selectors;
- pod identity: keys, priority, whether a pod is assigned or being deleted.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from actors.api.meta import toleration_tolerates_taint
from actors.api.selectors import node_selector_requirement

Obj = Mapping[str, Any]

TAINT_NODE_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
NO_SCHEDULE = "NoSchedule"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
NO_EXECUTE = "NoExecute"


# ---- identity ------------------------------------------------------------------------


def meta(obj: Obj) -> Mapping[str, Any]:
    m = obj.get("metadata")
    if type(m) is dict:  # the common case, without isinstance(Mapping)'s ABC machinery
        return m
    return m if isinstance(m, Mapping) else {}


def spec(obj: Obj) -> Mapping[str, Any]:
    s = obj.get("spec")
    if type(s) is dict:
        return s
    return s if isinstance(s, Mapping) else {}


def name_of(obj: Obj) -> str:
    return str(meta(obj).get("name") or "")


def namespace_of(obj: Obj) -> str:
    return str(meta(obj).get("namespace") or "")


def pod_key(pod: Obj) -> str:
    """namespace/name: how the queue and the informers identify a pod."""
    return f"{namespace_of(pod)}/{name_of(pod)}"


def pod_node_name(pod: Obj) -> str:
    return str(spec(pod).get("nodeName") or "")


def pod_priority(pod: Obj) -> int:
    """corev1helpers.PodPriority: spec.priority, 0 when unset."""
    p = spec(pod).get("priority")
    return int(p) if isinstance(p, int) and not isinstance(p, bool) else 0


def is_assigned(pod: Obj) -> bool:
    return pod_node_name(pod) != ""


def is_terminating(pod: Obj) -> bool:
    return bool(meta(pod).get("deletionTimestamp"))


def is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def scheduler_name(pod: Obj) -> str:
    return str(spec(pod).get("schedulerName") or "default-scheduler")


# ---- taints and tolerations ----------------------------------------------------------


def tolerates_taint(toleration: Obj, taint: Obj) -> bool:
    """v1.Toleration.ToleratesTaint."""
    return toleration_tolerates_taint(toleration, taint)


def tolerations_tolerate_taint(tolerations: Sequence[Obj], taint: Obj) -> bool:
    return any(tolerates_taint(t, taint) for t in tolerations)


def find_matching_untolerated_taint(taints: Sequence[Obj], tolerations: Sequence[Obj],
                                    inclusion: Callable[[Obj], bool] | None = None) -> Obj | None:
    """The first taint (in node order) passing `inclusion` that no toleration tolerates."""
    for taint in taints:
        if inclusion is not None and not inclusion(taint):
            continue
        if not tolerations_tolerate_taint(tolerations, taint):
            return taint
    return None


def do_not_schedule_taint(taint: Obj) -> bool:
    """helper.DoNotScheduleTaintsFilterFunc: NoSchedule and NoExecute taints."""
    return taint.get("effect") in (NO_SCHEDULE, NO_EXECUTE)


def node_taints(node: Obj) -> list[Obj]:
    return list(spec(node).get("taints") or [])


def pod_tolerations(pod: Obj) -> list[Obj]:
    return list(spec(pod).get("tolerations") or [])


# ---- node selectors (component-helpers nodeaffinity) -----------------------------------


class _Unparsable(Exception):
    pass


def _label_requirement(req: Obj) -> Callable[[Mapping[str, str]], bool]:
    try:
        return node_selector_requirement(req).matches
    except ValueError as e:
        raise _Unparsable(str(e)) from None


def _field_requirement(req: Obj) -> Callable[[Mapping[str, str]], bool]:
    key = str(req.get("key") or "")
    op = req.get("operator")
    values = [str(v) for v in (req.get("values") or [])]
    if key != "metadata.name" or op not in ("In", "NotIn") or len(values) != 1:
        raise _Unparsable("field selector")
    want = values[0]
    if op == "In":
        return lambda fields: fields.get(key, "") == want
    return lambda fields: fields.get(key, "") != want


class NodeSelectorTerm:
    """One parsed NodeSelectorTerm; `matches(node)` is false when empty or unparsable."""

    def __init__(self, term: Obj) -> None:
        exprs = list(term.get("matchExpressions") or [])
        fields = list(term.get("matchFields") or [])
        self.empty = not exprs and not fields
        self.valid = True
        self._labels: list[Callable[[Mapping[str, str]], bool]] = []
        self._fields: list[Callable[[Mapping[str, str]], bool]] = []
        try:
            self._labels = [_label_requirement(r) for r in exprs]
            self._fields = [_field_requirement(r) for r in fields]
        except _Unparsable:
            self.valid = False

    def matches(self, node: Obj) -> bool:
        if self.empty or not self.valid:
            return False
        labels = node_labels(node)
        fields = {"metadata.name": name_of(node)}
        return all(r(labels) for r in self._labels) and all(r(fields) for r in self._fields)


def node_labels(node: Obj) -> dict[str, str]:
    return {str(k): str(v) for k, v in (meta(node).get("labels") or {}).items()}


def node_selector_terms_match(terms: Sequence[Obj], node: Obj) -> bool:
    """A NodeSelector: true when any term matches (so no terms match nothing)."""
    return any(NodeSelectorTerm(t).matches(node) for t in terms)


class RequiredNodeAffinity:
    """nodeaffinity.GetRequiredNodeAffinity: spec.nodeSelector AND the required terms."""

    def __init__(self, pod: Obj) -> None:
        ps = spec(pod)
        self.node_selector: dict[str, str] = {str(k): str(v) for k, v in (ps.get("nodeSelector") or {}).items()}
        self.terms: list[NodeSelectorTerm] | None = None
        required = (((ps.get("affinity") or {}).get("nodeAffinity") or {})
                    .get("requiredDuringSchedulingIgnoredDuringExecution"))
        if required is not None:
            self.terms = [NodeSelectorTerm(t) for t in (required.get("nodeSelectorTerms") or [])]

    def matches(self, node: Obj) -> bool:
        if self.node_selector:
            labels = node_labels(node)
            if any(labels.get(k) != v for k, v in self.node_selector.items()):
                return False
        if self.terms is not None:
            return any(t.matches(node) for t in self.terms)
        return True


class PreferredSchedulingTerms:
    """nodeaffinity.PreferredSchedulingTerms: the summed weights of the matching terms."""

    def __init__(self, terms: Sequence[Obj]) -> None:
        self.terms: list[tuple[int, NodeSelectorTerm]] = []
        for t in terms:
            weight = int(t.get("weight") or 0)
            term = NodeSelectorTerm(t.get("preference") or {})
            if weight == 0 or term.empty:
                continue
            self.terms.append((weight, term))

    def score(self, node: Obj) -> int:
        return sum(w for w, t in self.terms if t.matches(node))


def preferred_node_affinity(pod: Obj) -> PreferredSchedulingTerms | None:
    terms = ((((spec(pod).get("affinity") or {}).get("nodeAffinity") or {})
              .get("preferredDuringSchedulingIgnoredDuringExecution")) or [])
    if not terms:
        return None
    return PreferredSchedulingTerms(terms)
