"""Discovery documents of the REST API (pure): /version, /api, /apis, /api/v1, /apis/G/V.

Built from `actors.api.resources.RESOURCES`, the one list of served kinds, plus the
subresources the REST layer answers (status, scale, binding, eviction, log, finalize).
What kubectl reads from here:

- `kubectl api-resources`, the RESTMapper (kind ↔ resource, short names, namespaced);
- `categories: [all]` for `kubectl get all`;
- `pods/eviction` with group `policy`, version `v1`, kind `Eviction`: how `kubectl drain`
  learns that evictions are supported (CheckEvictionSupport);
- `deployments/scale` (autoscaling/v1 Scale) for `kubectl scale`.

When the client asks for it (`Accept: ...;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`,
what kubectl sends since 1.26), /api and /apis answer with aggregated discovery: every
group, version, resource and subresource in one document, so kubectl needs two requests
instead of one per group-version. Others get the legacy documents.
"""

from __future__ import annotations

import hashlib
from typing import Any

from actors.api.resources import RESOURCES, ResourceInfo

JSON = dict[str, Any]

GIT_VERSION = "v1.30.0-kubemu"  # the same version the kubelets report (actors/cluster.py)

_ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update",
              "watch"]
_STATUS_VERBS = ["get", "patch", "update"]
# `kubectl get all` (upstream's "all" category: the workload kinds and services)
_CATEGORY_ALL = {"pods", "services", "replicasets", "deployments"}
_SCALABLE = {"deployments", "replicasets"}


# Create-only review resources, answered by the REST layer and never stored: the token
# of a kubemu cluster is its admin (kubeadm's admin.conf user), so every review allows.
ADMIN_USER = {"username": "kubernetes-admin",
              "groups": ["system:masters", "system:authenticated"]}
REVIEWS: dict[tuple[str, str, str], str] = {
    ("authorization.k8s.io", "v1", "selfsubjectaccessreviews"): "SelfSubjectAccessReview",
    ("authorization.k8s.io", "v1", "selfsubjectrulesreviews"): "SelfSubjectRulesReview",
    ("authentication.k8s.io", "v1", "selfsubjectreviews"): "SelfSubjectReview",
}


def review(group: str, version: str, plural: str, body: JSON) -> JSON | None:
    """The answer to a POSTed review (None: not a review resource)."""
    kind = REVIEWS.get((group, version, plural))
    if kind is None:
        return None
    out: JSON = {"kind": kind, "apiVersion": f"{group}/{version}",
                 "metadata": {"creationTimestamp": None}, "spec": body.get("spec") or {}}
    if kind == "SelfSubjectAccessReview":
        out["status"] = {"allowed": True, "reason": "kubemu: the cluster token is its admin"}
    elif kind == "SelfSubjectRulesReview":
        out["status"] = {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"],
                                            "resources": ["*"]}],
                         "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                         "incomplete": False}
    else:
        out.pop("spec")
        out["status"] = {"userInfo": dict(ADMIN_USER)}
    return out


def version_info() -> JSON:
    """GET /version (version.Info)."""
    major, minor = GIT_VERSION.lstrip("v").split(".")[:2]
    return {"major": major, "minor": minor, "gitVersion": GIT_VERSION,
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "go1.22.0", "compiler": "gc", "platform": "linux/amd64"}


def group_versions() -> dict[str, list[str]]:
    """Served groups (in RESOURCES order, core first) → versions."""
    out: dict[str, list[str]] = {}
    for info in RESOURCES.values():
        vs = out.setdefault(info.group, [])
        if info.version not in vs:
            vs.append(info.version)
    for group, version, _plural in REVIEWS:
        vs = out.setdefault(group, [])
        if version not in vs:
            vs.append(version)
    return out


def api_versions(server_address: str = "") -> JSON:
    """GET /api (APIVersions)."""
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": server_address}]}


def api_group(group: str, versions: list[str]) -> JSON:
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list() -> JSON:
    """GET /apis (APIGroupList)."""
    groups = [api_group(g, vs) for g, vs in group_versions().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _hash(info: ResourceInfo) -> str:
    # storageVersionHash: an opaque, stable token per group/version/kind
    raw = hashlib.sha256(f"{info.group}/{info.version}/{info.kind}".encode()).digest()
    import base64

    return base64.b64encode(raw[:8]).decode()


def _resource(info: ResourceInfo) -> JSON:
    r: JSON = {"name": info.plural, "singularName": info.singular,
               "namespaced": info.namespaced, "kind": info.kind, "verbs": list(_ALL_VERBS),
               "storageVersionHash": _hash(info)}
    if info.short_names:
        r["shortNames"] = list(info.short_names)
    if info.plural in _CATEGORY_ALL:
        r["categories"] = ["all"]
    return r


def _sub(info: ResourceInfo, sub: str, kind: str, verbs: list[str], group: str = "",
         version: str = "") -> JSON:
    r: JSON = {"name": f"{info.plural}/{sub}", "singularName": "",
               "namespaced": info.namespaced, "kind": kind, "verbs": verbs}
    if group or version:
        r["group"], r["version"] = group, version
    return r


def resources_of(group: str, version: str) -> list[ResourceInfo]:
    # alphabetical, as kube-apiserver lists them (and so `kubectl get all` orders kinds)
    return sorted((i for i in RESOURCES.values() if i.group == group and i.version == version),
                  key=lambda i: i.plural)


def api_resource_list(group: str, version: str) -> JSON | None:
    """GET /api/v1 or /apis/G/V (APIResourceList); None when the group/version is not served."""
    if version not in group_versions().get(group, []):
        return None
    out: list[JSON] = []
    for info in resources_of(group, version):
        out.append(_resource(info))
        if info.has_status:
            out.append(_sub(info, "status", info.kind, list(_STATUS_VERBS)))
        if info.plural in _SCALABLE:
            out.append(_sub(info, "scale", "Scale", list(_STATUS_VERBS), "autoscaling", "v1"))
        if info.plural == "pods":
            out.append(_sub(info, "binding", "Binding", ["create"]))
            out.append(_sub(info, "eviction", "Eviction", ["create"], "policy", "v1"))
            out.append(_sub(info, "log", "Pod", ["get"]))
        if info.plural == "namespaces":
            out.append(_sub(info, "finalize", "Namespace", ["update"]))
    for (g, v, plural), kind in sorted(REVIEWS.items()):
        if (g, v) == (group, version):
            out.append({"name": plural, "singularName": kind.lower(), "namespaced": False,
                        "kind": kind,
                        "verbs": ["create"]})
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": out}


# ---- aggregated discovery (apidiscovery.k8s.io/v2) -------------------------------------

AGGREGATED_VERSIONS = ("v2", "v2beta1")


def aggregated_version(accept: str) -> str | None:
    """The apidiscovery version the Accept header asks for first (None: legacy)."""
    for part in accept.split(","):
        params = {p.split("=", 1)[0].strip(): p.split("=", 1)[1].strip()
                  for p in part.split(";")[1:] if "=" in p}
        if params.get("as") == "APIGroupDiscoveryList" and \
                params.get("g") == "apidiscovery.k8s.io" and params.get("v") in AGGREGATED_VERSIONS:
            return params["v"]
        if part.split(";")[0].strip() in ("application/json", "*/*"):
            return None
    return None


def aggregated_content_type(version: str) -> str:
    return f"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"


def _aggregated_version(group: str, version: str) -> JSON:
    legacy = api_resource_list(group, version) or {"resources": []}
    parents: dict[str, JSON] = {}
    out: list[JSON] = []
    for r in legacy["resources"]:
        name = r["name"]
        if "/" in name:
            parent, sub = name.split("/", 1)
            kind = {"group": r.get("group", group), "version": r.get("version", version),
                    "kind": r["kind"]}
            parents[parent].setdefault("subresources", []).append(
                {"subresource": sub, "responseKind": kind, "verbs": r["verbs"]})
            continue
        d: JSON = {"resource": name,
                   "responseKind": {"group": group, "version": version, "kind": r["kind"]},
                   "scope": "Namespaced" if r["namespaced"] else "Cluster",
                   "singularResource": r["singularName"], "verbs": r["verbs"]}
        for k in ("shortNames", "categories"):
            if r.get(k):
                d[k] = r[k]
        parents[name] = d
        out.append(d)
    return {"version": version, "resources": out, "freshness": "Current"}


def aggregated_discovery(legacy_core: bool, version: str = "v2") -> JSON:
    """GET /api (legacy_core) or /apis asked as APIGroupDiscoveryList: every group, its
    versions and their resources (with subresources) in one document."""
    items = []
    for group, versions in group_versions().items():
        if (group == "") != legacy_core:
            continue
        items.append({"metadata": {"name": group, "creationTimestamp": None},
                      "versions": [_aggregated_version(group, v) for v in versions]})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}",
            "metadata": {}, "items": items}
