"""The scheduling queue (kube-scheduler's PriorityQueue), pure, on an injected clock.

Three places a pending pod can be:

- **activeQ**: a heap of pods to try now, highest `spec.priority` first, then the
  earliest `timestamp` (when the pod was added, or last failed), then FIFO
  (PrioritySort's Less);
- **backoffQ**: pods that were moved back (by a cluster event or after an internal
  error) while still serving their backoff, ordered by backoff expiry;
  `flush_backoff_completed()` (upstream: every 1 s) moves the expired ones to activeQ;
- **unschedulablePods**: pods the last cycle found unschedulable, waiting for a cluster
  event that may help (`move_all_to_active_or_backoff_queue(event)`: node added or
  changed, an assigned pod deleted, ...) or for `flush_unschedulable_pods_leftover()`
  (upstream: every 30 s) to give up waiting after 5 minutes
  (podMaxInUnschedulablePodsDuration). Pods with `spec.schedulingGates` also wait
  here until an update removes the gates.

Backoff: `timestamp + initial * 2^(attempts-1)`, capped at the max (1 s doubling to 10 s
by default), `attempts` counting pops. A pod that fails while a move request arrived
during its cycle (`move_request_cycle >= its cycle`), or that failed with an error
rather than a rejection, goes straight to backoffQ instead of unschedulablePods, so the
event is not lost.

Which pods an event moves (isPodWorthRequeuing without queueing hints): every plugin
registers the cluster events that can make a pod it rejected schedulable
(`framework.EnqueueExtensions`; a plugin without it registers the wildcard event), and
`register_profile_events` hands the queue each profile's map. An unschedulable pod moves
on an event that one of the plugins in its `unschedulable_plugins | pending_plugins`
registered; a pod that failed with an error (no rejector plugin), a wildcard event (the
5-minute timeout) or a pod of a profile the queue knows nothing about always moves.

`pop()` never blocks: it returns None when activeQ is empty (the actor waits).

`nominator` (a `Nominator`) records the pods nominated to a node by preemption: a
pending pod's `status.nominatedNodeName` on add and update, the scheduler's own
nomination right after a preemption; a pod leaves it when deleted from the queue or
assumed.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from actors.common.clock import Clock

from . import helpers
from .decision import ANNOTATION as DECISION_ANNOTATION
from .framework import NODE, POD, WILDCARD, ActionType, ClusterEvent, PodInfo, pod_uid_key

DEFAULT_POD_INITIAL_BACKOFF = 1.0
DEFAULT_POD_MAX_BACKOFF = 10.0
DEFAULT_POD_MAX_IN_UNSCHEDULABLE_PODS_DURATION = 300.0
BACKOFF_FLUSH_PERIOD = 1.0
UNSCHEDULABLE_FLUSH_PERIOD = 30.0

# the cluster events the scheduler reports (upstream internal/queue/events.go)
NODE_ADD = ClusterEvent(NODE, ActionType.ADD, "NodeAdd")
NODE_UPDATE = ClusterEvent(NODE, ActionType.UPDATE, "NodeUpdate")  # some property; see node_update_event
ASSIGNED_POD_ADD = ClusterEvent(POD, ActionType.ADD, "AssignedPodAdd")
ASSIGNED_POD_DELETE = ClusterEvent(POD, ActionType.DELETE, "AssignedPodDelete")
ASSIGNED_POD_UPDATE = ClusterEvent(POD, ActionType.UPDATE, "AssignedPodUpdate")
UNSCHEDULABLE_TIMEOUT = ClusterEvent(WILDCARD, ActionType.ALL, "UnschedulableTimeout")
FORCE_ACTIVATE = ClusterEvent(WILDCARD, ActionType.ALL, "ForceActivate")
# labels of the queue's own moves (not matched against plugins)
BACKOFF_COMPLETE = "BackoffComplete"
SCHEDULE_ATTEMPT_FAILURE = "ScheduleAttemptFailure"
UNSCHEDULED_POD_ADD = "UnscheduledPodAdd"
UNSCHEDULED_POD_UPDATE = "UnscheduledPodUpdate"

_EVENTS_BY_LABEL = {e.label: e for e in (NODE_ADD, NODE_UPDATE, ASSIGNED_POD_ADD, ASSIGNED_POD_DELETE,
                                         ASSIGNED_POD_UPDATE, UNSCHEDULABLE_TIMEOUT, FORCE_ACTIVATE)}

# eventhandlers.node_scheduling_properties_changed's kinds -> action types
_NODE_CHANGE_ACTIONS = {"UpdateNodeAllocatable": ActionType.UPDATE_NODE_ALLOCATABLE,
                        "UpdateNodeLabel": ActionType.UPDATE_NODE_LABEL,
                        "UpdateNodeTaint": ActionType.UPDATE_NODE_TAINT,
                        "UpdateNodeCondition": ActionType.UPDATE_NODE_CONDITION,
                        "UpdateNodeAnnotation": ActionType.UPDATE_NODE_ANNOTATION}


def node_update_event(changes: list[str]) -> ClusterEvent:
    """One Node event carrying every kind of change (upstream sends one event per kind;
    the pods moved are the same, as a registered event matches on any shared bit)."""
    action = ActionType(0)
    for c in changes:
        action |= _NODE_CHANGE_ACTIONS.get(c, ActionType.UPDATE)
    return ClusterEvent(NODE, action or ActionType.UPDATE, "NodeUpdate")


def as_cluster_event(event: ClusterEvent | str) -> ClusterEvent:
    """A ClusterEvent; a bare label of a known event is looked up, an unknown one is a wildcard."""
    if isinstance(event, ClusterEvent):
        return event
    return _EVENTS_BY_LABEL.get(event) or ClusterEvent(WILDCARD, ActionType.ALL, event)


# registered event -> the plugins that registered it, for one profile
EventMap = list[tuple[ClusterEvent, frozenset[str]]]

ACTIVE_Q = "Active"
BACKOFF_Q = "Backoff"
UNSCHEDULABLE_Q = "Unschedulable"

Pod = Mapping[str, Any]
PreEnqueueCheck = Callable[[Pod], bool]


@dataclass(eq=False)
class QueuedPodInfo:
    pod: Pod
    key: str
    timestamp: float  # added to the queue, or last put back after a failure
    attempts: int = 0  # pops
    initial_attempt_timestamp: float | None = None
    unschedulable_plugins: set[str] = field(default_factory=set)
    pending_plugins: set[str] = field(default_factory=set)
    unschedulable_count: int = 0
    consecutive_errors_count: int = 0
    backoff_expiration: float | None = None  # cached; None = recompute
    gated: bool = False
    seq: int = 0  # insertion order into the current sub-queue, for stable ordering

    @property
    def priority(self) -> int:
        return helpers.pod_priority(self.pod)


def is_gated(pod: Pod) -> bool:
    """The SchedulingGates PreEnqueue plugin: a pod with scheduling gates waits."""
    return bool(helpers.spec(pod).get("schedulingGates"))


def is_pod_updated(old: Pod, new: Pod) -> bool:
    """Changed in a way that may make it schedulable: anything but status, resourceVersion,
    generation, managedFields and finalizers (and kubemu's own decision-record annotation,
    which the scheduler writes after a failure)."""
    def strip(p: Pod) -> dict[str, Any]:
        d = {k: v for k, v in p.items() if k != "status"}
        m = dict(d.get("metadata") or {})
        for k in ("resourceVersion", "generation", "managedFields", "finalizers"):
            m.pop(k, None)
        annotations = {k: v for k, v in (m.pop("annotations", None) or {}).items() if k != DECISION_ANNOTATION}
        if annotations:
            m["annotations"] = annotations
        d["metadata"] = m
        return d
    return strip(old) != strip(new)


def nominated_node_name(pod: Pod) -> str:
    return str((pod.get("status") or {}).get("nominatedNodeName") or "")


class Nominator:
    """The pods nominated to run on a node (upstream's nominator inside PriorityQueue).

    Preemption nominates its preemptor to the node it made room on; until the pod is
    bound (or gone), the scheduler filters other pods of lower or equal priority as if it
    were there. A nomination comes from the pod's `status.nominatedNodeName`, or
    directly from the scheduler right after preemption (before the status patch comes
    back); an update that carries no nominatedNodeName keeps the in-memory nomination.
    Keyed by pod UID.
    """

    def __init__(self) -> None:
        self._pods: dict[str, list[PodInfo]] = {}  # node -> nominated pods
        self._node_of: dict[str, str] = {}  # pod key -> node

    def add_nominated_pod(self, pod: Pod, node_name: str | None = None) -> None:
        """Nominate `pod` to `node_name`; None takes its status.nominatedNodeName (upstream's
        ModeNoop), "" removes the nomination."""
        self.delete_nominated_pod_if_exists(pod)
        node = nominated_node_name(pod) if node_name is None else node_name
        if not node:
            return
        pi = PodInfo.of(pod)
        self._node_of[pi.key] = node
        self._pods.setdefault(node, []).append(pi)

    def delete_nominated_pod_if_exists(self, pod: Pod) -> None:
        key = pod_uid_key(pod)
        node = self._node_of.pop(key, None)
        if node is None:
            return
        rest = [pi for pi in self._pods.get(node, []) if pi.key != key]
        if rest:
            self._pods[node] = rest
        else:
            self._pods.pop(node, None)

    def update_nominated_pod(self, old: Pod | None, new: Pod) -> None:
        node: str | None = None
        if old is not None and not nominated_node_name(old) and not nominated_node_name(new):
            node = self._node_of.get(pod_uid_key(old))  # keep reserving the in-memory node
        if old is not None:
            self.delete_nominated_pod_if_exists(old)
        self.add_nominated_pod(new, node)

    def nominated_pods_for_node(self, node_name: str) -> list[PodInfo]:
        """The pods nominated to `node_name` (the caller must not change the list)."""
        return self._pods.get(node_name) or []

    def nominated_node(self, pod: Pod) -> str:
        return self._node_of.get(pod_uid_key(pod), "")

    def __len__(self) -> int:
        return len(self._node_of)


class SchedulingQueue:
    def __init__(self, clock: Clock, *,
                 pod_initial_backoff: float = DEFAULT_POD_INITIAL_BACKOFF,
                 pod_max_backoff: float = DEFAULT_POD_MAX_BACKOFF,
                 pod_max_in_unschedulable_pods_duration: float = DEFAULT_POD_MAX_IN_UNSCHEDULABLE_PODS_DURATION
                 ) -> None:
        self.clock = clock
        self.pod_initial_backoff = pod_initial_backoff
        self.pod_max_backoff = pod_max_backoff
        self.pod_max_in_unschedulable_pods_duration = pod_max_in_unschedulable_pods_duration
        self._seq = itertools.count(1)
        self._active: dict[str, QueuedPodInfo] = {}
        self._active_heap: list[tuple[int, float, int, str]] = []
        self._backoff: dict[str, QueuedPodInfo] = {}
        self._backoff_heap: list[tuple[float, int, str]] = []
        self._unschedulable: dict[str, QueuedPodInfo] = {}
        self.scheduling_cycle = 0
        self.move_request_cycle = -1
        self.nominator = Nominator()
        self._event_maps: dict[str, EventMap] = {}  # schedulerName -> its plugins' events

    def register_profile_events(self, scheduler_name: str,
                                plugin_events: Mapping[str, Sequence[ClusterEvent]]) -> None:
        """The events each plugin of a profile registered (plugin name -> events)."""
        by_event: dict[ClusterEvent, set[str]] = {}
        for plugin, events in plugin_events.items():
            for e in events:
                by_event.setdefault(ClusterEvent(e.resource, e.action_type), set()).add(plugin)
        self._event_maps[scheduler_name] = [(e, frozenset(ps)) for e, ps in by_event.items()]

    def is_pod_worth_requeuing(self, pi: QueuedPodInfo, event: ClusterEvent) -> bool:
        """Whether `event` may make the pod schedulable (isPodWorthRequeuing, hints off)."""
        rejectors = pi.unschedulable_plugins | pi.pending_plugins
        if not rejectors or event.is_wildcard():
            return True
        event_map = self._event_maps.get(helpers.scheduler_name(pi.pod))
        if event_map is None:
            return True
        return any(registered.match(event) and not plugins.isdisjoint(rejectors)
                   for registered, plugins in event_map)

    # ---- sub-queue primitives ----------------------------------------------------------

    def _push_active(self, pi: QueuedPodInfo) -> None:
        pi.seq = next(self._seq)
        self._active[pi.key] = pi
        heapq.heappush(self._active_heap, (-pi.priority, pi.timestamp, pi.seq, pi.key))

    def _push_backoff(self, pi: QueuedPodInfo) -> None:
        pi.seq = next(self._seq)
        self._backoff[pi.key] = pi
        heapq.heappush(self._backoff_heap, (self.backoff_time(pi), pi.seq, pi.key))

    def _discard(self, key: str) -> None:
        """Remove `key` from every sub-queue (heap entries go stale and are skipped)."""
        self._active.pop(key, None)
        self._backoff.pop(key, None)
        self._unschedulable.pop(key, None)

    def _move_to_active_q(self, pi: QueuedPodInfo, event: str) -> bool:
        pi.gated = is_gated(pi.pod)
        if pi.gated:
            if pi.key not in self._active and pi.key not in self._backoff:
                self._unschedulable[pi.key] = pi
            return False
        if pi.initial_attempt_timestamp is None:
            pi.initial_attempt_timestamp = self.clock.now()
        self._discard(pi.key)
        self._push_active(pi)
        return True

    def _move_to_backoff_q(self, pi: QueuedPodInfo, event: str) -> bool:
        self._discard(pi.key)
        self._push_backoff(pi)
        return True

    # ---- backoff --------------------------------------------------------------------

    def calculate_backoff_duration(self, pi: QueuedPodInfo) -> float:
        if pi.attempts == 0:
            return 0.0  # never tried: no penalty
        d = self.pod_initial_backoff
        for _ in range(1, pi.attempts):
            if d > self.pod_max_backoff - d:
                return self.pod_max_backoff
            d += d
        return d

    def backoff_time(self, pi: QueuedPodInfo) -> float:
        if pi.backoff_expiration is None:
            pi.backoff_expiration = pi.timestamp + self.calculate_backoff_duration(pi)
        return pi.backoff_expiration

    def is_pod_backing_off(self, pi: QueuedPodInfo) -> bool:
        return self.backoff_time(pi) > self.clock.now()

    # ---- the API the scheduler uses ----------------------------------------------------

    def add(self, pod: Pod) -> bool:
        """A new pending pod: straight to activeQ (or unschedulablePods if gated)."""
        pi = QueuedPodInfo(pod=pod, key=helpers.pod_key(pod), timestamp=self.clock.now())
        moved = self._move_to_active_q(pi, UNSCHEDULED_POD_ADD)
        if moved:
            self.nominator.add_nominated_pod(pod)
        return moved

    def pop(self) -> QueuedPodInfo | None:
        """The head of activeQ (attempts += 1, a new scheduling cycle), None when empty."""
        while self._active_heap:
            _, _, seq, key = heapq.heappop(self._active_heap)
            pi = self._active.get(key)
            if pi is None or pi.seq != seq:
                continue
            del self._active[key]
            pi.attempts += 1
            self.scheduling_cycle += 1
            return pi
        return None

    def add_unschedulable_if_not_present(self, pi: QueuedPodInfo, pod_scheduling_cycle: int) -> str | None:
        """Put a pod back after a failed cycle; returns an error string if it is already queued.

        `pi.unschedulable_plugins` / `pending_plugins` say which plugins rejected it;
        both empty means the cycle failed with an error.
        """
        if pi.key in self._unschedulable:
            return f"Pod {pi.key} is already present in unschedulable queue"
        if pi.key in self._active:
            return f"Pod {pi.key} is already present in the active queue"
        if pi.key in self._backoff:
            return f"Pod {pi.key} is already present in the backoff queue"
        rejectors = pi.unschedulable_plugins | pi.pending_plugins
        if not rejectors:
            pi.consecutive_errors_count += 1
        else:
            pi.unschedulable_count += 1
            pi.consecutive_errors_count = 0
        pi.timestamp = self.clock.now()
        pi.backoff_expiration = None
        if self.move_request_cycle >= pod_scheduling_cycle or not rejectors:
            self._move_to_backoff_q(pi, SCHEDULE_ATTEMPT_FAILURE)
        else:
            pi.gated = False
            self._unschedulable[pi.key] = pi
        return None

    def update(self, old: Pod | None, new: Pod) -> None:
        """An update of a pending pod (from the informer)."""
        key = helpers.pod_key(new)
        self.nominator.update_nominated_pod(old, new)
        pi = self._active.get(key) or self._backoff.get(key)
        if pi is not None and old is not None:
            pi.pod = new  # position unchanged: priority is immutable, timestamp kept
            return
        pi = self._unschedulable.get(key)
        if pi is not None:
            pi.pod = new
            if old is None or pi.gated or is_pod_updated(old, new):
                if not is_gated(new) and self.is_pod_backing_off(pi):
                    self._move_to_backoff_q(pi, UNSCHEDULED_POD_UPDATE)
                else:
                    self._move_to_active_q(pi, UNSCHEDULED_POD_UPDATE)
            return
        self._move_to_active_q(QueuedPodInfo(pod=new, key=key, timestamp=self.clock.now()),
                               UNSCHEDULED_POD_UPDATE)

    def delete(self, pod: Pod) -> None:
        self._discard(helpers.pod_key(pod))
        self.nominator.delete_nominated_pod_if_exists(pod)

    def move_all_to_active_or_backoff_queue(self, event: ClusterEvent | str,
                                            pre_check: PreEnqueueCheck | None = None) -> int:
        """A cluster event that may make unschedulable pods schedulable; returns how many moved."""
        pods = [pi for pi in self._unschedulable.values() if pre_check is None or pre_check(pi.pod)]
        return self._move_pods_to_active_or_backoff_queue(pods, as_cluster_event(event))

    def _move_pods_to_active_or_backoff_queue(self, pods: list[QueuedPodInfo], event: ClusterEvent) -> int:
        moved = 0
        for pi in pods:
            if pi.gated:
                continue  # only an update removing the gates releases a gated pod
            if not self.is_pod_worth_requeuing(pi, event):
                continue
            self._unschedulable.pop(pi.key, None)
            if self.is_pod_backing_off(pi):
                self._move_to_backoff_q(pi, event.label)
            else:
                self._move_to_active_q(pi, event.label)
            moved += 1
        self.move_request_cycle = self.scheduling_cycle
        return moved

    def flush_backoff_completed(self) -> int:
        """Move every pod whose backoff has expired to activeQ (upstream: every second)."""
        now = self.clock.now()
        moved = 0
        while self._backoff_heap:
            expiry, seq, key = self._backoff_heap[0]
            pi = self._backoff.get(key)
            if pi is None or pi.seq != seq:
                heapq.heappop(self._backoff_heap)
                continue
            if expiry > now:
                break
            heapq.heappop(self._backoff_heap)
            del self._backoff[key]
            if self._move_to_active_q(pi, BACKOFF_COMPLETE):
                moved += 1
        return moved

    def flush_unschedulable_pods_leftover(self) -> int:
        """Move pods unschedulable for longer than the max (5 min) (upstream: every 30 s)."""
        now = self.clock.now()
        stale = [pi for pi in self._unschedulable.values()
                 if now - pi.timestamp > self.pod_max_in_unschedulable_pods_duration]
        if not stale:
            return 0
        return self._move_pods_to_active_or_backoff_queue(stale, UNSCHEDULABLE_TIMEOUT)

    # ---- introspection ------------------------------------------------------------------

    def get(self, pod: Pod) -> tuple[str, QueuedPodInfo] | None:
        key = helpers.pod_key(pod)
        for name, q in ((ACTIVE_Q, self._active), (BACKOFF_Q, self._backoff),
                        (UNSCHEDULABLE_Q, self._unschedulable)):
            if key in q:
                return name, q[key]
        return None

    def active_pods(self) -> list[Pod]:
        """activeQ in pop order."""
        return [self._active[k].pod for _, _, s, k in sorted(self._active_heap)
                if k in self._active and self._active[k].seq == s]

    def backoff_pods(self) -> list[Pod]:
        return [self._backoff[k].pod for _, s, k in sorted(self._backoff_heap)
                if k in self._backoff and self._backoff[k].seq == s]

    def unschedulable_pods(self) -> list[Pod]:
        return [pi.pod for pi in self._unschedulable.values()]

    def lengths(self) -> dict[str, int]:
        return {"active": len(self._active), "backoff": len(self._backoff),
                "unschedulable": len(self._unschedulable)}

    def pending_pods_summary(self) -> str:
        n = self.lengths()
        return f"activeQ:{n['active']}; backoffQ:{n['backoff']}; unschedulablePods:{n['unschedulable']}"

    def next_backoff_expiry(self) -> float | None:
        live = [e for e, s, k in self._backoff_heap if k in self._backoff and self._backoff[k].seq == s]
        return min(live) if live else None

    def __len__(self) -> int:
        return len(self._active) + len(self._backoff) + len(self._unschedulable)
