"""Server-side printing (pure): objects → metav1.Table, as kube-apiserver answers
`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.

The columns and cells come from `actors.api.printers` — the one printing module, which
our own CLI uses too — so `kubectl get` and `kubemu get` print the same table. Each row
carries its object as kubectl asked (`includeObject`): `Metadata` (the default) gives a
PartialObjectMetadata, which is what kubectl reads for `-A` (NAMESPACE) and
`--show-labels`; `Object` the whole object; `None` nothing.
"""

from __future__ import annotations

from typing import Any, Iterable

from actors.api import errors, printers
from actors.api.resources import ResourceInfo

JSON = dict[str, Any]

INCLUDE_OBJECT = ("None", "Metadata", "Object")


def wants_table(accept: str) -> bool:
    """Does the Accept header ask for a Table first (before plain JSON)?"""
    for part in accept.split(","):
        params = [p.strip() for p in part.split(";")]
        if "as=Table" in params[1:]:
            return True
        if params[0] in ("application/json", "*/*", "application/*"):
            return False
    return False


def check_include_object(v: str) -> str:
    if v == "":
        return "Metadata"
    if v not in INCLUDE_OBJECT:
        raise errors.bad_request(f'includeObject: Unsupported value: "{v}": supported values: '
                                 '"None", "Metadata", "Object"')
    return v


def _row_object(obj: JSON, include: str) -> JSON | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata") or {}}


def row(info: ResourceInfo, obj: JSON, now: float, include: str = "Metadata") -> JSON:
    r: JSON = {"cells": printers.row_cells(info, obj, now, wide=True)}
    o = _row_object(obj, include)
    if o is not None:
        r["object"] = o
    return r


def table(info: ResourceInfo, objs: Iterable[JSON], now: float, *,
          include: str = "Metadata", list_meta: JSON | None = None,
          headers: bool = True) -> JSON:
    """A metav1.Table of `objs`; `headers=False` leaves the column definitions out (the
    events of a watch after the first)."""
    out: JSON = {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
                 "metadata": dict(list_meta or {})}
    out["columnDefinitions"] = printers.column_definitions(info) if headers else None
    out["rows"] = [row(info, o, now, include) for o in objs]
    return out
