"""Scheduling decision records (pure): why a pod went where it went, or nowhere.

kube-scheduler only logs this (at high verbosity); kubemu keeps a compact JSON record
of each pod's last scheduling attempt in the pod annotation
`kubemu.io/scheduling-decision`, which `kubemu describe pod` renders:

    {"profile": "default-scheduler", "result": "Scheduled", "node": "node-7",
     "nodes": 5000, "evaluated": 512, "feasible": 500,
     "filtered": {"NodeResourcesFit": {"count": 12, "reasons": {"Insufficient cpu": 12}}},
     "scorePlugins": ["TaintToleration", "NodeAffinity", ...],
     "top": [{"node": "node-7", "total": 412, "scores": [300, 0, ...]}, ...],
     "durationMs": 3.2}

- `nodes` / `evaluated` / `feasible`: the cluster's nodes, those the filter pass
  looked at (percentageOfNodesToScore stops it early), those that passed;
- `filtered`: per filter (or PreFilter) plugin, how many nodes it rejected and the
  reasons counted (a node counts for the first plugin that rejected it);
- `top`: the three best scored nodes, highest total first (the chosen node first
  among equals), each with its weighted score per plugin in `scorePlugins` order;
  absent when fewer than two nodes were feasible (upstream does not score then);
- `message`: for internal errors, the error (a FitError's text is already in the
  PodScheduled condition, and `filtered` says the same).

The encoding stays under `MAX_BYTES` (1 KiB): when it would not, the reasons lists
are cut to their most frequent entries, then fewer top nodes are kept.

The binding carries the annotation of a scheduled pod (the apiserver copies a
Binding's annotations onto the pod); a failed pod gets a metadata patch, written only
when the record changed (not counting the duration), so that a pod failing the same
way again and again does not churn the API.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from . import helpers
from .events import ApiCall
from .schedule import ScheduleResult

ANNOTATION = "kubemu.io/scheduling-decision"
MAX_BYTES = 1024
TOP_NODES = 3
MAX_MESSAGE = 300

Record = dict[str, Any]


def _result_word(result: ScheduleResult) -> str:
    if result.error is None:
        return "Scheduled"
    return "Unschedulable" if result.status.is_rejected() else "Error"


def filtered_histogram(result: ScheduleResult) -> dict[str, dict[str, Any]]:
    """plugin -> {"count": nodes rejected, "reasons": {reason: nodes}}."""
    out: dict[str, dict[str, Any]] = {}
    d = result.diagnosis
    if d is None:
        return out

    def add(plugin: str, reasons: tuple[str, ...], n: int) -> None:
        entry = out.setdefault(plugin or "PreFilter", {"count": 0, "reasons": {}})
        entry["count"] += n
        for r in reasons:
            entry["reasons"][r] = entry["reasons"].get(r, 0) + n

    for st in d.node_to_status.values():
        add(st.plugin, st.reasons, 1)
    if d.absent_nodes > 0:
        add(d.absent_nodes_status.plugin, d.absent_nodes_status.reasons, d.absent_nodes)
    return out


def decision_record(profile: str, result: ScheduleResult) -> Record:
    """The record of one cycle's outcome."""
    rec: Record = {"profile": profile, "result": _result_word(result)}
    if result.suggested_host:
        rec["node"] = result.suggested_host
    rec.update(nodes=result.num_all_nodes, evaluated=result.evaluated_nodes,
               feasible=result.feasible_nodes)
    filtered = filtered_histogram(result)
    if filtered:
        rec["filtered"] = filtered
    if result.scores:
        order = {ps.name: i for i, ps in enumerate(result.scores)}
        ranked = sorted(result.scores, key=lambda ps: (-ps.total_score, ps.name != result.suggested_host,
                                                       order[ps.name]))
        rec["scorePlugins"] = [plugin for plugin, _ in result.scores[0].scores]
        rec["top"] = [{"node": ps.name, "total": ps.total_score, "scores": [v for _, v in ps.scores]}
                      for ps in ranked[:TOP_NODES]]
    if result.error is not None and not result.status.is_rejected():
        msg = str(result.error)
        rec["message"] = msg if len(msg) <= MAX_MESSAGE else msg[:MAX_MESSAGE - 4] + " ..."
    rec["durationMs"] = round(result.duration * 1000, 3)
    return rec


def _dumps(rec: Record) -> str:
    return json.dumps(rec, separators=(",", ":"), ensure_ascii=False)


def _cut_reasons(rec: Record, keep: int) -> Record:
    out = dict(rec)
    filtered = rec.get("filtered") or {}
    out["filtered"] = {p: {"count": e["count"],
                           "reasons": dict(sorted(e["reasons"].items(), key=lambda kv: -kv[1])[:keep])}
                       for p, e in filtered.items()}
    return out


def encode(rec: Record, max_bytes: int = MAX_BYTES) -> str:
    """Compact JSON under `max_bytes` (UTF-8), shrinking the record if it must."""
    text = _dumps(rec)
    steps: list[Record] = []
    if rec.get("filtered"):
        steps += [_cut_reasons(rec, 3), _cut_reasons(rec, 1), _cut_reasons(rec, 0)]
    base = steps[-1] if steps else rec
    for n in (2, 1, 0):
        if "top" in base:
            shrunk = dict(base, top=base["top"][:n])
            if n == 0:
                shrunk.pop("top")
                shrunk.pop("scorePlugins", None)
            steps.append(shrunk)
            base = shrunk
    if "message" in base:
        steps.append({k: v for k, v in base.items() if k != "message"})
    for candidate in steps:
        if len(text.encode()) <= max_bytes:
            break
        text = _dumps(candidate)
    if len(text.encode()) > max_bytes:  # a huge set of filter plugins: keep the counts only
        keep = ("profile", "result", "node", "nodes", "evaluated", "feasible", "durationMs")
        text = _dumps({k: rec[k] for k in keep if k in rec})
    return text


def parse(text: str | None) -> Record | None:
    """The record in an annotation value; None when absent or not a record."""
    if not text:
        return None
    try:
        rec = json.loads(text)
    except ValueError:
        return None
    return rec if isinstance(rec, dict) else None


def same_decision(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Equal but for the duration."""
    if a is None or b is None:
        return a is b
    return {k: v for k, v in a.items() if k != "durationMs"} == \
        {k: v for k, v in b.items() if k != "durationMs"}


def annotations_for(rec: Record) -> dict[str, str]:
    return {ANNOTATION: encode(rec)}


def annotation_patch(pod: Mapping[str, Any], rec: Record) -> ApiCall | None:
    """The metadata merge patch recording `rec` on a pod, or None when its current
    record says the same (the patch being itself a pod update, worth avoiding)."""
    current = parse((helpers.meta(pod).get("annotations") or {}).get(ANNOTATION))
    text = encode(rec)
    if same_decision(current, parse(text)):
        return None
    return ApiCall("patch", "pods", helpers.namespace_of(pod), helpers.name_of(pod),
                   {"metadata": {"annotations": {ANNOTATION: text}}})


# ---- rendering (kubectl describe pod) ----------------------------------------------------


def _reasons_text(reasons: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {r}" for r, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))


def describe_lines(rec: Mapping[str, Any]) -> list[str]:
    """The "Scheduling Decision:" section of `describe pod`, kubectl style (2-space indents)."""
    lines = ["Scheduling Decision:"]
    result = str(rec.get("result") or "")
    if rec.get("node"):
        result += f" to {rec['node']}"
    lines.append(f"  Profile:\t{rec.get('profile', '')}")
    lines.append(f"  Result:\t{result}")
    nodes = f"{rec.get('nodes', 0)} total, {rec.get('evaluated', 0)} evaluated, {rec.get('feasible', 0)} feasible"
    lines.append(f"  Nodes:\t{nodes}")
    if "durationMs" in rec:
        lines.append(f"  Duration:\t{rec['durationMs']}ms")
    filtered = rec.get("filtered") or {}
    if filtered:
        lines.append("  Filtered Out:")
        for plugin, e in sorted(filtered.items(), key=lambda kv: (-kv[1].get("count", 0), kv[0])):
            reasons = _reasons_text(e.get("reasons") or {})
            lines.append(f"    {plugin}:\t{e.get('count', 0)}" + (f" ({reasons})" if reasons else ""))
    top = rec.get("top") or []
    plugins = list(rec.get("scorePlugins") or [])
    if top:
        lines.append("  Top Scores:")
        for t in top:
            parts = [f"{p}={v}" for p, v in zip(plugins, t.get("scores") or []) if v]
            lines.append(f"    {t.get('node', '')}:\t{t.get('total', 0)}" +
                         (f" ({', '.join(parts)})" if parts else ""))
    if rec.get("message"):
        lines.append(f"  Message:\t{rec['message']}")
    return lines
