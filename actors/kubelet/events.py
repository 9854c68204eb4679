"""Kubelet events: what a pod worker reports, and the core/v1 Event objects for it (pure).

A worker emits `PodEvent`s (time, type, reason, message, fieldPath); `EventRecorder`
turns them into API actions the way client-go's event broadcaster does for the
kubelet: a new Event named `<pod>.<hex nanoseconds>`, or, when the same event
(same object, fieldPath, type, reason and message) was recorded before, a patch that
bumps its `count` and `lastTimestamp` (the correlator's aggregation; kubectl shows
`(x5 over 2m)`). The recorder remembers at most `max_entries` events (LRU, as
client-go's 4096-entry cache).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping

from actors.common.clock import rfc3339

COMPONENT = "kubelet"


@dataclass(frozen=True, slots=True)
class PodEvent:
    at: float
    type: str  # Normal | Warning
    reason: str
    message: str
    field_path: str = ""


@dataclass(frozen=True, slots=True)
class EventAction:
    """`create` an Event object (body) or `patch` an existing one (name, body = patch)."""
    verb: str  # create | patch
    namespace: str
    name: str
    body: dict[str, Any]


def node_ref(node_name: str) -> dict[str, Any]:
    """The kubelet's reference to its node (UID = the node name, no namespace)."""
    return {"kind": "Node", "metadata": {"name": node_name, "uid": node_name}}


def involved_object(pod: Mapping[str, Any], field_path: str = "") -> dict[str, Any]:
    """An ObjectReference to a pod (or, from `node_ref`, the node)."""
    meta = pod.get("metadata") or {}
    if pod.get("kind") == "Node":
        return {"kind": "Node", "name": meta.get("name", ""), "uid": meta.get("uid", "")}
    ref: dict[str, Any] = {"kind": "Pod", "namespace": meta.get("namespace", "default"),
                           "name": meta.get("name", ""), "uid": meta.get("uid", ""),
                           "apiVersion": "v1"}
    if meta.get("resourceVersion"):
        ref["resourceVersion"] = meta["resourceVersion"]
    if field_path:
        ref["fieldPath"] = field_path
    return ref


def event_object(pod: Mapping[str, Any], ev: PodEvent, host: str, nonce: int = 0) -> dict[str, Any]:
    """A core/v1 Event as the kubelet's recorder creates it."""
    involved = involved_object(pod, ev.field_path)
    nanos = int(ev.at * 1e9) + nonce
    ts = rfc3339(ev.at)
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{involved['name']}.{nanos:x}",
                     "namespace": involved.get("namespace") or "default"},
        "involvedObject": involved,
        "reason": ev.reason, "message": ev.message,
        "source": {"component": COMPONENT, "host": host},
        "firstTimestamp": ts, "lastTimestamp": ts, "count": 1, "type": ev.type,
        "eventTime": None, "reportingComponent": COMPONENT, "reportingInstance": host,
    }


class EventRecorder:
    """Create-or-aggregate decisions for one kubelet's events."""

    __slots__ = ("host", "max_entries", "_seen", "_nonce")

    def __init__(self, host: str, max_entries: int = 4096) -> None:
        self.host = host
        self.max_entries = max_entries
        self._seen: OrderedDict[tuple[str, ...], tuple[str, int]] = OrderedDict()
        self._nonce = 0

    def record(self, pod: Mapping[str, Any], ev: PodEvent) -> EventAction:
        meta = pod.get("metadata") or {}
        ns = meta.get("namespace") or "default"
        key = (ns, str(meta.get("name", "")), str(meta.get("uid", "")), ev.field_path,
               ev.type, ev.reason, ev.message)
        hit = self._seen.get(key)
        if hit is not None:
            name, count = hit
            count += 1
            self._seen[key] = (name, count)
            self._seen.move_to_end(key)
            return EventAction("patch", ns, name,
                               {"count": count, "lastTimestamp": rfc3339(ev.at)})
        self._nonce += 1
        obj = event_object(pod, ev, self.host, self._nonce)
        name = obj["metadata"]["name"]
        self._seen[key] = (name, 1)
        if len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)
        return EventAction("create", ns, name, obj)

    def forget(self, action: EventAction) -> None:
        """The patched Event is gone (expired): the next occurrence creates a new one."""
        for k, (name, _) in list(self._seen.items()):
            if name == action.name and k[0] == action.namespace:
                del self._seen[k]
