"""The served resource types: one ``ResourceInfo`` per resource (pure).

This is the discovery document of kubemu's apiserver (``kubectl api-resources``): the
group/version/kind of every served resource, its plural (the REST path segment and the etcd
key prefix ``/registry/<plural>/...``), singular, short names, whether it is namespaced and
whether it has a ``status`` subresource.

Served: core/v1 namespaces, nodes, pods, events, configmaps, secrets, services, endpoints;
apps/v1 replicasets, deployments; coordination.k8s.io/v1 leases; scheduling.k8s.io/v1
priorityclasses.  Events are the core/v1
``Event`` (not events.k8s.io).

``lookup`` resolves what a kubectl user types: kind, plural, singular or short name,
case-insensitively, optionally qualified by group (``deployments.apps``, ``deploy.apps``) or
by version and group (``deployments.v1.apps``), as kubectl's RESTMapper does.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResourceInfo:
    group: str                      # "" for core, "apps", "coordination.k8s.io"
    version: str                    # "v1"
    kind: str                       # "Pod"
    plural: str                     # "pods"
    singular: str                   # "pod"
    short_names: tuple[str, ...]    # ("po",)
    namespaced: bool
    has_status: bool                # status subresource

    @property
    def api_version(self) -> str:
        """``v1`` for core, ``apps/v1`` otherwise."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        """``PodList``."""
        return self.kind + "List"

    @property
    def group_resource(self) -> str:
        """``pods`` / ``deployments.apps`` (how errors name a resource)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def group_kind(self) -> str:
        """``Pod`` / ``Deployment.apps`` (how Invalid errors name a kind)."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    def names(self) -> tuple[str, ...]:
        """Every unqualified name ``lookup`` accepts for this resource (lower case)."""
        return (self.plural, self.singular, self.kind.lower(), *self.short_names)


_ALL: tuple[ResourceInfo, ...] = (
    ResourceInfo("", "v1", "Namespace", "namespaces", "namespace", ("ns",), False, True),
    ResourceInfo("", "v1", "Node", "nodes", "node", ("no",), False, True),
    ResourceInfo("", "v1", "Pod", "pods", "pod", ("po",), True, True),
    ResourceInfo("coordination.k8s.io", "v1", "Lease", "leases", "lease", (), True, False),
    ResourceInfo("", "v1", "Event", "events", "event", ("ev",), True, False),
    ResourceInfo("apps", "v1", "ReplicaSet", "replicasets", "replicaset", ("rs",), True, True),
    ResourceInfo("apps", "v1", "Deployment", "deployments", "deployment", ("deploy",), True, True),
    ResourceInfo("", "v1", "ConfigMap", "configmaps", "configmap", ("cm",), True, False),
    ResourceInfo("", "v1", "Secret", "secrets", "secret", (), True, False),
    ResourceInfo("", "v1", "Service", "services", "service", ("svc",), True, True),
    ResourceInfo("", "v1", "Endpoints", "endpoints", "endpoints", ("ep",), True, False),
    ResourceInfo("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", "priorityclass", ("pc",),
                 False, False),
)

RESOURCES: dict[str, ResourceInfo] = {r.plural: r for r in _ALL}
"""Served resources by plural."""

_BY_KIND: dict[str, ResourceInfo] = {r.kind: r for r in _ALL}
_BY_NAME: dict[str, ResourceInfo] = {}
for _r in _ALL:
    for _n in _r.names():
        _BY_NAME.setdefault(_n, _r)


def _group_matches(info: ResourceInfo, group: str) -> bool:
    return group == info.group or (info.group == "" and group == "core")


def lookup(name: str) -> ResourceInfo:
    """Resolve a kind, plural, singular or short name (case-insensitive), optionally
    group-qualified (``deployments.apps``) or version-and-group-qualified
    (``deployments.v1.apps``).  Raises ``KeyError`` for anything not served."""
    key = name.strip().lower()
    if not key:
        raise KeyError(name)
    if key in _BY_NAME:
        return _BY_NAME[key]
    base, dot, rest = key.partition(".")
    if dot and base in _BY_NAME:
        info = _BY_NAME[base]
        if _group_matches(info, rest):
            return info
        version, dot2, group = rest.partition(".")
        if dot2 and version == info.version and _group_matches(info, group):
            return info
        if rest == info.version and info.group == "":
            return info
    raise KeyError(name)


def for_kind(kind: str) -> ResourceInfo:
    """The resource serving ``kind`` (exact, then case-insensitive).  Raises ``KeyError``."""
    info = _BY_KIND.get(kind)
    if info is not None:
        return info
    low = kind.lower()
    for r in _ALL:
        if r.kind.lower() == low:
            return r
    raise KeyError(kind)


def for_object(obj: dict[str, object]) -> ResourceInfo:
    """The resource of an object by its ``apiVersion`` and ``kind``.  Raises ``KeyError``
    when the kind is not served or the apiVersion does not match it."""
    kind = obj.get("kind")
    if not isinstance(kind, str):
        raise KeyError(kind)
    info = for_kind(kind)
    av = obj.get("apiVersion")
    if av is not None and av != info.api_version:
        raise KeyError(f"{av}/{kind}")
    return info
