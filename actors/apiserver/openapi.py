"""The OpenAPI documents of the REST API (pure): /openapi/v3, /openapi/v3/<gv>, /openapi/v2.

What kubectl (1.32) does with them, found by running it against a stub server:

- `kubectl apply/create/replace -f` validate with `--validate=strict` by default. kubectl
  first asks /openapi/v3 (the index) and /openapi/v3/apis/G/V (the group-version's
  document) whether the PATCH operation of the object's kind takes a `fieldValidation`
  query parameter; when it does, kubectl validates nothing itself and sends
  `?fieldValidation=Strict`, so the apiserver must reject unknown fields
  (`unknown_fields` below finds them). Only when the v3 documents are missing, or for a
  kind no PATCH operation names (a `kind: List` manifest), does kubectl fall back to
  /openapi/v2 -- as gnostic protobuf -- and validate the object against its definitions
  client-side.
- `kubectl apply` of an object that exists computes its strategic merge patch from the v3
  schema of the kind (`x-kubernetes-patch-merge-key` / `-strategy` on list properties),
  when the kind's PATCH operation accepts `application/strategic-merge-patch+json`.
- `kubectl explain` reads the v3 document of the group-version: it finds the kind from the
  `x-kubernetes-group-version-kind` of the operations on the resource's path, then the
  schema carrying the same GVK, and walks `properties` / `$ref` / `allOf` / `items`.

Schema source: the official Python client (`kubernetes.client.models`), read at run time.
Each model class names its attributes' types (`openapi_types`: 'List[V1Container]',
'Dict[str, str]', 'V1ObjectMeta', 'datetime', 'object', ...; older clients spell them
'list[V1Container]', 'dict(str, str)'), their JSON names (`attribute_map`), and carries
upstream's field descriptions (pydantic `Field(description=...)`, or the property
docstrings of older clients) and which fields are required (pydantic's `is_required()`,
or the setters that raise on None). From those this module rebuilds upstream's
definitions under upstream's names (`io.k8s.api.core.v1.Pod`,
`io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`, ...), starting from the served kinds
(actors.api.resources) and the kinds of the subresources and meta types the REST API
speaks (Binding, policy/v1 Eviction, autoscaling/v1 Scale, Status, DeleteOptions,
WatchEvent, APIResourceList, ...).

What the client does not say is added here: which Go package a type lives in (a short
table: meta types, then apps/coordination/scheduling/policy/autoscaling names, the rest
core), the Go scalar types the client flattens to 'str'/'object' (Quantity, IntOrString,
Time, MicroTime: a table of the fields), and the patch metadata
(`x-kubernetes-patch-strategy` / `-merge-key`), which comes from the server's own
strategic-merge-patch table, `actors.api.strategicpatch.definition_meta` (or its
`list_meta`), when that module is present.

The generated client drops the description of a field whose type is another
definition (`spec`, `metadata`, `template`, ...); such a field gets the description of
its type, as a `$ref` with a sibling `description` (the form older apiservers served),
so that `kubectl explain` prints it once. Fields described by the client are, as
upstream's current documents, `allOf: [{$ref}]` with their own description.

Every document is built once per process, lazily, and kept with its JSON bytes and hash
(`v3_hash`, `v2_etag`) so the HTTP layer serves the cached bytes.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import json
import re
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from actors.api.resources import RESOURCES, ResourceInfo

JSON = dict[str, Any]
# the patch-metadata sources (actors.api.strategicpatch): per kind and path from the
# object's root, and per definition
ListMeta = Callable[[str, tuple[str, ...]], "tuple[str, str | None] | None"]
DefinitionMeta = Callable[[str], "dict[str, tuple[str, str]]"]

V2_PROTOBUF_ACCEPT = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
"""What kubectl sends in Accept for /openapi/v2 when it wants the protobuf."""
V2_PROTOBUF_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
"""The Content-Type of the protobuf answer: '.v1.0', not '@v1.0' (client-go parses the
answer's media type, and '@' is not allowed in one: "mime: unexpected content after
media subtype"), as kube-openapi's handler answers."""

V3_REF = "#/components/schemas/"
V2_REF = "#/definitions/"

# ---------------------------------------------------------------------------------------
# Go packages and names
# ---------------------------------------------------------------------------------------

META_PKG = "io.k8s.apimachinery.pkg.apis.meta.v1"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
TIME = f"{META_PKG}.Time"
MICRO_TIME = f"{META_PKG}.MicroTime"
PATCH = f"{META_PKG}.Patch"

# types of k8s.io/apimachinery/pkg/apis/meta/v1 the client models
_META_TYPES = frozenset({
    "ObjectMeta", "ListMeta", "LabelSelector", "LabelSelectorRequirement", "OwnerReference",
    "ManagedFieldsEntry", "Status", "StatusDetails", "StatusCause", "DeleteOptions",
    "Preconditions", "WatchEvent", "APIResource", "APIResourceList", "APIGroup",
    "APIGroupList", "APIVersions", "GroupVersionForDiscovery", "ServerAddressByClientCIDR",
    "Condition", "ShardInfo",
})
# k8s.io/api/<group>/v1 types outside core: by exact name, then by name prefix
_GROUP_EXACT = {"Eviction": "policy", "Scale": "autoscaling", "ScaleSpec": "autoscaling",
                "ScaleStatus": "autoscaling"}
_GROUP_PREFIX = (("Deployment", "apps"), ("ReplicaSet", "apps"),
                 ("RollingUpdateDeployment", "apps"), ("Lease", "coordination"),
                 ("PriorityClass", "scheduling"))

# Go scalar types the client flattens: (Go type, JSON field) → definition
_SCALAR_FIELDS: dict[tuple[str, str], str] = {
    **{(t, f): QUANTITY for t, f in (
        ("ResourceRequirements", "limits"), ("ResourceRequirements", "requests"),
        ("VolumeResourceRequirements", "limits"), ("VolumeResourceRequirements", "requests"),
        ("ContainerStatus", "allocatedResources"), ("PodStatus", "allocatedResources"),
        ("NodeStatus", "capacity"), ("NodeStatus", "allocatable"), ("PodSpec", "overhead"),
        ("EmptyDirVolumeSource", "sizeLimit"), ("ResourceFieldSelector", "divisor"),
        ("NodeAllocatableMappedResources", "quantity"),
        ("NodeAllocatableOverheadResources", "perContainer"),
        ("NodeAllocatableOverheadResources", "perPod"))},
    **{(t, f): INT_OR_STRING for t, f in (
        ("HTTPGetAction", "port"), ("TCPSocketAction", "port"), ("ServicePort", "targetPort"),
        ("RollingUpdateDeployment", "maxSurge"), ("RollingUpdateDeployment", "maxUnavailable"))},
    **{(t, f): MICRO_TIME for t, f in (
        ("Event", "eventTime"), ("EventSeries", "lastObservedTime"),
        ("LeaseSpec", "acquireTime"), ("LeaseSpec", "renewTime"))},
}

_CLASS_RE = re.compile(r"^(?:Core)?V1([A-Z]\w*)$")


def go_type_name(class_name: str) -> str:
    """``V1PodSpec`` → ``PodSpec``; ``CoreV1Event`` → ``Event``."""
    m = _CLASS_RE.match(class_name)
    if m is None:
        raise KeyError(class_name)
    return m.group(1)


def go_package(type_name: str) -> str:
    """The Go package (as an OpenAPI name prefix) of a k8s.io/api or meta/v1 type."""
    if type_name in _META_TYPES:
        return META_PKG
    pkg = _GROUP_EXACT.get(type_name)
    if pkg is None:
        pkg = next((p for prefix, p in _GROUP_PREFIX if type_name.startswith(prefix)), "core")
    return f"io.k8s.api.{pkg}.v1"


def definition_name(class_name: str) -> str:
    """``V1Deployment`` → ``io.k8s.api.apps.v1.Deployment``."""
    t = go_type_name(class_name)
    return f"{go_package(t)}.{t}"


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


# ---------------------------------------------------------------------------------------
# Reading the client's models
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelField:
    json_name: str
    type_str: str          # the client's openapi_types entry
    description: str
    required: bool
    int_or_string: bool    # the annotation is int | str (IntOrString)


def _models() -> Any:
    return importlib.import_module("kubernetes.client.models")


def model_class(class_name: str) -> Any:
    cls = getattr(_models(), class_name, None)
    if cls is None:
        raise KeyError(class_name)
    return cls


def _class_for_kind(kind: str, group: str) -> str:
    """The client's class name for a kind: ``CoreV1Event`` for the core Event, else ``V1<Kind>``."""
    models = _models()
    if group == "" and hasattr(models, f"CoreV1{kind}"):
        return f"CoreV1{kind}"
    return f"V1{kind}"


def _clean_doc(text: str) -> str:
    lines = [ln.replace("# noqa: E501", "").rstrip() for ln in text.strip().splitlines()]
    return " ".join(ln.strip() for ln in lines if ln.strip()).strip()


def model_description(cls: Any) -> str:
    """The class docstring up to the generator's boilerplate."""
    doc = inspect.getdoc(cls) or ""
    doc = doc.split("Attributes:", 1)[0]
    keep = [p for p in re.split(r"\n\s*\n", doc)
            if p.strip() and not p.lstrip().startswith(("NOTE: This class is auto generated",
                                                        "Ref: https://openapi-generator",
                                                        "Do not edit the class manually"))]
    return "\n\n".join(_clean_doc(p) for p in keep)


def _is_int_or_str(annotation: Any) -> bool:
    args = set()
    for a in typing.get_args(annotation) or (annotation,):
        base = typing.get_args(a)[0] if typing.get_origin(a) is typing.Annotated else a
        args.add(base)
    return int in args and str in args


def _legacy_description(cls: Any, attr: str) -> str:
    prop = getattr(cls, attr, None)
    doc = inspect.getdoc(prop.fget) if isinstance(prop, property) and prop.fget else None
    if not doc:
        return ""
    paras = [p for p in re.split(r"\n\s*\n", doc) if p.strip()]
    paras = [p for p in paras if not p.lstrip().startswith(("Gets the ", ":return:", ":rtype:"))]
    return "\n\n".join(_clean_doc(p) for p in paras)


def _legacy_required(cls: Any, attr: str) -> bool:
    prop = getattr(cls, attr, None)
    if not isinstance(prop, property) or prop.fset is None:
        return False
    try:
        src = inspect.getsource(prop.fset)
    except (OSError, TypeError):
        return False
    return "must not be `None`" in src


def model_fields(cls: Any) -> list[ModelField]:
    """The fields of a client model class, pydantic (client ≥ 34) or legacy (client ≤ 33)."""
    types: dict[str, str] = dict(cls.openapi_types)
    amap: dict[str, str] = dict(cls.attribute_map)
    pyd: dict[str, Any] = {}
    for key, f in (getattr(cls, "model_fields", None) or {}).items():
        pyd[getattr(f, "serialization_alias", None) or key] = f
    out: list[ModelField] = []
    for attr, type_str in types.items():
        json_name = amap.get(attr, attr)
        f = pyd.get(json_name)
        if f is not None:
            desc = f.description or ""
            required = bool(f.is_required())
            ios = _is_int_or_str(f.annotation)
        else:
            desc = _legacy_description(cls, attr)
            required = _legacy_required(cls, attr)
            ios = False
        out.append(ModelField(json_name, type_str, desc.strip(), required, ios))
    return out


# ---------------------------------------------------------------------------------------
# Definitions (OpenAPI v3 form; v2 is derived from it)
# ---------------------------------------------------------------------------------------

_LIST_RE = re.compile(r"^(?:List|list)\[(.+)\]$")
_DICT_RE = re.compile(r"^(?:Dict\[str, (.+)\]|dict\(str, (.+)\))$")
_PRIMITIVES: dict[str, JSON] = {
    "str": {"type": "string"},
    "bool": {"type": "boolean"},
    "int": {"type": "integer"},
    "float": {"type": "number", "format": "double"},
    "bytes": {"type": "string", "format": "byte"},
    "bytearray": {"type": "string", "format": "byte"},
    "date": {"type": "string", "format": "date"},
    "object": {"type": "object"},
}


def _extra_definitions() -> dict[str, JSON]:
    """The Go types with custom JSON marshalling (v3 form) and the PATCH body."""
    return {
        QUANTITY: {
            "description": "Quantity is a fixed-point number with an optional unit suffix: a "
                           "binary SI suffix (Ki, Mi, Gi, Ti, Pi, Ei), a decimal SI suffix "
                           "(m, \"\", k, M, G, T, P, E) or a decimal exponent (e3, E6), as "
                           "in \"100m\", \"128Mi\", \"1.5\" or \"2e3\". A number is accepted "
                           "too.",
            "oneOf": [{"type": "string"}, {"type": "number"}],
        },
        INT_OR_STRING: {
            "description": "IntOrString holds either an int32 or a string (\"8080\" or "
                           "\"http\", 5 or \"25%\").",
            "format": "int-or-string",
            "oneOf": [{"type": "integer"}, {"type": "string"}],
        },
        TIME: {
            "description": "Time is a timestamp in RFC 3339 form with second precision, in "
                           "UTC (\"2024-01-02T15:04:05Z\").",
            "type": "string", "format": "date-time",
        },
        MICRO_TIME: {
            "description": "MicroTime is a timestamp in RFC 3339 form with microsecond "
                           "precision (\"2024-01-02T15:04:05.000000Z\").",
            "type": "string", "format": "date-time",
        },
        PATCH: {
            "description": "Patch is the body of a PATCH request: a JSON patch, a JSON merge "
                           "patch, a strategic merge patch or an apply configuration, by "
                           "Content-Type.",
            "type": "object",
        },
    }


@dataclass(frozen=True)
class _GVK:
    group: str
    version: str
    kind: str

    def json(self) -> JSON:
        return {"group": self.group, "kind": self.kind, "version": self.version}


def _served_gvs() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for info in RESOURCES.values():
        if (info.group, info.version) not in out:
            out.append((info.group, info.version))
    return out


# the subresources the REST API serves besides status: (resource plural, subresource) →
# (API group of the subresource's kind, kind, HTTP methods)
SUBRESOURCES: dict[tuple[str, str], tuple[str, str, tuple[str, ...]]] = {
    ("pods", "binding"): ("", "Binding", ("post",)),
    ("pods", "eviction"): ("policy", "Eviction", ("post",)),
    ("pods", "log"): ("", "Pod", ("get",)),
    ("deployments", "scale"): ("autoscaling", "Scale", ("get", "put", "patch")),
    ("replicasets", "scale"): ("autoscaling", "Scale", ("get", "put", "patch")),
    ("namespaces", "finalize"): ("", "Namespace", ("put",)),
}


def _root_kinds() -> list[tuple[str, str, str]]:
    """(class name, kind, group) of every definition the documents start from, served
    kinds first (the patch-metadata context of a shared type is its first root)."""
    roots: list[tuple[str, str, str]] = []
    for info in RESOURCES.values():
        roots.append((_class_for_kind(info.kind, info.group), info.kind, info.group))
    for info in RESOURCES.values():
        roots.append((_class_for_kind(info.list_kind, info.group), info.list_kind, info.group))
    for group, kind, _ in SUBRESOURCES.values():
        roots.append((_class_for_kind(kind, group), kind, group))
    for kind in ("Status", "DeleteOptions", "WatchEvent", "APIResourceList", "APIGroupList",
                 "APIGroup", "APIVersions"):
        roots.append((f"V1{kind}", kind, ""))
    out: list[tuple[str, str, str]] = []
    for r in roots:
        if all(r[0] != o[0] for o in out):
            out.append(r)
    return out


def _gvks() -> dict[str, list[JSON]]:
    """x-kubernetes-group-version-kind of the top-level definitions."""
    out: dict[str, list[JSON]] = {}
    for info in RESOURCES.values():
        for kind in (info.kind, info.list_kind):
            out[definition_name(_class_for_kind(kind, info.group))] = [
                _GVK(info.group, info.version, kind).json()]
    for group, kind, _ in SUBRESOURCES.values():
        name = definition_name(_class_for_kind(kind, group))
        out.setdefault(name, [_GVK(group, "v1", kind).json()])
    for kind in ("Status", "APIResourceList", "APIGroupList", "APIGroup", "APIVersions"):
        out[f"{META_PKG}.{kind}"] = [_GVK("", "v1", kind).json()]
    gvs = _served_gvs() + [(g, "v1") for g, _, _ in SUBRESOURCES.values()]
    for kind in ("DeleteOptions", "WatchEvent"):
        lst: list[JSON] = []
        for g, v in gvs:
            gvk = _GVK(g, v, kind).json()
            if gvk not in lst:
                lst.append(gvk)
        out[f"{META_PKG}.{kind}"] = sorted(lst, key=lambda d: (d["group"], d["version"]))
    return out


def _default_patch_sources() -> tuple[DefinitionMeta | None, ListMeta | None]:
    """`definition_meta` (per definition, any field) and `list_meta` (per kind and path)
    of actors.api.strategicpatch, when that module is there."""
    try:
        mod = importlib.import_module("actors.api.strategicpatch")
    except ImportError:
        return None, None
    dm = getattr(mod, "definition_meta", None)
    lm = getattr(mod, "list_meta", None)
    return (dm if callable(dm) else None), (lm if callable(lm) else None)


@dataclass
class _Builder:
    list_meta: ListMeta | None = None
    definition_meta: DefinitionMeta | None = None
    defs: dict[str, JSON] = field(default_factory=dict)
    # definition name → the first (kind, JSON path from the object root) reaching it
    context: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)

    def build(self) -> dict[str, JSON]:
        queue: list[tuple[str, str, tuple[str, ...]]] = [(c, k, ()) for c, k, _ in _root_kinds()]
        pending: list[tuple[str, Any]] = []
        i = 0
        while i < len(queue):
            class_name, kind, path = queue[i]
            i += 1
            name = definition_name(class_name)
            if name in self.context:
                continue
            self.context[name] = (kind, path)
            cls = model_class(class_name)
            self.descriptions[name] = model_description(cls)
            pending.append((name, cls))
            for f in model_fields(cls):
                for ref in re.findall(r"\b((?:Core)?V1[A-Z]\w*)\b", f.type_str):
                    queue.append((ref, kind, path + (f.json_name,)))
        for name, cls in pending:
            self.defs[name] = self._definition(name, cls)
        self.defs.update(_extra_definitions())
        for name, gvks in _gvks().items():
            if name in self.defs:
                self.defs[name]["x-kubernetes-group-version-kind"] = gvks
        return dict(sorted(self.defs.items()))

    def _definition(self, name: str, cls: Any) -> JSON:
        kind, path = self.context[name]
        tags = self.definition_meta(name) if self.definition_meta is not None else {}
        props: JSON = {}
        required: list[str] = []
        for f in model_fields(cls):
            props[f.json_name] = self._property(name, f, kind, path + (f.json_name,),
                                                tags.get(f.json_name))
            if f.required:
                required.append(f.json_name)
        d: JSON = {}
        if self.descriptions.get(name):
            d["description"] = self.descriptions[name]
        d["properties"] = dict(sorted(props.items()))
        if required:
            d["required"] = required
        d["type"] = "object"
        return d

    def _property(self, owner: str, f: ModelField, kind: str, path: tuple[str, ...],
                  tag: tuple[str, str] | None) -> JSON:
        scalar = _SCALAR_FIELDS.get((_short(owner), f.json_name))
        if scalar is None and f.int_or_string:
            scalar = INT_OR_STRING
        if scalar is None and f.type_str == "datetime":
            scalar = TIME
        s = self._type(f.type_str, scalar)
        if "$ref" in s:                      # a property whose type is a definition
            target = s["$ref"][len(V3_REF):]
            if f.description:
                s = {"allOf": [s], "description": f.description}
            elif self.descriptions.get(target):
                s = {"$ref": s["$ref"], "description": self.descriptions[target]}
        elif f.description:
            s = {"description": f.description, **s}
        meta: tuple[str, str | None] | None = tag
        if meta is None and self.definition_meta is None and self.list_meta is not None \
                and s.get("type") == "array":
            meta = self.list_meta(kind, path)
        if meta is not None:
            strategy, key = meta
            if key:
                s["x-kubernetes-patch-merge-key"] = key
            if strategy:
                s["x-kubernetes-patch-strategy"] = strategy
        return s

    def _type(self, t: str, scalar: str | None) -> JSON:
        t = t.strip()
        m = _LIST_RE.match(t)
        if m:
            return {"type": "array", "items": self._type(m.group(1), scalar)}
        m = _DICT_RE.match(t)
        if m:
            return {"type": "object",
                    "additionalProperties": self._type(m.group(1) or m.group(2), scalar)}
        if scalar is not None:
            return {"$ref": V3_REF + scalar}
        if t == "datetime":
            return {"$ref": V3_REF + TIME}
        if t in _PRIMITIVES:
            return dict(_PRIMITIVES[t])
        return {"$ref": V3_REF + definition_name(t)}


# ---------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Param:
    name: str
    where: str           # "query" | "path"
    type: str            # "string" | "boolean" | "integer"
    description: str


_P = _Param
_PRETTY = _P("pretty", "query", "string", "If 'true', the output is pretty printed.")
_DRY_RUN = _P("dryRun", "query", "string",
              "When present, modifications are not persisted. Valid values are: - All: all "
              "dry run stages are processed.")
_FIELD_MANAGER = _P("fieldManager", "query", "string",
                    "The name of the actor making these changes (at most 128 printable "
                    "characters). Required for apply patches.")
_FIELD_VALIDATION = _P(
    "fieldValidation", "query", "string",
    "How the server handles unknown or duplicate fields in the object of a POST, PUT or "
    "PATCH request: Ignore (drop them silently), Warn (drop them with a warning header, "
    "the default) or Strict (fail the request with a BadRequest error naming them).")
_FORCE = _P("force", "query", "boolean",
            "Force an apply patch: take over fields other managers own. Must be unset for "
            "other patch types.")
_LIST_PARAMS = (
    _P("allowWatchBookmarks", "query", "boolean", "Ask for BOOKMARK watch events."),
    _P("continue", "query", "string", "The continue token of the previous page of a list."),
    _P("fieldSelector", "query", "string", "Restrict the list to objects whose fields match."),
    _P("labelSelector", "query", "string", "Restrict the list to objects whose labels match."),
    _P("limit", "query", "integer", "The maximum number of objects in a page of a list."),
    _P("resourceVersion", "query", "string",
       "Which resource versions a list or watch may be served from."),
    _P("resourceVersionMatch", "query", "string",
       "How resourceVersion applies to a list: Exact or NotOlderThan."),
    _P("sendInitialEvents", "query", "boolean",
       "Start a watch with ADDED events for the current objects."),
    _P("timeoutSeconds", "query", "integer", "The timeout of a list or watch call."),
    _P("watch", "query", "boolean", "Watch for changes instead of listing."),
)
_DELETE_PARAMS = (
    _DRY_RUN,
    _P("gracePeriodSeconds", "query", "integer",
       "Seconds before the object is deleted; 0 deletes it at once."),
    _P("ignoreStoreReadErrorWithClusterBreakingPotential", "query", "boolean",
       "Delete an object that cannot be read from storage (unsafe)."),
    _P("orphanDependents", "query", "boolean",
       "Deprecated: use propagationPolicy. Orphan the dependents."),
    _P("propagationPolicy", "query", "string",
       "Garbage collection of the dependents: Orphan, Background or Foreground."),
)
_WRITE_PARAMS = (_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION)
_PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json",
                "application/merge-patch+json", "application/strategic-merge-patch+json")
_PRODUCES = ("application/json", "application/yaml")
_WATCH_PRODUCES = ("application/json", "application/json;stream=watch", "application/yaml")


@dataclass(frozen=True)
class _Op:
    method: str
    action: str
    op_id: str
    description: str
    gvk: _GVK
    tag: str
    params: tuple[_Param, ...] = ()
    body: str | None = None              # definition name of the request body
    body_types: tuple[str, ...] = ("*/*",)
    body_required: bool = True
    response: str | None = None          # definition name; None: a plain string
    created: bool = False                # 201 (and 202) beside 200
    produces: tuple[str, ...] = _PRODUCES


@dataclass
class _PathItem:
    params: tuple[_Param, ...]
    ops: list[_Op]


def _go_group_token(group: str) -> str:
    """``""`` → ``Core``, ``coordination.k8s.io`` → ``Coordination`` (operation ids)."""
    if group == "":
        return "Core"
    return group.split(".")[0].capitalize()


def _class_def(kind: str, group: str) -> str:
    return definition_name(_class_for_kind(kind, group))


def resource_paths(info: ResourceInfo) -> dict[str, _PathItem]:
    """Upstream's path layout for one resource: collection, item, status, subresources,
    the all-namespaces list and the watch paths."""
    prefix = f"/apis/{info.group}/{info.version}" if info.group else f"/api/{info.version}"
    gt = _go_group_token(info.group) + info.version.capitalize()
    tag = f"{(info.group.split('.')[0] if info.group else 'core')}_{info.version}"
    gvk = _GVK(info.group, info.version, info.kind)
    obj = _class_def(info.kind, info.group)
    lst = _class_def(info.list_kind, info.group)
    status = f"{META_PKG}.Status"
    delete_options = f"{META_PKG}.DeleteOptions"
    watch_event = f"{META_PKG}.WatchEvent"
    ns_word = "Namespaced" if info.namespaced else ""
    ns_path = "/namespaces/{namespace}" if info.namespaced else ""
    ns_param = (_P("namespace", "path", "string", "object name and auth scope, such as for "
                   "teams and projects"),) if info.namespaced else ()
    name_param = _P("name", "path", "string", f"name of the {info.kind}")
    k = info.kind
    out: dict[str, _PathItem] = {}

    out[f"{prefix}{ns_path}/{info.plural}"] = _PathItem(ns_param + (_PRETTY,), [
        _Op("get", "list", f"list{gt}{ns_word}{k}", f"list or watch objects of kind {k}",
            gvk, tag, _LIST_PARAMS, response=lst, produces=_WATCH_PRODUCES),
        _Op("post", "post", f"create{gt}{ns_word}{k}", f"create a {k}", gvk, tag,
            _WRITE_PARAMS, body=obj, response=obj, created=True),
        _Op("delete", "deletecollection", f"delete{gt}Collection{ns_word}{k}",
            f"delete collection of {k}", gvk, tag, _DELETE_PARAMS + _LIST_PARAMS,
            body=delete_options, body_required=False, response=status),
    ])
    item_params = (name_param,) + ns_param + (_PRETTY,)
    out[f"{prefix}{ns_path}/{info.plural}/{{name}}"] = _PathItem(item_params, [
        _Op("get", "get", f"read{gt}{ns_word}{k}", f"read the specified {k}", gvk, tag,
            response=obj),
        _Op("put", "put", f"replace{gt}{ns_word}{k}", f"replace the specified {k}", gvk, tag,
            _WRITE_PARAMS, body=obj, response=obj, created=True),
        _Op("patch", "patch", f"patch{gt}{ns_word}{k}", f"partially update the specified {k}",
            gvk, tag, _WRITE_PARAMS + (_FORCE,), body=PATCH, body_types=_PATCH_TYPES,
            response=obj, created=True),
        _Op("delete", "delete", f"delete{gt}{ns_word}{k}", f"delete a {k}", gvk, tag,
            _DELETE_PARAMS, body=delete_options, body_required=False, response=obj,
            created=True),
    ])
    if info.has_status:
        out[f"{prefix}{ns_path}/{info.plural}/{{name}}/status"] = _PathItem(item_params, [
            _Op("get", "get", f"read{gt}{ns_word}{k}Status",
                f"read status of the specified {k}", gvk, tag, response=obj),
            _Op("put", "put", f"replace{gt}{ns_word}{k}Status",
                f"replace status of the specified {k}", gvk, tag, _WRITE_PARAMS, body=obj,
                response=obj, created=True),
            _Op("patch", "patch", f"patch{gt}{ns_word}{k}Status",
                f"partially update status of the specified {k}", gvk, tag,
                _WRITE_PARAMS + (_FORCE,), body=PATCH, body_types=_PATCH_TYPES,
                response=obj, created=True),
        ])
    for (plural, sub), (sgroup, skind, actions) in SUBRESOURCES.items():
        if plural != info.plural:
            continue
        sgvk = _GVK(sgroup, "v1", skind)
        sdef = _class_def(skind, sgroup)
        word = sub.capitalize()
        ops: list[_Op] = []
        for action in actions:
            if action == "get" and sub == "log":
                ops.append(_Op("get", "get", f"read{gt}{ns_word}{k}Log",
                               f"read log of the specified {k}", sgvk, tag,
                               (_P("container", "query", "string", "The container."),
                                _P("follow", "query", "boolean", "Follow the log stream."),
                                _P("previous", "query", "boolean",
                                   "The log of the previous instance."),
                                _P("tailLines", "query", "integer", "Lines from the end.")),
                               response=None, produces=("text/plain",)))
            elif action == "get":
                ops.append(_Op("get", "get", f"read{gt}{ns_word}{k}{word}",
                               f"read {sub} of the specified {k}", sgvk, tag, response=sdef))
            elif action == "put":
                ops.append(_Op("put", "put", f"replace{gt}{ns_word}{k}{word}",
                               f"replace {sub} of the specified {k}", sgvk, tag,
                               _WRITE_PARAMS, body=sdef, response=sdef, created=True))
            elif action == "patch":
                ops.append(_Op("patch", "patch", f"patch{gt}{ns_word}{k}{word}",
                               f"partially update {sub} of the specified {k}", sgvk, tag,
                               _WRITE_PARAMS + (_FORCE,), body=PATCH,
                               body_types=_PATCH_TYPES, response=sdef, created=True))
            elif action == "post":
                ops.append(_Op("post", "post", f"create{gt}{ns_word}{k}{word}",
                               f"create {sub} of a {k}", sgvk, tag, _WRITE_PARAMS, body=sdef,
                               response=sdef, created=True))
        out[f"{prefix}{ns_path}/{info.plural}/{{name}}/{sub}"] = _PathItem(item_params, ops)
    if info.namespaced:
        out[f"{prefix}/{info.plural}"] = _PathItem((_PRETTY,) + _LIST_PARAMS, [
            _Op("get", "list", f"list{gt}{k}ForAllNamespaces",
                f"list or watch objects of kind {k}", gvk, tag, response=lst,
                produces=_WATCH_PRODUCES)])
    watch_params = ns_param + (_PRETTY,) + _LIST_PARAMS
    out[f"{prefix}/watch{ns_path}/{info.plural}"] = _PathItem(watch_params, [
        _Op("get", "watchlist", f"watch{gt}{ns_word}{k}List",
            f"watch individual changes to a list of {k}", gvk, tag, response=watch_event,
            produces=_WATCH_PRODUCES)])
    out[f"{prefix}/watch{ns_path}/{info.plural}/{{name}}"] = _PathItem(
        (name_param,) + watch_params, [
            _Op("get", "watch", f"watch{gt}{ns_word}{k}",
                f"watch changes to an object of kind {k}", gvk, tag, response=watch_event,
                produces=_WATCH_PRODUCES)])
    if info.namespaced:
        out[f"{prefix}/watch/{info.plural}"] = _PathItem((_PRETTY,) + _LIST_PARAMS, [
            _Op("get", "watchlist", f"watch{gt}{k}ListForAllNamespaces",
                f"watch individual changes to a list of {k}", gvk, tag,
                response=watch_event, produces=_WATCH_PRODUCES)])
    return out


def _gv_paths(group: str, version: str) -> dict[str, _PathItem]:
    out: dict[str, _PathItem] = {}
    for info in RESOURCES.values():
        if info.group == group and info.version == version:
            out.update(resource_paths(info))
    return out


# ---- rendering -------------------------------------------------------------------------

def _v3_param(p: _Param) -> JSON:
    d: JSON = {"description": p.description, "in": p.where, "name": p.name}
    if p.where == "path":
        d["required"] = True
    d["schema"] = {"type": p.type, "uniqueItems": True}
    return d


def _v3_schema_ref(name: str | None) -> JSON:
    return {"$ref": V3_REF + name} if name else {"type": "string"}


def _v3_op(op: _Op) -> JSON:
    d: JSON = {"description": op.description, "operationId": op.op_id}
    if op.params:
        d["parameters"] = [_v3_param(p) for p in op.params]
    if op.body:
        d["requestBody"] = {"content": {t: {"schema": _v3_schema_ref(op.body)}
                                        for t in op.body_types}}
        if op.body_required:
            d["requestBody"]["required"] = True
    content = {t: {"schema": _v3_schema_ref(op.response)} for t in op.produces}
    responses: JSON = {"200": {"content": content, "description": "OK"}}
    if op.created:
        responses["201"] = {"content": content, "description": "Created"}
        if op.method in ("post", "delete"):
            responses["202"] = {"content": content, "description": "Accepted"}
    responses["401"] = {"description": "Unauthorized"}
    d["responses"] = responses
    d["tags"] = [op.tag]
    d["x-kubernetes-action"] = op.action
    d["x-kubernetes-group-version-kind"] = op.gvk.json()
    return d


def _v2_param(p: _Param) -> JSON:
    d: JSON = {"description": p.description, "in": p.where, "name": p.name, "type": p.type,
               "uniqueItems": True}
    if p.where == "path":
        d["required"] = True
    return d


def _v2_op(op: _Op) -> JSON:
    d: JSON = {"consumes": list(op.body_types) if op.body else ["*/*"],
               "description": op.description, "operationId": op.op_id}
    params: list[JSON] = []
    if op.body:
        params.append({"in": "body", "name": "body", "required": op.body_required,
                       "schema": {"$ref": V2_REF + op.body}})
    params.extend(_v2_param(p) for p in op.params)
    if params:
        d["parameters"] = params
    d["produces"] = list(op.produces)
    schema = {"$ref": V2_REF + op.response} if op.response else {"type": "string"}
    responses: JSON = {"200": {"description": "OK", "schema": schema}}
    if op.created:
        responses["201"] = {"description": "Created", "schema": schema}
        if op.method in ("post", "delete"):
            responses["202"] = {"description": "Accepted", "schema": schema}
    responses["401"] = {"description": "Unauthorized"}
    d["responses"] = responses
    d["schemes"] = ["https"]
    d["tags"] = [op.tag]
    d["x-kubernetes-action"] = op.action
    d["x-kubernetes-group-version-kind"] = op.gvk.json()
    return d


def _render_paths(paths: dict[str, _PathItem], v2: bool) -> JSON:
    out: JSON = {}
    for path, item in sorted(paths.items()):
        d: JSON = {}
        for op in item.ops:
            d[op.method] = _v2_op(op) if v2 else _v3_op(op)
        d["parameters"] = [(_v2_param if v2 else _v3_param)(p) for p in item.params]
        out[path] = dict(sorted(d.items()))
    return out


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v.rsplit("/", 1)[-1]
            else:
                yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def _closure(roots: Any, defs: dict[str, JSON]) -> dict[str, JSON]:
    out: dict[str, JSON] = {}
    todo = list(_refs(roots))
    while todo:
        name = todo.pop()
        if name in out or name not in defs:
            continue
        out[name] = defs[name]
        todo.extend(_refs(defs[name]))
    return dict(sorted(out.items()))


def _to_v2(node: Any) -> Any:
    """A v3 schema in v2 form: `#/definitions/` refs, `allOf: [ref]` + siblings → `$ref`
    + siblings, and the oneOf scalars (Quantity, IntOrString) → `type: string`."""
    if isinstance(node, list):
        return [_to_v2(v) for v in node]
    if not isinstance(node, dict):
        return node
    d = dict(node)
    all_of = d.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and set(all_of[0]) == {"$ref"}:
        del d["allOf"]
        d = {"$ref": all_of[0]["$ref"], **d}
    if "oneOf" in d:
        del d["oneOf"]
        d["type"] = "string"
    out: JSON = {}
    for k, v in d.items():
        if k == "$ref" and isinstance(v, str) and v.startswith(V3_REF):
            out[k] = V2_REF + v[len(V3_REF):]
        else:
            out[k] = _to_v2(v)
    return out


# ---------------------------------------------------------------------------------------
# Documents (cached)
# ---------------------------------------------------------------------------------------

_INFO = {"title": "Kubernetes", "version": "unversioned"}


def _dumps(doc: JSON) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def _hash(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest().upper()


@functools.cache
def definitions() -> dict[str, JSON]:
    """Every definition, v3 form (refs `#/components/schemas/...`), by upstream name."""
    dm, lm = _default_patch_sources()
    return _Builder(list_meta=lm, definition_meta=dm).build()


def build_definitions(list_meta: ListMeta | None = None,
                      definition_meta: DefinitionMeta | None = None) -> dict[str, JSON]:
    """`definitions()` built afresh with the given patch-metadata source: per definition
    (`definition_meta(name) -> {field: (strategy, merge_key)}`, any field) or, without
    it, per kind and path (`list_meta(kind, path)`, list fields only; a shared type is
    asked about through the first served kind reaching it)."""
    return _Builder(list_meta=list_meta, definition_meta=definition_meta).build()


def gv_key(group: str, version: str) -> str:
    """``api/v1`` / ``apis/apps/v1``: the key of a group-version in the v3 index."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


@functools.cache
def _v3(group: str, version: str) -> tuple[JSON, bytes, str] | None:
    if (group, version) not in _served_gvs():
        return None
    paths = _render_paths(_gv_paths(group, version), v2=False)
    schemas = _closure(paths, definitions())
    doc: JSON = {"components": {"schemas": schemas}, "info": dict(_INFO),
                 "openapi": "3.0.0", "paths": paths}
    data = _dumps(doc)
    return doc, data, _hash(data)


def v3_document(group: str, version: str) -> JSON | None:
    """GET /openapi/v3/api/v1 or /openapi/v3/apis/G/V; None when the GV is not served.
    The dict is shared: do not mutate it."""
    got = _v3(group, version)
    return got[0] if got else None


def v3_document_bytes(group: str, version: str) -> bytes | None:
    """The document's JSON, serialized once."""
    got = _v3(group, version)
    return got[1] if got else None


def v3_hash(group: str, version: str) -> str | None:
    """The `hash` query value of the document's serverRelativeURL (and its ETag, quoted)."""
    got = _v3(group, version)
    return got[2] if got else None


def v3_index(base_url_prefix: str = "") -> JSON:
    """GET /openapi/v3: each served group-version → its document's URL with its hash.
    kubectl caches a document by that URL, so a changed document gets a new URL."""
    paths: JSON = {}
    for group, version in sorted(_served_gvs()):
        h = v3_hash(group, version)
        key = gv_key(group, version)
        paths[key] = {"serverRelativeURL": f"{base_url_prefix}/openapi/v3/{key}?hash={h}"}
    return {"paths": paths}


@functools.cache
def _v2() -> tuple[JSON, bytes, str]:
    paths: dict[str, _PathItem] = {}
    for group, version in _served_gvs():
        paths.update(_gv_paths(group, version))
    doc: JSON = {
        "definitions": {name: _to_v2(d) for name, d in definitions().items()},
        "info": dict(_INFO),
        "paths": _render_paths(paths, v2=True),
        "swagger": "2.0",
    }
    data = _dumps(doc)
    return doc, data, _hash(data)


def v2_document() -> JSON:
    """GET /openapi/v2 (Accept: application/json): the Swagger 2.0 document. Shared: do
    not mutate it."""
    return _v2()[0]


def v2_document_bytes() -> bytes:
    return _v2()[1]


def v2_etag() -> str:
    """The ETag of /openapi/v2 (both encodings describe the same document)."""
    return f'"{_v2()[2]}"'


@functools.cache
def v2_protobuf() -> bytes:
    """GET /openapi/v2 with `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`:
    the document as gnostic's `openapi_v2.Document` protobuf (what kubectl decodes)."""
    data: bytes = v2_to_protobuf(v2_document()).SerializeToString(deterministic=True)
    return data


# ---------------------------------------------------------------------------------------
# v2 JSON → gnostic protobuf
# ---------------------------------------------------------------------------------------

def _pb() -> Any:
    return importlib.import_module("protos.openapipb.openapiv2_pb2")


def _any(pb: Any, value: Any) -> Any:
    # gnostic keeps an arbitrary value as its YAML text; JSON text is YAML
    return pb.Any(yaml=json.dumps(value, sort_keys=True))


def _extensions(pb: Any, d: JSON) -> list[Any]:
    return [pb.NamedAny(name=k, value=_any(pb, v)) for k, v in d.items() if k.startswith("x-")]


def _schema_pb(pb: Any, s: JSON) -> Any:
    msg = pb.Schema()
    for k, v in s.items():
        if k == "$ref":
            setattr(msg, "_ref", v)
        elif k in ("format", "title", "description", "pattern", "discriminator"):
            setattr(msg, k, v)
        elif k == "type":
            msg.type.value.extend([v] if isinstance(v, str) else v)
        elif k == "required":
            msg.required.extend(v)
        elif k == "default":
            msg.default.CopyFrom(_any(pb, v))
        elif k == "enum":
            msg.enum.extend(_any(pb, e) for e in v)
        elif k == "items":
            msg.items.schema.extend(_schema_pb(pb, i) for i in (v if isinstance(v, list) else [v]))
        elif k == "additionalProperties":
            if isinstance(v, bool):
                msg.additional_properties.boolean = v
            else:
                msg.additional_properties.schema.CopyFrom(_schema_pb(pb, v))
        elif k == "properties":
            msg.properties.additional_properties.extend(
                pb.NamedSchema(name=n, value=_schema_pb(pb, p)) for n, p in v.items())
        elif k == "allOf":
            msg.all_of.extend(_schema_pb(pb, a) for a in v)
        elif k == "readOnly":
            msg.read_only = bool(v)
        elif k == "uniqueItems":
            msg.unique_items = bool(v)
        elif k in ("minimum", "maximum"):
            setattr(msg, k, float(v))
        elif k.startswith("x-"):
            msg.vendor_extension.append(pb.NamedAny(name=k, value=_any(pb, v)))
    return msg


def _param_pb(pb: Any, p: JSON) -> Any:
    if p["in"] == "body":
        body = pb.BodyParameter(name=p["name"], required=bool(p.get("required")),
                                description=p.get("description", ""),
                                schema=_schema_pb(pb, p["schema"]))
        setattr(body, "in", "body")
        return pb.ParametersItem(parameter=pb.Parameter(body_parameter=body))
    kw = dict(name=p["name"], description=p.get("description", ""),
              required=bool(p.get("required")), type=p.get("type", ""),
              unique_items=bool(p.get("uniqueItems")))
    if p["in"] == "path":
        sub = pb.PathParameterSubSchema(**kw)
        setattr(sub, "in", "path")
        nb = pb.NonBodyParameter(path_parameter_sub_schema=sub)
    else:
        q = pb.QueryParameterSubSchema(**kw)
        setattr(q, "in", p["in"])
        nb = pb.NonBodyParameter(query_parameter_sub_schema=q)
    return pb.ParametersItem(parameter=pb.Parameter(non_body_parameter=nb))


def _op_pb(pb: Any, op: JSON) -> Any:
    msg = pb.Operation(tags=op.get("tags", []), description=op.get("description", ""),
                       operation_id=op.get("operationId", ""),
                       produces=op.get("produces", []), consumes=op.get("consumes", []),
                       schemes=op.get("schemes", []))
    msg.parameters.extend(_param_pb(pb, p) for p in op.get("parameters", []))
    for code, r in op.get("responses", {}).items():
        resp = pb.Response(description=r.get("description", ""))
        if "schema" in r:
            resp.schema.schema.CopyFrom(_schema_pb(pb, r["schema"]))
        msg.responses.response_code.append(
            pb.NamedResponseValue(name=code, value=pb.ResponseValue(response=resp)))
    msg.vendor_extension.extend(_extensions(pb, op))
    return msg


def v2_to_protobuf(doc: JSON) -> Any:
    """A Swagger 2.0 JSON document as an `openapiv2_pb2.Document` (gnostic's wire shape)."""
    pb = _pb()
    msg = pb.Document(swagger=doc.get("swagger", "2.0"),
                      info=pb.Info(title=doc["info"]["title"], version=doc["info"]["version"]))
    for path, item in doc.get("paths", {}).items():
        pi = pb.PathItem()
        for method in ("get", "put", "post", "delete", "options", "head", "patch"):
            if method in item:
                getattr(pi, method).CopyFrom(_op_pb(pb, item[method]))
        pi.parameters.extend(_param_pb(pb, p) for p in item.get("parameters", []))
        pi.vendor_extension.extend(_extensions(pb, item))
        msg.paths.path.append(pb.NamedPathItem(name=path, value=pi))
    for name, d in doc.get("definitions", {}).items():
        msg.definitions.additional_properties.append(
            pb.NamedSchema(name=name, value=_schema_pb(pb, d)))
    msg.vendor_extension.extend(_extensions(pb, doc))
    return msg


# ---------------------------------------------------------------------------------------
# Server-side field validation
# ---------------------------------------------------------------------------------------

@functools.cache
def _by_gvk() -> dict[tuple[str, str, str], str]:
    out: dict[tuple[str, str, str], str] = {}
    for name, d in definitions().items():
        for gvk in d.get("x-kubernetes-group-version-kind", ()):
            out.setdefault((gvk["group"], gvk["version"], gvk["kind"]), name)
    return out


def definition_for(api_version: str, kind: str) -> str | None:
    """The definition carrying this apiVersion/kind in x-kubernetes-group-version-kind."""
    group, _, version = api_version.rpartition("/")
    return _by_gvk().get((group, version, kind))


def unknown_fields(obj: JSON, definition: str | None = None) -> list[str]:
    """The paths of the fields of `obj` its schema does not declare, as upstream's
    `fieldValidation=Strict` names them (`spec.template.spec.containers[0].imagee`).

    The schema is `definition`, or the one of the object's apiVersion/kind; an object of
    no known kind has no unknown fields. Values of the wrong type are not reported (the
    server's decoding and validation say those)."""
    defs = definitions()
    name = definition
    if name is None:
        av, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(av, str) or not isinstance(kind, str):
            return []
        name = definition_for(av, kind)
    if name is None or name not in defs:
        return []
    out: list[str] = []
    _walk_unknown(obj, {"$ref": V3_REF + name}, "", defs, out)
    return out


def _resolve(schema: JSON, defs: dict[str, JSON]) -> JSON:
    for _ in range(8):
        if "$ref" in schema:
            schema = defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
        elif isinstance(schema.get("allOf"), list) and len(schema["allOf"]) == 1:
            schema = schema["allOf"][0]
        else:
            break
    return schema


def _walk_unknown(value: Any, schema: JSON, path: str, defs: dict[str, JSON],
                  out: list[str]) -> None:
    s = _resolve(schema, defs)
    if isinstance(value, dict):
        props = s.get("properties")
        if isinstance(props, dict):
            for k, v in value.items():
                sub = f"{path}.{k}" if path else str(k)
                if k not in props:
                    out.append(sub)
                else:
                    _walk_unknown(v, props[k], sub, defs, out)
        elif isinstance(s.get("additionalProperties"), dict):
            for k, v in value.items():
                _walk_unknown(v, s["additionalProperties"], f"{path}.{k}" if path else str(k),
                              defs, out)
    elif isinstance(value, list) and isinstance(s.get("items"), dict):
        for i, v in enumerate(value):
            _walk_unknown(v, s["items"], f"{path}[{i}]", defs, out)
