"""What the scheduler writes besides bindings, as data (pure): core v1 Events and the
pod's PodScheduled condition.

Events follow client-go's record.EventRecorder + EventCorrelator: an Event named
`<pod>.<hex unix nanos>` in the pod's namespace, `source.component:
default-scheduler`, count 1 and first/lastTimestamp now; an identical event (same
involved object, type, reason and message) seen again becomes a patch of the first
one's `count` (+1) and `lastTimestamp`, so `kubectl describe` shows
"(x5 over 2m)". The scheduler's events:

    Warning FailedScheduling  <FitError message, truncated to 1024 characters>
    Normal  Scheduled         Successfully assigned <ns>/<name> to <node>

The condition is upstream's podutil.UpdatePodCondition: lastTransitionTime changes
only when the status flips, and nothing is written when type, status, reason and
message are all unchanged.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from actors.common.clock import rfc3339

from . import helpers

NOTE_LENGTH_LIMIT = 1024  # validation.NoteLengthLimit
EVENT_TYPE_NORMAL = "Normal"
EVENT_TYPE_WARNING = "Warning"
POD_SCHEDULED = "PodScheduled"
REASON_UNSCHEDULABLE = "Unschedulable"  # v1.PodReasonUnschedulable
REASON_SCHEDULER_ERROR = "SchedulerError"  # v1.PodReasonSchedulerError


@dataclass
class ApiCall:
    """One write for the actor to perform through the APIClient."""

    verb: str  # "create" | "patch"
    resource: str  # "events" | "pods"
    namespace: str
    name: str = ""
    body: dict[str, Any] = field(default_factory=dict)
    subresource: str = ""


def truncate_message(message: str) -> str:
    if len(message) <= NOTE_LENGTH_LIMIT:
        return message
    suffix = " ..."
    return message[:NOTE_LENGTH_LIMIT - len(suffix)] + suffix


def object_reference(obj: Mapping[str, Any]) -> dict[str, Any]:
    m = helpers.meta(obj)
    ref: dict[str, Any] = {"kind": obj.get("kind") or "Pod", "namespace": helpers.namespace_of(obj),
                           "name": helpers.name_of(obj), "apiVersion": obj.get("apiVersion") or "v1"}
    if m.get("uid"):
        ref["uid"] = m["uid"]
    if m.get("resourceVersion"):
        ref["resourceVersion"] = m["resourceVersion"]
    return ref


def event_name(obj_name: str, now: float) -> str:
    return f"{obj_name}.{int(round(now * 1e9)):x}"


class EventRecorder:
    """Builds Events and folds repeats into count/lastTimestamp patches (EventCorrelator)."""

    def __init__(self, component: str, max_entries: int = 4096) -> None:
        self.component = component
        self.max_entries = max_entries
        self._seen: OrderedDict[tuple[str, ...], tuple[str, int, str]] = OrderedDict()

    def event(self, obj: Mapping[str, Any], type_: str, reason: str, message: str, now: float,
              action: str = "") -> ApiCall:
        ref = object_reference(obj)
        ts = rfc3339(now)
        key = (self.component, ref["kind"], ref["namespace"], ref["name"], str(ref.get("uid", "")),
               ref["apiVersion"], type_, reason, message)
        seen = self._seen.get(key)
        if seen is not None:
            name, count, first = seen
            count += 1
            self._seen[key] = (name, count, first)
            self._seen.move_to_end(key)
            return ApiCall("patch", "events", ref["namespace"], name,
                           {"count": count, "lastTimestamp": ts, "message": message})
        name = event_name(ref["name"], now)
        self._seen[key] = (name, 1, ts)
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)
        body: dict[str, Any] = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": ref["namespace"]},
            "involvedObject": ref,
            "reason": reason, "message": message,
            "source": {"component": self.component},
            "firstTimestamp": ts, "lastTimestamp": ts, "count": 1, "type": type_,
            "reportingComponent": self.component, "reportingInstance": "",
        }
        if action:
            body["action"] = action
        return ApiCall("create", "events", ref["namespace"], name, body)

    def forget(self, call: ApiCall) -> None:
        """The event was not written (e.g. its patch found nothing): start over next time."""
        for k, (name, _, _) in list(self._seen.items()):
            if name == call.name:
                del self._seen[k]


def update_pod_condition(conditions: Sequence[Mapping[str, Any]], condition: Mapping[str, Any],
                         now: float) -> tuple[list[dict[str, Any]], bool]:
    """podutil.UpdatePodCondition: (new conditions, whether anything changed)."""
    new = dict(condition)
    new["lastTransitionTime"] = rfc3339(now)
    out = [dict(c) for c in conditions]
    for i, old in enumerate(out):
        if old.get("type") != new.get("type"):
            continue
        if new.get("status") == old.get("status"):
            new["lastTransitionTime"] = old.get("lastTransitionTime")
        equal = all(new.get(k) == old.get(k) for k in
                    ("status", "reason", "message", "lastProbeTime", "lastTransitionTime"))
        out[i] = new
        return out, not equal
    out.append(new)
    return out, True


def pod_scheduled_false_patch(pod: Mapping[str, Any], reason: str, message: str,
                              now: float) -> ApiCall | None:
    """The status merge patch setting PodScheduled=False, or None when already so."""
    conditions = list((pod.get("status") or {}).get("conditions") or [])
    cond = {"type": POD_SCHEDULED, "status": "False", "lastProbeTime": None,
            "reason": reason, "message": message}
    new, changed = update_pod_condition(conditions, cond, now)
    if not changed:
        return None
    return ApiCall("patch", "pods", helpers.namespace_of(pod), helpers.name_of(pod),
                   {"status": {"conditions": new}}, "status")
