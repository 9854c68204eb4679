"""API errors: metav1.Status failures and field-level validation errors (pure).

Two layers, as in apimachinery:

* ``FieldError`` is ``k8s.io/apimachinery/pkg/util/validation/field.Error``: a type
  ("Required value", "Invalid value", ...), a field path (``spec.containers[0].image``), the
  offending value and a detail.  ``str(err)`` is upstream's ``Error()``:
  ``spec.replicas: Invalid value: -1: must be greater than or equal to 0``.  The value is
  rendered the way kube-apiserver v1.30 renders it (``ErrorBody``): ints, floats and bools
  with ``%v``, strings with ``%q``, anything else with Go's ``%#v`` -- maps of strings become
  ``map[string]string{"app":"web"}``, string slices ``[]string{"a", "b"}``.  Values that are
  Go structs upstream (``intstr.IntOrString{...}``, ``v1.LabelSelector{...}``) are passed
  pre-rendered as a ``GoRepr``.
* ``APIError`` is ``apierrors.StatusError``: an exception carrying a metav1.Status dict
  (``{"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message",
  "reason", "details", "code"}``).  The constructors (``not_found``, ``already_exists``,
  ``conflict``, ``invalid``, ``bad_request``, ``expired``, ``forbidden``,
  ``method_not_supported``, ...) build the same status, message and details upstream's
  ``apierrors.NewXxx`` do.  ``invalid`` aggregates field errors like
  ``ErrorList.ToAggregate``: duplicates dropped, one error printed bare, several as
  ``[err1, err2]``.  ``APIError.from_status`` rebuilds the error on the client side from the
  status JSON that travelled on the wire.

Resources are named by a ``ResourceInfo`` (or, for callers without one, by a plain
group-resource string such as ``"deployments.apps"``).
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from actors.api.resources import ResourceInfo

# ---------------------------------------------------------------------------------------------
# Go value rendering (for "Invalid value: <value>")
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoRepr:
    """A value already rendered the way Go's ``%#v`` prints it upstream."""

    text: str

    def __str__(self) -> str:
        return self.text


def go_quote(s: str) -> str:
    """Go's ``strconv.Quote`` (``%q``): double quotes, backslash escapes, printable unicode kept."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\a":
            out.append("\\a")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\v":
            out.append("\\v")
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif not ch.isprintable():
            out.append(f"\\u{o:04x}" if o <= 0xFFFF else f"\\U{o:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_float(f: float) -> str:
    """Go's ``%v`` of a float64 (``strconv.FormatFloat(f, 'g', -1, 64)``)."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f.is_integer() and abs(f) < 1e21:
        return str(int(f))
    r = repr(f)
    if "e" in r:
        mant, exp = r.split("e")
        sign = "-" if exp.startswith("-") else "+"
        digits = exp.lstrip("+-").lstrip("0") or "0"
        return f"{mant}e{sign}{digits.zfill(2)}"
    return r


def go_value(v: Any) -> str:
    """Render a JSON-ish Python value as kube-apiserver v1.30 prints a BadValue."""
    if isinstance(v, GoRepr):
        return v.text
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, str):
        return go_quote(v)
    if isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items()):
        inner = ", ".join(f"{go_quote(k)}:{go_quote(v[k])}" for k in sorted(v))
        return "map[string]string{" + inner + "}"
    if isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v):
        return "[]string{" + ", ".join(go_quote(x) for x in v) + "}"
    try:
        return json.dumps(v, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return repr(v)


def go_string_map(v: Any) -> GoRepr:
    """``map[string]string`` as ``%#v``; ``nil`` maps print as ``map[string]string(nil)``."""
    if v is None:
        return GoRepr("map[string]string(nil)")
    if isinstance(v, dict):
        inner = ", ".join(f"{go_quote(str(k))}:{go_quote(str(v[k]))}" for k in sorted(v))
        return GoRepr("map[string]string{" + inner + "}")
    return GoRepr(go_value(v))


def go_string_slice(v: Any) -> GoRepr:
    """``[]string`` as ``%#v``; ``nil`` slices print as ``[]string(nil)``."""
    if v is None:
        return GoRepr("[]string(nil)")
    if isinstance(v, list):
        return GoRepr("[]string{" + ", ".join(go_quote(str(x)) for x in v) + "}")
    return GoRepr(go_value(v))


# ---------------------------------------------------------------------------------------------
# Field errors
# ---------------------------------------------------------------------------------------------

REQUIRED = "Required value"
INVALID = "Invalid value"
NOT_SUPPORTED = "Unsupported value"
DUPLICATE = "Duplicate value"
FORBIDDEN = "Forbidden"
TOO_LONG = "Too long"
TOO_MANY = "Too many"
NOT_FOUND = "Not found"
INTERNAL = "Internal error"

# field.ErrorType values (the Status cause "reason") by display string, and back.
_CAUSE_TYPES: dict[str, str] = {
    REQUIRED: "FieldValueRequired",
    INVALID: "FieldValueInvalid",
    NOT_SUPPORTED: "FieldValueNotSupported",
    DUPLICATE: "FieldValueDuplicate",
    FORBIDDEN: "FieldValueForbidden",
    TOO_LONG: "FieldValueTooLong",
    TOO_MANY: "FieldValueTooMany",
    NOT_FOUND: "FieldValueNotFound",
    INTERNAL: "InternalError",
}
_TYPES_BY_CAUSE: dict[str, str] = {v: k for k, v in _CAUSE_TYPES.items()}
# Types whose body is just the type (and detail): the value is never printed.
_VALUELESS = {REQUIRED, FORBIDDEN, TOO_LONG, INTERNAL}


@dataclass
class FieldError:
    """``field.Error``: ``str(e)`` == upstream ``e.Error()``."""

    type: str
    field: str
    value: Any = None
    detail: str = ""
    # Set only on errors rebuilt from a Status cause: the already-rendered body.
    raw_body: str | None = dc_field(default=None, compare=False, repr=False)

    # -- constructors, one per field.Xxx -----------------------------------------------------
    @classmethod
    def required(cls, path: str, detail: str = "") -> FieldError:
        return cls(REQUIRED, path, "", detail)

    @classmethod
    def invalid(cls, path: str, value: Any, detail: str) -> FieldError:
        return cls(INVALID, path, value, detail)

    @classmethod
    def not_supported(cls, path: str, value: Any, valid: Iterable[str]) -> FieldError:
        vals = list(valid)
        detail = ("supported values: " + ", ".join(go_quote(v) for v in vals)) if vals else ""
        return cls(NOT_SUPPORTED, path, value, detail)

    @classmethod
    def duplicate(cls, path: str, value: Any) -> FieldError:
        return cls(DUPLICATE, path, value, "")

    @classmethod
    def forbidden(cls, path: str, detail: str) -> FieldError:
        return cls(FORBIDDEN, path, "", detail)

    @classmethod
    def too_long(cls, path: str, max_length: int) -> FieldError:
        detail = f"must have at most {max_length} bytes" if max_length >= 0 else "value is too long"
        return cls(TOO_LONG, path, "<value omitted>", detail)

    @classmethod
    def not_found(cls, path: str, value: Any) -> FieldError:
        return cls(NOT_FOUND, path, value, "")

    @classmethod
    def internal(cls, path: str, detail: str) -> FieldError:
        return cls(INTERNAL, path, None, detail)

    @classmethod
    def from_cause(cls, cause: dict[str, Any]) -> FieldError:
        """Rebuild from a metav1.StatusCause (``reason``, ``message`` = body, ``field``)."""
        typ = _TYPES_BY_CAUSE.get(str(cause.get("reason", "")), str(cause.get("reason", "")))
        return cls(typ, str(cause.get("field", "")), None, "", raw_body=str(cause.get("message", "")))

    # -- rendering ---------------------------------------------------------------------------
    @property
    def reason(self) -> str:
        """The metav1.CauseType (``FieldValueInvalid``...)."""
        return _CAUSE_TYPES.get(self.type, self.type)

    def body(self) -> str:
        """``ErrorBody()``: the message without the field path."""
        if self.raw_body is not None:
            return self.raw_body
        if self.type in _VALUELESS:
            s = self.type
        else:
            s = f"{self.type}: {go_value(self.value)}"
        if self.detail:
            s += f": {self.detail}"
        return s

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"

    def cause(self) -> dict[str, Any]:
        return {"reason": self.reason, "message": self.body(), "field": self.field}


def aggregate(errs: Iterable[FieldError | str]) -> str:
    """``ErrorList.ToAggregate().Error()``: deduplicated; one bare, several ``[a, b]``."""
    seen: list[str] = []
    for e in errs:
        msg = str(e)
        if msg not in seen:
            seen.append(msg)
    if not seen:
        return ""
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"


# ---------------------------------------------------------------------------------------------
# APIError (metav1.Status)
# ---------------------------------------------------------------------------------------------

OPTIMISTIC_LOCK_MSG = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


class APIError(Exception):
    """An API failure carrying its metav1.Status dict (``apierrors.StatusError``)."""

    def __init__(self, status: dict[str, Any]) -> None:
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure"}
        st.update(status)
        self.status: dict[str, Any] = st
        super().__init__(self.message)

    @property
    def code(self) -> int:
        return int(self.status.get("code", 0))

    @property
    def reason(self) -> str:
        return str(self.status.get("reason", ""))

    @property
    def message(self) -> str:
        return str(self.status.get("message", ""))

    @property
    def details(self) -> dict[str, Any]:
        d = self.status.get("details")
        return d if isinstance(d, dict) else {}

    @property
    def causes(self) -> list[dict[str, Any]]:
        c = self.details.get("causes")
        return c if isinstance(c, list) else []

    def field_errors(self) -> list[FieldError]:
        """The causes of an Invalid error as FieldErrors (bodies preserved verbatim)."""
        return [FieldError.from_cause(c) for c in self.causes if isinstance(c, dict)]

    @classmethod
    def from_status(cls, status: dict[str, Any]) -> APIError:
        """Rebuild on the client side from the Status JSON."""
        return cls(copy.deepcopy(status))

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"APIError({self.code}, {self.reason!r}, {self.message!r})"


def _qualified_resource(info: ResourceInfo | str) -> tuple[str, str, str]:
    """(group, resource, "resource.group") for a ResourceInfo or a "resource.group" string."""
    if isinstance(info, str):
        res, _, group = info.partition(".")
        return group, res, info
    res = info.plural
    return info.group, res, f"{res}.{info.group}" if info.group else res


def _details(group: str, kind: str, name: str) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    if kind:
        d["kind"] = kind
    return d


def not_found(info: ResourceInfo | str, name: str) -> APIError:
    """404 NotFound: ``pods "x" not found`` (``deployments.apps "x" not found``)."""
    group, res, qr = _qualified_resource(info)
    return APIError({"message": f'{qr} "{name}" not found', "reason": "NotFound",
                     "details": _details(group, res, name), "code": 404})


def already_exists(info: ResourceInfo | str, name: str) -> APIError:
    """409 AlreadyExists: ``pods "x" already exists``."""
    group, res, qr = _qualified_resource(info)
    return APIError({"message": f'{qr} "{name}" already exists', "reason": "AlreadyExists",
                     "details": _details(group, res, name), "code": 409})


def conflict(info: ResourceInfo | str, name: str, msg: str = OPTIMISTIC_LOCK_MSG) -> APIError:
    """409 Conflict: ``Operation cannot be fulfilled on pods "x": <msg>``."""
    group, res, qr = _qualified_resource(info)
    return APIError({"message": f'Operation cannot be fulfilled on {qr} "{name}": {msg}',
                     "reason": "Conflict", "details": _details(group, res, name), "code": 409})


def invalid(info: ResourceInfo | str, name: str, errs: list[FieldError]) -> APIError:
    """422 Invalid: ``Deployment.apps "web" is invalid: spec.replicas: Invalid value: ...``.

    ``info`` names the group-kind: a ResourceInfo, or a ``"Kind.group"`` string.
    """
    if isinstance(info, str):
        kind, _, group = info.partition(".")
        qk = info
    else:
        kind, group = info.kind, info.group
        qk = f"{kind}.{group}" if group else kind
    agg = aggregate(errs)
    msg = f'{qk} "{name}" is invalid' + (f": {agg}" if agg else "")
    details = _details(group, kind, name)
    details["causes"] = [e.cause() for e in errs]
    return APIError({"message": msg, "reason": "Invalid", "details": details, "code": 422})


def bad_request(msg: str) -> APIError:
    """400 BadRequest."""
    return APIError({"message": msg, "reason": "BadRequest", "code": 400})


def expired(msg: str) -> APIError:
    """410 Expired (``too old resource version: 5 (20)``)."""
    return APIError({"message": msg, "reason": "Expired", "code": 410})


def gone(msg: str) -> APIError:
    """410 Gone."""
    return APIError({"message": msg, "reason": "Gone", "code": 410})


def forbidden(info: ResourceInfo | str, name: str, msg: str) -> APIError:
    """403 Forbidden: ``pods "x" is forbidden: <msg>`` (``pods is forbidden: ...`` unnamed)."""
    group, res, qr = _qualified_resource(info)
    head = f'{qr} "{name}" is forbidden' if name else f"{qr} is forbidden"
    return APIError({"message": f"{head}: {msg}", "reason": "Forbidden",
                     "details": _details(group, res, name), "code": 403})


def namespace_terminating(info: ResourceInfo | str, name: str, namespace: str) -> APIError:
    """403 Forbidden for creates in a terminating namespace (NamespaceLifecycle admission)."""
    err = forbidden(info, name, f"unable to create new content in namespace {namespace} "
                                "because it is being terminated")
    err.status["details"]["causes"] = [{"reason": "NamespaceTerminating",
                                        "message": f"namespace {namespace} is being terminated",
                                        "field": "metadata.namespace"}]
    return err


def method_not_supported(info: ResourceInfo | str, action: str) -> APIError:
    """405 MethodNotAllowed: ``<action> is not supported on resources of kind "pods"``."""
    group, res, qr = _qualified_resource(info)
    return APIError({"message": f'{action} is not supported on resources of kind "{qr}"',
                     "reason": "MethodNotAllowed", "details": _details(group, res, ""),
                     "code": 405})


def internal_error(msg: str) -> APIError:
    """500 InternalError: ``Internal error occurred: <msg>``."""
    return APIError({"message": f"Internal error occurred: {msg}", "reason": "InternalError",
                     "details": {"causes": [{"message": msg}]}, "code": 500})


def service_unavailable(msg: str) -> APIError:
    """503 ServiceUnavailable."""
    return APIError({"message": msg, "reason": "ServiceUnavailable", "code": 503})


def timeout(msg: str, retry_after_seconds: int = 0) -> APIError:
    """504 Timeout: ``The request did not complete within the allotted timeout``-style."""
    details: dict[str, Any] = {}
    if retry_after_seconds:
        details["retryAfterSeconds"] = retry_after_seconds
    st: dict[str, Any] = {"message": msg, "reason": "Timeout", "code": 504}
    if details:
        st["details"] = details
    return APIError(st)


def too_many_requests(msg: str, retry_after_seconds: int = 1) -> APIError:
    """429 TooManyRequests."""
    return APIError({"message": msg, "reason": "TooManyRequests",
                     "details": {"retryAfterSeconds": retry_after_seconds}, "code": 429})


def unprocessable(detail: str) -> APIError:
    """422 with upstream's generic message (``NewGenericServerResponse(422, ...)``), as the
    apiserver answers a JSON patch that does not apply.  Upstream drops the detail; it is kept
    here as a cause so callers can see why."""
    return APIError({"message": "the server rejected our request due to an error in our request",
                     "reason": "Invalid",
                     "details": {"causes": [{"reason": "UnexpectedServerResponse",
                                             "message": detail}]},
                     "code": 422})


# -- predicates (apierrors.IsXxx) ----------------------------------------------------------------

def _reason_of(err: BaseException) -> str:
    return err.reason if isinstance(err, APIError) else ""


def is_not_found(err: BaseException) -> bool:
    return _reason_of(err) == "NotFound"


def is_already_exists(err: BaseException) -> bool:
    return _reason_of(err) == "AlreadyExists"


def is_conflict(err: BaseException) -> bool:
    return _reason_of(err) == "Conflict"


def is_invalid(err: BaseException) -> bool:
    return _reason_of(err) == "Invalid"


def is_expired(err: BaseException) -> bool:
    return _reason_of(err) in ("Expired", "Gone")


def is_forbidden(err: BaseException) -> bool:
    return _reason_of(err) == "Forbidden"


def is_bad_request(err: BaseException) -> bool:
    return _reason_of(err) == "BadRequest"
