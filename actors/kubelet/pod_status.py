"""Pod status rules of the kubelet, as upstream computes them (pure).

- `qos_class`: Guaranteed / Burstable / BestEffort (pkg/apis/core/helper/qos).
- `pod_phase`: kubelet's getPhase over the container statuses.
- the kubelet-owned conditions (pkg/kubelet/status/generate.go), in upstream order:
  PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled;
  conditions owned by others are kept in front, and `merge_conditions` keeps each
  condition's lastTransitionTime while its status does not change, as the status
  manager does.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, Iterable, Mapping

from actors.common.clock import rfc3339

Obj = dict[str, Any]

KUBELET_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                      "PodScheduled")
_QOS_RESOURCES = ("cpu", "memory")
_QTY = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$")
_SUFFIX: dict[str, Fraction] = {
    "": Fraction(1), "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000),
    "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
    "P": Fraction(10**15), "E": Fraction(10**18), "Ki": Fraction(2**10), "Mi": Fraction(2**20),
    "Gi": Fraction(2**30), "Ti": Fraction(2**40), "Pi": Fraction(2**50), "Ei": Fraction(2**60),
}


def quantity(v: Any) -> Fraction:
    """A resource.Quantity as an exact number ("100m" -> 1/10, "1Gi" -> 2**30)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return Fraction(v)
    m = _QTY.match(str(v).strip())
    if not m:
        raise ValueError(f"quantities must match the regular expression "
                         f"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {v!r}")
    num, suf = m.group(1), m.group(2) or ""
    if suf[:1] in ("e", "E"):
        return Fraction(num) * Fraction(10) ** int(suf[1:])
    return Fraction(num) * _SUFFIX[suf]


def qos_class(spec: Mapping[str, Any]) -> str:
    """The pod's QoS class (upstream GetPodQOS, requests defaulted from limits)."""
    requests: dict[str, Fraction] = {}
    limits: dict[str, Fraction] = {}
    guaranteed = True
    for c in list(spec.get("containers") or []) + list(spec.get("initContainers") or []):
        res = c.get("resources") or {}
        lim = res.get("limits") or {}
        req = dict(lim)  # apiserver defaulting: a limit without a request is the request
        req.update(res.get("requests") or {})
        for name in _QOS_RESOURCES:
            if name in req and quantity(req[name]) > 0:
                requests[name] = requests.get(name, Fraction(0)) + quantity(req[name])
        found = set()
        for name in _QOS_RESOURCES:
            if name in lim and quantity(lim[name]) > 0:
                found.add(name)
                limits[name] = limits.get(name, Fraction(0)) + quantity(lim[name])
        if len(found) != len(_QOS_RESOURCES):
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed:
        for name, q in requests.items():
            if limits.get(name) != q:
                guaranteed = False
                break
    if guaranteed and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


def _state_kind(cs: Mapping[str, Any]) -> str:
    st = cs.get("state") or {}
    for k in ("running", "terminated", "waiting"):
        if k in st:
            return k
    return ""


def pod_phase(spec: Mapping[str, Any], init_statuses: list[Obj], statuses: list[Obj],
              pod_is_terminal: bool) -> str:
    """kubelet getPhase: the phase implied by the container statuses."""
    by_name = {cs["name"]: cs for cs in init_statuses + statuses}
    pending_init = failed_init = 0
    for c in spec.get("initContainers") or []:
        if c.get("restartPolicy") == "Always":  # sidecars do not block phases
            continue
        cs = by_name.get(c["name"])
        kind = _state_kind(cs) if cs else ""
        if kind == "terminated":
            if (cs or {})["state"]["terminated"].get("exitCode", 0) != 0:
                failed_init += 1
        elif kind == "waiting" and ((cs or {}).get("lastState") or {}).get("terminated"):
            if (cs or {})["lastState"]["terminated"].get("exitCode", 0) != 0:
                failed_init += 1
        else:
            pending_init += 1
    unknown = running = waiting = stopped = succeeded = 0
    for c in spec.get("containers") or []:
        cs = by_name.get(c["name"])
        kind = _state_kind(cs) if cs else ""
        if kind == "running":
            running += 1
        elif kind == "terminated":
            stopped += 1
            if (cs or {})["state"]["terminated"].get("exitCode", 0) == 0:
                succeeded += 1
        elif kind == "waiting":
            if ((cs or {}).get("lastState") or {}).get("terminated"):
                stopped += 1
            else:
                waiting += 1
        else:
            unknown += 1
    policy = spec.get("restartPolicy") or "Always"
    if failed_init > 0 and policy == "Never":
        return "Failed"
    any_started = any(_state_kind(by_name[c["name"]]) in ("running", "terminated")
                      or (by_name[c["name"]].get("lastState") or {}).get("terminated")
                      for c in spec.get("containers") or [] if c["name"] in by_name)
    if (pending_init > 0 and not any_started) or waiting > 0:
        return "Pending"
    if running > 0 and unknown == 0:
        return "Running"
    if running == 0 and stopped > 0 and unknown == 0:
        if pod_is_terminal:
            return "Succeeded" if stopped == succeeded else "Failed"
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def _cond(ctype: str, status: bool, reason: str = "", message: str = "") -> Obj:
    c: Obj = {"type": ctype, "status": "True" if status else "False"}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


def containers_ready_condition(spec: Mapping[str, Any], statuses: list[Obj],
                               init_statuses: list[Obj], phase: str) -> Obj:
    by_name = {cs["name"]: cs for cs in statuses + init_statuses}
    unknown: list[str] = []
    unready: list[str] = []
    names = [c["name"] for c in spec.get("initContainers") or []
             if c.get("restartPolicy") == "Always"]
    names += [c["name"] for c in spec.get("containers") or []]
    for name in names:
        cs = by_name.get(name)
        if cs is None:
            unknown.append(name)
        elif not cs.get("ready"):
            unready.append(name)
    if phase == "Succeeded" and not unknown:
        return _cond("ContainersReady", False, "PodCompleted")
    if phase == "Failed":
        return _cond("ContainersReady", False, "PodFailed")
    msgs = []
    if unknown:
        msgs.append(f"containers with unknown status: [{' '.join(unknown)}]")
    if unready:
        msgs.append(f"containers with unready status: [{' '.join(unready)}]")
    if msgs:
        return _cond("ContainersReady", False, "ContainersNotReady", ", ".join(msgs))
    return _cond("ContainersReady", True)


def ready_condition(containers_ready: Obj, spec: Mapping[str, Any],
                    conditions: Iterable[Obj]) -> Obj:
    if containers_ready["status"] != "True":
        return _cond("Ready", False, containers_ready.get("reason", ""),
                     containers_ready.get("message", ""))
    have = {c["type"]: c.get("status") for c in conditions}
    missing = [g["conditionType"] for g in spec.get("readinessGates") or []
               if g.get("conditionType") not in have]
    unready = [g["conditionType"] for g in spec.get("readinessGates") or []
               if g.get("conditionType") in have and have[g["conditionType"]] != "True"]
    if missing or unready:
        msgs = []
        if missing:
            msgs.append("corresponding condition of pod readiness gate "
                        f"\"{missing[0]}\" does not exist.")
        if unready:
            msgs.append(f"the status of pod readiness gate \"{unready[0]}\" is not \"True\", "
                        "but False")
        return _cond("Ready", False, "ReadinessGatesNotReady", ", ".join(msgs))
    return _cond("Ready", True)


def initialized_condition(spec: Mapping[str, Any], init_statuses: list[Obj], phase: str,
                          any_started: bool) -> Obj:
    inits = [c for c in spec.get("initContainers") or []]
    if phase == "Succeeded":
        return _cond("Initialized", True, "PodCompleted")
    if not inits or any_started:
        return _cond("Initialized", True)
    by_name = {cs["name"]: cs for cs in init_statuses}
    unknown: list[str] = []
    incomplete: list[str] = []
    for c in inits:
        cs = by_name.get(c["name"])
        if cs is None:
            unknown.append(c["name"])
            continue
        if c.get("restartPolicy") == "Always":
            if not cs.get("started"):
                incomplete.append(c["name"])
            continue
        term = (cs.get("state") or {}).get("terminated")
        if not (term and term.get("exitCode", 0) == 0):
            incomplete.append(c["name"])
    msgs = []
    if unknown:
        msgs.append(f"containers with unknown status: [{' '.join(unknown)}]")
    if incomplete:
        msgs.append(f"containers with incomplete status: [{' '.join(incomplete)}]")
    if msgs:
        return _cond("Initialized", False, "ContainersNotInitialized", ", ".join(msgs))
    return _cond("Initialized", True)


def merge_conditions(generated: list[Obj], old: Iterable[Obj], now: float) -> list[Obj]:
    """Old conditions not owned by the kubelet first, then the generated ones, each with
    lastProbeTime null and lastTransitionTime kept while its status is unchanged."""
    old_list = list(old)
    old_by_type = {c.get("type"): c for c in old_list}
    out: list[Obj] = [c for c in old_list if c.get("type") not in KUBELET_CONDITIONS]
    stamp = rfc3339(now)
    for c in generated:
        prev = old_by_type.get(c["type"])
        full: Obj = {"type": c["type"], "status": c["status"], "lastProbeTime": None}
        if prev is not None and prev.get("status") == c["status"] \
                and prev.get("lastTransitionTime"):
            full["lastTransitionTime"] = prev["lastTransitionTime"]
        else:
            full["lastTransitionTime"] = stamp
        for k in ("reason", "message"):
            if k in c:
                full[k] = c[k]
        out.append(full)
    return out
