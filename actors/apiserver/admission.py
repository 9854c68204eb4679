"""Admission plugins (pure): the ones kubemu's default chain needs.

- **NamespaceLifecycle** (plugin/pkg/admission/namespace/lifecycle): writes into a
  namespace that does not exist are NotFound; creates into a Terminating namespace
  are Forbidden; the immortal namespaces (default, kube-system, kube-public) cannot be
  deleted. Deletes of other objects are always allowed.
- **DefaultTolerationSeconds** (plugin/pkg/admission/defaulttolerationseconds): a pod
  created without a NoExecute toleration for node.kubernetes.io/not-ready /
  unreachable gets one with tolerationSeconds = the configured default (300 upstream,
  `timings.defaultTolerationSeconds` in cluster.yaml).

ServiceAccount, LimitRanger, ResourceQuota, Priority ... are not part of kubemu.

The registry looks the namespace up (a consistent read) and passes it in, so the
plugins themselves do no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actors.api import errors
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


class Admission:
    """The chain: mutating plugins, then validating ones."""

    def __init__(self, config: AdmissionConfig | None = None) -> None:
        self.config = config or AdmissionConfig()

    def mutate(self, a: Attributes) -> None:
        default_toleration_seconds(a, self.config.default_toleration_seconds)

    def validate(self, a: Attributes, namespace: dict[str, Any] | None) -> None:
        namespace_lifecycle(a, namespace)
