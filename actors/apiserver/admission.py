"""Admission plugins (pure): the ones kubemu's default chain needs.

- **NamespaceLifecycle** (plugin/pkg/admission/namespace/lifecycle): writes into a
  namespace that does not exist are NotFound; creates into a Terminating namespace
  are Forbidden; the immortal namespaces (default, kube-system, kube-public) cannot be
  deleted. Deletes of other objects are always allowed.
- **DefaultTolerationSeconds** (plugin/pkg/admission/defaulttolerationseconds): a pod
  created without a NoExecute toleration for node.kubernetes.io/not-ready /
  unreachable gets one with tolerationSeconds = the configured default (300 upstream,
  `timings.defaultTolerationSeconds` in cluster.yaml).
- **ServiceAccount** (plugin/pkg/admission/serviceaccount), its defaulting half: a pod
  created without `spec.serviceAccountName` runs as `default` (and the deprecated
  `spec.serviceAccount` mirrors it). ServiceAccount objects and the token volume are
  not served, so nothing is checked or mounted.

- **Priority** (plugin/pkg/admission/priority): a pod created with
  `spec.priorityClassName` gets that class's `value` as `spec.priority` and its
  `preemptionPolicy`; without a class name, the globalDefault class's (the lowest value
  if several claim it) and its name, or priority 0 and PreemptLowerPriority when there is
  none. An unknown class is Forbidden (`no PriorityClass with name X was found`), and so
  is a pod that sets `spec.priority` / `spec.preemptionPolicy` to something else than
  the class gives. A pod update keeps the stored priority and preemptionPolicy (see
  `priority_admit`). On PriorityClasses: a second globalDefault class is Forbidden
  (`PriorityClass X is already marked as default. Only one default can exist`), and the
  built-in system classes cannot be deleted (upstream's priorityclass storage). The
  built-in classes (`system_priority_classes()`) are created at apiserver bootstrap.

ServiceAccount, LimitRanger, ResourceQuota ... are not part of kubemu.

The registry looks the namespace and the PriorityClasses up (consistent reads) and
passes them in, so the plugins themselves do no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actors.api import errors
from actors.api.defaults import SYSTEM_PRIORITY_CLASSES
from actors.api.resources import ResourceInfo

from .strategy import IMMORTAL_NAMESPACES

CREATE, UPDATE, DELETE = "CREATE", "UPDATE", "DELETE"

TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"


@dataclass
class Attributes:
    operation: str            # CREATE | UPDATE | DELETE
    info: ResourceInfo
    namespace: str            # "" for cluster-scoped
    name: str
    subresource: str = ""
    obj: dict[str, Any] | None = None   # the new object (CREATE/UPDATE), mutable
    old: dict[str, Any] | None = None


@dataclass
class AdmissionConfig:
    default_toleration_seconds: int = 300


def needs_namespace(a: Attributes) -> bool:
    """Whether NamespaceLifecycle must see the request's namespace object."""
    return (a.info.namespaced and bool(a.namespace) and a.info.plural != "namespaces"
            and a.operation != DELETE)


def namespace_lifecycle(a: Attributes, namespace: dict[str, Any] | None) -> None:
    """Raise NotFound / Forbidden as upstream's NamespaceLifecycle validation."""
    if a.info.plural == "namespaces" or not a.info.namespaced or not a.namespace:
        if a.info.plural == "namespaces" and a.operation == DELETE and \
                a.name in IMMORTAL_NAMESPACES:
            raise errors.forbidden(a.info, a.name, "this namespace may not be deleted")
        return
    if a.operation == DELETE:
        return
    if namespace is None:
        from actors.api.resources import lookup

        raise errors.not_found(lookup("namespaces"), a.namespace)
    if a.operation == CREATE and (namespace.get("status") or {}).get("phase") == "Terminating":
        raise errors.namespace_terminating(a.info, a.name, a.namespace)


def default_toleration_seconds(a: Attributes, seconds: int) -> None:
    """Add the not-ready / unreachable NoExecute tolerations a new pod lacks."""
    if a.operation != CREATE or a.info.plural != "pods" or a.subresource or a.obj is None:
        return
    spec = a.obj.setdefault("spec", {})
    tolerations = list(spec.get("tolerations") or [])
    not_ready = unreachable = False
    for t in tolerations:
        key, effect = t.get("key") or "", t.get("effect") or ""
        if key in (TAINT_NOT_READY, "") and effect in ("NoExecute", ""):
            not_ready = True
        if key in (TAINT_UNREACHABLE, "") and effect in ("NoExecute", ""):
            unreachable = True
    if not not_ready:
        tolerations.append({"key": TAINT_NOT_READY, "operator": "Exists",
                            "effect": "NoExecute", "tolerationSeconds": seconds})
    if not unreachable:
        tolerations.append({"key": TAINT_UNREACHABLE, "operator": "Exists",
                            "effect": "NoExecute", "tolerationSeconds": seconds})
    if not (not_ready and unreachable):
        spec["tolerations"] = tolerations


def service_account(a: Attributes) -> None:
    """Default a new pod's service account to `default`."""
    if a.operation != CREATE or a.info.plural != "pods" or a.subresource or a.obj is None:
        return
    spec = a.obj.setdefault("spec", {})
    name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = name
    spec["serviceAccount"] = name


# ---- Priority ---------------------------------------------------------------------------

PREEMPT_LOWER_PRIORITY = "PreemptLowerPriority"
_SYSTEM_PRIORITY_CLASS_DESCRIPTIONS = {
    "system-node-critical": "Used for system critical pods that must not be moved from their current node.",
    "system-cluster-critical": "Used for system critical pods that must run in the cluster, but can be "
                               "moved to another node if necessary.",
}


def system_priority_classes() -> list[dict[str, Any]]:
    """The built-in PriorityClasses the apiserver creates at bootstrap."""
    return [{"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
             "value": value, "description": _SYSTEM_PRIORITY_CLASS_DESCRIPTIONS[name]}
            for name, value in SYSTEM_PRIORITY_CLASSES.items()]


def needs_priority_classes(a: Attributes, validating: bool) -> bool:
    """Whether the Priority plugin must see the PriorityClasses for this request: when
    mutating a pod create, when validating a globalDefault class's create or update."""
    if a.subresource or a.obj is None:
        return False
    if a.info.plural == "pods":
        return not validating and a.operation == CREATE
    if a.info.plural == "priorityclasses":
        return validating and a.operation in (CREATE, UPDATE) and bool(a.obj.get("globalDefault"))
    return False


def _forbidden_name(a: Attributes) -> str:
    """admission.NewForbidden's name: the request's, the object's, its generateName, "Unknown"."""
    m = (a.obj or {}).get("metadata") or {}
    return a.name or str(m.get("name") or "") or str(m.get("generateName") or "") or "Unknown"


def _pc_name(pc: dict[str, Any]) -> str:
    return str((pc.get("metadata") or {}).get("name") or "")


def _pc_value(pc: dict[str, Any]) -> int:
    v = pc.get("value")
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def default_priority_class(priority_classes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """getDefaultPriorityClass: the globalDefault class with the lowest value, if any."""
    out: dict[str, Any] | None = None
    for pc in priority_classes:
        if pc.get("globalDefault") and (out is None or _pc_value(out) > _pc_value(pc)):
            out = pc
    return out


def priority_admit(a: Attributes, priority_classes: list[dict[str, Any]] | None) -> None:
    """The Priority plugin's Admit for pods (mutates `a.obj`; raises Forbidden)."""
    if a.info.plural != "pods" or a.subresource or a.obj is None:
        return
    spec = a.obj.setdefault("spec", {})
    if a.operation == UPDATE and a.old is not None:
        # Upstream keeps the stored values when the update omits them. Here an omitted
        # field has already been defaulted (priority of the class name's built-in value or
        # 0, PreemptLowerPriority), so a defaulted value under an unchanged class name is
        # taken as omitted too (validation would reject any other change of them).
        old_spec = a.old.get("spec") or {}
        same_class = spec.get("priorityClassName") == old_spec.get("priorityClassName")
        fallback = SYSTEM_PRIORITY_CLASSES.get(str(spec.get("priorityClassName") or ""), 0)
        if old_spec.get("priority") is not None and (
                spec.get("priority") is None or (same_class and spec.get("priority") == fallback)):
            spec["priority"] = old_spec["priority"]
        if old_spec.get("preemptionPolicy") is not None and (
                spec.get("preemptionPolicy") is None
                or (same_class and spec.get("preemptionPolicy") == PREEMPT_LOWER_PRIORITY)):
            spec["preemptionPolicy"] = old_spec["preemptionPolicy"]
        return
    if a.operation != CREATE:
        return
    classes = priority_classes or []
    class_name = str(spec.get("priorityClassName") or "")
    policy: str | None
    if not class_name:
        dpc = default_priority_class(classes)
        if dpc is not None:
            class_name, priority, policy = _pc_name(dpc), _pc_value(dpc), dpc.get("preemptionPolicy")
            spec["priorityClassName"] = class_name
        else:
            priority, policy = 0, PREEMPT_LOWER_PRIORITY
    else:
        pc = next((c for c in classes if _pc_name(c) == class_name), None)
        if pc is None:
            raise errors.forbidden(a.info, _forbidden_name(a), f"no PriorityClass with name {class_name} was found")
        priority, policy = _pc_value(pc), pc.get("preemptionPolicy")
    given = spec.get("priority")
    if given is not None and given != priority:
        raise errors.forbidden(a.info, _forbidden_name(a), (
            f"the integer value of priority ({given}) must not be provided in pod spec; priority admission "
            f"controller computed {priority} from the given PriorityClass name"))
    spec["priority"] = priority
    if policy is not None:
        given_policy = spec.get("preemptionPolicy")
        if given_policy is not None and given_policy != policy:
            raise errors.forbidden(a.info, _forbidden_name(a), (
                f"the string value of PreemptionPolicy ({given_policy}) must not be provided in pod spec; "
                f"priority admission controller computed {policy} from the given PriorityClass name"))
        spec["preemptionPolicy"] = policy


def priority_validate(a: Attributes, priority_classes: list[dict[str, Any]] | None) -> None:
    """The Priority plugin's Validate for PriorityClasses, plus the storage's refusal to
    delete a built-in class."""
    if a.info.plural != "priorityclasses" or a.subresource:
        return
    if a.operation == DELETE:
        if a.name in SYSTEM_PRIORITY_CLASSES:
            raise errors.forbidden(a.info, a.name, "this is a system priority class and cannot be deleted")
        return
    if a.obj is None or not a.obj.get("globalDefault"):
        return
    dpc = default_priority_class(priority_classes or [])
    if dpc is None:
        return
    if a.operation == CREATE or (a.operation == UPDATE and _pc_name(dpc) != _pc_name(a.obj)):
        raise errors.forbidden(a.info, _forbidden_name(a), (
            f"PriorityClass {_pc_name(dpc)} is already marked as default. Only one default can exist"))


class Admission:
    """The chain: mutating plugins, then validating ones.

    `priority_classes` is every stored PriorityClass, passed in by the registry when
    `needs_priority_classes` says the Priority plugin looks at them (None otherwise).
    """

    def __init__(self, config: AdmissionConfig | None = None) -> None:
        self.config = config or AdmissionConfig()

    def mutate(self, a: Attributes, priority_classes: list[dict[str, Any]] | None = None) -> None:
        service_account(a)
        default_toleration_seconds(a, self.config.default_toleration_seconds)
        priority_admit(a, priority_classes)

    def validate(self, a: Attributes, namespace: dict[str, Any] | None,
                 priority_classes: list[dict[str, Any]] | None = None) -> None:
        namespace_lifecycle(a, namespace)
        priority_validate(a, priority_classes)
