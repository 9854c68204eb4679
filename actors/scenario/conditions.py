"""The conditions of wait/expect steps (pure): kopf-style `detect` functions over the
objects listed from the apiserver, each returning (ok, detail).

  nodeStatus:          {node, status: Ready|NotReady|Unknown|False}
                       NotReady = the Ready condition is not True (False or Unknown, as
                       kubectl prints it); Unknown / False = exactly that status
  nodeTaint:           {node, key, effect?, value?, present: true|false}
  podsRunning:         {deployment | selector, namespace?, count?, notOnNode?, onNodes?, ready?}
                       every live pod (no deletionTimestamp) is Running, there are `count`
                       of them (default: the deployment's replicas; with a selector, at
                       least one), none on `notOnNode`, all on `onNodes`
  podsEvicted:         {node, selector?, namespace?, minPods?}
                       every pod that was on the node when the step began (the observer's
                       history, plus what is listed) has a deletionTimestamp or is gone;
                       at least `minPods` (default 1) such pods
  deploymentAvailable: {name, replicas?, namespace?}  (shorthand: deploymentAvailable: web)
                       observedGeneration caught up, available and updated >= replicas
                       (default spec.replicas)
  podPhase:            {name | selector, phase, namespace?, allowTerminating?}
  eventSeen:           {reason, involvedObject?: {kind?, name? (glob), namespace?},
                       message? (substring), since?: start|step}
  noPodsOn:            {node, selector?, namespace?}  (shorthand: noPodsOn: node-2)
                       no pod at all, Terminating ones included, is bound to the node

`validate_condition` checks and normalizes a condition's arguments (errors in the
spec's field-error form); `detect(kind, args, world)` evaluates it; `NEEDS` says which
resources a condition reads, so the runner lists only those.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

from actors.api.selectors import Selector, parse_label_selector, selector_from_dict
from actors.common.config import TAINT_EFFECTS

Obj = dict[str, Any]

NODE_STATUSES = ("Ready", "NotReady", "Unknown", "False")
POD_PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")


@dataclass
class Sighting:
    """A pod as the observer last saw it: when first seen, and when seen deleted."""

    obj: Obj
    first_seen: float
    gone_at: float | None = None


@dataclass
class World:
    now: float
    nodes: list[Obj] = field(default_factory=list)
    pods: list[Obj] = field(default_factory=list)
    deployments: list[Obj] = field(default_factory=list)
    events: list[Obj] = field(default_factory=list)
    started: float = 0.0        # the scenario's start (epoch)
    step_started: float = 0.0   # the current step's start (epoch)
    pod_history: dict[str, Sighting] = field(default_factory=dict)  # uid -> sighting


# ---- object helpers ---------------------------------------------------------------------


def meta(o: Obj) -> Obj:
    return o.get("metadata") or {}


def name(o: Obj) -> str:
    return str(meta(o).get("name", ""))


def namespace(o: Obj) -> str:
    return str(meta(o).get("namespace") or "")


def uid(o: Obj) -> str:
    m = meta(o)
    return str(m.get("uid") or f"{m.get('namespace', '')}/{m.get('name', '')}")


def node_name(pod: Obj) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


def phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")


def terminating(o: Obj) -> bool:
    return bool(meta(o).get("deletionTimestamp"))


def ready_condition(node: Obj) -> Obj | None:
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c  # type: ignore[no-any-return]
    return None


def ready_status(node: Obj) -> str:
    """"True", "False", "Unknown" or "" (no Ready condition yet)."""
    c = ready_condition(node)
    return str(c.get("status") or "") if c else ""


def taints(node: Obj) -> list[Obj]:
    return list((node.get("spec") or {}).get("taints") or [])


def pod_ready(pod: Obj) -> bool:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return bool(c.get("status") == "True")
    return False


@lru_cache(maxsize=256)
def selector(s: str) -> Selector:
    return parse_label_selector(s)


def _labels(o: Obj) -> dict[str, str]:
    return meta(o).get("labels") or {}


def _find(objs: list[Obj], nm: str, ns: str | None) -> Obj | None:
    for o in objs:
        if name(o) == nm and (ns is None or namespace(o) == ns):
            return o
    return None


def _pod_line(p: Obj) -> str:
    st = "Terminating" if terminating(p) else phase(p)
    return f"{name(p)} ({st}{' on ' + node_name(p) if node_name(p) else ', unscheduled'})"


def _short(items: list[str], n: int = 4) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


# ---- validation -------------------------------------------------------------------------

# field -> (type, required); types: str node nodes int bool selector enum:<a|b> object
SCHEMAS: dict[str, dict[str, tuple[str, bool]]] = {
    "nodeStatus": {"node": ("node", True), "status": ("enum:" + "|".join(NODE_STATUSES), True)},
    "nodeTaint": {"node": ("node", True), "key": ("str", True),
                  "effect": ("enum:" + "|".join(TAINT_EFFECTS), False), "value": ("str", False),
                  "present": ("bool", False)},
    "podsRunning": {"deployment": ("str", False), "selector": ("selector", False),
                    "namespace": ("str", False), "count": ("int", False),
                    "notOnNode": ("nodes", False), "onNodes": ("nodes", False),
                    "ready": ("bool", False)},
    "podsEvicted": {"node": ("node", True), "selector": ("selector", False),
                    "namespace": ("str", False), "minPods": ("int", False)},
    "deploymentAvailable": {"name": ("str", True), "replicas": ("int", False),
                            "namespace": ("str", False)},
    "podPhase": {"name": ("str", False), "selector": ("selector", False),
                 "phase": ("enum:" + "|".join(POD_PHASES), True), "namespace": ("str", False),
                 "allowTerminating": ("bool", False)},
    "eventSeen": {"reason": ("str", True), "involvedObject": ("object", False),
                  "message": ("str", False), "since": ("enum:start|step", False)},
    "noPodsOn": {"node": ("node", True), "selector": ("selector", False),
                 "namespace": ("str", False)},
}
SHORTHAND = {"deploymentAvailable": "name", "noPodsOn": "node"}
ONE_OF = {"podsRunning": ("deployment", "selector"), "podPhase": ("name", "selector")}
DEFAULTS: dict[str, dict[str, Any]] = {
    "nodeTaint": {"present": True},
    "podsRunning": {"namespace": "default", "ready": False},
    "podsEvicted": {"minPods": 1},
    "deploymentAvailable": {"namespace": "default"},
    "podPhase": {"namespace": "default", "allowTerminating": False},
    "eventSeen": {"since": "start"},
}
NEEDS: dict[str, tuple[str, ...]] = {
    "nodeStatus": ("nodes",), "nodeTaint": ("nodes",), "podsRunning": ("pods", "deployments"),
    "podsEvicted": ("pods",), "deploymentAvailable": ("deployments",), "podPhase": ("pods",),
    "eventSeen": ("events",), "noPodsOn": ("pods",),
}


def _is_var(x: Any) -> bool:
    from actors.scenario.spec import has_var

    return has_var(x)


def validate_condition(kind: str, val: Any, path: str, v: Any,
                       nodes: list[str] | None = None) -> dict[str, Any] | None:
    """The normalized arguments of condition `kind`, or None after recording errors on
    `v` (the spec's error collector)."""
    schema = SCHEMAS[kind]
    if kind in SHORTHAND and isinstance(val, str):
        val = {SHORTHAND[kind]: val}
    if not isinstance(val, dict):
        v.invalid(path, val, "must be a mapping of " + ", ".join(schema))
        return None
    v.unknown_fields(path, val, tuple(schema))
    out: dict[str, Any] = dict(DEFAULTS.get(kind, {}))
    n0 = len(v.errs)
    for f, (typ, req) in schema.items():
        p = f"{path}.{f}"
        if f not in val or val[f] is None:
            if req:
                v.required(p)
            continue
        x = val[f]
        if typ in ("str", "node"):
            if not isinstance(x, str) or not x:
                v.invalid(p, x, "must be a non-empty string")
                continue
            if typ == "node" and nodes is not None and not _is_var(x) and x not in nodes:
                v.unsupported(p, x, nodes)
                continue
            out[f] = x
        elif typ == "nodes":
            xs = [x] if isinstance(x, str) else x
            if not isinstance(xs, list) or not xs or not all(isinstance(e, str) and e for e in xs):
                v.invalid(p, x, "must be a node name or a list of them")
                continue
            bad = [e for e in xs if nodes is not None and not _is_var(e) and e not in nodes]
            if bad:
                v.unsupported(p, bad[0], nodes or [])
                continue
            out[f] = list(xs)
        elif typ == "int":
            if isinstance(x, bool) or not isinstance(x, int) or x < 0:
                v.invalid(p, x, "must be an integer greater than or equal to 0")
                continue
            out[f] = x
        elif typ == "bool":
            if not isinstance(x, bool):
                v.invalid(p, x, "must be true or false")
                continue
            out[f] = x
        elif typ == "selector":
            if isinstance(x, dict):
                try:
                    out[f] = str(selector_from_dict(x))
                except ValueError as e:
                    v.invalid(p, x, str(e))
                continue
            if not isinstance(x, str) or not x:
                v.invalid(p, x, "must be a label selector (app=web) or {matchLabels: ...}")
                continue
            if not _is_var(x):
                try:
                    selector(x)
                except ValueError as e:
                    v.invalid(p, x, str(e))
                    continue
            out[f] = x
        elif typ.startswith("enum:"):
            choices = tuple(typ[5:].split("|"))
            if x not in choices:
                v.unsupported(p, x, choices)
                continue
            out[f] = x
        elif typ == "object":
            if not isinstance(x, dict) or not x:
                v.invalid(p, x, "must be a mapping of kind, name, namespace")
                continue
            v.unknown_fields(p, x, ("kind", "name", "namespace"))
            if not all(isinstance(e, str) and e for e in x.values()):
                v.invalid(p, x, "kind, name and namespace must be non-empty strings")
                continue
            out[f] = dict(x)
    if kind in ONE_OF:
        given = [f for f in ONE_OF[kind] if f in val]
        if len(given) != 1:
            v.invalid(path, val, "give exactly one of " + ", ".join(ONE_OF[kind]))
    return None if len(v.errs) > n0 else out


def describe(kind: str, a: dict[str, Any]) -> str:
    """A short human phrase for a condition."""
    if kind == "nodeStatus":
        return f"{a['node']} is {a['status']}"
    if kind == "nodeTaint":
        t = a["key"] + (f"={a['value']}" if a.get("value") else "") + \
            (f":{a['effect']}" if a.get("effect") else "")
        return f"{a['node']} {'has' if a.get('present', True) else 'has no'} taint {t}"
    if kind == "podsRunning":
        who = f"deployment {a['deployment']}" if a.get("deployment") else f"{a['selector']}"
        n = f"{a['count']} " if a.get("count") is not None else "all "
        s = f"{n}pods of {who} Running"
        if a.get("notOnNode"):
            s += f", none on {', '.join(a['notOnNode'])}"
        if a.get("onNodes"):
            s += f", all on {', '.join(a['onNodes'])}"
        return s
    if kind == "podsEvicted":
        return f"the pods{' ' + a['selector'] if a.get('selector') else ''} on {a['node']} evicted"
    if kind == "deploymentAvailable":
        r = f" ({a['replicas']} replicas)" if a.get("replicas") is not None else ""
        return f"deployment {a['name']} available{r}"
    if kind == "podPhase":
        who = f"pod {a['name']}" if a.get("name") else f"pods {a['selector']}"
        return f"{who} {a['phase']}"
    if kind == "eventSeen":
        io = a.get("involvedObject") or {}
        about = ""
        if io:
            about = " about " + "/".join(str(io[k]) for k in ("kind", "name") if io.get(k))
        return f"event {a['reason']}{about}"
    if kind == "noPodsOn":
        return f"no pods{' ' + a['selector'] if a.get('selector') else ''} on {a['node']}"
    return kind


# ---- detect -----------------------------------------------------------------------------

Result = tuple[bool, str]


def node_status(a: dict[str, Any], w: World) -> Result:
    n = _find(w.nodes, a["node"], None)
    if n is None:
        return False, f"node {a['node']} not found"
    c = ready_condition(n)
    st = str(c.get("status")) if c else ""
    reason = f" ({c.get('reason')})" if c and c.get("reason") else ""
    have = f"{a['node']} Ready={st or 'none'}{reason}"
    want = a["status"]
    ok = {"Ready": st == "True", "NotReady": st != "True", "Unknown": st == "Unknown",
          "False": st == "False"}[want]
    return ok, have


def node_taint(a: dict[str, Any], w: World) -> Result:
    n = _find(w.nodes, a["node"], None)
    if n is None:
        return False, f"node {a['node']} not found"
    ts = taints(n)
    match = [t for t in ts if t.get("key") == a["key"]
             and (not a.get("effect") or t.get("effect") == a["effect"])
             and (not a.get("value") or t.get("value") == a["value"])]
    have = ", ".join(f"{t.get('key')}:{t.get('effect')}" for t in ts) or "none"
    present = bool(match)
    return present == a.get("present", True), f"{a['node']} taints: {have}"


def _pods_of(a: dict[str, Any], w: World) -> tuple[list[Obj] | None, str, int | None]:
    """(pods matched, who, the deployment's replicas) — pods None when not resolvable."""
    ns = a.get("namespace") or "default"
    if a.get("deployment"):
        d = _find(w.deployments, a["deployment"], ns)
        if d is None:
            return None, f"deployment {a['deployment']} not found", None
        try:
            sel = selector_from_dict((d.get("spec") or {}).get("selector"))
        except ValueError as e:
            return None, f"deployment {a['deployment']}: {e}", None
        replicas = (d.get("spec") or {}).get("replicas")
        who = f"deployment {a['deployment']}"
    else:
        sel = selector(a["selector"])
        replicas = None
        who = a["selector"]
    pods = [p for p in w.pods if namespace(p) == ns and sel.matches(_labels(p))]
    return pods, who, (1 if replicas is None and a.get("deployment") else replicas)


def pods_running(a: dict[str, Any], w: World) -> Result:
    pods, who, replicas = _pods_of(a, w)
    if pods is None:
        return False, who
    live = sorted((p for p in pods if not terminating(p)), key=name)
    want = a.get("count")
    if want is None:
        want = replicas
    running = [p for p in live if phase(p) == "Running" and (not a.get("ready") or pod_ready(p))]
    bad: list[str] = []
    notrun = [p for p in live if p not in running]
    if notrun:
        bad.append("not Running: " + _short([_pod_line(p) for p in notrun]))
    if a.get("notOnNode"):
        on = [p for p in live if node_name(p) in a["notOnNode"]]
        if on:
            bad.append("on a forbidden node: " + _short([_pod_line(p) for p in on]))
    if a.get("onNodes"):
        off = [p for p in live if node_name(p) not in a["onNodes"]]
        if off:
            bad.append("on another node: " + _short([_pod_line(p) for p in off]))
    nodes = sorted({node_name(p) for p in running})
    count_ok = len(live) == want if want is not None else bool(live)
    detail = (f"{len(running)}/{want if want is not None else len(live)} pods of {who} Running"
              + (f" on {', '.join(nodes)}" if nodes else ""))
    if want is not None and len(live) != want:
        detail += f"; {len(live)} live pods"
    if bad:
        detail += "; " + "; ".join(bad)
    return count_ok and not bad, detail


def _pods_on_node_at_start(a: dict[str, Any], w: World) -> dict[str, Obj]:
    """uid -> latest known version of every pod (matching) that was on the node before
    the step began: from the history, and from what is listed now."""
    ns = a.get("namespace")
    sel = selector(a["selector"]) if a.get("selector") else None

    def match(p: Obj) -> bool:
        return (node_name(p) == a["node"] and (ns is None or namespace(p) == ns)
                and (sel is None or sel.matches(_labels(p))))

    out: dict[str, Obj] = {}
    for u, s in w.pod_history.items():
        if s.first_seen <= w.step_started and match(s.obj):
            out[u] = s.obj
    for p in w.pods:
        u = uid(p)
        if u in out or not match(p):
            continue
        created = meta(p).get("creationTimestamp")
        t = _ts(created)
        if u not in w.pod_history and (t is None or t <= w.step_started):
            out[u] = p
    return out


def pods_evicted(a: dict[str, Any], w: World) -> Result:
    current = {uid(p): p for p in w.pods}
    was = _pods_on_node_at_start(a, w)
    gone, deleting, staying = [], [], []
    for u, old in sorted(was.items(), key=lambda kv: name(kv[1])):
        p = current.get(u)
        if p is None:
            gone.append(name(old))
        elif terminating(p):
            deleting.append(name(p))
        else:
            staying.append(_pod_line(p))
    n = len(was)
    evicted = len(gone) + len(deleting)
    detail = f"{evicted}/{n} pods that were on {a['node']} evicted"
    parts = []
    if deleting:
        parts.append("Terminating: " + _short(deleting))
    if gone:
        parts.append("gone: " + _short(gone))
    if staying:
        parts.append("still there: " + _short(staying))
    if parts:
        detail += " (" + "; ".join(parts) + ")"
    minimum = a.get("minPods", 1)
    if n < minimum:
        detail += f"; expected at least {minimum} pod(s) on the node"
    return n >= minimum and not staying, detail


def deployment_available(a: dict[str, Any], w: World) -> Result:
    d = _find(w.deployments, a["name"], a.get("namespace") or "default")
    if d is None:
        return False, f"deployment {a['name']} not found"
    spec, st = d.get("spec") or {}, d.get("status") or {}
    want = a.get("replicas")
    if want is None:
        want = spec.get("replicas", 1)
    gen, obs = meta(d).get("generation") or 0, st.get("observedGeneration") or 0
    avail, upd, total = (st.get("availableReplicas") or 0, st.get("updatedReplicas") or 0,
                         st.get("replicas") or 0)
    ok = obs >= gen and avail >= want and upd >= want
    detail = f"deployment {a['name']}: {avail}/{want} available, {upd} updated, {total} total"
    if obs < gen:
        detail += f" (status of generation {obs}, spec at {gen})"
    return ok, detail


def pod_phase(a: dict[str, Any], w: World) -> Result:
    ns = a.get("namespace") or "default"
    if a.get("name"):
        p = _find(w.pods, a["name"], ns)
        if p is None:
            return False, f"pod {a['name']} not found"
        pods = [p]
    else:
        sel = selector(a["selector"])
        pods = sorted((p for p in w.pods if namespace(p) == ns and sel.matches(_labels(p))),
                      key=name)
        if not pods:
            return False, f"no pods match {a['selector']}"
    bad = [p for p in pods if phase(p) != a["phase"]
           or (terminating(p) and not a.get("allowTerminating"))]
    detail = _short([_pod_line(p) for p in pods])
    return not bad, detail


def _ts(v: Any) -> float | None:
    if not v or not isinstance(v, str):
        return None
    from actors.common.clock import parse_time

    try:
        return parse_time(v)
    except ValueError:
        return None


def event_time(ev: Obj) -> float | None:
    for k in ("lastTimestamp", "eventTime", "firstTimestamp"):
        t = _ts(ev.get(k))
        if t is not None:
            return t
    return _ts(meta(ev).get("creationTimestamp"))


TIMESTAMP_SLACK = 1.0  # event timestamps have second precision


def event_seen(a: dict[str, Any], w: World) -> Result:
    since = w.started if a.get("since", "start") == "start" else w.step_started
    io = a.get("involvedObject") or {}
    found = []
    for ev in w.events:
        if ev.get("reason") != a["reason"]:
            continue
        obj = ev.get("involvedObject") or {}
        if io.get("kind") and str(obj.get("kind", "")).lower() != io["kind"].lower():
            continue
        if io.get("name") and not fnmatch.fnmatchcase(str(obj.get("name", "")), io["name"]):
            continue
        if io.get("namespace") and obj.get("namespace") != io["namespace"]:
            continue
        if a.get("message") and a["message"] not in str(ev.get("message", "")):
            continue
        t = event_time(ev)
        if t is not None and t < since - TIMESTAMP_SLACK:
            continue
        found.append(ev)
    if not found:
        return False, f"no {a['reason']} event yet"
    ev = found[-1]
    obj = ev.get("involvedObject") or {}
    return True, (f"{len(found)} {a['reason']} event(s), e.g. {obj.get('kind', '?').lower()}/"
                  f"{obj.get('name', '?')}: {ev.get('message', '')}")


def no_pods_on(a: dict[str, Any], w: World) -> Result:
    ns = a.get("namespace")
    sel = selector(a["selector"]) if a.get("selector") else None
    on = sorted((p for p in w.pods if node_name(p) == a["node"]
                 and (ns is None or namespace(p) == ns)
                 and (sel is None or sel.matches(_labels(p)))), key=name)
    if not on:
        return True, f"no pods on {a['node']}"
    return False, f"{len(on)} pod(s) on {a['node']}: " + _short([_pod_line(p) for p in on])


DETECTORS: dict[str, Callable[[dict[str, Any], World], Result]] = {
    "nodeStatus": node_status, "nodeTaint": node_taint, "podsRunning": pods_running,
    "podsEvicted": pods_evicted, "deploymentAvailable": deployment_available,
    "podPhase": pod_phase, "eventSeen": event_seen, "noPodsOn": no_pods_on,
}


def detect(kind: str, args: dict[str, Any], world: World) -> Result:
    """Evaluate one condition; never raises for odd objects (the detail says why)."""
    try:
        return DETECTORS[kind](args, world)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        return False, f"cannot evaluate {kind}: {type(e).__name__}: {e}"


# ---- targets ----------------------------------------------------------------------------


def node_of(of: dict[str, Any], world: World) -> tuple[str | None, str]:
    """The node a `nodeOf` target names: the node running the most live pods of the
    deployment / selector (ties: the first by name), or the named pod's node."""
    ns = of.get("namespace") or "default"
    if of.get("pod"):
        p = _find(world.pods, of["pod"], ns)
        if p is None:
            return None, f"pod {of['pod']} not found"
        n = node_name(p)
        return (n or None), (f"pod {of['pod']} is on {n}" if n else
                             f"pod {of['pod']} is not scheduled")
    pods, who, _ = _pods_of({"deployment": of.get("deployment"),
                             "selector": of.get("selector"), "namespace": ns}, world)
    if pods is None:
        return None, who
    counts: dict[str, int] = {}
    for p in pods:
        if not terminating(p) and node_name(p):
            counts[node_name(p)] = counts.get(node_name(p), 0) + 1
    if not counts:
        return None, f"no pod of {who} is on a node"
    best = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    return best, f"{best} runs {counts[best]} pod(s) of {who}"
