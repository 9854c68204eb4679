"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902), pure and non-mutating.

``merge_patch(target, patch)``: objects merge recursively, ``null`` deletes a member, any
non-object patch value (arrays included) replaces the target value.

``json_patch(target, ops)``: ``add``, ``remove``, ``replace``, ``move``, ``copy`` and ``test``
with JSON pointers (RFC 6901: ``~1`` is ``/``, ``~0`` is ``~``; ``-`` appends to an array).
Operations apply in order to a copy; the first failure aborts the whole patch.  Errors are
``APIError``s as kube-apiserver returns them: a patch document that is not a list of
operations is ``400 BadRequest``; an operation that does not apply (missing path, failed
``test``, bad index, unknown op) is ``422`` with upstream's generic message
(``the server rejected our request due to an error in our request``) and the json-patch
library's reason kept as a cause (e.g. ``testing value /spec/replicas failed: test failed``).

``strategic_merge_patch(target, patch, kind)``: kubectl's default patch type, delegated to
``actors.api.strategicpatch`` (lists merge by the kind's ``patchMergeKey`` tags, ``$patch`` /
``$retainKeys`` / ``$setElementOrder`` / ``$deleteFromPrimitiveList`` directives, errors as
kube-apiserver gives them).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from actors.api import strategicpatch
from actors.api.errors import bad_request, unprocessable

JSON = Any


def merge_patch(target: JSON, patch: JSON) -> JSON:
    """RFC 7386 MergePatch(target, patch); returns a new value, ``target`` is not modified."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: dict[str, Any] = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


def create_merge_patch(original: JSON, modified: JSON) -> JSON:
    """The merge patch turning ``original`` into ``modified`` (``jsonmergepatch`` style)."""
    if not isinstance(original, dict) or not isinstance(modified, dict):
        return copy.deepcopy(modified)
    out: dict[str, Any] = {}
    for k in original:
        if k not in modified:
            out[k] = None
    for k, v in modified.items():
        if k not in original:
            out[k] = copy.deepcopy(v)
        elif original[k] != v:
            if isinstance(original[k], dict) and isinstance(v, dict):
                out[k] = create_merge_patch(original[k], v)
            else:
                out[k] = copy.deepcopy(v)
    return out


# -- JSON pointer -----------------------------------------------------------------------------

class _PatchError(Exception):
    pass


def parse_pointer(pointer: str) -> list[str]:
    """RFC 6901 reference tokens of a pointer (``""`` is the whole document)."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise _PatchError(f"JSON pointer must be empty or start with a \"/\": {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _index(token: str, length: int, allow_end: bool, path: str) -> int:
    if token == "-" and allow_end:
        return length
    if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise _PatchError(f"Unable to access invalid index: {token}: invalid index referenced")
    i = int(token)
    if i > length or (i == length and not allow_end):
        raise _PatchError(f"Unable to access invalid index: {i}: invalid index referenced")
    return i


def _container(doc: JSON, tokens: list[str], op: str, path: str) -> JSON:
    cur = doc
    for t in tokens[:-1]:
        if isinstance(cur, dict):
            if t not in cur:
                raise _PatchError(f"{op} operation does not apply: doc is missing path: \"{path}\": "
                                  "missing value")
            cur = cur[t]
        elif isinstance(cur, list):
            i = _index(t, len(cur), False, path)
            cur = cur[i]
        else:
            raise _PatchError(f"{op} operation does not apply: doc is missing path: \"{path}\": "
                              "missing value")
    return cur


def _get(doc: JSON, path: str, op: str) -> JSON:
    tokens = parse_pointer(path)
    if not tokens:
        return doc
    parent = _container(doc, tokens, op, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _PatchError(f"{op} operation does not apply: doc is missing path: \"{path}\": "
                              "missing value")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(last, len(parent), False, path)]
    raise _PatchError(f"{op} operation does not apply: doc is missing path: \"{path}\": missing value")


def _add(doc: JSON, path: str, value: JSON) -> JSON:
    tokens = parse_pointer(path)
    if not tokens:
        return value
    parent = _container(doc, tokens, "add", path)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(last, len(parent), True, path), value)
    else:
        raise _PatchError(f"add operation does not apply: doc is missing path: \"{path}\": missing value")
    return doc


def _remove(doc: JSON, path: str, op: str = "remove") -> tuple[JSON, JSON]:
    tokens = parse_pointer(path)
    if not tokens:
        raise _PatchError(f"{op} operation does not apply: doc is missing path: \"{path}\": missing value")
    parent = _container(doc, tokens, op, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _PatchError(f"{op} operation does not apply: doc is missing path: \"{path}\": "
                              "missing value")
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_index(last, len(parent), False, path))
    raise _PatchError(f"{op} operation does not apply: doc is missing path: \"{path}\": missing value")


def _replace(doc: JSON, path: str, value: JSON) -> JSON:
    tokens = parse_pointer(path)
    if not tokens:
        return value
    parent = _container(doc, tokens, "replace", path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _PatchError(f"replace operation does not apply: doc is missing key: {path}: "
                              "missing value")
        parent[last] = value
    elif isinstance(parent, list):
        parent[_index(last, len(parent), False, path)] = value
    else:
        raise _PatchError(f"replace operation does not apply: doc is missing key: {path}: missing value")
    return doc


def _json_equal(a: JSON, b: JSON) -> bool:
    """Equality of JSON values (``1 == 1.0``, but ``True != 1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and bool(a == b)


def _field(op: dict[str, Any], name: str, kind: str) -> Any:
    if name not in op:
        raise _PatchError(f"{kind} operation missing {name} field" if name != "path"
                          else f"operation missing path field: {kind}")
    return op[name]


def _apply(doc: JSON, op: dict[str, Any]) -> JSON:
    kind = op.get("op")
    if kind not in ("add", "remove", "replace", "move", "copy", "test"):
        raise _PatchError(f"Unexpected kind: {kind if isinstance(kind, str) else 'unknown'}")
    path = _field(op, "path", kind)
    if not isinstance(path, str):
        raise _PatchError(f"operation missing path field: {kind}")
    if kind == "add":
        return _add(doc, path, copy.deepcopy(_field(op, "value", kind)))
    if kind == "remove":
        return _remove(doc, path)[0]
    if kind == "replace":
        return _replace(doc, path, copy.deepcopy(_field(op, "value", kind)))
    if kind == "test":
        want = _field(op, "value", kind)
        try:
            have = _get(doc, path, "test")
        except _PatchError:
            if want is None:
                return doc
            raise _PatchError(f"testing value {path} failed: test failed") from None
        if not _json_equal(have, want):
            raise _PatchError(f"testing value {path} failed: test failed")
        return doc
    frm = _field(op, "from", kind)
    if not isinstance(frm, str):
        raise _PatchError(f"{kind} operation missing from field")
    if kind == "move":
        if path != frm and (path + "/").startswith(frm + "/"):
            raise _PatchError(f"move operation does not apply: cannot move {frm} into its child {path}")
        try:
            doc, value = _remove(doc, frm, "move")
        except _PatchError:
            raise _PatchError(f"move operation does not apply: doc is missing from path: {frm}: "
                              "missing value") from None
        return _add(doc, path, value)
    # copy
    try:
        value = _get(doc, frm, "copy")
    except _PatchError:
        raise _PatchError(f"copy operation does not apply: doc is missing from path: {frm}: "
                          "missing value") from None
    return _add(doc, path, copy.deepcopy(value))


def json_patch(target: JSON, ops: Any) -> JSON:
    """Apply RFC 6902 operations to a copy of ``target``; raises ``APIError``."""
    if isinstance(ops, (bytes, str)):
        try:
            ops = json.loads(ops)
        except ValueError as e:
            raise bad_request(f"invalid character in JSON patch: {e}") from None
    if not isinstance(ops, list):
        raise bad_request(f"json: cannot unmarshal {_json_type(ops)} into Go value of type "
                          "jsonpatch.Patch")
    doc = copy.deepcopy(target)
    for op in ops:
        if not isinstance(op, dict):
            raise bad_request(f"json: cannot unmarshal {_json_type(op)} into Go value of type "
                              "jsonpatch.Operation")
        try:
            doc = _apply(doc, op)
        except _PatchError as e:
            raise unprocessable(str(e)) from None
    return doc


def _json_type(v: Any) -> str:
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    if isinstance(v, str):
        return "string"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return "null"


def strategic_merge_patch(target: JSON, patch: JSON, kind: str) -> JSON:
    """Strategic merge patch of an object of ``kind`` (``"Pod"``, ``"Deployment"``, ...);
    returns a new value, raises ``APIError`` (see ``actors.api.strategicpatch``)."""
    return strategicpatch.strategic_merge_patch(target, patch, kind)
