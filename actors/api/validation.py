"""Validation of every served kind, with upstream's messages and field paths (pure).

``validate(obj, old=None, *, subresource="")`` is the apiserver's ``strategy.Validate`` (create,
``old is None``) / ``strategy.ValidateUpdate`` (update) for the object's ``kind``, returning
``field.ErrorList``-equivalent ``FieldError``s.  It mirrors ``pkg/apis/core/validation``,
``pkg/apis/apps/validation``, ``pkg/apis/coordination/validation`` and apimachinery's
ObjectMeta validation as of v1.30, and expects what upstream expects: an object that has
been defaulted (``defaults.apply_defaults``) -- e.g. an undefaulted Pod reports
``spec.containers[0].imagePullPolicy: Required value``.

Conventions reproduced on purpose, quirks included:

* names: DNS-1123 subdomain for most kinds, DNS-1123 label for Namespaces, DNS-1035 label for
  Services (upstream's ``ValidateServiceName``); a ``generateName`` prefix may end in ``-``.
  Deviation: ``metadata.name`` is only required when ``generateName`` is empty, so creates can
  be validated before the registry generates the name.
* a pod template's labels are reported at ``spec.template.labels`` (not ``.metadata.labels``)
  except for the selector mismatch, and node taints at ``metadata.taints[i]``, as upstream.
* Go-typed values are rendered as v1.30 prints them: ``map[string]string{"app":"web"}``,
  ``intstr.IntOrString{Type:0, IntVal:0, StrVal:""}``, ``v1.LabelSelector{...}``.
* the selector of apps/v1 Deployments and ReplicaSets is immutable (the registry strategy's
  check, appended after the spec errors).
* updates require ``metadata.resourceVersion`` (``must be specified for an update``): the
  apiserver must copy the stored resourceVersion into the new object before validating an
  unconditional update (Pods, Deployments, ... allow them upstream).
* a Pod update may only change container images, ``activeDeadlineSeconds`` (set or lower),
  add tolerations and lower a negative ``terminationGracePeriodSeconds`` to 1; anything else
  is ``spec: Forbidden: pod updates may not change fields other than ...`` followed by a
  simplified diff (upstream prints go-cmp's diff of the internal PodSpec).

``subresource="status"`` validates a status update (ObjectMeta update plus the kind's status
rules).  Kinds not served return no errors.
"""

from __future__ import annotations

import base64
import binascii
import json
from fractions import Fraction
from typing import Any, Callable, Mapping

from actors.api import naming
from actors.api.errors import FieldError, GoRepr, go_quote, go_string_map, go_string_slice
from actors.api.naming import (
    inclusive_range_error,
    is_config_map_key,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_dns1035_label,
    is_qualified_name,
    is_valid_label_value,
    is_valid_port_name,
    is_valid_port_num,
    name_is_dns1035_label,
    name_is_dns_label,
    name_is_dns_subdomain,
)
from actors.api.quantity import format_quantity, parse_quantity_with_format
from actors.api.selectors import Selector, selector_from_dict

__all__ = ["validate", "is_dns1123_subdomain", "is_dns1123_label", "is_dns1035_label",
           "is_qualified_name", "is_valid_label_value", "validate_object_meta",
           "validate_object_meta_update", "validate_pod_spec", "validate_labels",
           "validate_label_selector"]

Errs = list[FieldError]
NameFn = Callable[[str, bool], list[str]]

IS_NEGATIVE = "must be greater than or equal to 0"
IMMUTABLE = "field is immutable"
MAX_INT32 = 2**31 - 1
TOTAL_ANNOTATION_SIZE = 256 * 1024
MAX_SECRET_SIZE = 1024 * 1024
SUPPORTED_PORT_PROTOCOLS = ["SCTP", "TCP", "UDP"]
STANDARD_FINALIZERS = {"kubernetes", "orphan", "foregroundDeletion"}


# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------

def _d(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _l(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _s(v: Any) -> str:
    if v is None:
        return ""
    return v if isinstance(v, str) else str(v)


def _i(v: Any) -> int | None:
    """An integer field (JSON numbers that are whole count as integers)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return None


def _p(base: str, *names: str) -> str:
    out = base
    for n in names:
        out = f"{out}.{n}" if out else n
    return out


def _ix(base: str, i: int) -> str:
    return f"{base}[{i}]"


def _k(base: str, key: str) -> str:
    return f"{base}[{key}]"


def _nonneg(v: Any, path: str) -> Errs:
    """``ValidateNonnegativeField`` (with a type check for non-integers)."""
    if v is None:
        return []
    n = _i(v)
    if n is None:
        return [FieldError.invalid(path, v, "must be an integer")]
    if n < 0:
        return [FieldError.invalid(path, n, IS_NEGATIVE)]
    return []


def _immutable(new: Any, old: Any, path: str, shown: Any = None) -> Errs:
    if new != old:
        return [FieldError.invalid(path, new if shown is None else shown, IMMUTABLE)]
    return []


def _gs(type_name: str, fields: list[tuple[str, str]]) -> GoRepr:
    """A Go struct as ``%#v``."""
    return GoRepr(type_name + "{" + ", ".join(f"{k}:{v}" for k, v in fields) + "}")


def _go_ptr(v: Any, typ: str) -> str:
    if v is None:
        return f"(*{typ})(nil)"
    return f"(*{typ})(0xc000010000)"


def go_int_or_string(v: Any) -> GoRepr:
    """``intstr.IntOrString`` as v1.30 prints it."""
    if isinstance(v, str):
        return _gs("intstr.IntOrString", [("Type", "1"), ("IntVal", "0"), ("StrVal", go_quote(v))])
    n = _i(v) or 0
    return _gs("intstr.IntOrString", [("Type", "0"), ("IntVal", str(n)), ("StrVal", '""')])


def go_label_selector(sel: Any) -> GoRepr:
    """``v1.LabelSelector`` (a dereferenced ``*metav1.LabelSelector``)."""
    d = _d(sel)
    ml = d.get("matchLabels")
    exprs = d.get("matchExpressions")
    if exprs is None:
        ex = "[]v1.LabelSelectorRequirement(nil)"
    else:
        items = []
        for e in _l(exprs):
            e = _d(e)
            items.append(_gs("v1.LabelSelectorRequirement", [
                ("Key", go_quote(_s(e.get("key")))),
                ("Operator", go_quote(_s(e.get("operator")))),
                ("Values", go_string_slice(e.get("values")).text)]).text)
        ex = "[]v1.LabelSelectorRequirement{" + ", ".join(items) + "}"
    return _gs("v1.LabelSelector", [("MatchLabels", go_string_map(ml).text), ("MatchExpressions", ex)])


def go_toleration(t: Mapping[str, Any]) -> GoRepr:
    return _gs("core.Toleration", [
        ("Key", go_quote(_s(t.get("key")))), ("Operator", go_quote(_s(t.get("operator")))),
        ("Value", go_quote(_s(t.get("value")))), ("Effect", go_quote(_s(t.get("effect")))),
        ("TolerationSeconds", _go_ptr(t.get("tolerationSeconds"), "int64"))])


def go_taint(t: Mapping[str, Any]) -> GoRepr:
    return _gs("core.Taint", [
        ("Key", go_quote(_s(t.get("key")))), ("Value", go_quote(_s(t.get("value")))),
        ("Effect", go_quote(_s(t.get("effect")))),
        ("TimeAdded", _go_ptr(t.get("timeAdded"), "v1.Time"))])


def _quantity_errs(q: Any, path: str) -> tuple[Fraction | None, str, Errs]:
    """Parse a quantity; (value, canonical string, errors)."""
    try:
        v, fmt = parse_quantity_with_format(q)
    except ValueError as e:
        return None, "", [FieldError.invalid(path, q, str(e))]
    return v, format_quantity(v, fmt), []


# ---------------------------------------------------------------------------------------------
# labels, annotations, selectors
# ---------------------------------------------------------------------------------------------

def validate_label_name(name: str, path: str) -> Errs:
    return [FieldError.invalid(path, name, m) for m in is_qualified_name(name)]


def validate_labels(labels: Any, path: str) -> Errs:
    """``ValidateLabels``: errors are reported at the map's path, not per key."""
    errs: Errs = []
    for k, v in _d(labels).items():
        errs += validate_label_name(_s(k), path)
        if not isinstance(v, str):
            errs.append(FieldError.invalid(path, v, "must be a string"))
            continue
        errs += [FieldError.invalid(path, v, m) for m in is_valid_label_value(v)]
    return errs


def validate_annotations(ann: Any, path: str) -> Errs:
    errs: Errs = []
    total = 0
    for k, v in _d(ann).items():
        errs += [FieldError.invalid(path, k, m) for m in is_qualified_name(_s(k).lower())]
        total += len(_s(k)) + len(_s(v))
    if total > TOTAL_ANNOTATION_SIZE:
        errs.append(FieldError.too_long(path, TOTAL_ANNOTATION_SIZE))
    return errs


def validate_label_selector(sel: Any, path: str) -> Errs:
    """``ValidateLabelSelector`` (strict: label values must be valid)."""
    if sel is None:
        return []
    d = _d(sel)
    errs = validate_labels(d.get("matchLabels"), _p(path, "matchLabels"))
    for i, e in enumerate(_l(d.get("matchExpressions"))):
        e = _d(e)
        ep = _ix(_p(path, "matchExpressions"), i)
        op = e.get("operator")
        vals = _l(e.get("values"))
        if op in ("In", "NotIn"):
            if not vals:
                errs.append(FieldError.required(_p(ep, "values"),
                                                "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if vals:
                errs.append(FieldError.forbidden(
                    _p(ep, "values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        else:
            errs.append(FieldError.invalid(_p(ep, "operator"), _s(op), "not a valid selector operator"))
        errs += validate_label_name(_s(e.get("key")), _p(ep, "key"))
        for j, v in enumerate(vals):
            errs += [FieldError.invalid(_ix(_p(ep, "values"), j), v, m)
                     for m in is_valid_label_value(_s(v))]
    return errs


def _selector(sel: Any) -> Selector | None:
    """``LabelSelectorAsSelector``; None when invalid."""
    try:
        return selector_from_dict(sel)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# ObjectMeta
# ---------------------------------------------------------------------------------------------

def _go_owner_refs(refs: list[Any]) -> GoRepr:
    items = []
    for r in refs:
        r = _d(r)
        items.append(_gs("v1.OwnerReference", [
            ("APIVersion", go_quote(_s(r.get("apiVersion")))), ("Kind", go_quote(_s(r.get("kind")))),
            ("Name", go_quote(_s(r.get("name")))), ("UID", go_quote(_s(r.get("uid")))),
            ("Controller", _go_ptr(r.get("controller"), "bool")),
            ("BlockOwnerDeletion", _go_ptr(r.get("blockOwnerDeletion"), "bool"))]).text)
    return GoRepr("[]v1.OwnerReference{" + ", ".join(items) + "}")


def validate_owner_references(refs: Any, path: str) -> Errs:
    errs: Errs = []
    first = ""
    rl = _l(refs)
    for r in rl:
        r = _d(r)
        av = _s(r.get("apiVersion"))
        version = av.rpartition("/")[2]
        if not version:
            errs.append(FieldError.invalid(_p(path, "apiVersion"), av, "version must not be empty"))
        if not _s(r.get("kind")):
            errs.append(FieldError.invalid(_p(path, "kind"), _s(r.get("kind")), "kind must not be empty"))
        if not _s(r.get("name")):
            errs.append(FieldError.invalid(_p(path, "name"), _s(r.get("name")), "name must not be empty"))
        if not _s(r.get("uid")):
            errs.append(FieldError.invalid(_p(path, "uid"), _s(r.get("uid")), "uid must not be empty"))
        if r.get("controller") is True:
            cur = f"{_s(r.get('kind'))}/{_s(r.get('name'))}"
            if first:
                errs.append(FieldError.invalid(
                    path, _go_owner_refs(rl),
                    f'Only one reference can have Controller set to true. Found "true" in '
                    f"references for {first} and {cur}"))
            else:
                first = cur
    return errs


def validate_finalizers(fins: Any, path: str, kube: bool = True) -> Errs:
    errs: Errs = []
    fl = [_s(f) for f in _l(fins)]
    for f in fl:
        errs += [FieldError.invalid(path, f, m) for m in is_qualified_name(f)]
        if kube and "/" not in f and f not in STANDARD_FINALIZERS:
            errs.append(FieldError.invalid(
                path, f, "name is neither a standard finalizer name nor is it fully qualified"))
    if "orphan" in fl and "foregroundDeletion" in fl:
        errs.append(FieldError.invalid(path, go_string_slice(fl),
                                       "finalizer orphan and foregroundDeletion cannot be both set"))
    return errs


def validate_object_meta(meta: Any, requires_namespace: bool, name_fn: NameFn,
                         path: str = "metadata", kube_finalizers: bool = True) -> Errs:
    """``ValidateObjectMeta`` (name required only when generateName is empty)."""
    m = _d(meta)
    errs: Errs = []
    gen = _s(m.get("generateName"))
    name = _s(m.get("name"))
    if gen:
        errs += [FieldError.invalid(_p(path, "generateName"), gen, msg) for msg in name_fn(gen, True)]
    if not name:
        if not gen:
            errs.append(FieldError.required(_p(path, "name"), "name or generateName is required"))
    else:
        errs += [FieldError.invalid(_p(path, "name"), name, msg) for msg in name_fn(name, False)]
    ns = _s(m.get("namespace"))
    if requires_namespace:
        if not ns:
            errs.append(FieldError.required(_p(path, "namespace"), ""))
        else:
            errs += [FieldError.invalid(_p(path, "namespace"), ns, msg)
                     for msg in name_is_dns_label(ns, False)]
    elif ns:
        errs.append(FieldError.forbidden(_p(path, "namespace"), "not allowed on this type"))
    errs += _nonneg(m.get("generation"), _p(path, "generation"))
    errs += validate_labels(m.get("labels"), _p(path, "labels"))
    errs += validate_annotations(m.get("annotations"), _p(path, "annotations"))
    errs += validate_owner_references(m.get("ownerReferences"), _p(path, "ownerReferences"))
    errs += validate_finalizers(m.get("finalizers"), _p(path, "finalizers"), kube_finalizers)
    return errs


def validate_object_meta_update(meta: Any, old_meta: Any, path: str = "metadata") -> Errs:
    """``ValidateObjectMetaUpdate``."""
    m, o = _d(meta), _d(old_meta)
    errs: Errs = []
    if o.get("deletionTimestamp"):
        extra = sorted(set(_s(f) for f in _l(m.get("finalizers")))
                       - set(_s(f) for f in _l(o.get("finalizers"))))
        if extra:
            errs.append(FieldError.forbidden(
                _p(path, "finalizers"),
                "no new finalizers can be added if the object is being deleted, found new "
                f"finalizers {go_string_slice(extra).text}"))
    rv = m.get("resourceVersion")
    if not _s(rv):
        errs.append(FieldError.invalid(_p(path, "resourceVersion"), _s(rv), "must be specified for an update"))
    gen, ogen = _i(m.get("generation")) or 0, _i(o.get("generation")) or 0
    if gen < ogen:
        errs.append(FieldError.invalid(_p(path, "generation"), gen, "must not be decremented"))
    errs += _immutable(_s(m.get("name")), _s(o.get("name")), _p(path, "name"))
    errs += _immutable(_s(m.get("namespace")), _s(o.get("namespace")), _p(path, "namespace"))
    errs += _immutable(_s(m.get("uid")), _s(o.get("uid")), _p(path, "uid"))
    errs += _immutable(m.get("creationTimestamp"), o.get("creationTimestamp"),
                       _p(path, "creationTimestamp"), _s(m.get("creationTimestamp")))
    errs += _immutable(m.get("deletionTimestamp"), o.get("deletionTimestamp"),
                       _p(path, "deletionTimestamp"), _s(m.get("deletionTimestamp")))
    errs += _immutable(m.get("deletionGracePeriodSeconds"), o.get("deletionGracePeriodSeconds"),
                       _p(path, "deletionGracePeriodSeconds"))
    errs += validate_labels(m.get("labels"), _p(path, "labels"))
    errs += validate_annotations(m.get("annotations"), _p(path, "annotations"))
    errs += validate_owner_references(m.get("ownerReferences"), _p(path, "ownerReferences"))
    return errs


# ---------------------------------------------------------------------------------------------
# Pods
# ---------------------------------------------------------------------------------------------

_STANDARD_CONTAINER_RESOURCES = {"cpu", "memory", "ephemeral-storage"}
_NODE_FIELD_KEYS = {"metadata.name"}
_ENV_FIELD_PATHS = ["metadata.annotations", "metadata.labels", "metadata.name",
                    "metadata.namespace", "metadata.uid", "spec.nodeName",
                    "spec.serviceAccountName", "status.hostIP", "status.hostIPs",
                    "status.podIP", "status.podIPs"]


def _is_native_resource(name: str) -> bool:
    return "/" not in name or name.startswith("kubernetes.io/")


def _is_overcommit_allowed(name: str) -> bool:
    return _is_native_resource(name) and not name.startswith("hugepages-")


def _is_integer_resource(name: str) -> bool:
    return not _is_native_resource(name)


def _validate_container_resource_name(name: str, path: str) -> Errs:
    errs = [FieldError.invalid(path, name, m) for m in is_qualified_name(name)]
    if errs:
        return errs
    if "/" not in name:
        if name not in _STANDARD_CONTAINER_RESOURCES and not name.startswith("hugepages-"):
            errs.append(FieldError.invalid(path, name, "must be a standard resource for containers"))
    elif not _is_native_resource(name):
        if name.startswith("requests.") or is_qualified_name("requests." + name):
            errs.append(FieldError.invalid(path, name, "doesn't follow extended resource name standard"))
    return errs


def _validate_resource_quantity(name: str, q: Any, path: str) -> tuple[Fraction | None, str, Errs]:
    v, canon, errs = _quantity_errs(q, path)
    if v is None:
        return None, "", errs
    if v < 0:
        errs.append(FieldError.invalid(path, canon, IS_NEGATIVE))
    if _is_integer_resource(name) and (v * 1000) % 1000 != 0:
        errs.append(FieldError.invalid(path, canon, "must be an integer"))
    return v, canon, errs


def validate_resource_requirements(res: Any, path: str) -> Errs:
    r = _d(res)
    errs: Errs = []
    lim_path, req_path = _p(path, "limits"), _p(path, "requests")
    limits: dict[str, tuple[Fraction, str]] = {}
    for name, q in _d(r.get("limits")).items():
        fp = _k(lim_path, _s(name))
        errs += _validate_container_resource_name(_s(name), fp)
        v, canon, qerrs = _validate_resource_quantity(_s(name), q, fp)
        errs += qerrs
        if v is not None:
            limits[_s(name)] = (v, canon)
    for name, q in _d(r.get("requests")).items():
        fp = _k(req_path, _s(name))
        errs += _validate_container_resource_name(_s(name), fp)
        v, canon, qerrs = _validate_resource_quantity(_s(name), q, fp)
        errs += qerrs
        if v is None:
            continue
        if _s(name) in limits:
            lv, lcanon = limits[_s(name)]
            if v != lv and not _is_overcommit_allowed(_s(name)):
                errs.append(FieldError.invalid(req_path, canon,
                                               f"must be equal to {name} limit of {lcanon}"))
            elif v > lv:
                errs.append(FieldError.invalid(
                    req_path, canon, f"must be less than or equal to {name} limit of {lcanon}"))
        elif not _is_overcommit_allowed(_s(name)):
            errs.append(FieldError.required(lim_path, "Limit must be set for non overcommitable resources"))
    return errs


def _validate_container_ports(ports: Any, path: str) -> Errs:
    errs: Errs = []
    names: set[str] = set()
    for i, port in enumerate(_l(ports)):
        port = _d(port)
        ip = _ix(path, i)
        name = _s(port.get("name"))
        if name:
            msgs = is_valid_port_name(name)
            if msgs:
                errs += [FieldError.invalid(_p(ip, "name"), name, m) for m in msgs]
            elif name in names:
                errs.append(FieldError.duplicate(_p(ip, "name"), name))
            else:
                names.add(name)
        cp = port.get("containerPort")
        if not cp:
            errs.append(FieldError.required(_p(ip, "containerPort"), ""))
        else:
            n = _i(cp)
            if n is None:
                errs.append(FieldError.invalid(_p(ip, "containerPort"), cp, "must be an integer"))
            else:
                errs += [FieldError.invalid(_p(ip, "containerPort"), n, m) for m in is_valid_port_num(n)]
        hp = port.get("hostPort")
        if hp:
            n = _i(hp)
            if n is None:
                errs.append(FieldError.invalid(_p(ip, "hostPort"), hp, "must be an integer"))
            else:
                errs += [FieldError.invalid(_p(ip, "hostPort"), n, m) for m in is_valid_port_num(n)]
        proto = _s(port.get("protocol"))
        if not proto:
            errs.append(FieldError.required(_p(ip, "protocol"), ""))
        elif proto not in SUPPORTED_PORT_PROTOCOLS:
            errs.append(FieldError.not_supported(_p(ip, "protocol"), proto, SUPPORTED_PORT_PROTOCOLS))
    return errs


def _validate_key_selector(sel: Mapping[str, Any], path: str) -> Errs:
    errs: Errs = []
    name = _s(sel.get("name"))
    if not name:
        errs.append(FieldError.required(_p(path, "name"), ""))
    key = _s(sel.get("key"))
    if not key:
        errs.append(FieldError.required(_p(path, "key"), ""))
    else:
        errs += [FieldError.invalid(_p(path, "key"), key, m) for m in is_config_map_key(key)]
    return errs


def _validate_env(env: Any, path: str) -> Errs:
    errs: Errs = []
    for i, ev in enumerate(_l(env)):
        ev = _d(ev)
        ip = _ix(path, i)
        name = _s(ev.get("name"))
        if not name:
            errs.append(FieldError.required(_p(ip, "name"), ""))
        else:
            errs += [FieldError.invalid(_p(ip, "name"), name, m) for m in naming.is_env_var_name(name)]
        vf = ev.get("valueFrom")
        if vf is None:
            continue
        vp = _p(ip, "valueFrom")
        vf = _d(vf)
        n = 0
        if vf.get("fieldRef") is not None:
            n += 1
            fr = _d(vf.get("fieldRef"))
            fp = _s(fr.get("fieldPath"))
            if not _s(fr.get("apiVersion")):
                errs.append(FieldError.required(_p(vp, "fieldRef", "apiVersion"), ""))
            if not fp:
                errs.append(FieldError.required(_p(vp, "fieldRef", "fieldPath"), ""))
            else:
                base = fp.split("[")[0] if fp.startswith(("metadata.labels[", "metadata.annotations[")) else fp
                if base not in _ENV_FIELD_PATHS or fp in ("metadata.labels", "metadata.annotations"):
                    errs.append(FieldError.not_supported(_p(vp, "fieldRef", "fieldPath"), fp,
                                                         _ENV_FIELD_PATHS))
        if vf.get("resourceFieldRef") is not None:
            n += 1
        if vf.get("configMapKeyRef") is not None:
            n += 1
            errs += _validate_key_selector(_d(vf.get("configMapKeyRef")), _p(vp, "configMapKeyRef"))
        if vf.get("secretKeyRef") is not None:
            n += 1
            errs += _validate_key_selector(_d(vf.get("secretKeyRef")), _p(vp, "secretKeyRef"))
        if n == 0:
            errs.append(FieldError.invalid(vp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, "
                                                   "`configMapKeyRef` or `secretKeyRef`"))
        elif _s(ev.get("value")):
            errs.append(FieldError.invalid(vp, "", "may not be specified when `value` is not empty"))
        elif n > 1:
            errs.append(FieldError.invalid(vp, "", "may not have more than one field specified at a time"))
    return errs


def _validate_volume_mounts(mounts: Any, volumes: set[str], path: str) -> Errs:
    errs: Errs = []
    seen: set[str] = set()
    for i, m in enumerate(_l(mounts)):
        m = _d(m)
        ip = _ix(path, i)
        name = _s(m.get("name"))
        if not name:
            errs.append(FieldError.required(_p(ip, "name"), ""))
        elif name not in volumes:
            errs.append(FieldError.not_found(_p(ip, "name"), name))
        mp = _s(m.get("mountPath"))
        if not mp:
            errs.append(FieldError.required(_p(ip, "mountPath"), ""))
        elif mp in seen:
            errs.append(FieldError.invalid(_p(ip, "mountPath"), mp, "must be unique"))
        seen.add(mp)
    return errs


_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")


def _validate_probe(probe: Any, path: str, liveness_like: bool) -> Errs:
    if probe is None:
        return []
    pr = _d(probe)
    errs: Errs = []
    n = sum(1 for h in _PROBE_HANDLERS if pr.get(h) is not None)
    if n == 0:
        errs.append(FieldError.required(path, "must specify a handler type"))
    elif n > 1:
        errs.append(FieldError.forbidden(path, "may not specify more than 1 handler type"))
    for f in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold",
              "failureThreshold"):
        errs += _nonneg(pr.get(f), _p(path, f))
    if liveness_like and pr.get("successThreshold") not in (None, 1):
        errs.append(FieldError.invalid(_p(path, "successThreshold"), pr.get("successThreshold"), "must be 1"))
    hg = pr.get("httpGet")
    if hg is not None:
        port = _d(hg).get("port")
        errs += _validate_port_num_or_name(port, _p(path, "httpGet", "port"))
    ts = pr.get("tcpSocket")
    if ts is not None:
        errs += _validate_port_num_or_name(_d(ts).get("port"), _p(path, "tcpSocket", "port"))
    return errs


def _validate_port_num_or_name(port: Any, path: str) -> Errs:
    if isinstance(port, str):
        return [FieldError.invalid(path, port, m) for m in is_valid_port_name(port)]
    n = _i(port)
    if n is None:
        return [FieldError.invalid(path, port, "must be an integer or a port name")]
    return [FieldError.invalid(path, n, m) for m in is_valid_port_num(n)]


def _validate_container(c: Mapping[str, Any], path: str, volumes: set[str], init: bool,
                        for_pod: bool) -> Errs:
    errs: Errs = []
    name = _s(c.get("name"))
    if not name:
        errs.append(FieldError.required(_p(path, "name"), ""))
    else:
        errs += [FieldError.invalid(_p(path, "name"), name, m) for m in is_dns1123_label(name)]
    image = _s(c.get("image"))
    if not image:
        errs.append(FieldError.required(_p(path, "image"), ""))
    elif for_pod and image != image.strip():
        errs.append(FieldError.invalid(_p(path, "image"), image, "must not have leading or trailing whitespace"))
    tmp = _s(c.get("terminationMessagePolicy"))
    if not tmp:
        errs.append(FieldError.required(_p(path, "terminationMessagePolicy"), ""))
    elif tmp not in ("File", "FallbackToLogsOnError"):
        errs.append(FieldError.not_supported(_p(path, "terminationMessagePolicy"), tmp,
                                             ["File", "FallbackToLogsOnError"]))
    errs += _validate_container_ports(c.get("ports"), _p(path, "ports"))
    errs += _validate_env(c.get("env"), _p(path, "env"))
    errs += _validate_volume_mounts(c.get("volumeMounts"), volumes, _p(path, "volumeMounts"))
    ipp = _s(c.get("imagePullPolicy"))
    if not ipp:
        errs.append(FieldError.required(_p(path, "imagePullPolicy"), ""))
    elif ipp not in ("Always", "IfNotPresent", "Never"):
        errs.append(FieldError.not_supported(_p(path, "imagePullPolicy"), ipp,
                                             ["Always", "IfNotPresent", "Never"]))
    errs += validate_resource_requirements(c.get("resources"), _p(path, "resources"))
    rp = c.get("restartPolicy")
    sidecar = init and rp == "Always"
    if rp is not None:
        if not init:
            errs.append(FieldError.forbidden(_p(path, "restartPolicy"), "may not be set for non-init containers"))
        elif rp != "Always":
            errs.append(FieldError.not_supported(_p(path, "restartPolicy"), _s(rp), ["Always"]))
    if init and not sidecar:
        for f in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
            if c.get(f) is not None:
                errs.append(FieldError.forbidden(
                    _p(path, f), "may not be set for init containers without restartPolicy=Always"))
    else:
        errs += _validate_probe(c.get("livenessProbe"), _p(path, "livenessProbe"), True)
        errs += _validate_probe(c.get("readinessProbe"), _p(path, "readinessProbe"), False)
        errs += _validate_probe(c.get("startupProbe"), _p(path, "startupProbe"), True)
        if c.get("readinessProbe") is not None and init:
            errs.append(FieldError.forbidden(_p(path, "readinessProbe"),
                                             "may not be set for init containers"))
    return errs


_VOLUME_SOURCES = {"hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo",
                   "secret", "nfs", "iscsi", "glusterfs", "persistentVolumeClaim", "rbd",
                   "flexVolume", "cinder", "cephfs", "flocker", "downwardAPI", "fc", "azureFile",
                   "configMap", "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk",
                   "projected", "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral",
                   "image"}


def _validate_volumes(vols: Any, path: str) -> tuple[set[str], Errs]:
    errs: Errs = []
    names: set[str] = set()
    for i, v in enumerate(_l(vols)):
        v = _d(v)
        ip = _ix(path, i)
        name = _s(v.get("name"))
        if not name:
            errs.append(FieldError.required(_p(ip, "name"), ""))
        else:
            msgs = is_dns1123_label(name)
            errs += [FieldError.invalid(_p(ip, "name"), name, m) for m in msgs]
            if not msgs and name in names:
                errs.append(FieldError.duplicate(_p(ip, "name"), name))
            names.add(name)
        n = sum(1 for k in v if k in _VOLUME_SOURCES and v[k] is not None)
        if n == 0:
            errs.append(FieldError.required(ip, "must specify a volume type"))
        elif n > 1:
            errs.append(FieldError.forbidden(ip, "may not specify more than 1 volume type"))
        for src in ("configMap", "secret"):
            s = v.get(src)
            if s is not None:
                sd = _d(s)
                nm = "secretName" if src == "secret" else "name"
                if src == "secret" and not _s(sd.get("secretName")):
                    errs.append(FieldError.required(_p(ip, src, nm), ""))
                if src == "configMap" and not _s(sd.get("name")):
                    errs.append(FieldError.required(_p(ip, src, nm), ""))
        pvc = v.get("persistentVolumeClaim")
        if pvc is not None and not _s(_d(pvc).get("claimName")):
            errs.append(FieldError.required(_p(ip, "persistentVolumeClaim", "claimName"), ""))
        hp = v.get("hostPath")
        if hp is not None and not _s(_d(hp).get("path")):
            errs.append(FieldError.required(_p(ip, "hostPath", "path"), ""))
    return names, errs


def validate_tolerations(tols: Any, path: str) -> Errs:
    errs: Errs = []
    for i, t in enumerate(_l(tols)):
        t = _d(t)
        ip = _ix(path, i)
        key = _s(t.get("key"))
        op = _s(t.get("operator"))
        if key:
            errs += validate_label_name(key, _p(ip, "key"))
        if not key and op != "Exists":
            errs.append(FieldError.invalid(
                _p(ip, "operator"), op,
                'operator must be Exists when `key` is empty, which means "match all values and all keys"'))
        if t.get("tolerationSeconds") is not None and t.get("effect") != "NoExecute":
            errs.append(FieldError.invalid(_p(ip, "effect"), _s(t.get("effect")),
                                           "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        if op in ("Equal", ""):
            msgs = is_valid_label_value(_s(t.get("value")))
            if msgs:
                errs.append(FieldError.invalid(_p(ip, "operator"), _s(t.get("value")), ";".join(msgs)))
        elif op == "Exists":
            if _s(t.get("value")):
                errs.append(FieldError.invalid(_p(ip, "operator"), go_toleration(t),
                                               "value must be empty when `operator` is 'Exists'"))
        else:
            errs.append(FieldError.not_supported(_p(ip, "operator"), op, ["Equal", "Exists"]))
        eff = _s(t.get("effect"))
        if eff:
            errs += _validate_taint_effect(eff, True, _p(ip, "effect"))
    return errs


def _validate_taint_effect(eff: str, allow_empty: bool, path: str) -> Errs:
    if not allow_empty and not eff:
        return [FieldError.required(path, "")]
    if eff not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
        return [FieldError.not_supported(path, eff, ["NoSchedule", "PreferNoSchedule", "NoExecute"])]
    return []


def _validate_node_selector_requirement(rq: Mapping[str, Any], path: str) -> Errs:
    errs: Errs = []
    op = rq.get("operator")
    vals = _l(rq.get("values"))
    if op in ("In", "NotIn"):
        if not vals:
            errs.append(FieldError.required(_p(path, "values"),
                                            "must be specified when `operator` is 'In' or 'NotIn'"))
    elif op in ("Exists", "DoesNotExist"):
        if vals:
            errs.append(FieldError.forbidden(
                _p(path, "values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    elif op in ("Gt", "Lt"):
        if len(vals) != 1:
            errs.append(FieldError.required(_p(path, "values"),
                                            "must be specified single value when `operator` is 'Lt' or 'Gt'"))
    else:
        errs.append(FieldError.invalid(_p(path, "operator"), _s(op), "not a valid selector operator"))
    errs += validate_label_name(_s(rq.get("key")), _p(path, "key"))
    for j, v in enumerate(vals):
        errs += [FieldError.invalid(_ix(_p(path, "values"), j), v, m) for m in is_valid_label_value(_s(v))]
    return errs


def _validate_node_field_requirement(rq: Mapping[str, Any], path: str) -> Errs:
    errs: Errs = []
    op = rq.get("operator")
    vals = _l(rq.get("values"))
    if op in ("In", "NotIn"):
        if len(vals) != 1:
            errs.append(FieldError.required(
                _p(path, "values"),
                "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"))
    else:
        errs.append(FieldError.invalid(_p(path, "operator"), _s(op), "not a valid selector operator"))
    key = _s(rq.get("key"))
    if key not in _NODE_FIELD_KEYS:
        errs.append(FieldError.invalid(_p(path, "key"), key, "not a valid field selector key"))
    else:
        for j, v in enumerate(vals):
            errs += [FieldError.invalid(_ix(_p(path, "values"), j), v, m)
                     for m in name_is_dns_subdomain(_s(v), False)]
    return errs


def validate_node_selector_term(term: Any, path: str) -> Errs:
    t = _d(term)
    errs: Errs = []
    for j, rq in enumerate(_l(t.get("matchExpressions"))):
        errs += _validate_node_selector_requirement(_d(rq), _ix(_p(path, "matchExpressions"), j))
    for j, rq in enumerate(_l(t.get("matchFields"))):
        errs += _validate_node_field_requirement(_d(rq), _ix(_p(path, "matchFields"), j))
    return errs


def validate_node_selector(ns: Any, path: str) -> Errs:
    terms = _l(_d(ns).get("nodeSelectorTerms"))
    tp = _p(path, "nodeSelectorTerms")
    if not terms:
        return [FieldError.required(tp, "must have at least one node selector term")]
    errs: Errs = []
    for i, t in enumerate(terms):
        errs += validate_node_selector_term(t, _ix(tp, i))
    return errs


def _validate_affinity(aff: Any, path: str) -> Errs:
    na = _d(aff).get("nodeAffinity")
    if na is None:
        return []
    nap = _p(path, "nodeAffinity")
    errs: Errs = []
    req = _d(na).get("requiredDuringSchedulingIgnoredDuringExecution")
    if req is not None:
        errs += validate_node_selector(req, _p(nap, "requiredDuringSchedulingIgnoredDuringExecution"))
    pp = _p(nap, "preferredDuringSchedulingIgnoredDuringExecution")
    for i, term in enumerate(_l(_d(na).get("preferredDuringSchedulingIgnoredDuringExecution"))):
        term = _d(term)
        w = _i(term.get("weight"))
        if w is None or not 1 <= w <= 100:
            errs.append(FieldError.invalid(_p(_ix(pp, i), "weight"), term.get("weight"),
                                           "must be in the range 1-100"))
        errs += validate_node_selector_term(term.get("preference"), _p(_ix(pp, i), "preference"))
    return errs


def validate_pod_spec(spec: Any, path: str, for_pod: bool = True) -> Errs:
    """``ValidatePodSpec``."""
    s = _d(spec)
    errs: Errs = []
    vol_names, verrs = _validate_volumes(s.get("volumes"), _p(path, "volumes"))
    errs += verrs
    containers = _l(s.get("containers"))
    cpath = _p(path, "containers")
    if not containers:
        errs.append(FieldError.required(cpath, ""))
    names: set[str] = set()
    for i, c in enumerate(containers):
        c = _d(c)
        ip = _ix(cpath, i)
        errs += _validate_container(c, ip, vol_names, False, for_pod)
        n = _s(c.get("name"))
        if n and n in names:
            errs.append(FieldError.duplicate(_p(ip, "name"), n))
        names.add(n)
    ipath = _p(path, "initContainers")
    for i, c in enumerate(_l(s.get("initContainers"))):
        c = _d(c)
        ip = _ix(ipath, i)
        errs += _validate_container(c, ip, vol_names, True, for_pod)
        n = _s(c.get("name"))
        if n and n in names:
            errs.append(FieldError.duplicate(_p(ip, "name"), n))
        names.add(n)
    # host ports must be unique across all containers
    seen_hp: set[str] = set()
    for field, lst in (("containers", containers), ("initContainers", _l(s.get("initContainers")))):
        for i, c in enumerate(lst):
            for j, port in enumerate(_l(_d(c).get("ports"))):
                port = _d(port)
                hp = _i(port.get("hostPort")) or 0
                if hp == 0:
                    continue
                k = f"{_s(port.get('protocol'))}/{_s(port.get('hostIP'))}/{hp}"
                if k in seen_hp:
                    errs.append(FieldError.duplicate(
                        _p(_ix(_p(_ix(_p(path, field), i), "ports"), j), "hostPort"), k))
                seen_hp.add(k)
    rp = _s(s.get("restartPolicy"))
    if not rp:
        errs.append(FieldError.required(_p(path, "restartPolicy"), ""))
    elif rp not in ("Always", "OnFailure", "Never"):
        errs.append(FieldError.not_supported(_p(path, "restartPolicy"), rp, ["Always", "OnFailure", "Never"]))
    dp = _s(s.get("dnsPolicy"))
    if not dp:
        errs.append(FieldError.required(_p(path, "dnsPolicy"), ""))
    elif dp not in ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"):
        errs.append(FieldError.not_supported(_p(path, "dnsPolicy"), dp,
                                             ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]))
    errs += validate_labels(s.get("nodeSelector"), _p(path, "nodeSelector"))
    for f in ("serviceAccountName", "nodeName", "priorityClassName"):
        v = _s(s.get(f))
        if v:
            errs += [FieldError.invalid(_p(path, f), v, m) for m in name_is_dns_subdomain(v, False)]
    for f in ("hostname", "subdomain"):
        v = _s(s.get(f))
        if v:
            errs += [FieldError.invalid(_p(path, f), v, m) for m in is_dns1123_label(v)]
    ads = s.get("activeDeadlineSeconds")
    if ads is not None:
        ads_n = _i(ads)
        if ads_n is None or not 1 <= ads_n <= MAX_INT32:
            errs.append(FieldError.invalid(_p(path, "activeDeadlineSeconds"), ads,
                                           inclusive_range_error(1, MAX_INT32)))
    errs += validate_tolerations(s.get("tolerations"), _p(path, "tolerations"))
    if s.get("affinity") is not None:
        errs += _validate_affinity(s.get("affinity"), _p(path, "affinity"))
    if s.get("ephemeralContainers") and not for_pod:
        errs.append(FieldError.forbidden(_p(path, "ephemeralContainers"),
                                         "ephemeral containers not allowed in pod template"))
    if s.get("preemptionPolicy") is not None:
        errs += validate_preemption_policy(s.get("preemptionPolicy"), _p(path, "preemptionPolicy"))
    return errs


def validate_pod_template_spec(tpl: Any, path: str) -> Errs:
    t = _d(tpl)
    m = _d(t.get("metadata"))
    errs = validate_labels(m.get("labels"), _p(path, "labels"))
    errs += validate_annotations(m.get("annotations"), _p(path, "annotations"))
    errs += validate_pod_spec(t.get("spec"), _p(path, "spec"), for_pod=False)
    return errs


def _validate_pod_metadata_and_spec(pod: dict[str, Any]) -> Errs:
    errs = validate_object_meta(pod.get("metadata"), True, name_is_dns_subdomain)
    return errs + validate_pod_spec(pod.get("spec"), "spec", for_pod=True)


def _validate_pod(pod: dict[str, Any]) -> Errs:
    errs = _validate_pod_metadata_and_spec(pod)
    if _l(_d(pod.get("spec")).get("ephemeralContainers")):
        errs.append(FieldError.forbidden("spec.ephemeralContainers",
                                         "cannot be set on create"))
    return errs


_POD_UPDATE_MSG = ("pod updates may not change fields other than `spec.containers[*].image`,"
                   "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
                   "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
                   "(allow it to be set to 1 if it was previously negative)")


def _diff_lines(old: Any, new: Any, path: str, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for k in sorted(set(old) | set(new), key=str):
            _diff_lines(old.get(k), new.get(k), f"{path}.{k}" if path else str(k), out)
        return
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            _diff_lines(a, b, f"{path}[{i}]", out)
        return
    if old != new:
        if old is not None:
            out.append(f"- \t{path}: {json.dumps(old, sort_keys=True)},")
        if new is not None:
            out.append(f"+ \t{path}: {json.dumps(new, sort_keys=True)},")


def _pod_spec_diff(old: Any, new: Any) -> str:
    lines: list[str] = []
    _diff_lines(old, new, "", lines)
    return "\n".join(["  core.PodSpec{", *lines, "  }"])


def _validate_container_updates(new: list[Any], old: list[Any], path: str) -> tuple[Errs, bool]:
    if len(new) != len(old):
        return [FieldError.forbidden(path, "pod updates may not add or remove containers")], True
    errs: Errs = []
    for i, c in enumerate(new):
        image = _s(_d(c).get("image"))
        if not image:
            errs.append(FieldError.required(_p(_ix(path, i), "image"), ""))
        if image.strip() != image:
            errs.append(FieldError.invalid(_p(_ix(path, i), "image"), image,
                                           "must not have leading or trailing whitespace"))
    return errs, False


def _validate_only_added_tolerations(new: list[Any], old: list[Any], path: str) -> Errs:
    for o in old:
        od = _d(o)
        found = False
        for n in new:
            clone = dict(od)
            nd = _d(n)
            clone["tolerationSeconds"] = nd.get("tolerationSeconds")
            if {k: v for k, v in clone.items() if v is not None} == {k: v for k, v in nd.items() if v is not None}:
                found = True
                break
        if not found:
            return [FieldError.forbidden(path, "existing toleration can not be modified except its tolerationSeconds")]
    return validate_tolerations(new, path)


def _validate_pod_update(pod: dict[str, Any], old: dict[str, Any]) -> Errs:
    errs = validate_object_meta_update(pod.get("metadata"), old.get("metadata"))
    errs += _validate_pod_metadata_and_spec(pod)
    spec, ospec = _d(pod.get("spec")), _d(old.get("spec"))
    cerrs, stop = _validate_container_updates(_l(spec.get("containers")), _l(ospec.get("containers")),
                                              "spec.containers")
    errs += cerrs
    if stop:
        return errs
    cerrs, stop = _validate_container_updates(_l(spec.get("initContainers")),
                                              _l(ospec.get("initContainers")), "spec.initContainers")
    errs += cerrs
    if stop:
        return errs
    new_ads, old_ads = spec.get("activeDeadlineSeconds"), ospec.get("activeDeadlineSeconds")
    if new_ads is not None:
        n = _i(new_ads)
        if n is None or not 0 <= n <= MAX_INT32:
            errs.append(FieldError.invalid("spec.activeDeadlineSeconds", new_ads, inclusive_range_error(0, MAX_INT32)))
            return errs
        o = _i(old_ads)
        if o is not None and o < n:
            errs.append(FieldError.invalid("spec.activeDeadlineSeconds", n, "must be less than or equal to previous value"))
            return errs
    elif old_ads is not None:
        errs.append(FieldError.invalid("spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value"))
    errs += _validate_only_added_tolerations(_l(spec.get("tolerations")), _l(ospec.get("tolerations")),
                                             "spec.tolerations")
    if spec == ospec:
        return errs
    munged = json.loads(json.dumps(spec))
    for field in ("containers", "initContainers"):
        olds = _l(ospec.get(field))
        for i, c in enumerate(_l(munged.get(field))):
            if isinstance(c, dict) and i < len(olds):
                c["image"] = _d(olds[i]).get("image")
                if c["image"] is None:
                    del c["image"]
    munged.pop("activeDeadlineSeconds", None)
    if old_ads is not None:
        munged["activeDeadlineSeconds"] = old_ads
    munged.pop("tolerations", None)
    if "tolerations" in ospec:
        munged["tolerations"] = ospec["tolerations"]
    ogp, ngp = _i(ospec.get("terminationGracePeriodSeconds")), _i(munged.get("terminationGracePeriodSeconds"))
    if ogp is not None and ogp < 0 and ngp == 1:
        munged["terminationGracePeriodSeconds"] = ospec.get("terminationGracePeriodSeconds")
    if munged != ospec:
        errs.append(FieldError.forbidden("spec", _POD_UPDATE_MSG + "\n" + _pod_spec_diff(ospec, munged)))
    return errs


def _validate_pod_status_update(pod: dict[str, Any], old: dict[str, Any]) -> Errs:
    errs = validate_object_meta_update(pod.get("metadata"), old.get("metadata"))
    st = _d(pod.get("status"))
    for i, ip in enumerate(_l(st.get("podIPs"))):
        v = _s(_d(ip).get("ip"))
        errs += [FieldError.invalid(_ix("status.podIPs", i), v, m) for m in naming.is_valid_ip(v)]
    for i, ip in enumerate(_l(st.get("hostIPs"))):
        v = _s(_d(ip).get("ip"))
        errs += [FieldError.invalid(_ix("status.hostIPs", i), v, m) for m in naming.is_valid_ip(v)]
    nn = _s(st.get("nominatedNodeName"))
    if nn:
        errs += [FieldError.invalid("status.nominatedNodeName", nn, m) for m in name_is_dns_subdomain(nn, False)]
    if _s(_d(old.get("spec")).get("nodeName")) != _s(_d(pod.get("spec")).get("nodeName")):
        errs.append(FieldError.forbidden("status.nodeName", "may not be changed directly"))
    return errs


# ---------------------------------------------------------------------------------------------
# ReplicaSets and Deployments (apps/v1)
# ---------------------------------------------------------------------------------------------

def _validate_template_for_rs(tpl: Any, selector: Selector, path: str) -> Errs:
    errs: Errs = []
    t = _d(tpl)
    labels = _d(t.get("metadata")).get("labels")
    if not selector.empty and not selector.matches(_d(labels)):
        errs.append(FieldError.invalid(_p(path, "metadata", "labels"), go_string_map(labels),
                                       "`selector` does not match template `labels`"))
    errs += validate_pod_template_spec(t, path)
    rp = _s(_d(t.get("spec")).get("restartPolicy"))
    if rp != "Always":
        errs.append(FieldError.not_supported(_p(path, "spec", "restartPolicy"), rp, ["Always"]))
    kind = "ReplicaSet"
    if _d(t.get("spec")).get("activeDeadlineSeconds") is not None:
        errs.append(FieldError.forbidden(_p(path, "spec", "activeDeadlineSeconds"),
                                         f"activeDeadlineSeconds in {kind} is not Supported"))
    return errs


def _validate_replicated_spec(spec: Any, path: str, deployment: bool) -> Errs:
    s = _d(spec)
    errs: Errs = []
    errs += _nonneg(s.get("replicas"), _p(path, "replicas"))
    if not deployment:
        errs += _nonneg(s.get("minReadySeconds"), _p(path, "minReadySeconds"))
    sel = s.get("selector")
    sp = _p(path, "selector")
    if sel is None:
        errs.append(FieldError.required(sp, ""))
    else:
        errs += validate_label_selector(sel, sp)
        d = _d(sel)
        if not _d(d.get("matchLabels")) and not _l(d.get("matchExpressions")):
            errs.append(FieldError.invalid(sp, go_label_selector(sel), "empty selector is invalid for deployment"))
    selector = _selector(sel)
    if selector is None:
        errs.append(FieldError.invalid(sp, go_label_selector(sel), "invalid label selector"))
    else:
        errs += _validate_template_for_rs(s.get("template"), selector, _p(path, "template"))
    return errs


def _validate_deployment_strategy(strategy: Any, path: str) -> Errs:
    st = _d(strategy)
    typ = _s(st.get("type"))
    ru = st.get("rollingUpdate")
    if typ == "Recreate":
        if ru is not None:
            return [FieldError.forbidden(_p(path, "rollingUpdate"),
                                         "may not be specified when strategy `type` is 'Recreate'")]
        return []
    if typ == "RollingUpdate":
        if ru is None:
            return [FieldError.required(_p(path, "rollingUpdate"), "this should be defaulted and never be nil")]
        return _validate_rolling_update(_d(ru), _p(path, "rollingUpdate"))
    ru_repr = "(*apps.RollingUpdateDeployment)(nil)" if ru is None else "(*apps.RollingUpdateDeployment)(0xc000010000)"
    return [FieldError.not_supported(path, _gs("apps.DeploymentStrategy", [("Type", go_quote(typ)),
                                                                           ("RollingUpdate", ru_repr)]),
                                     ["Recreate", "RollingUpdate"])]


def _int_or_percent(v: Any) -> int:
    """``getIntOrPercentValue``: the percent number, or the int, 0 when unparseable."""
    if isinstance(v, str):
        if not naming.is_valid_percent(v):
            return int(v[:-1])
        return 0
    return _i(v) or 0


def _validate_positive_int_or_percent(v: Any, path: str) -> Errs:
    if isinstance(v, str):
        return [FieldError.invalid(path, go_int_or_string(v), m) for m in naming.is_valid_percent(v)]
    n = _i(v)
    if n is None:
        return [FieldError.invalid(path, v, "must be an integer or percentage (e.g '5%%')")]
    return _nonneg(n, path)


def _validate_rolling_update(ru: Mapping[str, Any], path: str) -> Errs:
    mu, ms = ru.get("maxUnavailable"), ru.get("maxSurge")
    mup, msp = _p(path, "maxUnavailable"), _p(path, "maxSurge")
    errs: Errs = []
    if mu is not None:
        errs += _validate_positive_int_or_percent(mu, mup)
    if ms is not None:
        errs += _validate_positive_int_or_percent(ms, msp)
    if _int_or_percent(mu) == 0 and _int_or_percent(ms) == 0:
        errs.append(FieldError.invalid(mup, go_int_or_string(mu), "may not be 0 when `maxSurge` is 0"))
    if isinstance(mu, str) and not naming.is_valid_percent(mu) and int(mu[:-1]) > 100:
        errs.append(FieldError.invalid(mup, go_int_or_string(mu), "must not be greater than 100%"))
    return errs


def _validate_deployment_spec(spec: Any, path: str) -> Errs:
    s = _d(spec)
    errs = _validate_replicated_spec(s, path, deployment=True)
    errs += _validate_deployment_strategy(s.get("strategy"), _p(path, "strategy"))
    errs += _nonneg(s.get("minReadySeconds"), _p(path, "minReadySeconds"))
    errs += _nonneg(s.get("revisionHistoryLimit"), _p(path, "revisionHistoryLimit"))
    pds = s.get("progressDeadlineSeconds")
    if pds is not None:
        errs += _nonneg(pds, _p(path, "progressDeadlineSeconds"))
        n = _i(pds)
        if n is not None and n <= (_i(s.get("minReadySeconds")) or 0):
            errs.append(FieldError.invalid(_p(path, "progressDeadlineSeconds"), n,
                                           "must be greater than minReadySeconds"))
    return errs


def _validate_deployment(obj: dict[str, Any]) -> Errs:
    errs = validate_object_meta(obj.get("metadata"), True, name_is_dns_subdomain)
    return errs + _validate_deployment_spec(obj.get("spec"), "spec")


def _validate_replicaset(obj: dict[str, Any]) -> Errs:
    errs = validate_object_meta(obj.get("metadata"), True, name_is_dns_subdomain)
    return errs + _validate_replicated_spec(obj.get("spec"), "spec", deployment=False)


def _selector_immutable(obj: dict[str, Any], old: dict[str, Any]) -> Errs:
    new_sel = _d(obj.get("spec")).get("selector")
    old_sel = _d(old.get("spec")).get("selector")
    if _norm_selector(new_sel) != _norm_selector(old_sel):
        return [FieldError.invalid("spec.selector", go_label_selector(new_sel), IMMUTABLE)]
    return []


def _norm_selector(sel: Any) -> Any:
    if sel is None:
        return None
    d = _d(sel)
    return {"matchLabels": _d(d.get("matchLabels")) or None,
            "matchExpressions": _l(d.get("matchExpressions")) or None}


def _validate_deployment_update(obj: dict[str, Any], old: dict[str, Any]) -> Errs:
    errs = validate_object_meta_update(obj.get("metadata"), old.get("metadata"))
    errs += _validate_deployment_spec(obj.get("spec"), "spec")
    return errs + _selector_immutable(obj, old)


def _validate_replicaset_update(obj: dict[str, Any], old: dict[str, Any]) -> Errs:
    errs = validate_object_meta_update(obj.get("metadata"), old.get("metadata"))
    errs += _validate_replicated_spec(obj.get("spec"), "spec", deployment=False)
    return errs + _selector_immutable(obj, old)


def _validate_replicated_status(st: Mapping[str, Any], fields: list[str], ready_checks: bool) -> Errs:
    errs: Errs = []
    for f in fields:
        errs += _nonneg(st.get(f), _p("status", f))
    rep = _i(st.get("replicas")) or 0
    msg = "cannot be greater than status.replicas"
    for f in fields:
        if f in ("replicas", "observedGeneration", "collisionCount", "unavailableReplicas"):
            continue
        v = _i(st.get(f)) or 0
        if v > rep:
            errs.append(FieldError.invalid(_p("status", f), v, msg))
    if ready_checks:
        av, rd = _i(st.get("availableReplicas")) or 0, _i(st.get("readyReplicas")) or 0
        if av > rd:
            errs.append(FieldError.invalid("status.availableReplicas", av, "cannot be greater than readyReplicas"))
    return errs


def _validate_deployment_status_update(obj: dict[str, Any], old: dict[str, Any]) -> Errs:
    errs = validate_object_meta_update(obj.get("metadata"), old.get("metadata"))
    st = _d(obj.get("status"))
    errs += _validate_replicated_status(st, ["observedGeneration", "replicas", "updatedReplicas",
                                             "readyReplicas", "availableReplicas",
                                             "unavailableReplicas", "collisionCount"], True)
    new_cc, old_cc = _i(st.get("collisionCount")), _i(_d(old.get("status")).get("collisionCount"))
    if old_cc is not None and (new_cc is None or new_cc < old_cc):
        errs.append(FieldError.invalid("status.collisionCount", new_cc or 0, "cannot be decremented"))
    return errs


def _validate_replicaset_status_update(obj: dict[str, Any], old: dict[str, Any]) -> Errs:
    errs = validate_object_meta_update(obj.get("metadata"), old.get("metadata"))
    return errs + _validate_replicated_status(
        _d(obj.get("status")), ["replicas", "fullyLabeledReplicas", "readyReplicas",
                                "availableReplicas", "observedGeneration"], True)


# ---------------------------------------------------------------------------------------------
# Services and Endpoints
# ---------------------------------------------------------------------------------------------

def _is_headless(svc: Mapping[str, Any]) -> bool:
    return _s(_d(svc.get("spec")).get("clusterIP")) == "None"


def _go_service_port(protocol: str, port: int) -> GoRepr:
    return _gs("core.ServicePort", [("Name", '""'), ("Protocol", go_quote(protocol)),
                                    ("AppProtocol", "(*string)(nil)"), ("Port", str(port)),
                                    ("TargetPort", go_int_or_string(0).text), ("NodePort", "0")])


def _validate_service_port(sp: Mapping[str, Any], require_name: bool, names: set[str], path: str) -> Errs:
    errs: Errs = []
    name = _s(sp.get("name"))
    if require_name and not name:
        errs.append(FieldError.required(_p(path, "name"), ""))
    elif name:
        errs += [FieldError.invalid(_p(path, "name"), name, m) for m in is_dns1123_label(name)]
        if name in names:
            errs.append(FieldError.duplicate(_p(path, "name"), name))
        names.add(name)
    port = _i(sp.get("port"))
    if port is None:
        errs.append(FieldError.invalid(_p(path, "port"), sp.get("port", 0), inclusive_range_error(1, 65535)))
    else:
        errs += [FieldError.invalid(_p(path, "port"), port, m) for m in is_valid_port_num(port)]
    proto = _s(sp.get("protocol"))
    if not proto:
        errs.append(FieldError.required(_p(path, "protocol"), ""))
    elif proto not in SUPPORTED_PORT_PROTOCOLS:
        errs.append(FieldError.not_supported(_p(path, "protocol"), proto, SUPPORTED_PORT_PROTOCOLS))
    if "targetPort" in sp:
        errs += _validate_port_num_or_name(sp.get("targetPort"), _p(path, "targetPort"))
    ap = sp.get("appProtocol")
    if ap is not None:
        errs += [FieldError.invalid(_p(path, "appProtocol"), ap, m) for m in is_qualified_name(_s(ap))]
    return errs


_SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]


def _validate_service(svc: dict[str, Any]) -> Errs:
    errs = validate_object_meta(svc.get("metadata"), True, name_is_dns1035_label)
    spec = _d(svc.get("spec"))
    typ = _s(spec.get("type"))
    ports = _l(spec.get("ports"))
    headless = _is_headless(svc)
    cips = [_s(x) for x in _l(spec.get("clusterIPs"))]
    if not ports and not headless and typ != "ExternalName":
        errs.append(FieldError.required("spec.ports", ""))
    if typ in ("LoadBalancer", "NodePort") and headless:
        first = cips[0] if cips else "None"
        errs.append(FieldError.invalid("spec.clusterIPs[0]", first,
                                       f"may not be set to 'None' for {typ} services"))
    if typ == "ExternalName":
        if cips or _s(spec.get("clusterIP")):
            errs.append(FieldError.forbidden("spec.clusterIPs", "may not be set for ExternalName services"))
        if _l(spec.get("ipFamilies")):
            errs.append(FieldError.forbidden("spec.ipFamilies", "may not be set for ExternalName services"))
        if spec.get("ipFamilyPolicy") is not None:
            errs.append(FieldError.forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"))
        cname = _s(spec.get("externalName")).removesuffix(".")
        if cname:
            errs += [FieldError.invalid("spec.externalName", cname, m) for m in is_dns1123_subdomain(cname)]
        else:
            errs.append(FieldError.required("spec.externalName", ""))
    names: set[str] = set()
    for i, p in enumerate(ports):
        errs += _validate_service_port(_d(p), len(ports) > 1, names, _ix("spec.ports", i))
    if spec.get("selector") is not None:
        errs += validate_labels(spec.get("selector"), "spec.selector")
    sa = _s(spec.get("sessionAffinity"))
    if not sa:
        errs.append(FieldError.required("spec.sessionAffinity", ""))
    elif sa not in ("ClientIP", "None"):
        errs.append(FieldError.not_supported("spec.sessionAffinity", sa, ["ClientIP", "None"]))
    if sa == "None" and spec.get("sessionAffinityConfig") is not None:
        errs.append(FieldError.forbidden("spec.sessionAffinityConfig",
                                         "must not be set when session affinity is None"))
    if sa == "ClientIP":
        ts = _d(_d(spec.get("sessionAffinityConfig")).get("clientIP")).get("timeoutSeconds")
        n = _i(ts)
        if n is None or not 0 < n <= 86400:
            errs.append(FieldError.invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", ts,
                                           "must be greater than 0 and less than 86400"))
    if typ != "ExternalName":
        errs += _validate_cluster_ips(spec, headless)
    for i, ip in enumerate(_l(spec.get("externalIPs"))):
        errs += [FieldError.invalid(_ix("spec.externalIPs", i), ip, m) for m in naming.is_valid_ip(_s(ip))]
    if not typ:
        errs.append(FieldError.required("spec.type", ""))
    elif typ not in _SERVICE_TYPES:
        errs.append(FieldError.not_supported("spec.type", typ, _SERVICE_TYPES))
    if typ == "ClusterIP":
        for i, p in enumerate(ports):
            if _d(p).get("nodePort"):
                errs.append(FieldError.forbidden(_p(_ix("spec.ports", i), "nodePort"),
                                                 "may not be used when `type` is 'ClusterIP'"))
    seen_np: set[tuple[str, int]] = set()
    seen_p: set[tuple[str, int]] = set()
    for i, p in enumerate(ports):
        p = _d(p)
        proto = _s(p.get("protocol"))
        np_ = _i(p.get("nodePort")) or 0
        if np_:
            if (proto, np_) in seen_np:
                errs.append(FieldError.duplicate(_p(_ix("spec.ports", i), "nodePort"), np_))
            seen_np.add((proto, np_))
        port = _i(p.get("port")) or 0
        if (proto, port) in seen_p:
            errs.append(FieldError.duplicate(_ix("spec.ports", i), _go_service_port(proto, port)))
        seen_p.add((proto, port))
    etp = spec.get("externalTrafficPolicy")
    if etp is not None and _s(etp) not in ("", "Cluster", "Local"):
        errs.append(FieldError.not_supported("spec.externalTrafficPolicy", _s(etp), ["Cluster", "Local"]))
    itp = spec.get("internalTrafficPolicy")
    if itp is not None and _s(itp) not in ("Cluster", "Local"):
        errs.append(FieldError.not_supported("spec.internalTrafficPolicy", _s(itp), ["Cluster", "Local"]))
    return errs


def _validate_cluster_ips(spec: Mapping[str, Any], headless: bool) -> Errs:
    errs: Errs = []
    cip = _s(spec.get("clusterIP"))
    cips = [_s(x) for x in _l(spec.get("clusterIPs"))]
    if cip:
        if not cips:
            errs.append(FieldError.required("spec.clusterIPs", ""))
        elif cips[0] != cip:
            errs.append(FieldError.invalid("spec.clusterIPs", go_string_slice(cips),
                                           "first value must match `clusterIP`"))
    elif cips:
        errs.append(FieldError.invalid("spec.clusterIPs", go_string_slice(cips),
                                       "must be empty when `clusterIP` is not specified"))
    seen: set[str] = set()
    for i, fam in enumerate(_s(f) for f in _l(spec.get("ipFamilies"))):
        if fam not in ("IPv4", "IPv6"):
            errs.append(FieldError.not_supported(_ix("spec.ipFamilies", i), _s(fam), ["IPv4", "IPv6"]))
        if fam in seen:
            errs.append(FieldError.duplicate(_ix("spec.ipFamilies", i), fam))
        seen.add(fam)
    pol = spec.get("ipFamilyPolicy")
    if pol is not None and pol not in ("PreferDualStack", "RequireDualStack", "SingleStack"):
        errs.append(FieldError.not_supported("spec.ipFamilyPolicy", _s(pol),
                                             ["PreferDualStack", "RequireDualStack", "SingleStack"]))
    for i, ip in enumerate(cips):
        if i == 0 and ip == "None":
            if len(cips) > 1:
                errs.append(FieldError.invalid("spec.clusterIPs", go_string_slice(cips),
                                               "'None' must be the first and only value"))
            continue
        errs += [FieldError.invalid(_ix("spec.clusterIPs", i), ip, m) for m in naming.is_valid_ip(ip)]
    if len(cips) > 2:
        errs.append(FieldError.invalid("spec.clusterIPs", go_string_slice(cips), "may only hold up to 2 values"))
    return errs


def _validate_service_update(svc: dict[str, Any], old: dict[str, Any]) -> Errs:
    errs = validate_object_meta_update(svc.get("metadata"), old.get("metadata"))
    spec, ospec = _d(svc.get("spec")), _d(old.get("spec"))
    if "ExternalName" not in (_s(spec.get("type")), _s(ospec.get("type"))) and not (
            _is_headless(svc) and _is_headless(old)):
        new_ips = [_s(x) for x in _l(spec.get("clusterIPs"))]
        old_ips = [_s(x) for x in _l(ospec.get("clusterIPs"))]
        if len(old_ips) == len(new_ips):
            for i, ip in enumerate(old_ips):
                if ip != new_ips[i]:
                    errs.append(FieldError.invalid(_ix("spec.clusterIPs", i), go_string_slice(new_ips),
                                                   "may not change once set"))
        elif len(old_ips) > len(new_ips):
            if not new_ips:
                errs.append(FieldError.invalid("spec.clusterIPs[0]", go_string_slice(new_ips),
                                               "primary clusterIP can not be unset"))
            elif new_ips[0] != old_ips[0]:
                errs.append(FieldError.invalid("spec.clusterIPs[0]", go_string_slice(new_ips),
                                               "may not change once set"))
        elif old_ips and new_ips[0] != old_ips[0]:
            errs.append(FieldError.invalid("spec.clusterIPs[0]", go_string_slice(new_ips),
                                           "may not change once set"))
    return errs + _validate_service(svc)


def _validate_service_status_update(svc: dict[str, Any], old: dict[str, Any]) -> Errs:
    errs = validate_object_meta_update(svc.get("metadata"), old.get("metadata"))
    for i, ing in enumerate(_l(_d(_d(svc.get("status")).get("loadBalancer")).get("ingress"))):
        ing = _d(ing)
        p = _ix("status.loadBalancer.ingress", i)
        if _s(ing.get("ip")):
            errs += [FieldError.invalid(_p(p, "ip"), ing.get("ip"), "must be a valid IP address")
                     for _ in naming.is_valid_ip(_s(ing.get("ip")))]
        if _s(ing.get("hostname")):
            errs += [FieldError.invalid(_p(p, "hostname"), ing.get("hostname"), m)
                     for m in is_dns1123_subdomain(_s(ing.get("hostname")))]
    return errs


def _validate_endpoints(ep: dict[str, Any]) -> Errs:
    errs = validate_object_meta(ep.get("metadata"), True, name_is_dns_subdomain)
    for i, ss in enumerate(_l(ep.get("subsets"))):
        ss = _d(ss)
        ip = _ix("subsets", i)
        if not _l(ss.get("addresses")) and not _l(ss.get("notReadyAddresses")):
            errs.append(FieldError.required(ip, "must specify `addresses` or `notReadyAddresses`"))
        for f in ("addresses", "notReadyAddresses"):
            for j, a in enumerate(_l(ss.get(f))):
                a = _d(a)
                ap = _ix(_p(ip, f), j)
                addr = _s(a.get("ip"))
                msgs = naming.is_valid_ip(addr)
                errs += [FieldError.invalid(_p(ap, "ip"), addr, m) for m in msgs]
                if not msgs:
                    errs += _non_special_ip(addr, _p(ap, "ip"))
                hn = _s(a.get("hostname"))
                if hn:
                    errs += [FieldError.invalid(_p(ap, "hostname"), hn, m) for m in is_dns1123_label(hn)]
                nn = a.get("nodeName")
                if nn is not None:
                    errs += [FieldError.invalid(_p(ap, "nodeName"), nn, m)
                             for m in name_is_dns_subdomain(_s(nn), False)]
        ports = _l(ss.get("ports"))
        for j, port in enumerate(ports):
            port = _d(port)
            pp = _ix(_p(ip, "ports"), j)
            name = _s(port.get("name"))
            if len(ports) > 1 and not name:
                errs.append(FieldError.required(_p(pp, "name"), ""))
            elif name:
                errs += [FieldError.invalid(_p(pp, "name"), name, m) for m in is_dns1123_label(name)]
            n = _i(port.get("port")) or 0
            errs += [FieldError.invalid(_p(pp, "port"), n, m) for m in is_valid_port_num(n)]
            proto = _s(port.get("protocol"))
            if not proto:
                errs.append(FieldError.required(_p(pp, "protocol"), ""))
            elif proto not in SUPPORTED_PORT_PROTOCOLS:
                errs.append(FieldError.not_supported(_p(pp, "protocol"), proto, SUPPORTED_PORT_PROTOCOLS))
    return errs


def _non_special_ip(addr: str, path: str) -> Errs:
    import ipaddress
    ip = ipaddress.ip_address(addr)
    errs: Errs = []
    if ip.is_unspecified:
        errs.append(FieldError.invalid(path, addr, f"may not be unspecified ({addr})"))
    if ip.is_loopback:
        errs.append(FieldError.invalid(path, addr, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
    if ip.is_link_local:
        errs.append(FieldError.invalid(path, addr, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
    if ip.is_multicast and (str(ip).startswith("224.0.0.") or str(ip).lower().startswith("ff02:")):
        errs.append(FieldError.invalid(
            path, addr, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
    return errs


# ---------------------------------------------------------------------------------------------
# ConfigMaps and Secrets
# ---------------------------------------------------------------------------------------------

def _validate_configmap(cm: dict[str, Any]) -> Errs:
    errs = validate_object_meta(cm.get("metadata"), True, name_is_dns_subdomain)
    total = 0
    data, bdata = _d(cm.get("data")), _d(cm.get("binaryData"))
    for k, v in data.items():
        errs += [FieldError.invalid(_k("data", _s(k)), k, m) for m in is_config_map_key(_s(k))]
        if k in bdata:
            errs.append(FieldError.invalid(_k("data", _s(k)), k, "duplicate of key present in binaryData"))
        total += len(_s(v).encode())
    for k, v in bdata.items():
        errs += [FieldError.invalid(_k("binaryData", _s(k)), k, m) for m in is_config_map_key(_s(k))]
        total += _b64_len(v)
    if total > MAX_SECRET_SIZE:
        errs.append(FieldError.too_long("", MAX_SECRET_SIZE))
    return errs


def _b64_len(v: Any) -> int:
    try:
        return len(base64.b64decode(_s(v), validate=True))
    except (binascii.Error, ValueError):
        return len(_s(v)) * 3 // 4


def _b64(v: Any) -> bytes | None:
    try:
        return base64.b64decode(_s(v), validate=True)
    except (binascii.Error, ValueError):
        return None


def _validate_secret(sec: dict[str, Any]) -> Errs:
    errs = validate_object_meta(sec.get("metadata"), True, name_is_dns_subdomain)
    data = _d(sec.get("data"))
    total = 0
    for k, v in data.items():
        errs += [FieldError.invalid(_k("data", _s(k)), k, m) for m in is_config_map_key(_s(k))]
        raw = _b64(v)
        if raw is None:
            errs.append(FieldError.invalid(_k("data", _s(k)), "<secret contents redacted>",
                                           "illegal base64 data"))
        total += len(raw) if raw is not None else len(_s(v))
    if total > MAX_SECRET_SIZE:
        errs.append(FieldError.too_long("data", MAX_SECRET_SIZE))
    typ = _s(sec.get("type"))
    if typ == "kubernetes.io/service-account-token":
        ann = _d(_d(sec.get("metadata")).get("annotations"))
        if not _s(ann.get("kubernetes.io/service-account.name")):
            errs.append(FieldError.required("metadata.annotations[kubernetes.io/service-account.name]", ""))
    elif typ in ("kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson"):
        key = ".dockercfg" if typ == "kubernetes.io/dockercfg" else ".dockerconfigjson"
        if key not in data:
            errs.append(FieldError.required(_k("data", key), ""))
        else:
            raw = _b64(data[key]) or b""
            try:
                parsed = json.loads(raw.decode() or "null")
                if not isinstance(parsed, dict):
                    raise ValueError("json: cannot unmarshal into Go value of type map[string]interface {}")
            except (ValueError, UnicodeDecodeError) as e:
                errs.append(FieldError.invalid(_k("data", key), "<secret contents redacted>", str(e)))
    elif typ == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            errs.append(FieldError.required("data[username]", ""))
            errs.append(FieldError.required("data[password]", ""))
    elif typ == "kubernetes.io/ssh-auth":
        if not _s(data.get("ssh-privatekey")):
            errs.append(FieldError.required("data[ssh-privatekey]", ""))
    elif typ == "kubernetes.io/tls":
        if "tls.crt" not in data:
            errs.append(FieldError.required("data[tls.crt]", ""))
        if "tls.key" not in data:
            errs.append(FieldError.required("data[tls.key]", ""))
    return errs


def _immutable_data(obj: dict[str, Any], old: dict[str, Any], fields: tuple[str, ...]) -> Errs:
    errs: Errs = []
    if old.get("immutable") is True:
        if obj.get("immutable") is not True:
            errs.append(FieldError.forbidden("immutable", "field is immutable when `immutable` is set"))
        for f in fields:
            if _d(obj.get(f)) != _d(old.get(f)):
                errs.append(FieldError.forbidden(f, "field is immutable when `immutable` is set"))
    return errs


def _validate_configmap_update(cm: dict[str, Any], old: dict[str, Any]) -> Errs:
    errs = validate_object_meta_update(cm.get("metadata"), old.get("metadata"))
    errs += _immutable_data(cm, old, ("data", "binaryData"))
    return errs + _validate_configmap(cm)


def _validate_secret_update(sec: dict[str, Any], old: dict[str, Any]) -> Errs:
    errs = validate_object_meta_update(sec.get("metadata"), old.get("metadata"))
    errs += _immutable(_s(sec.get("type")), _s(old.get("type")), "type")
    errs += _immutable_data(sec, old, ("data",))
    return errs + _validate_secret(sec)


# ---------------------------------------------------------------------------------------------
# Namespaces, Nodes, Leases, Events
# ---------------------------------------------------------------------------------------------

def _validate_namespace(ns: dict[str, Any]) -> Errs:
    errs = validate_object_meta(ns.get("metadata"), False, name_is_dns_label)
    for f in _l(_d(ns.get("spec")).get("finalizers")):
        errs += validate_finalizers([f], "spec.finalizers")
    return errs


def _validate_namespace_update(ns: dict[str, Any], old: dict[str, Any]) -> Errs:
    return validate_object_meta_update(ns.get("metadata"), old.get("metadata"))


def _validate_namespace_status_update(ns: dict[str, Any], old: dict[str, Any]) -> Errs:
    errs = validate_object_meta_update(ns.get("metadata"), old.get("metadata"))
    phase = _s(_d(ns.get("status")).get("phase"))
    if not _d(ns.get("metadata")).get("deletionTimestamp"):
        if phase != "Active":
            errs.append(FieldError.invalid("status.Phase", phase, "may only be 'Active' if `deletionTimestamp` is empty"))
    elif phase != "Terminating":
        errs.append(FieldError.invalid("status.Phase", phase,
                                       "may only be 'Terminating' if `deletionTimestamp` is not empty"))
    return errs


def _validate_node_taints(taints: Any, path: str) -> Errs:
    errs: Errs = []
    seen: dict[str, set[str]] = {}
    for i, t in enumerate(_l(taints)):
        t = _d(t)
        ip = _ix(path, i)
        key = _s(t.get("key"))
        errs += validate_label_name(key, _p(ip, "key"))
        msgs = is_valid_label_value(_s(t.get("value")))
        if msgs:
            errs.append(FieldError.invalid(_p(ip, "value"), _s(t.get("value")), ";".join(msgs)))
        eff = _s(t.get("effect"))
        errs += _validate_taint_effect(eff, False, _p(ip, "effect"))
        if key in seen.get(eff, set()):
            e = FieldError.duplicate(ip, go_taint(t))
            e.detail = "taints must be unique by key and effect pair"
            errs.append(e)
            continue
        seen.setdefault(eff, set()).add(key)
    return errs


def _validate_node_resources(node: dict[str, Any]) -> Errs:
    errs: Errs = []
    st = _d(node.get("status"))
    for f in ("capacity", "allocatable"):
        for k, v in _d(st.get(f)).items():
            path = _p("status", f, _s(k))
            val, canon, qerrs = _quantity_errs(v, path)
            errs += qerrs
            if val is not None and val < 0:
                errs.append(FieldError.invalid(path, canon, IS_NEGATIVE))
    return errs


def _validate_node_addresses(node: dict[str, Any]) -> Errs:
    errs: Errs = []
    seen: set[tuple[str, str]] = set()
    for i, a in enumerate(_l(_d(node.get("status")).get("addresses"))):
        a = _d(a)
        k = (_s(a.get("type")), _s(a.get("address")))
        if k in seen:
            errs.append(FieldError.duplicate(_ix("status.addresses", i), _gs(
                "core.NodeAddress", [("Type", go_quote(k[0])), ("Address", go_quote(k[1]))])))
        seen.add(k)
    return errs


def _validate_pod_cidrs(node: dict[str, Any]) -> Errs:
    cidrs = [_s(c) for c in _l(_d(node.get("spec")).get("podCIDRs"))]
    errs: Errs = []
    for i, c in enumerate(cidrs):
        if naming.is_valid_cidr(c):
            errs.append(FieldError.invalid(_ix("spec.podCIDRs", i), go_string_slice(cidrs), "must be valid CIDR"))
    return errs


def _validate_node(node: dict[str, Any]) -> Errs:
    errs = validate_object_meta(node.get("metadata"), False, name_is_dns_subdomain)
    taints = _d(node.get("spec")).get("taints")
    if _l(taints):
        errs += _validate_node_taints(taints, "metadata.taints")
    errs += _validate_node_resources(node)
    errs += _validate_pod_cidrs(node)
    return errs


def _validate_node_update(node: dict[str, Any], old: dict[str, Any]) -> Errs:
    errs = validate_object_meta_update(node.get("metadata"), old.get("metadata"))
    errs += _validate_node_resources(node)
    errs += _validate_node_addresses(node)
    spec, ospec = _d(node.get("spec")), _d(old.get("spec"))
    old_cidrs, new_cidrs = _l(ospec.get("podCIDRs")), _l(spec.get("podCIDRs"))
    if old_cidrs and old_cidrs != new_cidrs:
        errs.append(FieldError.forbidden("spec.podCIDRs", 'node updates may not change podCIDR except from "" to valid'))
    if _s(ospec.get("providerID")) and _s(ospec.get("providerID")) != _s(spec.get("providerID")):
        errs.append(FieldError.forbidden("spec.providerID", 'node updates may not change providerID except from "" to valid'))
    if _l(spec.get("taints")):
        errs += _validate_node_taints(spec.get("taints"), "metadata.taints")
    return errs


def _validate_lease_spec(spec: Any) -> Errs:
    s = _d(spec)
    errs: Errs = []
    lds = s.get("leaseDurationSeconds")
    if lds is not None:
        n = _i(lds)
        if n is None or n <= 0:
            errs.append(FieldError.invalid("spec.leaseDurationSeconds", lds, "must be greater than 0"))
    lt = s.get("leaseTransitions")
    if lt is not None:
        n = _i(lt)
        if n is None or n < 0:
            errs.append(FieldError.invalid("spec.leaseTransitions", lt, IS_NEGATIVE))
    return errs


def _validate_lease(lease: dict[str, Any]) -> Errs:
    errs = validate_object_meta(lease.get("metadata"), True, name_is_dns_subdomain, kube_finalizers=False)
    return errs + _validate_lease_spec(lease.get("spec"))


def _validate_lease_update(lease: dict[str, Any], old: dict[str, Any]) -> Errs:
    errs = validate_object_meta_update(lease.get("metadata"), old.get("metadata"))
    return errs + _validate_lease_spec(lease.get("spec"))


def _validate_event(ev: dict[str, Any]) -> Errs:
    """``legacyValidateEvent`` for core/v1 requests (plus ObjectMeta)."""
    meta = _d(ev.get("metadata"))
    errs = validate_object_meta(meta, True, name_is_dns_subdomain)
    ns = _s(meta.get("namespace"))
    io_ns = _s(_d(ev.get("involvedObject")).get("namespace"))
    if not ev.get("eventTime"):
        if not io_ns:
            if ns not in ("", "default"):
                errs.append(FieldError.invalid("involvedObject.namespace", io_ns, "does not match event.namespace"))
        elif ns != io_ns:
            errs.append(FieldError.invalid("involvedObject.namespace", io_ns, "does not match event.namespace"))
    else:
        if not io_ns and ns not in ("default", "kube-system"):
            errs.append(FieldError.invalid("involvedObject.namespace", io_ns, "does not match event.namespace"))
        rc = _s(ev.get("reportingComponent"))
        if not rc:
            errs.append(FieldError.required("reportingComponent", ""))
        errs += [FieldError.invalid("reportingComponent", rc, m) for m in is_qualified_name(rc)] if rc else []
        ri = _s(ev.get("reportingInstance"))
        if not ri:
            errs.append(FieldError.required("reportingInstance", ""))
        elif len(ri) > 128:
            errs.append(FieldError.invalid("reportingInstance", "", "can have at most 128 characters"))
        act = _s(ev.get("action"))
        if not act:
            errs.append(FieldError.required("action", ""))
        elif len(act) > 128:
            errs.append(FieldError.invalid("action", "", "can have at most 128 characters"))
        reason = _s(ev.get("reason"))
        if not reason:
            errs.append(FieldError.required("reason", ""))
        elif len(reason) > 128:
            errs.append(FieldError.invalid("reason", "", "can have at most 128 characters"))
        if len(_s(ev.get("message"))) > 1024:
            errs.append(FieldError.invalid("message", "", "can have at most 1024 characters"))
    return errs


def _validate_event_update(ev: dict[str, Any], old: dict[str, Any]) -> Errs:
    return _validate_event(ev)


# ---------------------------------------------------------------------------------------------
# PriorityClasses (pkg/apis/scheduling/validation)
# ---------------------------------------------------------------------------------------------

HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000
SYSTEM_PRIORITY_CLASS_PREFIX = "system-"
PREEMPTION_POLICIES = ["PreemptLowerPriority", "Never"]


def validate_preemption_policy(policy: Any, path: str) -> Errs:
    """``ValidatePreemptionPolicy`` (for a set field)."""
    p = _s(policy)
    if p in PREEMPTION_POLICIES:
        return []
    if not p:
        return [FieldError.required(path, "")]
    return [FieldError.not_supported(path, p, PREEMPTION_POLICIES)]


def _known_system_priority_class(name: str, value: Any, global_default: bool) -> str:
    """``IsKnownSystemPriorityClass``: "" when it is one, else the reason it is not."""
    from actors.api.defaults import SYSTEM_PRIORITY_CLASSES

    if name not in SYSTEM_PRIORITY_CLASSES:
        return f"{name} is not a known system priority class"
    if value != SYSTEM_PRIORITY_CLASSES[name]:
        return f"value of {name} PriorityClass must be {SYSTEM_PRIORITY_CLASSES[name]}"
    if global_default:
        return f"globalDefault of {name} PriorityClass must be false"
    return ""


def _priority_class_value(pc: dict[str, Any]) -> tuple[int, Errs]:
    v = pc.get("value", 0)
    n = _i(v) if v is not None else 0
    if n is None or not -MAX_INT32 - 1 <= n <= MAX_INT32:
        return 0, [FieldError.invalid("value", v, "must be a 32-bit integer")]
    return n, []


def _validate_priority_class(pc: dict[str, Any]) -> Errs:
    meta = _d(pc.get("metadata"))
    errs = validate_object_meta(meta, False, name_is_dns_subdomain)
    value, verrs = _priority_class_value(pc)
    errs += verrs
    name = _s(meta.get("name"))
    if name.startswith(SYSTEM_PRIORITY_CLASS_PREFIX):
        why = _known_system_priority_class(name, value, bool(pc.get("globalDefault")))
        if why:
            errs.append(FieldError.forbidden("metadata.name", f"priority class names with "
                                             f"'{SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are reserved for "
                                             f"system use only. error: {why}"))
    elif value > HIGHEST_USER_DEFINABLE_PRIORITY:
        errs.append(FieldError.forbidden("value", "maximum allowed value of a user defined priority is "
                                         f"{HIGHEST_USER_DEFINABLE_PRIORITY}"))
    if pc.get("preemptionPolicy") is not None:
        errs += validate_preemption_policy(pc.get("preemptionPolicy"), "preemptionPolicy")
    return errs


def _validate_priority_class_update(pc: dict[str, Any], old: dict[str, Any]) -> Errs:
    errs = validate_object_meta_update(pc.get("metadata"), old.get("metadata"))
    if _priority_class_value(pc)[0] != _priority_class_value(old)[0]:
        errs.append(FieldError.forbidden("value", "may not be changed in an update."))
    new_pp, old_pp = pc.get("preemptionPolicy"), old.get("preemptionPolicy")
    if new_pp != old_pp:
        errs.append(FieldError.invalid("preemptionPolicy", "null" if new_pp is None else new_pp, IMMUTABLE))
    return errs


# ---------------------------------------------------------------------------------------------
# dispatch
# ---------------------------------------------------------------------------------------------

Create = Callable[[dict[str, Any]], Errs]
Update = Callable[[dict[str, Any], dict[str, Any]], Errs]


def _meta_update_only(obj: dict[str, Any], old: dict[str, Any]) -> Errs:
    return validate_object_meta_update(obj.get("metadata"), old.get("metadata"))


_VALIDATORS: dict[str, tuple[Create, Update, Update]] = {
    "Pod": (_validate_pod, _validate_pod_update, _validate_pod_status_update),
    "ReplicaSet": (_validate_replicaset, _validate_replicaset_update, _validate_replicaset_status_update),
    "Deployment": (_validate_deployment, _validate_deployment_update, _validate_deployment_status_update),
    "Service": (_validate_service, _validate_service_update, _validate_service_status_update),
    "Endpoints": (_validate_endpoints, lambda o, old: _meta_update_only(o, old) + _validate_endpoints(o),
                  _meta_update_only),
    "ConfigMap": (_validate_configmap, _validate_configmap_update, _meta_update_only),
    "Secret": (_validate_secret, _validate_secret_update, _meta_update_only),
    "Namespace": (_validate_namespace, _validate_namespace_update, _validate_namespace_status_update),
    "Node": (_validate_node, _validate_node_update, _validate_node_update),
    "Lease": (_validate_lease, _validate_lease_update, _meta_update_only),
    "Event": (_validate_event, _validate_event_update, _meta_update_only),
    "PriorityClass": (_validate_priority_class, _validate_priority_class_update, _meta_update_only),
}


def validate(obj: dict[str, Any], old: dict[str, Any] | None = None, *,
             subresource: str = "") -> list[FieldError]:
    """Validate a create (``old is None``), an update, or (``subresource="status"``) a status
    update of ``obj`` by its ``kind``."""
    fns = _VALIDATORS.get(_s(obj.get("kind")))
    if fns is None:
        return []
    create, update, status_update = fns
    if old is None:
        return create(obj)
    if subresource == "status":
        return status_update(obj, old)
    return update(obj, old)
