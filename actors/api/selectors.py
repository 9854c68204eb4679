"""Label selectors, field selectors and node selector terms (pure).

Label selectors (``k8s.io/apimachinery/pkg/labels``):

* ``parse_label_selector("a=b,c!=d,e in (x,y),!f,g,h>3")`` parses kubectl's ``-l`` syntax:
  ``=``/``==``/``!=``, ``in``/``notin`` with a parenthesised value set, existence ``key`` and
  ``!key``, and ``>``/``<`` on integers.  Keys must be qualified names and values valid label
  values; errors raise ``ValueError`` (``unable to parse requirement: ...``).
* ``selector_from_dict`` turns a metav1.LabelSelector (``matchLabels`` + ``matchExpressions``
  with In/NotIn/Exists/DoesNotExist) into a ``Selector`` (``LabelSelectorAsSelector``):
  ``None`` selects nothing, ``{}`` selects everything.
* A ``Selector`` is a conjunction of requirements kept sorted by key; ``str()`` prints the
  canonical string upstream prints (``a=b,e in (x,y),!f``).  Matching follows upstream:
  ``!=``/``notin`` match when the label is absent, ``in``/``=`` need it present, ``Gt``/``Lt``
  compare integers and fail when the label is not one.

Field selectors (``k8s.io/apimachinery/pkg/fields``): ``parse_field_selector`` accepts
``=``, ``==`` and ``!=`` terms joined by commas, values escaped with ``\\``.  ``matches(obj)``
evaluates against the object's selectable fields -- the per-kind field sets the apiserver
exposes (``object_fields``: pods ``spec.nodeName``, ``status.phase``...; nodes
``spec.unschedulable``; events ``involvedObject.*``...), falling back to a dotted-path lookup
for other fields.  ``check_supported(kind)`` raises ``ValueError("field label not supported:
x")`` as the apiserver does for labels a kind does not expose.

Node selector terms (``component-helpers/scheduling/corev1/nodeaffinity``): terms are ORed,
the requirements inside a term ANDed; ``matchExpressions`` use In/NotIn/Exists/DoesNotExist/
Gt/Lt on node labels, ``matchFields`` In/NotIn on ``metadata.name``; an empty term or a term
with an invalid requirement matches nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from actors.api import errors as _errors
from actors.api.naming import is_qualified_name, is_valid_label_value

# ---------------------------------------------------------------------------------------------
# Label selectors
# ---------------------------------------------------------------------------------------------

EQUALS = "="
DOUBLE_EQUALS = "=="
NOT_EQUALS = "!="
IN = "in"
NOT_IN = "notin"
EXISTS = "exists"
DOES_NOT_EXIST = "!"
GT = "gt"
LT = "lt"

_OPERATORS = (EQUALS, DOUBLE_EQUALS, NOT_EQUALS, IN, NOT_IN, EXISTS, DOES_NOT_EXIST, GT, LT)


def _parse_int(s: str) -> int | None:
    if not re.fullmatch(r"[+-]?[0-9]+", s):
        return None
    n = int(s)
    return n if -(2**63) <= n < 2**63 else None


@dataclass(frozen=True)
class Requirement:
    """One ``key op values`` clause (``labels.Requirement``)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    @classmethod
    def new(cls, key: str, operator: str, values: list[str] | tuple[str, ...] = ()) -> Requirement:
        """Validated constructor (``labels.NewRequirement``); raises ``ValueError``."""
        errs: list[str] = []
        kerrs = is_qualified_name(key)
        if kerrs:
            errs.append(str(_errors.FieldError.invalid("<nil>", key, "; ".join(kerrs))))
        vals = list(values)
        vals_repr = _errors.go_string_slice(vals)
        if operator in (IN, NOT_IN):
            if not vals:
                errs.append(str(_errors.FieldError.invalid(
                    "values", vals_repr, "for 'in', 'notin' operators, values set can't be empty")))
        elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
            if len(vals) != 1:
                errs.append(str(_errors.FieldError.invalid(
                    "values", vals_repr, "exact-match compatibility requires one single value")))
        elif operator in (EXISTS, DOES_NOT_EXIST):
            if vals:
                errs.append(str(_errors.FieldError.invalid(
                    "values", vals_repr, "values set must be empty for exists and does not exist")))
        elif operator in (GT, LT):
            if len(vals) != 1:
                errs.append(str(_errors.FieldError.invalid(
                    "values", vals_repr, "for 'Gt', 'Lt' operators, exactly one value is required")))
            for i, v in enumerate(vals):
                if _parse_int(v) is None:
                    errs.append(str(_errors.FieldError.invalid(
                        f"values[{i}]", v, "for 'Gt', 'Lt' operators, the value must be an integer")))
        else:
            errs.append(str(_errors.FieldError.not_supported("operator", operator, _OPERATORS)))
        for i, v in enumerate(vals):
            verrs = is_valid_label_value(v)
            if verrs:
                errs.append(str(_errors.FieldError.invalid(f"values[{i}][{key}]", v,
                                                           "; ".join(verrs))))
        if errs:
            raise ValueError(_errors.aggregate(errs))
        if operator in (IN, NOT_IN):
            vals = sorted(set(vals))
        return cls(key, operator, tuple(vals))

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            return self.key in labels and labels[self.key] in self.values
        if op in (NOT_IN, NOT_EQUALS):
            return self.key not in labels or labels[self.key] not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        if op in (GT, LT):
            if self.key not in labels or len(self.values) != 1:
                return False
            have = _parse_int(labels[self.key])
            want = _parse_int(self.values[0])
            if have is None or want is None:
                return False
            return have > want if op == GT else have < want
        return False

    def __str__(self) -> str:
        op = self.operator
        if op == EXISTS:
            return self.key
        if op == DOES_NOT_EXIST:
            return "!" + self.key
        if op in (IN, NOT_IN):
            return f"{self.key} {op} ({','.join(self.values)})"
        if op == GT:
            return f"{self.key}>{self.values[0]}"
        if op == LT:
            return f"{self.key}<{self.values[0]}"
        return f"{self.key}{op}{self.values[0] if self.values else ''}"


class _BoolFlag(int):
    """A bool usable both as an attribute (``if sel.empty:``) and a call (``sel.empty()``)."""

    def __call__(self) -> bool:
        return bool(self)

    def __repr__(self) -> str:
        return repr(bool(self))


class Selector:
    """A conjunction of label requirements (``labels.Selector``).

    ``Selector()`` selects everything; ``Selector.nothing()`` selects nothing.
    """

    __slots__ = ("requirements", "_nothing")

    def __init__(self, requirements: list[Requirement] | tuple[Requirement, ...] = (),
                 *, nothing: bool = False) -> None:
        self.requirements: tuple[Requirement, ...] = tuple(
            sorted(requirements, key=lambda r: r.key))
        self._nothing = nothing

    @classmethod
    def everything(cls) -> Selector:
        return cls()

    @classmethod
    def nothing(cls) -> Selector:
        return cls(nothing=True)

    @property
    def is_nothing(self) -> bool:
        return self._nothing

    @property
    def empty(self) -> _BoolFlag:
        """True when the selector selects everything (``Selector.Empty()``)."""
        return _BoolFlag(not self._nothing and not self.requirements)

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self._nothing:
            return False
        lab = labels or {}
        return all(r.matches(lab) for r in self.requirements)

    def add(self, *reqs: Requirement) -> Selector:
        return Selector(self.requirements + reqs, nothing=self._nothing)

    def requires_exact_match(self, key: str) -> str | None:
        """The value ``key`` must equal for a match, if the selector pins one."""
        for r in self.requirements:
            if r.key == key and r.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(r.values) == 1:
                return r.values[0]
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return "Selector(<nothing>)" if self._nothing else f"Selector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Selector) and self.requirements == other.requirements
                and self._nothing == other._nothing)

    def __hash__(self) -> int:
        return hash((self.requirements, self._nothing))


# -- the -l lexer/parser (labels.Parse) -------------------------------------------------------

_SPECIAL = set("=!(),<>")


def _tokens(s: str) -> list[tuple[str, str]]:
    """(kind, literal) tokens; kinds: id, op, '(', ')', ',', end.  ``in``/``notin`` are
    identifiers everywhere except in operator position."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c.isspace():
            i += 1
            continue
        if c in _SPECIAL:
            two = s[i:i + 2]
            if two in ("==", "!="):
                out.append(("op", two))
                i += 2
            elif c in "(),":
                out.append((c, c))
                i += 1
            else:
                out.append(("op", c))
                i += 1
            continue
        j = i
        while j < n and not s[j].isspace() and s[j] not in _SPECIAL:
            j += 1
        out.append(("id", s[i:j]))
        i = j
    out.append(("end", ""))
    return out


class _Parser:
    def __init__(self, s: str) -> None:
        self.toks = _tokens(s)
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.toks[self.pos]

    def take(self) -> tuple[str, str]:
        t = self.toks[self.pos]
        if t[0] != "end":
            self.pos += 1
        return t

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            kind, lit = self.peek()
            if kind == "end":
                return reqs
            if kind == "id" or (kind == "op" and lit == "!"):
                try:
                    reqs.append(self.requirement())
                except ValueError as e:
                    raise ValueError(f"unable to parse requirement: {e}") from None
                kind, lit = self.take()
                if kind == "end":
                    return reqs
                if kind == ",":
                    k2, l2 = self.peek()
                    if k2 != "id" and not (k2 == "op" and l2 == "!"):
                        raise ValueError(f"found '{l2}', expected: identifier after ','")
                    continue
                raise ValueError(f"found '{lit}', expected: ',' or 'end of string'")
            raise ValueError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def requirement(self) -> Requirement:
        op = ""
        kind, lit = self.take()
        if kind == "op" and lit == "!":
            op = DOES_NOT_EXIST
            kind, lit = self.take()
        if kind != "id":
            raise ValueError(f"found '{lit}', expected: identifier")
        key = lit
        kerrs = is_qualified_name(key)
        if kerrs:
            raise ValueError(str(_errors.FieldError.invalid("<nil>", key, "; ".join(kerrs))))
        if self.peek()[0] in ("end", ","):
            return Requirement.new(key, op or EXISTS, [])
        if op == DOES_NOT_EXIST:
            return Requirement.new(key, op, [])
        kind, lit = self.take()
        ops = {"in": IN, "notin": NOT_IN, "=": EQUALS, "==": DOUBLE_EQUALS, "!=": NOT_EQUALS,
               ">": GT, "<": LT}
        if kind not in ("id", "op") or lit not in ops:
            raise ValueError(f"found '{lit}', expected: in, notin, =, ==, !=, gt, lt")
        op = ops[lit]
        values = self.value_set() if op in (IN, NOT_IN) else self.exact_value()
        return Requirement.new(key, op, values)

    def exact_value(self) -> list[str]:
        kind, lit = self.peek()
        if kind in ("end", ","):
            return [""]
        self.take()
        if kind == "id":
            return [lit]
        raise ValueError(f"found '{lit}', expected: identifier")

    def value_set(self) -> list[str]:
        kind, lit = self.take()
        if kind != "(":
            raise ValueError(f"found '{lit}' expected: '('")
        kind, lit = self.peek()
        if kind == ")":
            self.take()
            return [""]
        if kind not in ("id", ","):
            raise ValueError(f"found '{lit}', expected: ',', ')' or identifier")
        vals: list[str] = []
        while True:
            kind, lit = self.take()
            if kind == "id":
                vals.append(lit)
                k2, l2 = self.peek()
                if k2 == ",":
                    self.take()
                    if self.peek()[0] == ")":
                        vals.append("")
                        self.take()
                        return vals
                    continue
                if k2 == ")":
                    self.take()
                    return vals
                raise ValueError(f"found '{l2}', expected: ',' or ')'")
            if kind == ",":  # "(," / ",," / ",)"
                vals.append("")
                k2 = self.peek()[0]
                if k2 == ")":
                    self.take()
                    return vals
                continue
            raise ValueError(f"found '{lit}', expected: ',', or identifier")


def parse_label_selector(s: str) -> Selector:
    """Parse kubectl's ``-l`` syntax (``labels.Parse``); raises ``ValueError``."""
    return Selector(_Parser(s).parse())


def selector_from_set(labels: Mapping[str, str] | None) -> Selector:
    """Equality selector for a label map (``labels.SelectorFromSet``); ``{}`` is everything."""
    if not labels:
        return Selector()
    return Selector([Requirement.new(k, EQUALS, [v]) for k, v in labels.items()])


_EXPR_OPS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def selector_from_dict(d: Mapping[str, Any] | None) -> Selector:
    """A metav1.LabelSelector as a Selector (``LabelSelectorAsSelector``).

    ``None`` selects nothing, ``{}`` everything.  Invalid selectors raise ``ValueError``
    (``"Foo" is not a valid label selector operator``, key/value syntax errors)."""
    if d is None:
        return Selector.nothing()
    if not isinstance(d, Mapping):
        raise ValueError("a label selector must be an object")
    match_labels = d.get("matchLabels") or {}
    exprs = d.get("matchExpressions") or []
    if not match_labels and not exprs:
        return Selector()
    reqs: list[Requirement] = []
    if not isinstance(match_labels, Mapping):
        raise ValueError("matchLabels must be a map of strings")
    for k, v in match_labels.items():
        reqs.append(Requirement.new(str(k), EQUALS, [str(v)]))
    if not isinstance(exprs, list):
        raise ValueError("matchExpressions must be a list")
    for e in exprs:
        if not isinstance(e, Mapping):
            raise ValueError("matchExpressions items must be objects")
        op = e.get("operator")
        if op not in _EXPR_OPS:
            raise ValueError(f'"{op}" is not a valid label selector operator')
        vals = e.get("values") or []
        reqs.append(Requirement.new(str(e.get("key", "")), _EXPR_OPS[str(op)],
                                    [str(v) for v in vals]))
    return Selector(reqs)


def label_selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """Whether a metav1.LabelSelector dict matches labels (invalid selectors match nothing)."""
    try:
        return selector_from_dict(selector).matches(labels)
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------------
# Field selectors
# ---------------------------------------------------------------------------------------------


def _fmt_bool(v: Any) -> str:
    return "true" if v is True else "false"


def _get(obj: Mapping[str, Any], *path: str) -> Any:
    cur: Any = obj
    for p in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(p)
    return cur


def _s(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return _fmt_bool(v)
    return str(v)


def object_fields(obj: Mapping[str, Any]) -> dict[str, str]:
    """The selectable fields of an object, per kind, as the apiserver computes them
    (``GetAttrs``/``ToSelectableFields``)."""
    kind = obj.get("kind")
    meta = obj.get("metadata") or {}
    out: dict[str, str] = {"metadata.name": _s(meta.get("name"))}
    cluster_scoped = kind in ("Node", "Namespace")
    if not cluster_scoped:
        out["metadata.namespace"] = _s(meta.get("namespace"))
    if kind == "Pod":
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        ips = status.get("podIPs") or []
        pod_ip = _s(ips[0].get("ip")) if ips and isinstance(ips[0], Mapping) else ""
        out.update({
            "spec.nodeName": _s(spec.get("nodeName")),
            "spec.restartPolicy": _s(spec.get("restartPolicy")),
            "spec.schedulerName": _s(spec.get("schedulerName")),
            "spec.serviceAccountName": _s(spec.get("serviceAccountName")),
            "spec.hostNetwork": _fmt_bool(spec.get("hostNetwork")),
            "status.phase": _s(status.get("phase")),
            "status.podIP": pod_ip or _s(status.get("podIP")),
            "status.nominatedNodeName": _s(status.get("nominatedNodeName")),
        })
    elif kind == "Node":
        out["spec.unschedulable"] = _fmt_bool(_get(obj, "spec", "unschedulable"))
    elif kind == "Namespace":
        out["status.phase"] = _s(_get(obj, "status", "phase"))
    elif kind == "Event":
        io = obj.get("involvedObject") or {}
        source = _s(_get(obj, "source", "component")) or _s(obj.get("reportingComponent"))
        out.update({
            "involvedObject.kind": _s(io.get("kind")),
            "involvedObject.namespace": _s(io.get("namespace")),
            "involvedObject.name": _s(io.get("name")),
            "involvedObject.uid": _s(io.get("uid")),
            "involvedObject.apiVersion": _s(io.get("apiVersion")),
            "involvedObject.resourceVersion": _s(io.get("resourceVersion")),
            "involvedObject.fieldPath": _s(io.get("fieldPath")),
            "reason": _s(obj.get("reason")),
            "reportingComponent": _s(obj.get("reportingComponent")),
            "source": source,
            "type": _s(obj.get("type")),
        })
    elif kind == "Secret":
        out["type"] = _s(obj.get("type"))
    elif kind == "ReplicaSet":
        out["status.replicas"] = str(_get(obj, "status", "replicas") or 0)
    return out


_FIELD_LABELS: dict[str, frozenset[str]] = {
    "Pod": frozenset({"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                      "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
                      "status.podIP", "status.nominatedNodeName"}),
    "Node": frozenset({"spec.unschedulable"}),
    "Namespace": frozenset({"status.phase"}),
    "Event": frozenset({"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                        "involvedObject.uid", "involvedObject.apiVersion",
                        "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                        "reportingComponent", "source", "type"}),
    "Secret": frozenset({"type"}),
    "ReplicaSet": frozenset({"status.replicas"}),
}


def supported_field_labels(kind: str) -> frozenset[str]:
    """Field labels the apiserver accepts in a field selector for ``kind``."""
    base = {"metadata.name"} if kind in ("Node", "Namespace") else {"metadata.name",
                                                                    "metadata.namespace"}
    return frozenset(base) | _FIELD_LABELS.get(kind, frozenset())


@dataclass(frozen=True)
class FieldTerm:
    field: str
    operator: str   # "=", "==" or "!="
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        have = fields.get(self.field, "")
        return have != self.value if self.operator == "!=" else have == self.value

    def __str__(self) -> str:
        return f"{self.field}{self.operator}{escape_field_value(self.value)}"


def escape_field_value(v: str) -> str:
    return v.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def _unescape(v: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(v):
        c = v[i]
        if c == "\\":
            if i + 1 >= len(v) or v[i + 1] not in "\\,=":
                raise ValueError(f"invalid field selector: invalid escape sequence: {v[i:i + 2]}")
            out.append(v[i + 1])
            i += 2
            continue
        if c in ",=":
            raise ValueError(f"invalid field selector: unescaped character in value: {c}")
        out.append(c)
        i += 1
    return "".join(out)


def _split_terms(s: str) -> list[str]:
    terms: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            cur.append(s[i:i + 2])
            i += 2
            continue
        if c == ",":
            terms.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    terms.append("".join(cur))
    return terms


class FieldSelector:
    """A conjunction of field terms (``fields.Selector``)."""

    __slots__ = ("terms",)

    def __init__(self, terms: list[FieldTerm] | tuple[FieldTerm, ...] = ()) -> None:
        self.terms: tuple[FieldTerm, ...] = tuple(sorted(terms, key=lambda t: str(t)))

    @property
    def empty(self) -> _BoolFlag:
        return _BoolFlag(not self.terms)

    def matches(self, obj: Mapping[str, Any]) -> bool:
        if not self.terms:
            return True
        fields = object_fields(obj)
        for t in self.terms:
            if t.field not in fields:
                fields[t.field] = _s(_get(obj, *t.field.split(".")))
        return all(t.matches(fields) for t in self.terms)

    def requires_exact_match(self, field: str) -> str | None:
        for t in self.terms:
            if t.field == field and t.operator in ("=", "=="):
                return t.value
        return None

    def check_supported(self, kind: str) -> None:
        """Raise ``ValueError('field label not supported: x')`` for unsupported labels."""
        ok = supported_field_labels(kind)
        for t in self.terms:
            if t.field not in ok:
                raise ValueError(f"field label not supported: {t.field}")

    def __str__(self) -> str:
        return ",".join(str(t) for t in self.terms)

    def __repr__(self) -> str:
        return f"FieldSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldSelector) and self.terms == other.terms

    def __hash__(self) -> int:
        return hash(self.terms)


def parse_field_selector(s: str) -> FieldSelector:
    """Parse ``metadata.name=x,spec.nodeName!=,status.phase==Running``; raises ``ValueError``
    (``invalid selector: '<s>'; can't understand '<term>'``)."""
    terms: list[FieldTerm] = []
    for part in _split_terms(s):
        if part == "":
            continue
        found = None
        for i in range(len(part)):
            for op in ("!=", "==", "="):
                if part.startswith(op, i):
                    found = (part[:i], op, part[i + len(op):])
                    break
            if found:
                break
        if not found:
            raise ValueError(f"invalid selector: '{s}'; can't understand '{part}'")
        lhs, op, rhs = found
        terms.append(FieldTerm(lhs, op, _unescape(rhs)))
    return FieldSelector(terms)


# ---------------------------------------------------------------------------------------------
# Node selector terms
# ---------------------------------------------------------------------------------------------

_NODE_OPS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST,
             "Gt": GT, "Lt": LT}


def node_selector_requirement(req: Mapping[str, Any]) -> Requirement:
    """A NodeSelectorRequirement on labels as a Requirement; raises ``ValueError``."""
    op = req.get("operator")
    if op not in _NODE_OPS:
        raise ValueError(f"{op!r} is not a valid node selector operator")
    return Requirement.new(str(req.get("key", "")), _NODE_OPS[str(op)],
                           [str(v) for v in (req.get("values") or [])])


def _field_requirement_matches(req: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    if req.get("key") != "metadata.name":
        raise ValueError(f"{req.get('key')!r} is not a valid field selector key")
    vals = req.get("values") or []
    op = req.get("operator")
    if op not in ("In", "NotIn") or len(vals) != 1:
        raise ValueError("matchFields supports In/NotIn with exactly one value")
    name = _s(_get(node, "metadata", "name"))
    want = _s(vals[0])
    return (name == want) if op == "In" else (name != want)


def node_selector_term_matches(node: Mapping[str, Any], term: Mapping[str, Any] | None) -> bool:
    """One NodeSelectorTerm: all its requirements match.  Empty or invalid terms match
    nothing."""
    if not term:
        return False
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False
    labels = _get(node, "metadata", "labels") or {}
    try:
        for e in exprs:
            if not node_selector_requirement(e).matches(labels):
                return False
        for f in fields:
            if not _field_requirement_matches(f, node):
                return False
    except ValueError:
        return False
    return True


def node_selector_matches(node: Mapping[str, Any],
                          terms: Mapping[str, Any] | list[Mapping[str, Any]] | None) -> bool:
    """Whether any term matches the node.  ``terms`` is a NodeSelector
    (``{"nodeSelectorTerms": [...]}``), a list of NodeSelectorTerms or a single term.
    No terms match nothing."""
    if terms is None:
        return False
    if isinstance(terms, Mapping):
        if "nodeSelectorTerms" in terms:
            tl = terms.get("nodeSelectorTerms") or []
        else:
            tl = [terms]
    else:
        tl = list(terms)
    return any(node_selector_term_matches(node, t) for t in tl)


def pod_matches_node_selector(pod: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    """The scheduler's NodeAffinity filter: ``spec.nodeSelector`` labels and the required
    node affinity terms both match (``GetRequiredNodeAffinity(pod).Match(node)``)."""
    labels = _get(node, "metadata", "labels") or {}
    for k, v in (_get(pod, "spec", "nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    required = _get(pod, "spec", "affinity", "nodeAffinity",
                    "requiredDuringSchedulingIgnoredDuringExecution")
    if required is not None:
        return node_selector_matches(node, required)
    return True
