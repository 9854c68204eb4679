"""Server-side apply and managedFields (pure): who owns which field, as kube-apiserver's
field manager (k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager on top of
sigs.k8s.io/structured-merge-diff) keeps it.

Public API
----------
::

    Path = tuple[str, ...]          # FieldsV1 path elements: ("f:spec", "f:containers",
                                    #   'k:{"name":"app"}', "f:image"); set items 'v:"a"'
    field_set(obj, kind, subresource="") -> set[Path]     # the fields an object sets
    encode_fields(paths) -> dict / decode_fields(fields_v1) -> set[Path]
    path_string(path) -> str        # '.spec.containers[name="app"].image'
    managers(obj) -> list[Manager]  # metadata.managedFields, decoded
    update_managed_fields(old, new, manager, operation="Update", *, kind, api_version, now,
                          subresource="") -> dict
    apply(live, applied, manager, force=False, *, kind, api_version, now,
          subresource="") -> dict

``now`` is an RFC 3339 timestamp (the caller's clock); nothing here reads a clock.

Field sets.  An object's fields are the paths to its leaves (scalars, nulls, empty maps,
atomic lists and atomic structs), to every item of a granular list (``k:{...}`` for a
list keyed by fields, ``v:<json>`` for a set of scalars) and to every map entry; the
system fields are not tracked (``apiVersion``, ``kind``, ``metadata.name``, ``namespace``,
``uid``, ``resourceVersion``, ``generation``, ``creationTimestamp``, ``selfLink``,
``managedFields``), nor ``status`` through the main resource of a kind with a status
subresource, nor anything but ``status`` through ``/status`` (upstream's reset fields).
FieldsV1 is the tree of those paths, ``".": {}`` marking a node that is itself owned and
has owned children (``encode_fields``).

List types come from the strategic-merge-patch tags (``actors.api.strategicpatch``) as
upstream's schema does for built-in types: a ``patchStrategy: merge`` list with a merge key
is a map keyed by it (with upstream's ``+listMapKey`` exceptions: container ports by
``containerPort`` + ``protocol``, Service ports by ``port`` + ``protocol``, ``protocol``
defaulting to ``TCP``; topology spread constraints by ``topologyKey`` +
``whenUnsatisfiable``), one without a key a set (``finalizers``), anything else atomic.
Deployment/ReplicaSet ``spec.selector`` and a few other ``+structType=atomic`` structs are
one field.

``update_managed_fields`` (any write but apply): the writer's entry (manager, operation
``Update``, apiVersion, subresource) gains the fields the write added or changed and
loses those it removed; every other entry loses the fields the write touched.  An entry
left empty is dropped, the writer's gets ``time: now`` when it took anything.  A body
carrying ``managedFields: [{}]`` resets them (none kept), as upstream.

``apply``: the applied configuration is merged into the live object (maps field by field,
keyed lists item by item in upstream's order, sets as unions, atomic values replaced), the
fields the same manager applied last time and no longer applies are removed unless someone
else owns them, and any field another manager owns whose value the apply changes is a
conflict: ``409 Conflict`` with one ``FieldManagerConflict`` cause per field and
upstream's message (``Apply failed with 1 conflict: conflict with "kubectl-client-side-apply"
using apps/v1: .spec.replicas``), unless ``force`` takes the fields over.  Applying to an
object without managedFields first credits its fields to ``before-first-apply``.  ``live``
None is a create.

Simplifications (upstream has the full OpenAPI schema): maps and structs are not told
apart (the same field sets for all the kinds served, whose maps hold scalars), ``.`` on a
created object's nodes follows a per-kind table of the structs Go always serializes, and
no cap on the number of Update entries (upstream merges the oldest beyond 10).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from actors.api.errors import APIError, bad_request, go_quote
from actors.api.strategicpatch import EMPTY, PatchMeta, patch_meta

JSON = Any
Path = tuple[str, ...]

__all__ = ["Path", "Manager", "BEFORE_FIRST_APPLY", "field_set", "encode_fields",
           "decode_fields", "path_string", "managers", "update_managed_fields", "apply"]

BEFORE_FIRST_APPLY = "before-first-apply"

_IGNORED_META = ("name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName",
                 "generation", "managedFields", "resourceVersion")

# element definition -> (+listMapKey fields, defaults of key fields) where upstream's
# list-map keys are not the patch merge key
_KEY_OVERRIDES: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "io.k8s.api.core.v1.ContainerPort": (("containerPort", "protocol"), {"protocol": "TCP"}),
    "io.k8s.api.core.v1.ServicePort": (("port", "protocol"), {"protocol": "TCP"}),
    "io.k8s.api.core.v1.TopologySpreadConstraint": (("topologyKey", "whenUnsatisfiable"), {}),
}

# +structType=atomic fields, by the tail of their path (list fields crossed without index)
_ATOMIC_TAILS: tuple[tuple[str, ...], ...] = (
    ("topologySpreadConstraints", "labelSelector"),
    ("nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution"),
)
_ATOMIC_PATHS: dict[str, frozenset[tuple[str, ...]]] = {
    "Deployment": frozenset({("spec", "selector")}),
    "ReplicaSet": frozenset({("spec", "selector")}),
    "Event": frozenset({("involvedObject",), ("related",)}),
}

# what the zero value of the kind's Go type serializes (compared against on create)
_POD_TEMPLATE: dict[str, Any] = {"metadata": {}, "spec": {"containers": None}}
_SKELETONS: dict[str, dict[str, Any]] = {
    "Pod": {"metadata": {}, "spec": {"containers": None}, "status": {}},
    "Node": {"metadata": {}, "spec": {}, "status": {"daemonEndpoints": {}, "nodeInfo": {}}},
    "Namespace": {"metadata": {}, "spec": {}, "status": {}},
    "Service": {"metadata": {}, "spec": {}, "status": {"loadBalancer": {}}},
    "Deployment": {"metadata": {}, "spec": {"template": _POD_TEMPLATE, "strategy": {}},
                   "status": {}},
    "ReplicaSet": {"metadata": {}, "spec": {"template": _POD_TEMPLATE}, "status": {}},
    "Lease": {"metadata": {}, "spec": {}},
    "Event": {"metadata": {}, "involvedObject": {}, "source": {}},
}


def _has_status(kind: str) -> bool:
    from actors.api.resources import for_kind

    try:
        return for_kind(kind).has_status
    except KeyError:
        return False


# ---------------------------------------------------------------------------------------------
# schema walking
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ctx:
    kind: str
    meta: PatchMeta
    names: tuple[str, ...]          # field names from the root (lists crossed)

    def child(self, name: str) -> "_Ctx":
        return _Ctx(self.kind, self.meta.child(name), self.names + (name,))

    @property
    def atomic_struct(self) -> bool:
        if self.names in _ATOMIC_PATHS.get(self.kind, frozenset()):
            return True
        return any(self.names[-len(t):] == t for t in _ATOMIC_TAILS if len(self.names) >= len(t))

    def list_type(self) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        """("map", keys, key defaults) | ("set", (), {}) | ("atomic", (), {})."""
        m = self.meta
        if m.patch_strategy != "merge":
            return "atomic", (), {}
        if not m.merge_key:
            return "set", (), {}
        keys, defaults = _KEY_OVERRIDES.get(m.definition, ((m.merge_key,), {}))
        return "map", keys, defaults


def _root(kind: str) -> _Ctx:
    return _Ctx(kind, patch_meta(kind), ())


class _ApplyError(Exception):
    pass


def _item_key(item: Any, keys: tuple[str, ...], defaults: Mapping[str, Any],
              where: str) -> str:
    if not isinstance(item, dict):
        raise _ApplyError(f"{where}: expected map, got {_kind_name(item)}")
    k: dict[str, Any] = {}
    for name in sorted(keys):
        if name in item and item[name] is not None:
            k[name] = item[name]
        elif name in defaults:
            k[name] = defaults[name]
        else:
            raise _ApplyError(f"{where}: associative list with keys has an element that "
                              f"omits key field {go_quote(name)} (and doesn't have default "
                              "value)")
    return "k:" + json.dumps(k, separators=(",", ":"), sort_keys=True)


def _value_key(v: Any) -> str:
    return "v:" + json.dumps(v, separators=(",", ":"), sort_keys=True)


def _kind_name(v: Any) -> str:
    if isinstance(v, dict):
        return "map"
    if isinstance(v, list):
        return "list"
    if v is None:
        return "null"
    return "scalar"


def _items(lst: list[Any], ctx: _Ctx, where: str) -> list[tuple[str, Any]]:
    """(path element, item) of a granular list, first occurrence of a key winning."""
    lt, keys, defaults = ctx.list_type()
    out: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(lst):
        pe = _item_key(item, keys, defaults, f"{where}: element {i}") if lt == "map" \
            else _value_key(item)
        if pe not in seen:
            seen.add(pe)
            out.append((pe, item))
    return out


def _is_leaf(v: Any, ctx: _Ctx) -> bool:
    if isinstance(v, dict):
        return ctx.atomic_struct or not v
    if isinstance(v, list):
        return ctx.list_type()[0] == "atomic"
    return True


def _where(ctx: _Ctx) -> str:
    return "." + ".".join(ctx.names) if ctx.names else "."


# ---------------------------------------------------------------------------------------------
# field sets
# ---------------------------------------------------------------------------------------------


def _strip(obj: Any, kind: str, subresource: str) -> dict[str, Any]:
    """The tracked part of an object (system fields and reset fields removed)."""
    if not isinstance(obj, dict):
        return {}
    if subresource == "status":
        return {"status": copy.deepcopy(obj["status"])} if "status" in obj else {}
    out = {k: copy.deepcopy(v) for k, v in obj.items() if k not in ("apiVersion", "kind")}
    if _has_status(kind) and subresource == "":
        out.pop("status", None)
    m = out.get("metadata")
    if isinstance(m, dict):
        for k in _IGNORED_META:
            m.pop(k, None)
    return out


_METADATA: Path = ("f:metadata",)      # never a member itself (upstream strips it too)


def _collect(v: Any, ctx: _Ctx, prefix: Path, out: set[Path]) -> None:
    if _is_leaf(v, ctx):
        if prefix and prefix != _METADATA:
            out.add(prefix)
        return
    if isinstance(v, dict):
        for k, x in v.items():
            _collect(x, ctx.child(k), prefix + ("f:" + k,), out)
    else:
        for pe, item in _items(v, ctx, _where(ctx)):
            out.add(prefix + (pe,))
            if ctx.list_type()[0] == "map" and isinstance(item, dict):
                for k, x in item.items():
                    _collect(x, ctx.child(k), prefix + (pe, "f:" + k), out)


def field_set(obj: JSON, kind: str, subresource: str = "") -> set[Path]:
    """The tracked fields ``obj`` sets (upstream ``TypedValue.ToFieldSet``); a keyed list
    item without its key is a 422 ``APIError``."""
    out: set[Path] = set()
    try:
        _collect(_strip(obj, kind, subresource), _root(kind), (), out)
    except _ApplyError as e:
        raise APIError({"message": str(e), "reason": "Invalid", "code": 422}) from None
    return out


def encode_fields(paths: Iterable[Path]) -> dict[str, Any]:
    """FieldsV1: the tree of ``paths``; ``".": {}`` where an owned node has owned children."""
    root: dict[str, Any] = {}
    members: set[Path] = set(paths)
    for p in sorted(members):
        node = root
        for pe in p:
            node = node.setdefault(pe, {})
    def mark(node: dict[str, Any], prefix: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if prefix in members and node:
            out["."] = {}
        for pe in sorted(node):
            out[pe] = mark(node[pe], prefix + (pe,))
        return out
    return mark(root, ())


def decode_fields(fields: Any) -> set[Path]:
    """The paths of a FieldsV1 tree."""
    out: set[Path] = set()

    def walk(node: Any, prefix: Path) -> None:
        if not isinstance(node, dict):
            return
        if not node or "." in node:
            if prefix:
                out.add(prefix)
        for pe, sub in node.items():
            if pe != ".":
                walk(sub, prefix + (pe,))

    walk(fields, ())
    return out


def _to_string(v: Any) -> str:
    """structured-merge-diff ``value.ToString``."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return go_quote(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(v, separators=(",", ":"), sort_keys=True)


def path_string(path: Path) -> str:
    """``fieldpath.Path.String()``: ``.spec.containers[name="app"].ports[containerPort=80,
    protocol="TCP"]``; set items ``[="a"]``."""
    out = []
    for pe in path:
        tag, _, rest = pe.partition(":")
        if tag == "f":
            out.append("." + rest)
        elif tag == "k":
            key = json.loads(rest)
            out.append("[" + ",".join(f"{k}={_to_string(key[k])}" for k in sorted(key)) + "]")
        elif tag == "v":
            out.append(f"[={_to_string(json.loads(rest))}]")
        else:
            out.append(f"[{rest}]")
    return "".join(out)


def _pe_order(pe: str) -> tuple[int, str]:
    return ({"f": 0, "k": 1, "v": 2, "i": 3}.get(pe[:1], 4), pe)


def _iterate(paths: Iterable[Path]) -> list[Path]:
    """Paths in ``fieldpath.Set.Iterate`` order: a node's members, then its children."""
    tree: dict[str, Any] = {}
    members = set(paths)
    for p in members:
        node = tree
        for pe in p:
            node = node.setdefault(pe, {})
    out: list[Path] = []

    def walk(node: dict[str, Any], prefix: Path) -> None:
        keys = sorted(node, key=_pe_order)
        for pe in keys:
            if prefix + (pe,) in members:
                out.append(prefix + (pe,))
        for pe in keys:
            if node[pe]:
                walk(node[pe], prefix + (pe,))

    walk(tree, ())
    return out


# ---------------------------------------------------------------------------------------------
# comparison, merge, pruning
# ---------------------------------------------------------------------------------------------

_MISSING: Any = object()


@dataclass
class _Comparison:
    added: set[Path] = field(default_factory=set)
    modified: set[Path] = field(default_factory=set)
    removed: set[Path] = field(default_factory=set)


def _compare(old: Any, new: Any, ctx: _Ctx, prefix: Path, c: _Comparison) -> None:
    if old is _MISSING and new is _MISSING:
        return
    # null next to a map or a granular list is that container, empty (as upstream's walker)
    if old is None and not _is_leaf(new, ctx) and new is not _MISSING:
        old = type(new)()
    elif new is None and old is not _MISSING and not _is_leaf(old, ctx):
        new = type(old)()
    if old is _MISSING or new is _MISSING:
        present = new if old is _MISSING else old
        bucket = c.added if old is _MISSING else c.removed
        if prefix and prefix != _METADATA:
            bucket.add(prefix)
        if not _is_leaf(present, ctx):
            for pe, sub, subctx in _children(present, ctx):
                _compare(_MISSING if old is _MISSING else sub, sub if old is _MISSING else
                         _MISSING, subctx, prefix + pe, c)
        return
    both_dicts = isinstance(old, dict) and isinstance(new, dict)
    both_lists = isinstance(old, list) and isinstance(new, list)
    if both_dicts and not ctx.atomic_struct:
        for k in list(old) + [k for k in new if k not in old]:
            _compare(old.get(k, _MISSING), new.get(k, _MISSING), ctx.child(k),
                     prefix + ("f:" + k,), c)
        return
    if both_lists and ctx.list_type()[0] != "atomic":
        o = dict(_items(old, ctx, _where(ctx)))
        n = dict(_items(new, ctx, _where(ctx)))
        lt = ctx.list_type()[0]
        for ipe in list(o) + [x for x in n if x not in o]:
            oi, ni = o.get(ipe, _MISSING), n.get(ipe, _MISSING)
            if oi is _MISSING or ni is _MISSING:
                _compare(oi, ni, _Ctx(ctx.kind, EMPTY, ()) if lt == "set" else
                         _ListItem.ctx(ctx), prefix + (ipe,), c)
            elif lt == "map":
                for k in list(oi) + [k for k in ni if k not in oi]:
                    _compare(oi.get(k, _MISSING), ni.get(k, _MISSING), ctx.child(k),
                             prefix + (ipe, "f:" + k), c)
        return
    if old != new or type(old) is not type(new):
        if prefix:
            c.modified.add(prefix)
        # a value that stopped or started being a container: its children come and go
        if not _is_leaf(old, ctx) and _is_leaf(new, ctx):
            for pe, sub, subctx in _children(old, ctx):
                _compare(sub, _MISSING, subctx, prefix + pe, c)
        elif _is_leaf(old, ctx) and not _is_leaf(new, ctx):
            for pe, sub, subctx in _children(new, ctx):
                _compare(_MISSING, sub, subctx, prefix + pe, c)


class _ListItem:
    """A keyed list's item as a node: a map whose fields are the list's element fields."""

    @staticmethod
    def ctx(list_ctx: _Ctx) -> _Ctx:
        return _Ctx(list_ctx.kind, list_ctx.meta, list_ctx.names + ("[]",))


def _children(v: Any, ctx: _Ctx) -> list[tuple[Path, Any, _Ctx]]:
    """(relative path, value, context) of the children a non-leaf value has."""
    out: list[tuple[Path, Any, _Ctx]] = []
    if isinstance(v, dict):
        if ctx.names and ctx.names[-1] == "[]":        # a keyed list's item
            base = _Ctx(ctx.kind, ctx.meta, ctx.names[:-1])
            for k, x in v.items():
                out.append((("f:" + k,), x, base.child(k)))
        else:
            for k, x in v.items():
                out.append((("f:" + k,), x, ctx.child(k)))
    elif isinstance(v, list):
        lt = ctx.list_type()[0]
        for pe, item in _items(v, ctx, _where(ctx)):
            out.append(((pe,), item, _ListItem.ctx(ctx) if lt == "map"
                        else _Ctx(ctx.kind, EMPTY, ())))
    return out


def _merge(live: Any, cfg: Any, ctx: _Ctx) -> Any:
    """structured-merge-diff ``Merge``: the applied configuration over the live value."""
    if isinstance(live, dict) and isinstance(cfg, dict) and not ctx.atomic_struct:
        out = copy.deepcopy(live)
        for k, v in cfg.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = _merge(live.get(k, _MISSING), v, ctx.child(k))
        return out
    if isinstance(live, list) and isinstance(cfg, list) and ctx.list_type()[0] != "atomic":
        return _merge_list(live, cfg, ctx)
    return _without_nulls(cfg)


def _without_nulls(v: Any) -> Any:
    """A copy of an applied value without its null members (the typed object has none)."""
    if isinstance(v, dict):
        return {k: _without_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_without_nulls(x) for x in v]
    return v


def _merge_list(live: list[Any], cfg: list[Any], ctx: _Ctx) -> list[Any]:
    """Upstream's order: live-only items keep their place, applied items come in the
    applied order, an item both have merged where the applied order puts it."""
    where = _where(ctx)
    lt = ctx.list_type()[0]
    lhs = _items(live, ctx, where)
    rhs = _items(cfg, ctx, where)
    lmap, rmap = dict(lhs), dict(rhs)
    shared = [pe for pe, _ in rhs if pe in lmap]
    next_shared = shared.pop(0) if shared else None
    merged: set[str] = set()
    out: list[Any] = []

    def item(pe: str) -> Any:
        if pe in rmap:
            if lt == "map" and pe in lmap:
                return _merge_item(lmap[pe], rmap[pe], ctx)
            return _without_nulls(rmap[pe])
        return copy.deepcopy(lmap[pe])

    li = ri = 0
    while li < len(lhs) or ri < len(rhs):
        if li < len(lhs) and ri < len(rhs):
            pe = lhs[li][0]
            if pe == rhs[ri][0]:
                merged.add(pe)
                out.append(item(pe))
                li += 1
                ri += 1
                next_shared = shared.pop(0) if shared else None
                continue
            if pe in rmap and next_shared is not None and next_shared != pe:
                li += 1
                continue
        if li < len(lhs):
            pe = lhs[li][0]
            if pe not in rmap:
                out.append(item(pe))
                li += 1
                continue
            if pe in merged:
                li += 1
                continue
        if ri < len(rhs):
            pe = rhs[ri][0]
            merged.add(pe)
            out.append(item(pe))
            ri += 1
            if next_shared is not None and next_shared == pe:
                next_shared = shared.pop(0) if shared else None
    return out


def _merge_item(live: dict[str, Any], cfg: dict[str, Any], list_ctx: _Ctx) -> dict[str, Any]:
    out = copy.deepcopy(live)
    for k, v in cfg.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge(live.get(k, _MISSING), v, list_ctx.child(k))
    return out


def _remove_path(obj: Any, path: Path, ctx: _Ctx) -> None:
    """Remove one path from ``obj`` (in place); dicts it empties go too."""
    if not path or not isinstance(obj, (dict, list)):
        return
    pe, rest = path[0], path[1:]
    if isinstance(obj, dict) and pe.startswith("f:"):
        k = pe[2:]
        if k not in obj:
            return
        if rest:
            _remove_path(obj[k], rest, ctx.child(k))
            if isinstance(obj[k], dict) and not obj[k]:
                del obj[k]
        else:
            del obj[k]
    elif isinstance(obj, list):
        for i, (ipe, item) in enumerate(_items(obj, ctx, _where(ctx))):
            if ipe != pe:
                continue
            idx = next(j for j, x in enumerate(obj) if x is item)
            if rest and isinstance(item, dict) and rest[0].startswith("f:"):
                k = rest[0][2:]
                if k in item:
                    if rest[1:]:
                        _remove_path(item[k], rest[1:], ctx.child(k))
                        if isinstance(item[k], dict) and not item[k]:
                            del item[k]
                    else:
                        del item[k]
            elif not rest:
                del obj[idx]
            break


# ---------------------------------------------------------------------------------------------
# managers
# ---------------------------------------------------------------------------------------------


@dataclass
class Manager:
    """One ``metadata.managedFields`` entry."""

    manager: str
    operation: str                  # "Apply" | "Update"
    api_version: str
    time: str | None = None
    subresource: str = ""
    fields: set[Path] = field(default_factory=set)

    @property
    def ident(self) -> tuple[str, str, str, str]:
        """What tells entries apart (upstream ``BuildManagerIdentifier``: no time, and no
        apiVersion for appliers)."""
        return (self.manager, self.operation,
                "" if self.operation == "Apply" else self.api_version, self.subresource)

    def label(self) -> str:
        """How conflicts name the manager (upstream ``printManager``)."""
        s = go_quote(self.manager)
        if self.subresource:
            s += f" with subresource {go_quote(self.subresource)}"
        if self.operation == "Update":
            s += f" using {self.api_version}"
        return s

    def entry(self) -> dict[str, Any]:
        e: dict[str, Any] = {"manager": self.manager, "operation": self.operation,
                             "apiVersion": self.api_version}
        if self.time:
            e["time"] = self.time
        e["fieldsType"] = "FieldsV1"
        e["fieldsV1"] = encode_fields(self.fields)
        if self.subresource:
            e["subresource"] = self.subresource
        return e


def managers(obj: JSON) -> list[Manager]:
    """The decoded ``metadata.managedFields`` of ``obj`` (malformed entries skipped)."""
    m = obj.get("metadata") if isinstance(obj, dict) else None
    entries = m.get("managedFields") if isinstance(m, dict) else None
    out: list[Manager] = []
    for e in entries if isinstance(entries, list) else []:
        if not isinstance(e, dict) or not e.get("manager") and not e.get("operation"):
            continue
        out.append(Manager(str(e.get("manager") or ""), str(e.get("operation") or "Update"),
                           str(e.get("apiVersion") or ""), e.get("time"),
                           str(e.get("subresource") or ""), decode_fields(e.get("fieldsV1"))))
    return out


def _encode(mgrs: Iterable[Manager]) -> list[dict[str, Any]]:
    """The entries with fields, sorted as upstream (operation, time, manager, ...)."""
    live = [m for m in mgrs if m.fields]
    live.sort(key=lambda m: (m.operation, m.time or "", m.manager, m.api_version,
                             m.subresource))
    return [m.entry() for m in live]


def _set_managed(obj: dict[str, Any], mgrs: Iterable[Manager]) -> dict[str, Any]:
    entries = _encode(mgrs)
    md = obj.setdefault("metadata", {})
    if entries:
        md["managedFields"] = entries
    else:
        md.pop("managedFields", None)
    return obj


def _skeleton(kind: str, subresource: str) -> dict[str, Any]:
    return _strip(copy.deepcopy(_SKELETONS.get(kind, {"metadata": {}})), kind, subresource) \
        if subresource != "status" else {"status": {}}


def _is_reset(obj: Any) -> bool:
    md = obj.get("metadata") if isinstance(obj, dict) else None
    mf = md.get("managedFields") if isinstance(md, dict) else None
    return isinstance(mf, list) and len(mf) == 1 and mf[0] == {}


def update_managed_fields(old: JSON | None, new: JSON, manager: str, operation: str = "Update",
                          *, kind: str, api_version: str, now: str,
                          subresource: str = "") -> JSON:
    """``new`` (a copy) with the managedFields an ordinary write (create, update, patch)
    by ``manager`` leaves."""
    out: dict[str, Any] = copy.deepcopy(new)
    if _is_reset(out):
        out["metadata"].pop("managedFields", None)
        return out
    supplied = (out.get("metadata") or {}).get("managedFields")
    mgrs = managers(out) if supplied else managers(old) if old is not None else []
    before = _strip(old, kind, subresource) if old is not None else _skeleton(kind, subresource)
    c = _Comparison()
    try:
        _compare(before, _strip(out, kind, subresource), _root(kind), (), c)
    except _ApplyError:
        # an object the schema cannot walk (a keyed list item without its key): upstream
        # never fails a write over its managedFields, it leaves them as they were
        return out
    touched = c.added | c.modified | c.removed
    taken = c.added | c.modified
    me = Manager(manager, operation, api_version, now, subresource)
    kept: list[Manager] = []
    prev: Manager | None = None
    for m in mgrs:
        m.fields -= touched
        if m.ident == me.ident:
            prev = m
        else:
            kept.append(m)
    if taken:
        me.fields = taken | (prev.fields if prev else set())
        kept.append(me)
    elif prev is not None:
        kept.append(prev)
    return _set_managed(out, kept)


def _conflict(conflicts: list[tuple[Manager, Path]]) -> APIError:
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {m.label()}",
               "field": path_string(p)} for m, p in conflicts]
    if len(conflicts) == 1:
        m, p = conflicts[0]
        msg = f"Apply failed with 1 conflict: conflict with {m.label()}: {path_string(p)}"
    else:
        by: dict[str, list[Path]] = {}
        for m, p in conflicts:
            by.setdefault(m.label(), []).append(p)
        lines: list[str] = []
        for label in sorted(by):
            lines.append(f"conflicts with {label}:")
            lines.extend(f"- {path_string(p)}" for p in by[label])
        msg = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return APIError({"message": msg, "reason": "Conflict", "details": {"causes": causes},
                     "code": 409})


def _check_applied(applied: Any, kind: str, api_version: str) -> None:
    if not isinstance(applied, dict):
        raise bad_request("error decoding YAML: the apply configuration is not an object")
    av, k = applied.get("apiVersion"), applied.get("kind")
    if not av or not k:
        raise bad_request("Object 'Kind' is missing in the apply configuration"
                          if not k else "apiVersion must be set in the apply configuration")
    if av != api_version:
        raise bad_request("Incorrect version specified in apply patch. Specified patch "
                          f"version: {av}, expected: {api_version}")
    if k != kind:
        raise bad_request(f"Incorrect kind specified in apply patch. Specified patch kind: "
                          f"{k}, expected: {kind}")
    md = applied.get("metadata")
    if isinstance(md, dict) and md.get("managedFields") is not None:
        raise bad_request("metadata.managedFields must be nil")


def apply(live: JSON | None, applied: JSON, manager: str, force: bool = False, *, kind: str,
          api_version: str, now: str, subresource: str = "") -> JSON:
    """Server-side apply of ``applied`` by ``manager`` to ``live`` (None: the object does
    not exist yet); returns the new object with its managedFields, raises ``APIError``
    (409 on conflicts unless ``force``, 400/422 on a bad configuration)."""
    _check_applied(applied, kind, api_version)
    ctx = _root(kind)
    try:
        cfg = _strip(applied, kind, subresource)
        new_set: set[Path] = set()
        _collect(cfg, ctx, (), new_set)
        base = _strip(live, kind, subresource) if live is not None else {}
        mgrs = managers(live) if live is not None else []
        if live is not None and not mgrs:
            first = Manager(BEFORE_FIRST_APPLY, "Update", api_version, None, subresource)
            _collect(base, ctx, (), first.fields)
            mgrs = [first]
        me = Manager(manager, "Apply", api_version, None, subresource, set(new_set))
        others = [m for m in mgrs if m.ident != me.ident]
        last = next((m for m in mgrs if m.ident == me.ident), None)
        if last is not None:
            me.time = last.time
        merged = _merge(base, cfg, ctx)
        # what this manager applied before and applies no more goes, unless owned elsewhere
        owned: set[Path] = set(new_set)
        for m in others:
            owned |= m.fields
        prefixes = {p[:i] for p in owned for i in range(1, len(p) + 1)}
        for p in sorted((last.fields if last else set()) - new_set, key=len, reverse=True):
            if p not in prefixes:
                _remove_path(merged, p, ctx)
        c = _Comparison()
        _compare(base if live is not None else _skeleton(kind, subresource), merged, ctx, (), c)
    except _ApplyError as e:
        raise APIError({"message": str(e), "reason": "Invalid", "code": 422}) from None
    changed = c.added | c.modified
    conflicts = [(m, p) for m in sorted(others, key=lambda m: m.label())
                 for p in _iterate(m.fields & changed)]
    if conflicts and not force:
        raise _conflict(conflicts)
    for m in others:
        m.fields -= changed | c.removed
    if live is None or merged != base or last is None:
        me.time = now
    # the result: the live object's untracked parts, the merged tracked ones
    out: dict[str, Any] = copy.deepcopy(live) if live is not None else {}
    out["apiVersion"], out["kind"] = api_version, kind
    if subresource == "status":
        if "status" in merged:
            out["status"] = merged["status"]
        else:
            out.pop("status", None)
    else:
        keep = {k: out[k] for k in ("status",) if k in out and _has_status(kind)}
        md_any = out.get("metadata")
        md: dict[str, Any] = md_any if isinstance(md_any, dict) else {}
        sys_meta = {k: md[k] for k in _IGNORED_META if k in md}
        for k, v in (applied.get("metadata") or {}).items():
            if k in ("name", "namespace") and live is None:
                sys_meta[k] = v
        out = {"apiVersion": api_version, "kind": kind,
               "metadata": {**(merged.get("metadata") or {}), **sys_meta}}
        out.update((k, v) for k, v in merged.items() if k != "metadata")
        out.update(keep)
    return _set_managed(out, others + [me])
