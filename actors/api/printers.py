"""kubectl's human-readable output, as pure functions of objects and `now`.

One module for the CLI (`kubemu get`, `kubemu describe`) and, later, the REST
façade's `Table` responses. It ports, column for column and line for line:

- the table printers of kubernetes/kubernetes pkg/printers/internalversion/printers.go
  (`row_cells` gives every cell, priority 0 and 1, as the apiserver puts them in a
  Table; `table` keeps the priority-0 ones unless `wide`, as kubectl does);
- kubectl's table layout: Go's text/tabwriter with cli-runtime's settings (minwidth 6,
  padding 3, RememberWidths for watch streams) -> `render`, `TableStream`;
- k8s.io/apimachinery/pkg/util/duration.HumanDuration -> `age`, `human_duration`;
- kubectl/pkg/describe/describe.go (tabwriter padding 2, a `PrefixWriter` with two
  spaces a level) -> `describe`.

Objects are plain dicts in Kubernetes JSON shape; time is `now` (epoch seconds).
`info` is an `actors.api.resources.ResourceInfo` (only .kind, .group, .plural and
.namespaced are read, so any object with those attributes works).
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as _dt
import math
import re
from fractions import Fraction
from typing import Any, Iterable, Sequence

from actors.common.clock import parse_time

NONE = "<none>"
UNKNOWN = "<unknown>"
UNSET = "<unset>"

# describe prints timestamps in kubectl's machine's local zone (Go's time.Local);
# tests pin it (printers.LOCAL_TZ = datetime.timezone.utc).
LOCAL_TZ: _dt.tzinfo | None = None

Obj = dict[str, Any]


# ============================================================================ durations


def human_duration(seconds: float) -> str:
    """apimachinery's duration.HumanDuration: 45s, 5m12s, 12m, 3h5m, 5h, 3d4h, 45d, 2y."""
    secs = math.trunc(seconds)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 60 * 2:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        s = secs % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = secs // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if dy == 0 else f"{years}y{dy}d"
    return f"{hours // 24 // 365}y"


def age(since: float, now: float) -> str:
    """kubectl's AGE of something that happened at `since`."""
    return human_duration(now - since)


def _ts(s: Any) -> float | None:
    if not s or not isinstance(s, str):
        return None
    try:
        return parse_time(s)
    except ValueError:
        return None


def since(timestamp: str | None, now: float) -> str:
    """translateTimestampSince: "<unknown>" for a zero timestamp."""
    t = _ts(timestamp)
    return UNKNOWN if t is None else age(t, now)


def rfc1123z(timestamp: str | float | None) -> str:
    """Go's time.RFC1123Z in the local zone: "Mon, 02 Jan 2006 15:04:05 -0700"."""
    t = timestamp if isinstance(timestamp, (int, float)) else _ts(timestamp)
    if t is None:
        return "Mon, 01 Jan 0001 00:00:00 +0000"  # Go's zero time.Time
    d = _dt.datetime.fromtimestamp(t, _dt.timezone.utc)
    d = d.astimezone(LOCAL_TZ) if LOCAL_TZ is not None else d.astimezone()
    return d.strftime("%a, %d %b %Y %H:%M:%S %z")


# ============================================================================ small helpers


def _g(obj: Any, *path: str, default: Any = None) -> Any:
    for p in path:
        if not isinstance(obj, dict):
            return default
        obj = obj.get(p)
        if obj is None:
            return default
    return obj


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _name(obj: Obj) -> str:
    return str(_meta(obj).get("name", ""))


def format_labels(labels: dict[str, str] | None) -> str:
    """labels.FormatLabels: "a=b,c=d" sorted by key, "<none>" when empty."""
    if not labels:
        return NONE
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def selector_string(sel: Obj | None) -> str:
    """metav1.LabelSelectorAsSelector(sel).String() ("" for an empty or nil selector)."""
    if not sel:
        return ""
    reqs: list[tuple[str, str]] = []
    for k, v in (sel.get("matchLabels") or {}).items():
        reqs.append((k, f"{k}={v}"))
    for e in sel.get("matchExpressions") or []:
        k, op = e.get("key", ""), e.get("operator", "")
        vals = ",".join(sorted(set(e.get("values") or [])))
        if op == "In":
            reqs.append((k, f"{k} in ({vals})"))
        elif op == "NotIn":
            reqs.append((k, f"{k} notin ({vals})"))
        elif op == "Exists":
            reqs.append((k, k))
        elif op == "DoesNotExist":
            reqs.append((k, f"!{k}"))
    reqs.sort(key=lambda r: r[0])
    return ",".join(r[1] for r in reqs)


def format_label_selector(sel: Obj | None) -> str:
    """metav1.FormatLabelSelector: the selector string, "<none>" when empty."""
    return selector_string(sel) or NONE


def _intstr(v: Any, default: str = "") -> str:
    if v is None:
        return default
    return str(v)


def _go_v(v: Any) -> str:
    """Go's %v of a JSON-decoded value."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e21:
            return str(int(v))
        return repr(v)
    if isinstance(v, list):
        return "[" + " ".join(_go_v(x) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_go_v(v[k])}" for k in sorted(v)) + "]"
    return str(v)


def _bool_title(v: Any) -> str:
    return "True" if v else "False"


# ============================================================================ quantities

_BIN = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DEC = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DEC_SUFFIX = {v: k for k, v in _DEC.items()}
_QTY_RE = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))([eE][+-]?[0-9]+|[a-zA-Z]*)$")


class Qty:
    """A resource.Quantity: an exact value and the format it prints in."""

    __slots__ = ("value", "binary")

    def __init__(self, value: Fraction | int = 0, binary: bool = False) -> None:
        self.value = Fraction(value)
        self.binary = binary

    @classmethod
    def parse(cls, s: Any) -> "Qty":
        if isinstance(s, bool) or s is None:
            return cls()
        if isinstance(s, (int, float)):
            return cls(Fraction(s))
        m = _QTY_RE.match(str(s).strip())
        if not m:
            return cls()
        num, suf = Fraction(m.group(1)), m.group(2)
        if suf in _BIN:
            return cls(num * 1024 ** _BIN[suf], binary=True)
        if suf in _DEC:
            return cls(num * Fraction(10) ** _DEC[suf])
        if suf[:1] in ("e", "E"):
            return cls(num * Fraction(10) ** int(suf[1:]))
        return cls()

    def __add__(self, other: "Qty") -> "Qty":
        return Qty(self.value + other.value, self.binary)

    def milli(self) -> int:
        return math.ceil(self.value * 1000)

    def int_value(self) -> int:
        return math.ceil(self.value)

    def __str__(self) -> str:
        v = self.value
        if v == 0:
            return "0"
        if self.binary and abs(v) >= 1024 and v.denominator == 1:
            n, exp = int(v), 0
            while n % 1024 == 0 and exp < 6:
                n //= 1024
                exp += 1
            return f"{n}{['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'][exp]}"
        for e in (18, 15, 12, 9, 6, 3, 0, -3, -6, -9):
            mant = v / Fraction(10) ** e
            if mant.denominator == 1:
                return f"{mant.numerator}{_DEC_SUFFIX[e]}"
        return f"{math.ceil(v * 10 ** 9)}n"


def _qty_str(s: Any) -> str:
    return str(Qty.parse(s))


# ============================================================================ tabwriter


class TabWriter:
    """Go's text/tabwriter (flags 0, padchar ' '), plus liggitt/tabwriter's
    RememberWidths. Cells are tab-terminated; the text after a line's last tab is
    not part of a column; a line without tabs flushes (ends every column block)."""

    def __init__(self, minwidth: int = 0, tabwidth: int = 8, padding: int = 1,
                 remember_widths: bool = False) -> None:
        self.minwidth, self.tabwidth, self.padding = minwidth, tabwidth, padding
        self.remember = remember_widths
        self.max_widths: list[int] = []
        self._lines: list[list[str]] = [[]]
        self._cell: list[str] = []
        self._out: list[str] = []

    def write(self, text: str) -> None:
        for part in re.split(r"([\t\n])", text):
            if part == "\t":
                self._terminate_cell()
            elif part == "\n":
                ncells = self._terminate_cell()
                self._lines.append([])
                if ncells == 1:
                    self.flush()
            elif part:
                self._cell.append(part)

    def _terminate_cell(self) -> int:
        line = self._lines[-1]
        line.append("".join(self._cell))
        self._cell = []
        return len(line)

    def flush(self) -> None:
        if self._cell:
            self._terminate_cell()
        self._format(0, len(self._lines), [])
        self._lines = [[]]

    def getvalue(self) -> str:
        self.flush()
        return "".join(self._out)

    def take(self) -> str:
        """Flush and return (and forget) what was written so far."""
        self.flush()
        s = "".join(self._out)
        self._out = []
        return s

    def _format(self, line0: int, line1: int, widths: list[int]) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(self._lines[this]) - 1:
                this += 1
                continue
            self._write_lines(line0, this, widths)
            line0 = this
            width = self.minwidth
            while this < line1:
                line = self._lines[this]
                if column >= len(line) - 1:
                    break
                w = len(line[column]) + self.padding
                if w > width:
                    width = w
                this += 1
            if self.remember:
                if column < len(self.max_widths):
                    width = max(width, self.max_widths[column])
                    self.max_widths[column] = width
                else:
                    self.max_widths.append(width)
            widths.append(width)
            self._format(line0, this, widths)
            widths.pop()
            line0 = this
        self._write_lines(line0, line1, widths)

    def _write_lines(self, line0: int, line1: int, widths: list[int]) -> None:
        out = self._out
        for i in range(line0, line1):
            line = self._lines[i]
            for j, c in enumerate(line):
                out.append(c)
                if j < len(widths):
                    out.append(" " * (widths[j] - len(c)))
            if i + 1 != len(self._lines):
                out.append("\n")


def _table_writer(remember: bool = False) -> TabWriter:
    # cli-runtime printers.GetNewTabWriter: minwidth 6, tabwidth 4, padding 3, ' '
    return TabWriter(minwidth=6, tabwidth=4, padding=3, remember_widths=remember)


def render(headers: Sequence[str] | None, rows: Iterable[Sequence[Any]]) -> str:
    """kubectl's table layout: left-aligned columns, 3 spaces apart (at least 6 wide),
    the last column unpadded. Returns the text with a trailing newline (or "" when
    there is nothing to print)."""
    w = _table_writer()
    if headers:
        w.write("\t".join(headers) + "\n")
    for r in rows:
        w.write("\t".join(str(c) for c in r) + "\n")
    return w.getvalue()


class TableStream:
    """`kubectl get -w`: rows printed as they come, column widths remembered (never
    shrinking) across flushes, as kubectl's RememberWidths tabwriter does."""

    def __init__(self) -> None:
        self._w = _table_writer(remember=True)

    def emit(self, headers: Sequence[str] | None, rows: Iterable[Sequence[Any]]) -> str:
        if headers:
            self._w.write("\t".join(headers) + "\n")
        for r in rows:
            self._w.write("\t".join(str(c) for c in r) + "\n")
        return self._w.take()


# ============================================================================ table columns

# (name, type, priority): the TableColumnDefinitions of printers.go
Column = tuple[str, str, int]

_NAME: Column = ("Name", "string", 0)
_AGE: Column = ("Age", "string", 0)

COLUMNS: dict[str, list[Column]] = {
    "pods": [_NAME, ("Ready", "string", 0), ("Status", "string", 0), ("Restarts", "string", 0),
             _AGE, ("IP", "string", 1), ("Node", "string", 1), ("Nominated Node", "string", 1),
             ("Readiness Gates", "string", 1)],
    "deployments": [_NAME, ("Ready", "string", 0), ("Up-to-date", "string", 0),
                    ("Available", "string", 0), _AGE, ("Containers", "string", 1),
                    ("Images", "string", 1), ("Selector", "string", 1)],
    "replicasets": [_NAME, ("Desired", "integer", 0), ("Current", "integer", 0),
                    ("Ready", "integer", 0), _AGE, ("Containers", "string", 1),
                    ("Images", "string", 1), ("Selector", "string", 1)],
    "nodes": [_NAME, ("Status", "string", 0), ("Roles", "string", 0), _AGE,
              ("Version", "string", 0), ("Internal-IP", "string", 1),
              ("External-IP", "string", 1), ("OS-Image", "string", 1),
              ("Kernel-Version", "string", 1), ("Container-Runtime", "string", 1)],
    "services": [_NAME, ("Type", "string", 0), ("Cluster-IP", "string", 0),
                 ("External-IP", "string", 0), ("Port(s)", "string", 0), _AGE,
                 ("Selector", "string", 1)],
    "endpoints": [_NAME, ("Endpoints", "string", 0), _AGE],
    "configmaps": [_NAME, ("Data", "string", 0), _AGE],
    "secrets": [_NAME, ("Type", "string", 0), ("Data", "string", 0), _AGE],
    "namespaces": [_NAME, ("Status", "string", 0), _AGE],
    "events": [("Last Seen", "string", 0), ("Type", "string", 0), ("Reason", "string", 0),
               ("Object", "string", 0), ("Subobject", "string", 1), ("Source", "string", 1),
               ("Message", "string", 0), ("First Seen", "string", 1), ("Count", "string", 1),
               ("Name", "string", 1)],
    "leases": [_NAME, ("Holder", "string", 0), _AGE],
    "priorityclasses": [_NAME, ("Value", "integer", 0), ("Global-Default", "boolean", 0), _AGE,
                        ("PreemptionPolicy", "string", 0)],
}
_GENERIC: list[Column] = [_NAME, _AGE]


def columns(info: Any) -> list[Column]:
    return COLUMNS.get(info.plural, _GENERIC)


def column_definitions(info: Any) -> list[dict[str, Any]]:
    """metav1.TableColumnDefinition dicts, for a REST `Table` response."""
    out = []
    for name, typ, prio in columns(info):
        d: dict[str, Any] = {"name": name, "type": typ, "format": "", "description": "",
                             "priority": prio}
        if name == "Name" and not (info.plural == "events"):
            d["format"] = "name"
        out.append(d)
    return out


def name_column_index(info: Any) -> int | None:
    for i, (name, _t, _p) in enumerate(columns(info)):
        if name == "Name":
            return i
    return None


# ============================================================================ row cells


def _is_restartable_init(c: Obj | None) -> bool:
    return bool(c) and c.get("restartPolicy") == "Always"  # type: ignore[union-attr]


def _cond_true(conditions: list[Obj] | None, typ: str) -> bool:
    return any(c.get("type") == typ and c.get("status") == "True" for c in conditions or [])


def pod_status(pod: Obj, now: float) -> tuple[str, str, str]:
    """printPod's READY, STATUS and RESTARTS cells."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    restarts = 0
    restartable_init_restarts = 0
    total = len(spec.get("containers") or [])
    ready = 0
    last_restart: float | None = None
    last_restartable_init_restart: float | None = None

    phase = status.get("phase") or ""
    reason = phase
    if status.get("reason"):
        reason = status["reason"]
    for c in status.get("conditions") or []:
        if c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs: dict[str, Obj] = {}
    for c in spec.get("initContainers") or []:
        init_specs[c.get("name", "")] = c
        if _is_restartable_init(c):
            total += 1

    def _later(cur: float | None, cs: Obj) -> float | None:
        t = _ts(_g(cs, "lastState", "terminated", "finishedAt"))
        if t is not None and (cur is None or cur < t):
            return t
        return cur

    initializing = False
    n_init = len(spec.get("initContainers") or [])
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        restarts += int(cs.get("restartCount") or 0)
        last_restart = _later(last_restart, cs)
        restartable = _is_restartable_init(init_specs.get(cs.get("name", "")))
        if restartable:
            restartable_init_restarts += int(cs.get("restartCount") or 0)
            last_restartable_init_restart = _later(last_restartable_init_restart, cs)
        state = cs.get("state") or {}
        term, wait = state.get("terminated"), state.get("waiting")
        if term is not None and int(term.get("exitCode") or 0) == 0:
            continue
        if restartable and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if term is not None:
            if not term.get("reason"):
                if term.get("signal"):
                    reason = f"Init:Signal:{term['signal']}"
                else:
                    reason = f"Init:ExitCode:{int(term.get('exitCode') or 0)}"
            else:
                reason = "Init:" + term["reason"]
            initializing = True
        elif wait is not None and wait.get("reason") and wait["reason"] != "PodInitializing":
            reason = "Init:" + wait["reason"]
            initializing = True
        else:
            reason = f"Init:{i}/{n_init}"
            initializing = True
        break

    if not initializing or _cond_true(status.get("conditions"), "Initialized"):
        restarts = restartable_init_restarts
        last_restart = last_restartable_init_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            last_restart = _later(last_restart, cs)
            state = cs.get("state") or {}
            term, wait = state.get("terminated"), state.get("waiting")
            if wait is not None and wait.get("reason"):
                reason = wait["reason"]
            elif term is not None and term.get("reason"):
                reason = term["reason"]
            elif term is not None:
                if term.get("signal"):
                    reason = f"Signal:{term['signal']}"
                else:
                    reason = f"ExitCode:{int(term.get('exitCode') or 0)}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _cond_true(status.get("conditions"), "Ready") else "NotReady"

    if _meta(pod).get("deletionTimestamp") and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif _meta(pod).get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_s = str(restarts)
    if restarts != 0 and last_restart is not None:
        restarts_s = f"{restarts} ({age(last_restart, now)} ago)"
    return f"{ready}/{total}", reason, restarts_s


def _pod_cells(pod: Obj, now: float) -> list[Any]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    ready, reason, restarts = pod_status(pod, now)
    ips = status.get("podIPs") or []
    ip = (ips[0].get("ip") if ips else "") or status.get("podIP") or NONE
    gates = spec.get("readinessGates") or []
    gates_s = NONE
    if gates:
        true = 0
        for g in gates:
            for c in status.get("conditions") or []:
                if c.get("type") == g.get("conditionType"):
                    if c.get("status") == "True":
                        true += 1
                    break
        gates_s = f"{true}/{len(gates)}"
    return [_name(pod), ready, reason, restarts, since(_meta(pod).get("creationTimestamp"), now),
            ip, spec.get("nodeName") or NONE, status.get("nominatedNodeName") or NONE, gates_s]


def _containers_cells(template_spec: Obj | None) -> tuple[str, str]:
    cs = (template_spec or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


def _deployment_cells(d: Obj, now: float) -> list[Any]:
    spec, status = d.get("spec") or {}, d.get("status") or {}
    desired = spec.get("replicas", 1)
    names, images = _containers_cells(_g(spec, "template", "spec"))
    return [_name(d), f"{int(status.get('readyReplicas') or 0)}/{int(desired or 0)}",
            int(status.get("updatedReplicas") or 0), int(status.get("availableReplicas") or 0),
            since(_meta(d).get("creationTimestamp"), now), names, images,
            selector_string(spec.get("selector"))]


def _replicaset_cells(rs: Obj, now: float) -> list[Any]:
    spec, status = rs.get("spec") or {}, rs.get("status") or {}
    names, images = _containers_cells(_g(spec, "template", "spec"))
    return [_name(rs), int(spec.get("replicas", 1) or 0), int(status.get("replicas") or 0),
            int(status.get("readyReplicas") or 0), since(_meta(rs).get("creationTimestamp"), now),
            names, images, format_label_selector(spec.get("selector"))]


def node_roles(node: Obj) -> list[str]:
    roles = set()
    for k, v in (_meta(node).get("labels") or {}).items():
        if k.startswith("node-role.kubernetes.io/"):
            r = k[len("node-role.kubernetes.io/"):]
            if r:
                roles.add(r)
        elif k == "kubernetes.io/role" and v:
            roles.add(v)
    return sorted(roles)


def node_status(node: Obj) -> str:
    status: list[str] = []
    for c in _g(node, "status", "conditions") or []:
        if c.get("type") == "Ready":
            status = ["Ready" if c.get("status") == "True" else "NotReady"]
    if not status:
        status = ["Unknown"]
    if _g(node, "spec", "unschedulable"):
        status.append("SchedulingDisabled")
    return ",".join(status)


def _node_address(node: Obj, typ: str) -> str:
    for a in _g(node, "status", "addresses") or []:
        if a.get("type") == typ:
            return str(a.get("address", ""))
    return NONE


def _node_cells(node: Obj, now: float) -> list[Any]:
    info = _g(node, "status", "nodeInfo") or {}
    return [_name(node), node_status(node), ",".join(node_roles(node)) or NONE,
            since(_meta(node).get("creationTimestamp"), now), info.get("kubeletVersion", ""),
            _node_address(node, "InternalIP"), _node_address(node, "ExternalIP"),
            info.get("osImage") or UNKNOWN, info.get("kernelVersion") or UNKNOWN,
            info.get("containerRuntimeVersion") or UNKNOWN]


def _lb_ingress(svc: Obj, wide: bool) -> str:
    seen = set()
    for ing in _g(svc, "status", "loadBalancer", "ingress") or []:
        if ing.get("ip"):
            seen.add(ing["ip"])
        elif ing.get("hostname"):
            seen.add(ing["hostname"])
    r = ",".join(sorted(seen))
    if not wide and len(r) > 16:
        r = r[:13] + "..."
    return r


def _service_external_ip(svc: Obj, wide: bool) -> str:
    spec = svc.get("spec") or {}
    typ = spec.get("type") or "ClusterIP"
    ext = spec.get("externalIPs") or []
    if typ in ("ClusterIP", "NodePort"):
        return ",".join(ext) if ext else NONE
    if typ == "LoadBalancer":
        lb = _lb_ingress(svc, wide)
        if ext:
            return ",".join(([*lb.split(",")] if lb else []) + list(ext))
        return lb or "<pending>"
    if typ == "ExternalName":
        return str(spec.get("externalName", ""))
    return UNKNOWN


def _service_cells(svc: Obj, now: float, wide: bool = False) -> list[Any]:
    spec = svc.get("spec") or {}
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    ports = []
    for p in spec.get("ports") or []:
        proto = p.get("protocol") or "TCP"
        if p.get("nodePort"):
            ports.append(f"{p.get('port')}:{p['nodePort']}/{proto}")
        else:
            ports.append(f"{p.get('port')}/{proto}")
    return [_name(svc), spec.get("type") or "ClusterIP", ips[0] if ips else NONE,
            _service_external_ip(svc, wide), ",".join(ports) or NONE,
            since(_meta(svc).get("creationTimestamp"), now), format_labels(spec.get("selector"))]


def _join_host_port(host: str, port: Any) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def format_endpoints(ep: Obj | None, ports: set[str] | None = None) -> str:
    """printers.go formatEndpoints (ports=None for all ports)."""
    subsets = (ep or {}).get("subsets") or []
    if not subsets:
        return NONE
    lst: list[str] = []
    mx, more, count = 3, False, 0
    for ss in subsets:
        addrs = ss.get("addresses") or []
        if not ss.get("ports"):
            count += len(addrs)
            for a in addrs:
                if len(lst) == mx:
                    more = True
                    break
                lst.append(a.get("ip", ""))
            continue
        for port in ss["ports"]:
            if ports is None or (port.get("name") or "") in ports:
                count += len(addrs)
                for a in addrs:
                    if len(lst) == mx:
                        more = True
                        break
                    lst.append(_join_host_port(a.get("ip", ""), port.get("port")))
    ret = ",".join(lst)
    if more:
        return f"{ret} + {count - mx} more..."
    return ret


def _event_source(ev: Obj) -> str:
    comp = _g(ev, "source", "component") or ev.get("reportingComponent") or ""
    host = _g(ev, "source", "host") or ev.get("reportingInstance") or ""
    return comp if not host else f"{comp}, {host}"


def _event_cells(ev: Obj, now: float) -> list[Any]:
    first = since(ev.get("firstTimestamp"), now)
    if not _ts(ev.get("firstTimestamp")):
        first = since(ev.get("eventTime"), now)
    last = since(ev.get("lastTimestamp"), now)
    if not _ts(ev.get("lastTimestamp")):
        last = first
    count = ev.get("count") or 0
    if ev.get("series"):
        last = since(_g(ev, "series", "lastObservedTime"), now)
        count = _g(ev, "series", "count") or 0
    elif count == 0:
        count = 1
    io = ev.get("involvedObject") or {}
    kind = str(io.get("kind", "")).lower()
    target = f"{kind}/{io['name']}" if io.get("name") else kind
    return [last, ev.get("type", ""), ev.get("reason", ""), target, io.get("fieldPath", ""),
            _event_source(ev), str(ev.get("message", "")).strip(), first, int(count), _name(ev)]


def row_cells(info: Any, obj: Obj, now: float, *, wide: bool = True) -> list[Any]:
    """Every cell of `obj`'s row (priority 0 and 1 columns), in column order."""
    p = info.plural
    if p == "pods":
        return _pod_cells(obj, now)
    if p == "deployments":
        return _deployment_cells(obj, now)
    if p == "replicasets":
        return _replicaset_cells(obj, now)
    if p == "nodes":
        return _node_cells(obj, now)
    if p == "services":
        return _service_cells(obj, now, wide)
    if p == "events":
        return _event_cells(obj, now)
    created = since(_meta(obj).get("creationTimestamp"), now)
    if p == "endpoints":
        return [_name(obj), format_endpoints(obj), created]
    if p == "configmaps":
        return [_name(obj), len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), created]
    if p == "secrets":
        return [_name(obj), obj.get("type", ""), len(obj.get("data") or {}), created]
    if p == "namespaces":
        return [_name(obj), _g(obj, "status", "phase", default=""), created]
    if p == "leases":
        return [_name(obj), _g(obj, "spec", "holderIdentity", default=""), created]
    if p == "priorityclasses":
        return [_name(obj), int(obj.get("value") or 0), bool(obj.get("globalDefault")), created,
                str(obj.get("preemptionPolicy") or "")]
    return [_name(obj), created]


def _cell_text(v: Any) -> str:
    """A cell as kubectl prints it (Go's %v: booleans are true/false)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def kind_prefix(info: Any) -> str:
    """"deployment.apps", "pod": the lower-cased group-qualified kind kubectl prints."""
    k = info.kind.lower()
    return f"{k}.{info.group}" if info.group else k


def table(info: Any, objs: Iterable[Obj], *, wide: bool = False, show_labels: bool = False,
          now: float, namespace_column: bool = False, with_kind: bool = False,
          headers: bool = True) -> tuple[list[str], list[list[str]]]:
    """kubectl get's table: (HEADERS, rows of strings). `namespace_column` (-A) puts
    NAMESPACE first, `show_labels` adds LABELS last, `with_kind` prints NAME as
    kind.group/name (several resource types in one `get`)."""
    cols = columns(info)
    keep = [i for i, (_n, _t, prio) in enumerate(cols) if prio == 0 or wide]
    name_i = name_column_index(info)
    hdrs = [cols[i][0].upper() for i in keep]
    if namespace_column:
        hdrs.insert(0, "NAMESPACE")
    if show_labels:
        hdrs.append("LABELS")
    rows: list[list[str]] = []
    for o in objs:
        cells = row_cells(info, o, now, wide=wide)
        if with_kind and name_i is not None:
            cells[name_i] = f"{kind_prefix(info)}/{cells[name_i]}"
        row = [_cell_text(cells[i]) for i in keep]
        if namespace_column:
            row.insert(0, str(_meta(o).get("namespace", "")))
        if show_labels:
            row.append(format_labels(_meta(o).get("labels")))
        rows.append(row)
    return (hdrs if headers else []), rows


# ============================================================================ describe


class PrefixWriter:
    """describe.go's PrefixWriter over a TabWriter(0, 8, 2): two spaces per level."""

    def __init__(self) -> None:
        self.tw = TabWriter(minwidth=0, tabwidth=8, padding=2)

    def write(self, level: int, text: str) -> None:
        self.tw.write("  " * level + text)

    def line(self, text: str = "") -> None:  # WriteLine
        self.tw.write(text + "\n")

    def flush(self) -> None:
        self.tw.flush()

    def getvalue(self) -> str:
        return self.tw.getvalue()


def _labels_multiline(w: PrefixWriter, title: str, labels: dict[str, str] | None,
                      initial_indent: str = "", inner: str = "\t") -> None:
    w.write(0, f"{initial_indent}{title}:{inner}")
    if not labels:
        w.line(NONE)
        return
    for i, k in enumerate(sorted(labels)):
        if i:
            w.write(0, initial_indent + inner)
        w.write(0, f"{k}={labels[k]}\n")


_SKIP_ANNOTATIONS = {"kubectl.kubernetes.io/last-applied-configuration"}
_MAX_ANNOTATION = 140


def _annotations_multiline(w: PrefixWriter, title: str, ann: dict[str, str] | None) -> None:
    w.write(0, f"{title}:\t")
    keys = sorted(k for k in (ann or {}) if k not in _SKIP_ANNOTATIONS)
    if not keys:
        w.line(NONE)
        return
    for i, k in enumerate(keys):
        if i:
            w.write(0, "\t")
        v = str(ann[k]).removesuffix("\n")  # type: ignore[index]
        if len(v) + len(k) + 2 > _MAX_ANNOTATION or "\n" in v:
            w.write(0, f"{k}:\n")
            for s in v.split("\n"):
                s = s if len(s) <= _MAX_ANNOTATION - 2 else s[:_MAX_ANNOTATION - 2] + "..."
                w.write(0, f"\t  {s}\n")
        else:
            w.write(0, f"{k}: {v}\n")


def _taint_str(t: Obj) -> str:
    if not t.get("value"):
        return f"{t.get('key', '')}:{t.get('effect', '')}"
    return f"{t.get('key', '')}={t['value']}:{t.get('effect', '')}"


def _taints_multiline(w: PrefixWriter, title: str, taints: list[Obj] | None) -> None:
    w.write(0, f"{title}:\t")
    if not taints:
        w.line(NONE)
        return
    ts = sorted(taints, key=lambda t: f"{t.get('effect', '')},{t.get('key', '')}")
    for i, t in enumerate(ts):
        if i:
            w.write(0, "\t")
        w.write(0, _taint_str(t) + "\n")


def _tolerations_multiline(w: PrefixWriter, title: str, tols: list[Obj] | None,
                           initial_indent: str = "") -> None:
    w.write(0, f"{initial_indent}{title}:\t")
    if not tols:
        w.line(NONE)
        return
    for i, t in enumerate(sorted(tols, key=lambda t: t.get("key", ""))):
        if i:
            w.write(0, initial_indent + "\t")
        s = str(t.get("key", ""))
        if t.get("value"):
            s += f"={t['value']}"
        if t.get("effect"):
            s += f":{t['effect']}"
        if t.get("operator") == "Exists" and not t.get("value"):
            s += " op=Exists" if (t.get("key") or t.get("effect")) else "op=Exists"
        if t.get("tolerationSeconds") is not None:
            s += f" for {t['tolerationSeconds']}s"
        w.write(0, s + "\n")


def _event_time(ev: Obj) -> float:
    if ev.get("series"):
        t = _ts(_g(ev, "series", "lastObservedTime"))
    else:
        t = _ts(ev.get("lastTimestamp")) or _ts(ev.get("eventTime"))
    return t if t is not None else float("-inf")


def describe_events(w: PrefixWriter, events: list[Obj], now: float) -> None:
    """DescribeEvents: "Events:  <none>" or the Type/Reason/Age/From/Message table."""
    if not events:
        w.write(0, "Events:\t<none>\n")
        return
    w.flush()
    w.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
    w.write(1, "----\t------\t----\t----\t-------\n")
    for e in sorted(events, key=_event_time):
        first = since(e.get("eventTime"), now)
        if not _ts(e.get("eventTime")):
            first = since(e.get("firstTimestamp"), now)
        count = int(e.get("count") or 0)
        if e.get("series"):
            interval = (f"{since(_g(e, 'series', 'lastObservedTime'), now)} "
                        f"(x{_g(e, 'series', 'count')} over {first})")
        elif count > 1:
            interval = f"{since(e.get('lastTimestamp'), now)} (x{count} over {first})"
        else:
            interval = first
        source = _g(e, "source", "component") or e.get("reportingComponent") or ""
        w.write(1, f"{e.get('type', '')}\t{e.get('reason', '')}\t{interval}\t{source}\t"
                   f"{str(e.get('message', '')).strip()}\n")


def _controller_of(obj: Obj) -> Obj | None:
    for r in _meta(obj).get("ownerReferences") or []:
        if isinstance(r, dict) and r.get("controller"):
            return dict(r)
    return None


def _print_controller(obj: Obj) -> str:
    r = _controller_of(obj)
    return f"{r.get('kind', '')}/{r.get('name', '')}" if r else ""


def _sorted_resources(rl: dict[str, Any] | None) -> list[tuple[str, str]]:
    rl = rl or {}
    return [(k, _qty_str(rl[k])) for k in sorted(rl)]


def _describe_resources(w: PrefixWriter, res: Obj | None, level: int) -> None:
    if not res:
        return
    if res.get("limits"):
        w.write(level, "Limits:\n")
    for k, v in _sorted_resources(res.get("limits")):
        w.write(level + 1, f"{k}:\t{v}\n")
    if res.get("requests"):
        w.write(level, "Requests:\n")
    for k, v in _sorted_resources(res.get("requests")):
        w.write(level + 1, f"{k}:\t{v}\n")


def _describe_status(w: PrefixWriter, name: str, state: Obj | None) -> None:
    state = state or {}
    if state.get("running") is not None:
        w.write(2, f"{name}:\tRunning\n")
        w.write(3, f"Started:\t{rfc1123z(state['running'].get('startedAt'))}\n")
    elif state.get("waiting") is not None:
        w.write(2, f"{name}:\tWaiting\n")
        if state["waiting"].get("reason"):
            w.write(3, f"Reason:\t{state['waiting']['reason']}\n")
    elif state.get("terminated") is not None:
        t = state["terminated"]
        w.write(2, f"{name}:\tTerminated\n")
        if t.get("reason"):
            w.write(3, f"Reason:\t{t['reason']}\n")
        if t.get("message"):
            w.write(3, f"Message:\t{t['message']}\n")
        w.write(3, f"Exit Code:\t{int(t.get('exitCode') or 0)}\n")
        if (t.get("signal") or 0) > 0:
            w.write(3, f"Signal:\t{t['signal']}\n")
        w.write(3, f"Started:\t{rfc1123z(t.get('startedAt'))}\n")
        w.write(3, f"Finished:\t{rfc1123z(t.get('finishedAt'))}\n")
    else:
        w.write(2, f"{name}:\tWaiting\n")


def _probe(p: Obj) -> str:
    attrs = (f"delay={p.get('initialDelaySeconds', 0)}s timeout={p.get('timeoutSeconds', 1)}s "
             f"period={p.get('periodSeconds', 10)}s #success={p.get('successThreshold', 1)} "
             f"#failure={p.get('failureThreshold', 3)}")
    if p.get("exec") is not None:
        return f"exec [{' '.join(p['exec'].get('command') or [])}] {attrs}"
    if p.get("httpGet") is not None:
        h = p["httpGet"]
        scheme = str(h.get("scheme") or "HTTP").lower()
        port = _intstr(h.get("port"))
        host = _join_host_port(h.get("host", ""), port) if port else h.get("host", "")
        return f"http-get {scheme}://{host}{h.get('path', '')} {attrs}"
    if p.get("tcpSocket") is not None:
        t = p["tcpSocket"]
        return f"tcp-socket {t.get('host', '')}:{_intstr(t.get('port'))} {attrs}"
    if p.get("grpc") is not None:
        g = p["grpc"]
        return f"grpc <pod>:{g.get('port')} {g.get('service', '')} {attrs}"
    return f"unknown {attrs}"


def _field_path_value(pod: Obj | None, path: str) -> str:
    """The few downward-API field paths describe resolves for a pod's env."""
    if pod is None:
        return ""
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.*)'\]", path)
    if m:
        return str((_meta(pod).get(m.group(1)) or {}).get(m.group(2), ""))
    simple = {"metadata.name": ("metadata", "name"), "metadata.namespace": ("metadata", "namespace"),
              "metadata.uid": ("metadata", "uid"), "spec.nodeName": ("spec", "nodeName"),
              "spec.serviceAccountName": ("spec", "serviceAccountName"),
              "status.hostIP": ("status", "hostIP"), "status.podIP": ("status", "podIP")}
    if path in simple:
        return str(_g(pod, *simple[path], default=""))
    return ""


def _describe_containers(w: PrefixWriter, label: str, containers: list[Obj],
                         statuses: list[Obj] | None, space: str, pod: Obj | None = None) -> None:
    by_name = {s.get("name"): s for s in statuses or []}
    w.write(0, f"{space}{label}:{' <none>' if not containers else ''}\n")
    for c in containers:
        st = by_name.get(c.get("name"))
        ok = st is not None and statuses is not None
        w.write(1, f"{' ' if space else ''}{c.get('name', '')}:\n")
        if ok:
            w.write(2, f"Container ID:\t{st.get('containerID', '')}\n")  # type: ignore[union-attr]
        w.write(2, f"Image:\t{c.get('image', '')}\n")
        if ok:
            w.write(2, f"Image ID:\t{st.get('imageID', '')}\n")  # type: ignore[union-attr]
        ports = c.get("ports") or []
        ps = ", ".join(f"{p.get('containerPort')}/{p.get('protocol') or 'TCP'}" for p in ports)
        if "," in ps:
            w.write(2, f"Ports:\t{ps}\n")
        else:
            w.write(2, f"Port:\t{ps or NONE}\n")
        hps = ", ".join(f"{p.get('hostPort', 0)}/{p.get('protocol') or 'TCP'}" for p in ports)
        if "," in hps:
            w.write(2, f"Host Ports:\t{hps}\n")
        else:
            w.write(2, f"Host Port:\t{hps or NONE}\n")
        if c.get("command"):
            w.write(2, "Command:\n")
            for cmd in c["command"]:
                for s in str(cmd).split("\n"):
                    w.write(3, f"{s}\n")
        if c.get("args"):
            w.write(2, "Args:\n")
            for a in c["args"]:
                for s in str(a).split("\n"):
                    w.write(3, f"{s}\n")
        if ok:
            _describe_status(w, "State", st.get("state"))  # type: ignore[union-attr]
            last = (st.get("lastState") or {})  # type: ignore[union-attr]
            if last.get("terminated") is not None:
                _describe_status(w, "Last State", last)
            w.write(2, f"Ready:\t{_bool_title(st.get('ready'))}\n")  # type: ignore[union-attr]
            w.write(2, f"Restart Count:\t{int(st.get('restartCount') or 0)}\n")  # type: ignore[union-attr]
        _describe_resources(w, c.get("resources"), 2)
        for key, title in (("livenessProbe", "Liveness"), ("readinessProbe", "Readiness"),
                           ("startupProbe", "Startup")):
            if c.get(key) is not None:
                w.write(2, f"{title}:\t{_probe(c[key])}\n")
        if c.get("envFrom"):
            w.write(2, "Environment Variables from:\n")
            for e in c["envFrom"]:
                if e.get("configMapRef") is not None:
                    frm, ref = "ConfigMap", e["configMapRef"]
                elif e.get("secretRef") is not None:
                    frm, ref = "Secret", e["secretRef"]
                else:
                    frm, ref = "", {}
                opt = "true" if ref.get("optional") else "false"
                if e.get("prefix"):
                    w.write(3, f"{ref.get('name', '')}\t{frm} with prefix '{e['prefix']}'\t"
                               f"Optional: {opt}\n")
                else:
                    w.write(3, f"{ref.get('name', '')}\t{frm}\tOptional: {opt}\n")
        env = c.get("env") or []
        w.write(2, f"Environment:{'' if env else chr(9) + NONE}\n")
        for e in env:
            vf = e.get("valueFrom")
            if vf is None:
                for i, s in enumerate(str(e.get("value", "")).split("\n")):
                    w.write(3, f"{e.get('name', '')}:\t{s}\n" if i == 0 else f"\t{s}\n")
            elif vf.get("fieldRef") is not None:
                fr = vf["fieldRef"]
                val = _field_path_value(pod, fr.get("fieldPath", ""))
                w.write(3, f"{e.get('name', '')}:\t{val} ({fr.get('apiVersion', 'v1')}:"
                           f"{fr.get('fieldPath', '')})\n")
            elif vf.get("resourceFieldRef") is not None:
                w.write(3, f"{e.get('name', '')}:\t ({vf['resourceFieldRef'].get('resource', '')})\n")
            elif vf.get("secretKeyRef") is not None:
                r = vf["secretKeyRef"]
                w.write(3, f"{e.get('name', '')}:\t<set to the key '{r.get('key', '')}' in secret "
                           f"'{r.get('name', '')}'>\tOptional: "
                           f"{'true' if r.get('optional') else 'false'}\n")
            elif vf.get("configMapKeyRef") is not None:
                r = vf["configMapKeyRef"]
                w.write(3, f"{e.get('name', '')}:\t<set to the key '{r.get('key', '')}' of config "
                           f"map '{r.get('name', '')}'>\tOptional: "
                           f"{'true' if r.get('optional') else 'false'}\n")
        mounts = c.get("volumeMounts") or []
        w.write(2, f"Mounts:{'' if mounts else chr(9) + NONE}\n")
        for m in sorted(mounts, key=lambda m: m.get("mountPath", "")):
            flags = ["ro" if m.get("readOnly") else "rw"]
            if m.get("subPath"):
                flags.append(f'path="{m["subPath"]}"')
            w.write(3, f"{m.get('mountPath', '')} from {m.get('name', '')} ({','.join(flags)})\n")


def _describe_volumes(w: PrefixWriter, volumes: list[Obj] | None, space: str) -> None:
    if not volumes:
        w.write(0, f"{space}Volumes:\t{NONE}\n")
        return
    w.write(0, f"{space}Volumes:\n")
    for v in volumes:
        w.write(1, f"{' ' if space else ''}{v.get('name', '')}:\n")
        if v.get("hostPath") is not None:
            hp = v["hostPath"]
            w.write(2, "Type:\tHostPath (bare host directory volume)\n"
                       f"    Path:\t{hp.get('path', '')}\n"
                       f"    HostPathType:\t{hp.get('type') if hp.get('type') is not None else NONE}\n")
        elif v.get("emptyDir") is not None:
            ed = v["emptyDir"]
            size = _qty_str(ed["sizeLimit"]) if ed.get("sizeLimit") else UNSET
            w.write(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n"
                       f"    Medium:\t{ed.get('medium', '')}\n"
                       f"    SizeLimit:\t{size}\n")
        elif v.get("secret") is not None:
            s = v["secret"]
            w.write(2, "Type:\tSecret (a volume populated by a Secret)\n"
                       f"    SecretName:\t{s.get('secretName', '')}\n"
                       f"    Optional:\t{'true' if s.get('optional') else 'false'}\n")
        elif v.get("configMap") is not None:
            cm = v["configMap"]
            w.write(2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n"
                       f"    Name:\t{cm.get('name', '')}\n"
                       f"    Optional:\t{'true' if cm.get('optional') else 'false'}\n")
        elif v.get("persistentVolumeClaim") is not None:
            pvc = v["persistentVolumeClaim"]
            w.write(2, "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in "
                       "the same namespace)\n"
                       f"    ClaimName:\t{pvc.get('claimName', '')}\n"
                       f"    ReadOnly:\t{'true' if pvc.get('readOnly') else 'false'}\n")
        elif v.get("projected") is not None:
            w.write(2, "Type:\tProjected (a volume that contains injected data from multiple "
                       "sources)\n")
            for src in v["projected"].get("sources") or []:
                if src.get("secret") is not None:
                    w.write(2, f"SecretName:\t{src['secret'].get('name', '')}\n"
                               f"    Optional:\t{'true' if src['secret'].get('optional') else 'false'}\n")
                elif src.get("downwardAPI") is not None:
                    w.write(2, "DownwardAPI:\ttrue\n")
                elif src.get("configMap") is not None:
                    w.write(2, f"ConfigMapName:\t{src['configMap'].get('name', '')}\n"
                               f"    Optional:\t{'true' if src['configMap'].get('optional') else 'false'}\n")
                elif src.get("serviceAccountToken") is not None:
                    w.write(2, "TokenExpirationSeconds:\t"
                               f"{src['serviceAccountToken'].get('expirationSeconds', 3607)}\n")
        elif v.get("downwardAPI") is not None:
            w.write(2, "Type:\tDownwardAPI (a volume populated by information about the pod)\n"
                       "    Items:\n")
            for it in v["downwardAPI"].get("items") or []:
                if it.get("fieldRef") is not None:
                    w.write(3, f"{it['fieldRef'].get('fieldPath', '')} -> {it.get('path', '')}\n")
                if it.get("resourceFieldRef") is not None:
                    w.write(3, f"{it['resourceFieldRef'].get('resource', '')} -> "
                               f"{it.get('path', '')}\n")
        else:
            w.write(1, f"{UNKNOWN}\n")


def pod_qos(pod: Obj) -> str:
    """status.qosClass, else qos.ComputePodQOS (requests defaulted from limits)."""
    q = _g(pod, "status", "qosClass")
    if q:
        return str(q)
    spec = pod.get("spec") or {}
    requests: dict[str, Fraction] = {}
    limits: dict[str, Fraction] = {}
    guaranteed = True
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        res = c.get("resources") or {}
        lim = res.get("limits") or {}
        req = dict(lim)
        req.update(res.get("requests") or {})
        for k, v in req.items():
            if k in ("cpu", "memory") and Qty.parse(v).value > 0:
                requests[k] = requests.get(k, Fraction(0)) + Qty.parse(v).value
        found = set()
        for k, v in lim.items():
            if k in ("cpu", "memory") and Qty.parse(v).value > 0:
                found.add(k)
                limits[k] = limits.get(k, Fraction(0)) + Qty.parse(v).value
        if not {"cpu", "memory"} <= found:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed:
        for k, v in requests.items():
            if limits.get(k) != v:
                guaranteed = False
                break
    if guaranteed and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


def _describe_pod_template(w: PrefixWriter, tpl: Obj | None) -> None:
    w.write(0, "Pod Template:\n")
    if tpl is None:
        w.write(1, f"{UNSET}")
        return
    meta, spec = tpl.get("metadata") or {}, tpl.get("spec") or {}
    _labels_multiline(w, "  Labels", meta.get("labels"))
    if meta.get("annotations"):
        _annotations_multiline(w, "  Annotations", meta.get("annotations"))
    if spec.get("serviceAccountName"):
        w.write(1, f"Service Account:\t{spec['serviceAccountName']}\n")
    if spec.get("initContainers"):
        _describe_containers(w, "Init Containers", spec["initContainers"], None, "  ")
    _describe_containers(w, "Containers", spec.get("containers") or [], None, "  ")
    _describe_volumes(w, spec.get("volumes"), "  ")
    if spec.get("priorityClassName"):
        w.write(1, f"Priority Class Name:\t{spec['priorityClassName']}\n")
    _labels_multiline(w, "  Node-Selectors", spec.get("nodeSelector"))
    _tolerations_multiline(w, "Tolerations", spec.get("tolerations"), "  ")


def _describe_pod(pod: Obj, events: list[Obj] | None, now: float) -> str:
    w = PrefixWriter()
    meta, spec, status = _meta(pod), pod.get("spec") or {}, pod.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    if spec.get("priority") is not None:
        w.write(0, f"Priority:\t{spec['priority']}\n")
    if spec.get("priorityClassName"):
        w.write(0, f"Priority Class Name:\t{spec['priorityClassName']}\n")
    if spec.get("runtimeClassName"):
        w.write(0, f"Runtime Class Name:\t{spec['runtimeClassName']}\n")
    if spec.get("serviceAccountName"):
        w.write(0, f"Service Account:\t{spec['serviceAccountName']}\n")
    if not spec.get("nodeName"):
        w.write(0, f"Node:\t{NONE}\n")
    else:
        w.write(0, f"Node:\t{spec['nodeName']}/{status.get('hostIP', '')}\n")
    if status.get("startTime"):
        w.write(0, f"Start Time:\t{rfc1123z(status['startTime'])}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    phase = status.get("phase", "")
    if meta.get("deletionTimestamp") and phase not in ("Failed", "Succeeded"):
        w.write(0, f"Status:\tTerminating (lasts {since(meta['deletionTimestamp'], now)})\n")
        w.write(0, f"Termination Grace Period:\t{int(meta.get('deletionGracePeriodSeconds') or 0)}s\n")
    else:
        w.write(0, f"Status:\t{phase}\n")
    if status.get("reason"):
        w.write(0, f"Reason:\t{status['reason']}\n")
    if status.get("message"):
        w.write(0, f"Message:\t{status['message']}\n")
    w.write(0, f"IP:\t{status.get('podIP', '')}\n")
    ips = status.get("podIPs") or []
    if not ips:
        w.write(0, f"IPs:\t{NONE}\n")
    else:
        w.write(0, "IPs:\n")
        for ip in ips:
            w.write(1, f"IP:\t{ip.get('ip', '')}\n")
    if _print_controller(pod):
        w.write(0, f"Controlled By:\t{_print_controller(pod)}\n")
    if status.get("nominatedNodeName"):
        w.write(0, f"NominatedNodeName:\t{status['nominatedNodeName']}\n")
    if spec.get("initContainers"):
        _describe_containers(w, "Init Containers", spec["initContainers"],
                             status.get("initContainerStatuses") or [], "", pod)
    _describe_containers(w, "Containers", spec.get("containers") or [],
                         status.get("containerStatuses") or [], "", pod)
    if spec.get("readinessGates"):
        w.write(0, "Readiness Gates:\n  Type\tStatus\n")
        for g in spec["readinessGates"]:
            st = NONE
            for c in status.get("conditions") or []:
                if c.get("type") == g.get("conditionType"):
                    st = str(c.get("status", ""))
                    break
            w.write(1, f"{g.get('conditionType', '')} \t{st} \n")
    if status.get("conditions"):
        w.write(0, "Conditions:\n  Type\tStatus\n")
        for c in status["conditions"]:
            w.write(1, f"{c.get('type', '')} \t{c.get('status', '')} \n")
    _describe_volumes(w, spec.get("volumes"), "")
    w.write(0, f"QoS Class:\t{pod_qos(pod)}\n")
    _labels_multiline(w, "Node-Selectors", spec.get("nodeSelector"))
    _tolerations_multiline(w, "Tolerations", spec.get("tolerations"))
    if events is not None:
        describe_events(w, events, now)
    return w.getvalue()


def _rs_line(rs: Obj) -> str:
    return (f"{_name(rs)} ({int(_g(rs, 'status', 'replicas') or 0)}/"
            f"{int(_g(rs, 'spec', 'replicas', default=1))} replicas created)")


def _pod_template_key(tpl: Obj | None) -> Any:
    t = copy.deepcopy(tpl or {})
    labels = _g(t, "metadata", "labels")
    if isinstance(labels, dict):
        labels.pop("pod-template-hash", None)
    return t


def split_replicasets(deployment: Obj, replicasets: list[Obj]) -> tuple[list[Obj], Obj | None]:
    """deploymentutil: (old ReplicaSets, the new one) among those the deployment controls,
    oldest first; the new one has the deployment's pod template (ignoring the hash)."""
    uid = _meta(deployment).get("uid")
    owned = [rs for rs in replicasets
             if (_controller_of(rs) or {}).get("uid") == uid and uid is not None]
    if not owned:
        owned = [rs for rs in replicasets
                 if (_controller_of(rs) or {}).get("name") == _name(deployment)
                 and (_controller_of(rs) or {}).get("kind") == "Deployment"]
    owned.sort(key=lambda rs: (_ts(_meta(rs).get("creationTimestamp")) or 0.0, _name(rs)))
    want = _pod_template_key(_g(deployment, "spec", "template"))
    new = next((rs for rs in owned if _pod_template_key(_g(rs, "spec", "template")) == want), None)
    if new is None:
        rev = (_meta(deployment).get("annotations") or {}).get("deployment.kubernetes.io/revision")
        if rev is not None:
            new = next((rs for rs in owned if (_meta(rs).get("annotations") or {})
                        .get("deployment.kubernetes.io/revision") == rev), None)
    return [rs for rs in owned if rs is not new], new


def _describe_deployment(d: Obj, events: list[Obj] | None, now: float,
                         related: dict[str, Any]) -> str:
    w = PrefixWriter()
    meta, spec, status = _meta(d), d.get("spec") or {}, d.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(0, f"CreationTimestamp:\t{rfc1123z(meta.get('creationTimestamp'))}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"Selector:\t{selector_string(spec.get('selector'))}\n")
    w.write(0, f"Replicas:\t{int(spec.get('replicas', 1))} desired | "
               f"{int(status.get('updatedReplicas') or 0)} updated | "
               f"{int(status.get('replicas') or 0)} total | "
               f"{int(status.get('availableReplicas') or 0)} available | "
               f"{int(status.get('unavailableReplicas') or 0)} unavailable\n")
    strategy = spec.get("strategy") or {}
    w.write(0, f"StrategyType:\t{strategy.get('type', 'RollingUpdate')}\n")
    w.write(0, f"MinReadySeconds:\t{int(spec.get('minReadySeconds') or 0)}\n")
    ru = strategy.get("rollingUpdate")
    if ru is None and strategy.get("type", "RollingUpdate") == "RollingUpdate":
        ru = {}  # the apiserver's defaults: 25% / 25%
    if ru is not None:
        w.write(0, f"RollingUpdateStrategy:\t{_intstr(ru.get('maxUnavailable'), '25%')} max "
                   f"unavailable, {_intstr(ru.get('maxSurge'), '25%')} max surge\n")
    _describe_pod_template(w, spec.get("template"))
    if status.get("conditions"):
        w.write(0, "Conditions:\n  Type\tStatus\tReason\n")
        w.write(1, "----\t------\t------\n")
        for c in status["conditions"]:
            w.write(1, f"{c.get('type', '')} \t{c.get('status', '')}\t{c.get('reason', '')}\n")
    rss = related.get("replicasets")
    if rss is not None:
        old, new = split_replicasets(d, rss)
        if old or new:
            w.write(0, f"OldReplicaSets:\t{', '.join(_rs_line(r) for r in old) or NONE}\n")
            w.write(0, f"NewReplicaSet:\t{_rs_line(new) if new else NONE}\n")
    if events is not None:
        describe_events(w, events, now)
    return w.getvalue()


def _pods_status_counts(owner: Obj, pods: list[Obj]) -> tuple[int, int, int, int]:
    uid = _meta(owner).get("uid")
    counts = {"Running": 0, "Pending": 0, "Succeeded": 0, "Failed": 0}
    for p in pods:
        ref = _controller_of(p)
        if ref is None or ref.get("uid") != uid:
            continue
        ph = _g(p, "status", "phase")
        if ph in counts:
            counts[ph] += 1
    return counts["Running"], counts["Pending"], counts["Succeeded"], counts["Failed"]


def _describe_replicaset(rs: Obj, events: list[Obj] | None, now: float,
                         related: dict[str, Any]) -> str:
    w = PrefixWriter()
    meta, spec, status = _meta(rs), rs.get("spec") or {}, rs.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(0, f"Selector:\t{format_label_selector(spec.get('selector'))}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    if _print_controller(rs):
        w.write(0, f"Controlled By:\t{_print_controller(rs)}\n")
    w.write(0, f"Replicas:\t{int(status.get('replicas') or 0)} current / "
               f"{int(spec.get('replicas', 1))} desired\n")
    w.write(0, "Pods Status:\t")
    pods = related.get("pods")
    if isinstance(pods, str):
        w.write(0, f"error in fetching pods: {pods}\n")
    else:
        r, wt, s, f = _pods_status_counts(rs, pods or [])
        w.write(0, f"{r} Running / {wt} Waiting / {s} Succeeded / {f} Failed\n")
    _describe_pod_template(w, spec.get("template"))
    if status.get("conditions"):
        w.write(0, "Conditions:\n  Type\tStatus\tReason\n")
        w.write(1, "----\t------\t------\n")
        for c in status["conditions"]:
            w.write(1, f"{c.get('type', '')} \t{c.get('status', '')}\t{c.get('reason', '')}\n")
    if events is not None:
        describe_events(w, events, now)
    return w.getvalue()


def pod_requests_and_limits(pod: Obj) -> tuple[dict[str, Qty], dict[str, Qty]]:
    """resourcehelper.PodRequestsAndLimits: containers summed, init containers as a max
    (restartable ones summed), plus the overhead."""
    spec = pod.get("spec") or {}

    def rl(c: Obj, key: str) -> dict[str, Qty]:
        return {k: Qty.parse(v) for k, v in (_g(c, "resources", key) or {}).items()}

    out: list[dict[str, Qty]] = []
    for key in ("requests", "limits"):
        total: dict[str, Qty] = {}
        for c in spec.get("containers") or []:
            for k, q in rl(c, key).items():
                total[k] = total[k] + q if k in total else q
        sidecars: dict[str, Qty] = {}
        for c in spec.get("initContainers") or []:
            cur = rl(c, key)
            if _is_restartable_init(c):
                for k, q in cur.items():
                    total[k] = total[k] + q if k in total else q
                    sidecars[k] = sidecars[k] + q if k in sidecars else q
                continue
            for k, q in cur.items():
                q2 = q + sidecars[k] if k in sidecars else q
                if k not in total or q2.value > total[k].value:
                    total[k] = q2
        for k, v in (spec.get("overhead") or {}).items():
            q = Qty.parse(v)
            total[k] = total[k] + q if k in total else q
        out.append(total)
    return out[0], out[1]


def _pct(num: int, den: int) -> int:
    return int(num / den * 100) if den else 0


def _describe_node_resource(w: PrefixWriter, node: Obj, pods: list[Obj], now: float) -> None:
    w.write(0, f"Non-terminated Pods:\t({len(pods)} in total)\n")
    w.write(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n")
    w.write(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n")
    st = node.get("status") or {}
    alloc = {k: Qty.parse(v) for k, v in (st.get("allocatable") or st.get("capacity") or {}).items()}
    acpu = alloc.get("cpu", Qty()).milli()
    amem = alloc.get("memory", Qty()).int_value()
    aeph = alloc.get("ephemeral-storage", Qty()).int_value()
    treq: dict[str, Qty] = {}
    tlim: dict[str, Qty] = {}
    for p in pods:
        req, lim = pod_requests_and_limits(p)
        for d, src in ((treq, req), (tlim, lim)):
            for k, q in src.items():
                d[k] = d[k] + q if k in d else q
        cr, cl = req.get("cpu", Qty()), lim.get("cpu", Qty())
        mr, ml = req.get("memory", Qty()), lim.get("memory", Qty())
        w.write(1, f"{_meta(p).get('namespace', '')}\t{_name(p)}\t\t"
                   f"{cr} ({_pct(cr.milli(), acpu)}%)\t{cl} ({_pct(cl.milli(), acpu)}%)\t"
                   f"{mr} ({_pct(mr.int_value(), amem)}%)\t{ml} ({_pct(ml.int_value(), amem)}%)\t"
                   f"{since(_meta(p).get('creationTimestamp'), now)}\n")
    w.write(0, "Allocated resources:\n  (Total limits may be over 100 percent, i.e., "
               "overcommitted.)\n")
    w.write(1, "Resource\tRequests\tLimits\n")
    w.write(1, "--------\t--------\t------\n")
    cr, cl = treq.get("cpu", Qty()), tlim.get("cpu", Qty())
    mr, ml = treq.get("memory", Qty()), tlim.get("memory", Qty())
    er, el = treq.get("ephemeral-storage", Qty()), tlim.get("ephemeral-storage", Qty())
    w.write(1, f"cpu\t{cr} ({_pct(cr.milli(), acpu)}%)\t{cl} ({_pct(cl.milli(), acpu)}%)\n")
    w.write(1, f"memory\t{mr} ({_pct(mr.int_value(), amem)}%)\t"
               f"{ml} ({_pct(ml.int_value(), amem)}%)\n")
    w.write(1, f"ephemeral-storage\t{er} ({_pct(er.int_value(), aeph)}%)\t"
               f"{el} ({_pct(el.int_value(), aeph)}%)\n")
    huge = sorted(k for k in alloc if k.startswith("hugepages-"))
    ext = sorted(k for k in alloc if not k.startswith("hugepages-")
                 and k not in ("cpu", "memory", "ephemeral-storage", "pods", "storage"))
    for k in huge:
        r, l, a = treq.get(k, Qty()), tlim.get(k, Qty()), alloc[k].int_value()
        w.write(1, f"{k}\t{r} ({_pct(r.int_value(), a)}%)\t{l} ({_pct(l.int_value(), a)}%)\n")
    for k in ext:
        w.write(1, f"{k}\t{treq.get(k, Qty())}\t{tlim.get(k, Qty())}\n")


def _describe_node(node: Obj, events: list[Obj] | None, now: float,
                   related: dict[str, Any]) -> str:
    w = PrefixWriter()
    meta, spec, status = _meta(node), node.get("spec") or {}, node.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Roles:\t{','.join(node_roles(node)) or NONE}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"CreationTimestamp:\t{rfc1123z(meta.get('creationTimestamp'))}\n")
    _taints_multiline(w, "Taints", spec.get("taints"))
    w.write(0, f"Unschedulable:\t{'true' if spec.get('unschedulable') else 'false'}\n")
    if "lease" in related:
        lease = related["lease"]
        if isinstance(lease, dict):
            ls = lease.get("spec") or {}
            w.write(0, "Lease:\n")
            w.write(1, f"HolderIdentity:\t{ls.get('holderIdentity') or UNSET}\n")
            at = ls.get("acquireTime")
            w.write(1, f"AcquireTime:\t{rfc1123z(at) if at else UNSET}\n")
            rt = ls.get("renewTime")
            w.write(1, f"RenewTime:\t{rfc1123z(rt) if rt else UNSET}\n")
        else:
            w.write(0, f"Lease:\tFailed to get lease: {lease}\n")
    if status.get("conditions"):
        w.write(0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason"
                   "\tMessage\n")
        w.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
        for c in status["conditions"]:
            w.write(1, f"{c.get('type', '')} \t{c.get('status', '')} \t"
                       f"{rfc1123z(c.get('lastHeartbeatTime'))} \t"
                       f"{rfc1123z(c.get('lastTransitionTime'))} \t{c.get('reason', '')} \t"
                       f"{c.get('message', '')}\n")
    w.write(0, "Addresses:\n")
    for a in status.get("addresses") or []:
        w.write(1, f"{a.get('type', '')}:\t{a.get('address', '')}\n")
    for title, key in (("Capacity", "capacity"), ("Allocatable", "allocatable")):
        if status.get(key):
            w.write(0, f"{title}:\n")
            for k, v in _sorted_resources(status[key]):
                w.write(0, f"  {k}:\t{v}\n")
    ni = status.get("nodeInfo") or {}
    w.write(0, "System Info:\n")
    for title, key in (("Machine ID", "machineID"), ("System UUID", "systemUUID"),
                       ("Boot ID", "bootID"), ("Kernel Version", "kernelVersion"),
                       ("OS Image", "osImage"), ("Operating System", "operatingSystem"),
                       ("Architecture", "architecture"),
                       ("Container Runtime Version", "containerRuntimeVersion"),
                       ("Kubelet Version", "kubeletVersion"),
                       ("Kube-Proxy Version", "kubeProxyVersion")):
        w.write(0, f"  {title}:\t{ni.get(key, '')}\n")
    if spec.get("podCIDR"):
        w.write(0, f"PodCIDR:\t{spec['podCIDR']}\n")
    if spec.get("podCIDRs"):
        w.write(0, f"PodCIDRs:\t{','.join(spec['podCIDRs'])}\n")
    if spec.get("providerID"):
        w.write(0, f"ProviderID:\t{spec['providerID']}\n")
    pods = related.get("pods")
    if isinstance(pods, list):
        live = [p for p in pods if _g(p, "status", "phase") not in ("Succeeded", "Failed")]
        _describe_node_resource(w, node, live, now)
    else:
        w.write(0, "Pods:\tnot authorized\n")
    if events is not None:
        describe_events(w, events, now)
    return w.getvalue()


def _describe_service(svc: Obj, events: list[Obj] | None, now: float,
                      related: dict[str, Any]) -> str:
    w = PrefixWriter()
    meta, spec, status = _meta(svc), svc.get("spec") or {}, svc.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"Selector:\t{format_labels(spec.get('selector'))}\n")
    w.write(0, f"Type:\t{spec.get('type') or 'ClusterIP'}\n")
    if spec.get("ipFamilyPolicy"):
        w.write(0, f"IP Family Policy:\t{spec['ipFamilyPolicy']}\n")
    w.write(0, f"IP Families:\t{','.join(spec.get('ipFamilies') or []) or NONE}\n")
    w.write(0, f"IP:\t{spec.get('clusterIP', '')}\n")
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    w.write(0, f"IPs:\t{','.join(ips) or NONE}\n")
    if spec.get("externalIPs"):
        w.write(0, f"External IPs:\t{','.join(spec['externalIPs'])}\n")
    if spec.get("loadBalancerIP"):
        w.write(0, f"Desired LoadBalancer IP:\t{spec['loadBalancerIP']}\n")
    if spec.get("externalName"):
        w.write(0, f"External Name:\t{spec['externalName']}\n")
    ingress = _g(status, "loadBalancer", "ingress") or []
    if ingress:
        w.write(0, "LoadBalancer Ingress:\t" + ", ".join(
            (i["ip"] + (f" ({i['ipMode']})" if i.get("ipMode") else "")) if i.get("ip")
            else i.get("hostname", "") for i in ingress) + "\n")
    ep = related.get("endpoints")
    for sp in spec.get("ports") or []:
        name = sp.get("name") or UNSET
        proto = sp.get("protocol") or "TCP"
        w.write(0, f"Port:\t{name}\t{sp.get('port')}/{proto}\n")
        tp = sp.get("targetPort", sp.get("port"))
        w.write(0, f"TargetPort:\t{tp}/{proto}\n")
        if sp.get("nodePort"):
            w.write(0, f"NodePort:\t{name}\t{sp['nodePort']}/{proto}\n")
        w.write(0, f"Endpoints:\t{format_endpoints(ep if isinstance(ep, dict) else None, {sp.get('name') or ''})}\n")
    w.write(0, f"Session Affinity:\t{spec.get('sessionAffinity') or 'None'}\n")
    if spec.get("externalTrafficPolicy"):
        w.write(0, f"External Traffic Policy:\t{spec['externalTrafficPolicy']}\n")
    if spec.get("internalTrafficPolicy"):
        w.write(0, f"Internal Traffic Policy:\t{spec['internalTrafficPolicy']}\n")
    if spec.get("healthCheckNodePort"):
        w.write(0, f"HealthCheck NodePort:\t{spec['healthCheckNodePort']}\n")
    if spec.get("loadBalancerSourceRanges"):
        w.write(0, f"LoadBalancer Source Ranges:\t{','.join(spec['loadBalancerSourceRanges'])}\n")
    if events is not None:
        describe_events(w, events, now)
    return w.getvalue()


def _describe_namespace(ns: Obj, now: float) -> str:
    w = PrefixWriter()
    meta, status = _meta(ns), ns.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"Status:\t{status.get('phase', '')}\n")
    if status.get("conditions"):
        w.write(0, "Conditions:\n")
        w.write(1, "Type\tStatus\tLastTransitionTime\tReason\tMessage\n")
        w.write(1, "----\t------\t------------------\t------\t-------\n")
        for c in status["conditions"]:
            w.write(1, f"{c.get('type', '')}\t{c.get('status', '')}\t"
                       f"{rfc1123z(c.get('lastTransitionTime'))}\t{c.get('reason', '')}\t"
                       f"{c.get('message', '')}\n")
    # kubemu serves neither ResourceQuotas nor LimitRanges: print what a cluster without any
    # prints.
    w.write(0, "\n")
    w.write(0, "No resource quota.\n")
    w.write(0, "\n")
    w.write(0, "No LimitRange resource.\n")
    return w.getvalue()


def _describe_configmap(cm: Obj, events: list[Obj] | None, now: float) -> str:
    w = PrefixWriter()
    meta = _meta(cm)
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, "\nData\n====\n")
    for k, v in sorted((cm.get("data") or {}).items()):
        w.write(0, f"{k}:\n----\n")
        w.write(0, f"{v}\n")
        w.write(0, "\n")
    w.write(0, "\nBinaryData\n====\n")
    for k, v in sorted((cm.get("binaryData") or {}).items()):
        w.write(0, f"{k}: {_b64len(v)} bytes\n")
    w.write(0, "\n")
    if events is not None:
        describe_events(w, events, now)
    return w.getvalue()


def _b64len(v: Any) -> int:
    try:
        return len(base64.b64decode(str(v), validate=False))
    except (binascii.Error, ValueError):
        return len(str(v))


def _describe_secret(s: Obj) -> str:
    w = PrefixWriter()
    meta = _meta(s)
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"\nType:\t{s.get('type', '')}\n")
    w.write(0, "\nData\n====\n")
    for k, v in sorted((s.get("data") or {}).items()):
        if k == "token" and s.get("type") == "kubernetes.io/service-account-token":
            w.write(0, f"{k}:\t{base64.b64decode(str(v)).decode(errors='replace')}\n")
        else:
            w.write(0, f"{k}:\t{_b64len(v)} bytes\n")
    return w.getvalue()


def _describe_endpoints(ep: Obj, events: list[Obj] | None, now: float) -> str:
    w = PrefixWriter()
    meta = _meta(ep)
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, "Subsets:\n")
    for ss in ep.get("subsets") or []:
        addrs = ",".join(a.get("ip", "") for a in ss.get("addresses") or []) or NONE
        w.write(1, f"Addresses:\t{addrs}\n")
        nr = ",".join(a.get("ip", "") for a in ss.get("notReadyAddresses") or []) or NONE
        w.write(1, f"NotReadyAddresses:\t{nr}\n")
        if ss.get("ports"):
            w.write(1, "Ports:\n")
            w.write(2, "Name\tPort\tProtocol\n")
            w.write(2, "----\t----\t--------\n")
            for p in ss["ports"]:
                w.write(2, f"{p.get('name') or UNSET}\t{p.get('port')}\t{p.get('protocol') or 'TCP'}\n")
        w.write(0, "\n")
    if events is not None:
        describe_events(w, events, now)
    return w.getvalue()


def _camel_split(s: str) -> list[str]:
    """fatih/camelcase.Split."""
    runs: list[list[str]] = []
    last = 0
    for ch in s:
        cls = 1 if ch.islower() else 2 if ch.isupper() else 3 if ch.isdigit() else 4
        if cls == last:
            runs[-1].append(ch)
        else:
            runs.append([ch])
        last = cls
    for i in range(len(runs) - 1):
        if runs[i] and runs[i][0].isupper() and runs[i + 1] and runs[i + 1][0].islower():
            runs[i + 1].insert(0, runs[i].pop())
    return ["".join(r) for r in runs if r]


def smart_label(field: str) -> str:
    """describe.go smartLabelFor: "apiVersion" -> "API Version"."""
    if any(not (ch.isalpha() or ch == "-") for ch in field):
        return field
    out = []
    for part in _camel_split(field):
        if part == "_":
            continue
        if part.upper() in ("API", "URL", "UID", "OSB", "GUID"):
            out.append(part.upper())
        else:
            out.append(re.sub(r"[A-Za-z]+", lambda m: m.group(0)[0].upper() + m.group(0)[1:], part))
    return " ".join(out)


_GENERIC_SKIP = {".metadata.managedFields", ".metadata.name", ".metadata.namespace",
                 ".metadata.labels", ".metadata.annotations"}


def _print_unstructured(w: PrefixWriter, level: int, content: Obj, prefix: str) -> None:
    for field in sorted(content):
        value = content[field]
        path = f"{prefix}.{field}"
        if path in _GENERIC_SKIP:
            continue
        if isinstance(value, dict):
            w.write(level, f"{smart_label(field)}:\n")
            _print_unstructured(w, level + 1, value, path)
        elif isinstance(value, list):
            w.write(level, f"{smart_label(field)}:\n")
            for child in value:
                if isinstance(child, dict):
                    _print_unstructured(w, level + 1, child, path)
                else:
                    w.write(level + 1, f"{_go_v(child)}\n")
        else:
            w.write(level, f"{smart_label(field)}:\t{_go_v(value)}\n")


def _describe_generic(obj: Obj, events: list[Obj] | None, now: float) -> str:
    w = PrefixWriter()
    meta = _meta(obj)
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    _print_unstructured(w, 0, obj, "")
    if events is not None:
        describe_events(w, events, now)
    return w.getvalue()


def describe(info: Any, obj: Obj, events: list[Obj] | None, now: float, *,
             related: dict[str, Any] | None = None) -> str:
    """`kubectl describe` of one object. `events` are the Events about it (None: no
    Events section, as `--show-events=false`). `related` carries what some describers
    look up besides: "replicasets" (deployments), "pods" (replicasets: the namespace's
    pods; nodes: the pods bound to the node, or an error string), "lease" (nodes: the
    kube-node-lease Lease, or an error string), "endpoints" (services)."""
    rel = related or {}
    p = info.plural
    if p == "pods":
        return _describe_pod(obj, events, now)
    if p == "deployments":
        return _describe_deployment(obj, events, now, rel)
    if p == "replicasets":
        return _describe_replicaset(obj, events, now, rel)
    if p == "nodes":
        return _describe_node(obj, events, now, rel)
    if p == "services":
        return _describe_service(obj, events, now, rel)
    if p == "namespaces":
        return _describe_namespace(obj, now)
    if p == "configmaps":
        return _describe_configmap(obj, events, now)
    if p == "secrets":
        return _describe_secret(obj)
    if p == "endpoints":
        return _describe_endpoints(obj, events, now)
    return _describe_generic(obj, events, now)


__all__ = [
    "COLUMNS", "PrefixWriter", "Qty", "TabWriter", "TableStream", "age", "column_definitions",
    "columns", "describe", "describe_events", "format_endpoints", "format_label_selector",
    "format_labels", "human_duration", "kind_prefix", "node_status", "pod_qos", "pod_status",
    "render", "rfc1123z", "row_cells", "selector_string", "since", "split_replicasets",
    "table",
]
