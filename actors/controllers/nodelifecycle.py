"""The node lifecycle controller (upstream pkg/controller/nodelifecycle), pure.

Four loops of upstream's controller, as keys of one controller:

- ``monitor`` — monitorNodeHealth, every nodeMonitorPeriod (5 s). For each node
  (tryUpdateNodeHealth) the controller keeps its own *probe timestamp*: the time, on
  its own clock, at which it last saw the Ready condition's lastHeartbeatTime change or
  the node's Lease (kube-node-lease/<node>) renewTime move forward. A node whose probe
  is older than nodeMonitorGracePeriod (50 s; nodeStartupGracePeriod, 60 s, from its
  creation while it never posted a Ready condition) gets Ready, MemoryPressure,
  DiskPressure and PIDPressure set to Unknown (reason NodeStatusUnknown, "Kubelet stopped
  posting node status.", lastTransitionTime now, lastHeartbeatTime kept; missing ones
  NodeStatusNeverUpdated). On that transition it posts the node event NodeNotReady and
  marks the node's pods NotReady (MarkPodsNotReady, the ``markpods/<node>`` key, retried
  until done). Then processTaintBaseEviction with the Ready condition it *observed*
  (before its own write): False/Unknown puts the node in its zone's tainting queue (or
  swaps not-ready ⇄ unreachable at once when the opposite NoExecute taint is there);
  True removes both NoExecute taints. Finally handleDisruption: per zone (region +
  zone labels) the state Normal / PartialDisruption (more than 2 and at least
  unhealthyZoneThreshold 0.55 of the nodes not Ready) / FullDisruption (none Ready),
  which sets the zone's tainting rate (node-eviction-rate 0.1 nodes/s; in partial
  disruption secondary-node-eviction-rate 0.01 — 0 when the zone has at most
  largeClusterSizeThreshold 50 nodes); when every zone is fully disrupted ("master
  disruption mode") all NoExecute taints are removed and tainting stops, and on leaving
  it every probe timestamp is reset to now. New nodes get the event RegisteredNode,
  vanished ones RemovingNode.
- ``noexecute`` — doNoExecuteTaintingPass: each zone's RateLimitedTimedQueue (a token
  bucket, burst 1) taints the queued nodes with ``node.kubernetes.io/not-ready`` or
  ``node.kubernetes.io/unreachable`` NoExecute (timeAdded now) according to their Ready
  condition then, and removes the opposite one. Requeued for the next token.
- ``noschedule/<node>`` — doNoScheduleTaintingPass, on node events: NoSchedule taints
  mirroring the conditions (Ready False → not-ready, Unknown → unreachable,
  Memory/Disk/PID pressure, NetworkUnavailable) and spec.unschedulable.
- ``pod/<ns>/<name>`` — processPod: a pod newly bound to a node last seen not Ready is
  marked NotReady.

Taint writes are merge patches of ``spec.taints`` guarded by the node's
resourceVersion (PatchNodeTaints); the node's own status is written through the status
subresource with the cached resourceVersion. Writes of the monitor pass that meet a 409
or 404 are left to the next pass (level-based), as upstream's retry of the pass does.

Every duration is an upstream duration in seconds, turned into real seconds with
`util.scaled` and the cluster's ``time_scale`` (rates are scaled the same way: one
token every ``scaled(1 / rate)`` seconds).

Upstream quirks kept on purpose: a heartbeat change observed without a lease renewal
in the same pass forgets the lease seen so far, so the next pass counts the (old) lease
as a renewal — up to one extra monitor period of grace; a zone tainting queue's token
is spent even when its head is not due yet; a newly observed node (also every node
after a controller restart) has its NoExecute taints removed before being re-queued.
Not done: the node labels reconciliation (beta os/arch labels — kubemu's kubelet sets
both) and DaemonSet pods (kubemu has no DaemonSets).
"""

from __future__ import annotations

import copy
import itertools
import random
from dataclasses import dataclass
from typing import Any, Mapping

from . import nodeutil as nu
from . import util as u
from .loop import (Action, BaseController, EventSpec, Result, View, WatchEvent, error_code,
                   register)

COMPONENT = "node-controller"

# kube-controller-manager defaults (upstream seconds, nodes per second)
NODE_MONITOR_PERIOD = 5.0
NODE_MONITOR_GRACE_PERIOD = 50.0
NODE_STARTUP_GRACE_PERIOD = 60.0
NODE_EVICTION_RATE = 0.1
SECONDARY_NODE_EVICTION_RATE = 0.01
LARGE_CLUSTER_SIZE_THRESHOLD = 50
UNHEALTHY_ZONE_THRESHOLD = 0.55
EVICTION_RATE_LIMITER_BURST = 1  # scheduler.EvictionRateLimiterBurst
NO_CONDITION_RETRY = 0.05  # the tainting pass retries a node without Ready in 50 ms

UNREACHABLE_NOEXECUTE: dict[str, Any] = {"key": nu.TAINT_UNREACHABLE, "effect": nu.NO_EXECUTE}
NOT_READY_NOEXECUTE: dict[str, Any] = {"key": nu.TAINT_NOT_READY, "effect": nu.NO_EXECUTE}

# nodeConditionToTaintKeyStatusMap: condition type -> status -> NoSchedule taint key
CONDITION_TAINTS: dict[str, dict[str, str]] = {
    "Ready": {"False": nu.TAINT_NOT_READY, "Unknown": nu.TAINT_UNREACHABLE},
    "MemoryPressure": {"True": nu.TAINT_MEMORY_PRESSURE},
    "DiskPressure": {"True": nu.TAINT_DISK_PRESSURE},
    "NetworkUnavailable": {"True": nu.TAINT_NETWORK_UNAVAILABLE},
    "PIDPressure": {"True": nu.TAINT_PID_PRESSURE},
}
CONDITION_TAINT_KEYS = frozenset(k for m in CONDITION_TAINTS.values() for k in m.values())
# NetworkUnavailable is managed by the control plane and left alone
MONITORED_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
EXCLUDE_DISRUPTION_LABEL = "node.kubernetes.io/exclude-disruption"

INITIAL, NORMAL, FULL_DISRUPTION, PARTIAL_DISRUPTION = (
    "Initial", "Normal", "FullDisruption", "PartialDisruption")

MONITOR = "monitor"
NOEXECUTE = "noexecute"

Obj = dict[str, Any]


# ---- rate limiting (client-go flowcontrol, nodelifecycle/scheduler) ---------------------------


class TokenBucket:
    """flowcontrol.NewTokenBucketRateLimiter(qps, burst).TryAccept: x/time/rate's Allow,
    starting full. ``qps`` is the upstream rate; tokens come every scaled(1/qps) s."""

    def __init__(self, qps: float, burst: int, time_scale: float, now: float) -> None:
        self.qps = float(qps)
        self.burst = burst
        self.rate = self.qps / time_scale if self.qps > 0 else 0.0  # tokens per real second
        self.tokens = float(burst)
        self.last = now

    def _advance(self, now: float) -> None:
        if now > self.last:
            self.tokens = min(float(self.burst), self.tokens + (now - self.last) * self.rate)
            self.last = now

    def try_accept(self, now: float) -> bool:
        self._advance(now)
        if self.tokens >= 1.0 - 1e-9:
            self.tokens -= 1.0
            return True
        return False

    def next_token(self, now: float) -> float | None:
        """When try_accept can next succeed (None: never)."""
        self._advance(now)
        if self.tokens >= 1.0 - 1e-9:
            return now
        if self.rate <= 0:
            return None
        return now + (1.0 - self.tokens) / self.rate


class NeverLimiter:
    """flowcontrol.NewFakeNeverRateLimiter: tainting stopped."""
    qps = 0.0

    def try_accept(self, now: float) -> bool:
        return False

    def next_token(self, now: float) -> float | None:
        return None


Limiter = TokenBucket | NeverLimiter


@dataclass
class TimedValue:
    value: str
    uid: str
    added_at: float
    process_at: float
    seq: int


class RateLimitedTimedQueue:
    """scheduler.RateLimitedTimedQueue: a unique queue ordered by processAt. A value
    stays in the set after it was processed (RemoveFromQueue) until Remove()."""

    def __init__(self, limiter: Limiter) -> None:
        self.limiter: Limiter = limiter
        self._queue: dict[str, TimedValue] = {}
        self._set: set[str] = set()
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._queue)

    def __contains__(self, value: str) -> bool:
        return value in self._set

    def queued(self) -> list[str]:
        return [v.value for v in sorted(self._queue.values(),
                                        key=lambda v: (v.process_at, v.seq))]

    def add(self, value: str, uid: str, now: float) -> bool:
        if value in self._set:
            return False
        self._queue[value] = TimedValue(value, uid, now, now, next(self._seq))
        self._set.add(value)
        return True

    def remove(self, value: str) -> bool:
        """Remove: out of the queue and the set (the value may be added again)."""
        if value not in self._set:
            return False
        self._set.discard(value)
        self._queue.pop(value, None)
        return True

    def remove_from_queue(self, value: str) -> bool:
        """RemoveFromQueue: done with it, but keep it in the set (no second add)."""
        return self._queue.pop(value, None) is not None

    def replace(self, value: str, process_at: float) -> bool:
        v = self._queue.get(value)
        if v is None:
            return False
        v.process_at = process_at
        v.seq = next(self._seq)
        return True

    def requeue(self, value: str, uid: str, process_at: float) -> None:
        """A failed attempt: back in the queue, if still wanted."""
        if value in self._set and value not in self._queue:
            self._queue[value] = TimedValue(value, uid, process_at, process_at, next(self._seq))

    def head(self) -> TimedValue | None:
        if not self._queue:
            return None
        return min(self._queue.values(), key=lambda v: (v.process_at, v.seq))

    def swap_limiter(self, qps: float, time_scale: float, now: float) -> None:
        """SwapLimiter: a new bucket unless the rate is the same; drained by one token
        when the old one had none left (burst 1)."""
        if self.limiter.qps == qps:
            return
        new: Limiter
        if qps <= 0:
            new = NeverLimiter()
        else:
            new = TokenBucket(qps, EVICTION_RATE_LIMITER_BURST, time_scale, now)
            if not self.limiter.try_accept(now):
                new.try_accept(now)
        self.limiter = new


# ---- detect ------------------------------------------------------------------------------------


@dataclass
class NodeHealth:
    """nodeHealthData: what the controller last saw of a node, on its own clock."""
    probe: float
    ready_transition: float
    status: Obj
    has_lease: bool = False
    lease_renew: float | None = None


def compute_zone_state(conditions: list[Obj | None], unhealthy_threshold: float
                       ) -> tuple[int, str]:
    """ComputeZoneState: (not-ready nodes, state) of a zone's Ready conditions."""
    ready = sum(1 for c in conditions if c is not None and c.get("status") == "True")
    not_ready = len(conditions) - ready
    if ready == 0 and not_ready > 0:
        return not_ready, FULL_DISRUPTION
    if not_ready > 2 and not_ready / (not_ready + ready) >= unhealthy_threshold:
        return not_ready, PARTIAL_DISRUPTION
    return not_ready, NORMAL


def no_schedule_taints_wanted(node: Mapping[str, Any]) -> list[Obj]:
    """The NoSchedule taints a node's conditions and spec.unschedulable call for."""
    out: list[Obj] = []
    for c in (node.get("status") or {}).get("conditions") or []:
        key = CONDITION_TAINTS.get(str(c.get("type")), {}).get(str(c.get("status")))
        if key is not None:
            out.append({"key": key, "effect": nu.NO_SCHEDULE})
    if (node.get("spec") or {}).get("unschedulable"):
        out.append({"key": nu.TAINT_UNSCHEDULABLE, "effect": nu.NO_SCHEDULE})
    return out


def no_schedule_taints_managed(node: Mapping[str, Any]) -> list[Obj]:
    """The node's NoSchedule taints this controller owns."""
    return [t for t in nu.node_taints(node) if t.get("effect") == nu.NO_SCHEDULE and
            (t.get("key") == nu.TAINT_UNSCHEDULABLE or t.get("key") in CONDITION_TAINT_KEYS)]


def _cond_summary(node: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    return sorted((str(c.get("type")), str(c.get("status")))
                  for c in ((node or {}).get("status") or {}).get("conditions") or [])


# ---- act -----------------------------------------------------------------------------------------


class NodeLifecycleController(BaseController):
    name = "nodelifecycle"
    watches: tuple[str, ...] = ("nodes", "leases", "pods")
    component = COMPONENT

    def __init__(self, *, node_monitor_period: float = NODE_MONITOR_PERIOD,
                 node_monitor_grace_period: float = NODE_MONITOR_GRACE_PERIOD,
                 node_startup_grace_period: float = NODE_STARTUP_GRACE_PERIOD,
                 node_eviction_rate: float = NODE_EVICTION_RATE,
                 secondary_node_eviction_rate: float = SECONDARY_NODE_EVICTION_RATE,
                 large_cluster_size_threshold: int = LARGE_CLUSTER_SIZE_THRESHOLD,
                 unhealthy_zone_threshold: float = UNHEALTHY_ZONE_THRESHOLD,
                 time_scale: float = 1.0) -> None:
        self.period = node_monitor_period
        self.grace = node_monitor_grace_period
        self.startup_grace = node_startup_grace_period
        self.eviction_rate = node_eviction_rate
        self.secondary_eviction_rate = secondary_node_eviction_rate
        self.large_cluster_threshold = large_cluster_size_threshold
        self.unhealthy_threshold = unhealthy_zone_threshold
        self.time_scale = time_scale
        self.health: dict[str, NodeHealth] = {}
        self.known: dict[str, Obj] = {}  # knownNodeSet
        self.zone_states: dict[str, str] = {}
        self.tainters: dict[str, RateLimitedTimedQueue] = {}  # zoneNoExecuteTainter
        self.mark_pending: set[str] = set()  # nodes whose pods are to be marked NotReady
        self._tainting: dict[str, tuple[str, str]] = {}  # node -> (zone, uid) being tainted
        self._started = False

    def scaled(self, seconds: float) -> float:
        return u.scaled(seconds, self.time_scale)

    # -- event handlers --
    def keys_for(self, ev: WatchEvent, view: View, now: float) -> list[tuple[str, float]]:
        keys: list[tuple[str, float]] = []
        if not self._started:  # Run(): the first monitor pass right after the caches sync
            self._started = True
            keys.append((MONITOR, 0.0))
        else:  # keep the periodic pass alive (never later than one period from now)
            keys.append((MONITOR, self.scaled(self.period)))
        o = ev.obj
        if ev.resource == "nodes":
            name = u.name(o)
            if ev.type == "DELETED":
                self.mark_pending.discard(name)
            elif ev.type == "ADDED" or _cond_summary(ev.old) != _cond_summary(o) or \
                    bool((o.get("spec") or {}).get("unschedulable")) != \
                    bool(((ev.old or {}).get("spec") or {}).get("unschedulable")) or \
                    nu.node_taints(o) != nu.node_taints(ev.old or {}):
                keys.append((f"noschedule/{name}", 0.0))
        elif ev.resource == "pods" and ev.type != "DELETED":
            node = nu.node_name_of(o)
            if node and (ev.type == "ADDED" or node != nu.node_name_of(ev.old or {})):
                keys.append((f"pod/{u.obj_key(o)}", 0.0))
        return keys

    # -- reconcile --
    def reconcile(self, key: str, view: View, now: float,
                  rng: random.Random) -> tuple[list[Action], Result]:
        if key == MONITOR:
            return self._monitor(view, now)
        if key == NOEXECUTE:
            return self._noexecute(view, now)
        kind, _, rest = key.partition("/")
        if kind == "noschedule":
            return self._noschedule(rest, view, now), Result()
        if kind == "markpods":
            return self._markpods(rest, view, now), Result()
        if kind == "pod":
            return self._process_pod(rest, view, now)
        return [], Result()

    # -- monitorNodeHealth --
    def _monitor(self, view: View, now: float) -> tuple[list[Action], Result]:
        nodes = sorted(view.list("nodes"), key=u.name)
        work: dict[str, list[Obj]] = {}  # node -> taints as this pass wants them
        status_actions: list[Action] = []
        events: list[Action] = []
        enqueue: list[str] = []
        added, deleted, representatives = self._classify(nodes)
        for n in representatives:
            self._add_zone(n, now)
        for n in added:
            events.append(self._node_event(n, "RegisteredNode",
                                           f"Registered Node {u.name(n)} in Controller"))
            self.known[u.name(n)] = n
            self._add_zone(n, now)
            self._mark_reachable(n, work)
        for n in deleted:
            events.append(self._node_event(n, "RemovingNode",
                                           f"Removing Node {u.name(n)} from Controller"))
            self.known.pop(u.name(n), None)

        zone_conditions: dict[str, list[Obj | None]] = {}
        for n in nodes:
            name = u.name(n)
            observed, current, new_status = self._try_update_health(n, view, now)
            if EXCLUDE_DISRUPTION_LABEL not in u.labels(n):
                zone_conditions.setdefault(nu.zone_key(n), []).append(current)
            transition = current is not None and current.get("status") != "True" and \
                observed.get("status") == "True"
            if new_status is not None:
                ev = EventSpec("Normal", "NodeNotReady",
                               f"Node {name} status is now: NodeNotReady",
                               nu.node_ref(n)) if transition else None
                status_actions.append(Action(
                    "update_status", "nodes", "", name, nu.with_status(n, new_status),
                    options={"node_transition": transition}, batch=0, always=True,
                    tolerate=(404, 409), event=ev))
                if transition:
                    enqueue.append(f"markpods/{name}")
            if current is not None:
                self._process_taint_based_eviction(n, observed, work, now)
        self._handle_disruption(zone_conditions, nodes, work, now)

        taint_actions: list[Action] = []
        by_name = {u.name(n): n for n in nodes}
        for name in sorted(work):
            node = by_name.get(name)
            if node is None or work[name] == nu.node_taints(node):
                continue
            taint_actions.append(Action("patch", "nodes", "", name, options={
                "patch": nu.taints_patch(node, work[name]), "patch_type": "merge"},
                batch=1, always=True, tolerate=(404, 409)))
        if any(len(q) for q in self.tainters.values()):
            enqueue.append(NOEXECUTE)
        return [*status_actions, *taint_actions, *events], \
            Result(requeue_after=self.scaled(self.period), enqueue=enqueue)

    def _node_event(self, node: Obj, reason: str, what: str) -> Action:
        """RecordNodeEvent: "Node <name> event: <what>"."""
        return Action("event", "nodes", "", u.name(node), batch=2, always=True,
                      event=EventSpec("Normal", reason, f"Node {u.name(node)} event: {what}",
                                      nu.node_ref(node)))

    def _classify(self, nodes: list[Obj]) -> tuple[list[Obj], list[Obj], list[Obj]]:
        """classifyNodes: (added, deleted, newZoneRepresentatives)."""
        added = [n for n in nodes if u.name(n) not in self.known]
        representatives = [n for n in nodes if u.name(n) in self.known
                           and nu.zone_key(n) not in self.zone_states]
        deleted: list[Obj] = []
        if len(self.known) + len(added) != len(nodes):
            present = {u.name(n) for n in nodes}
            deleted = [self.known[k] for k in sorted(self.known) if k not in present]
        return added, deleted, representatives

    def _add_zone(self, node: Obj, now: float) -> None:
        """addPodEvictorForNewZone."""
        zone = nu.zone_key(node)
        if zone not in self.zone_states:
            self.zone_states[zone] = INITIAL
            self.tainters[zone] = RateLimitedTimedQueue(
                TokenBucket(self.eviction_rate, EVICTION_RATE_LIMITER_BURST, self.time_scale, now))

    def _try_update_health(self, node: Obj, view: View, now: float
                           ) -> tuple[Obj, Obj | None, Obj | None]:
        """tryUpdateNodeHealth: (observed Ready condition, current Ready condition, the
        status to write or None)."""
        name = u.name(node)
        h = self.health.get(name)
        status = copy.deepcopy(node.get("status") or {})
        created = u.meta(node).get("creationTimestamp")
        created_at = u.creation_time(node)
        created_at = now if created_at is None else created_at
        cur = nu.ready_condition(status)
        if cur is None:
            # never posted: a fake Unknown condition dated at the node's creation
            observed: Obj = {"type": "Ready", "status": "Unknown",
                             "lastHeartbeatTime": created, "lastTransitionTime": created}
            grace = self.startup_grace
            if h is not None:
                h.status = status
            else:
                h = NodeHealth(created_at, created_at, status)
        else:
            observed = copy.deepcopy(cur)
            grace = self.grace
        saved = nu.ready_condition(h.status) if h is not None else None
        saved_has_lease = h.has_lease if h is not None else False
        saved_lease = h.lease_renew if h is not None else None
        if h is None:
            h = NodeHealth(now, now, status)
        elif saved is None and cur is not None:
            h = NodeHealth(now, now, status)
        elif saved is not None and cur is None:
            h = NodeHealth(now, now, status)
        elif saved is not None and cur is not None and \
                saved.get("lastHeartbeatTime") != cur.get("lastHeartbeatTime"):
            transition = now if saved.get("lastTransitionTime") != cur.get("lastTransitionTime") \
                else h.ready_transition
            h = NodeHealth(now, transition, status)  # (upstream forgets the lease here)
        # always update the probe time when the lease was renewed
        lease = view.get("leases", nu.LEASE_NAMESPACE, name)
        renew = None if lease is None else u.ts((lease.get("spec") or {}).get("renewTime"))
        if lease is not None:
            if not saved_has_lease or (saved_lease is not None and renew is not None
                                       and saved_lease < renew):
                h.has_lease, h.lease_renew = True, renew
                h.probe = now
        new_status: Obj | None = None
        current = nu.ready_condition(status)
        if now > h.probe + self.scaled(grace):
            st = copy.deepcopy(status)
            conds = st.get("conditions")
            if not isinstance(conds, list):
                conds = st["conditions"] = []
            stamp = u.now_str(now)
            for ctype in MONITORED_CONDITIONS:
                c = u.get_condition(st, ctype)
                if c is None:
                    conds.append({"type": ctype, "status": "Unknown",
                                  "lastHeartbeatTime": created, "lastTransitionTime": stamp,
                                  "reason": "NodeStatusNeverUpdated",
                                  "message": "Kubelet never posted node status."})
                elif c.get("status") != "Unknown":
                    c.update({"status": "Unknown", "reason": "NodeStatusUnknown",
                              "message": "Kubelet stopped posting node status.",
                              "lastTransitionTime": stamp})
            current = nu.ready_condition(st)
            if not u.semantic_equal(current, observed):
                new_status = st
                h = NodeHealth(h.probe, now, st, lease is not None, renew)
        self.health[name] = h
        return observed, current, new_status

    # -- taints --
    @staticmethod
    def _taints(work: dict[str, list[Obj]], node: Obj) -> list[Obj]:
        name = u.name(node)
        if name not in work:
            work[name] = nu.node_taints(node)
        return work[name]

    def _swap(self, node: Obj, add: Obj, remove: Obj, work: dict[str, list[Obj]],
              now: float) -> None:
        """SwapNodeControllerTaint, on this pass's copy of the node's taints."""
        taints = self._taints(work, node)
        taints, _ = nu.add_or_update_taint(taints, {**add, "timeAdded": u.now_str(now)})
        taints, _ = nu.remove_taint(taints, remove)
        work[u.name(node)] = taints

    def _mark_reachable(self, node: Obj, work: dict[str, list[Obj]]) -> None:
        """markNodeAsReachable: no NoExecute node-controller taints, out of the queue."""
        taints = self._taints(work, node)
        taints, _ = nu.remove_taint(taints, UNREACHABLE_NOEXECUTE)
        taints, _ = nu.remove_taint(taints, NOT_READY_NOEXECUTE)
        work[u.name(node)] = taints
        q = self.tainters.get(nu.zone_key(node))
        if q is not None:
            q.remove(u.name(node))

    def _mark_for_tainting(self, node: Obj, status: str, now: float) -> bool:
        q = self._tainter(nu.zone_key(node), now)
        taints = nu.node_taints(node)
        if status == "False" and not nu.taint_exists(taints, NOT_READY_NOEXECUTE):
            q.remove(u.name(node))
        if status == "Unknown" and not nu.taint_exists(taints, UNREACHABLE_NOEXECUTE):
            q.remove(u.name(node))
        return q.add(u.name(node), u.uid(node), now)

    def _process_taint_based_eviction(self, node: Obj, observed: Obj,
                                      work: dict[str, list[Obj]], now: float) -> None:
        status = observed.get("status")
        taints = nu.node_taints(node)
        if status == "False":
            if nu.taint_exists(taints, UNREACHABLE_NOEXECUTE):
                self._swap(node, NOT_READY_NOEXECUTE, UNREACHABLE_NOEXECUTE, work, now)
            else:
                self._mark_for_tainting(node, "False", now)
        elif status == "Unknown":
            if nu.taint_exists(taints, NOT_READY_NOEXECUTE):
                self._swap(node, UNREACHABLE_NOEXECUTE, NOT_READY_NOEXECUTE, work, now)
            else:
                self._mark_for_tainting(node, "Unknown", now)
        elif status == "True":
            self._mark_reachable(node, work)

    # -- zones --
    def _handle_disruption(self, zone_conditions: dict[str, list[Obj | None]],
                           nodes: list[Obj], work: dict[str, list[Obj]], now: float) -> None:
        new_states: dict[str, str] = {}
        all_are_full = True
        for zone in sorted(zone_conditions):
            _, state = compute_zone_state(zone_conditions[zone], self.unhealthy_threshold)
            if state != FULL_DISRUPTION:
                all_are_full = False
            new_states[zone] = state
            self.zone_states.setdefault(zone, INITIAL)
        all_was_full = True
        for zone in sorted(self.zone_states):
            if zone not in zone_conditions:
                del self.zone_states[zone]
                continue
            if self.zone_states[zone] != FULL_DISRUPTION:
                all_was_full = False
        if all_are_full and all_was_full:
            return
        if all_are_full:
            # every zone fully disrupted: the control plane is the likely culprit
            # ("master disruption mode") — untaint everything and stop tainting
            for n in nodes:
                self._mark_reachable(n, work)
            for zone in self.zone_states:
                self._tainter(zone, now).swap_limiter(0.0, self.time_scale, now)
                self.zone_states[zone] = FULL_DISRUPTION
            return
        if all_was_full:
            # leaving master disruption mode: everyone gets a fresh grace period
            for n in nodes:
                h = self.health.get(u.name(n))
                if h is not None:
                    h.probe = h.ready_transition = now
            for zone in self.zone_states:
                self._set_limiter(zone, len(zone_conditions.get(zone, [])), new_states[zone], now)
                self.zone_states[zone] = new_states[zone]
            return
        for zone, state in list(self.zone_states.items()):
            new = new_states[zone]
            if state == new:
                continue
            self._set_limiter(zone, len(zone_conditions.get(zone, [])), new, now)
            self.zone_states[zone] = new

    def _tainter(self, zone: str, now: float) -> RateLimitedTimedQueue:
        q = self.tainters.get(zone)
        if q is None:
            q = self.tainters[zone] = RateLimitedTimedQueue(TokenBucket(
                self.eviction_rate, EVICTION_RATE_LIMITER_BURST, self.time_scale, now))
        return q

    def _set_limiter(self, zone: str, size: int, state: str, now: float) -> None:
        if state == PARTIAL_DISRUPTION:  # ReducedQPSFunc
            qps = self.secondary_eviction_rate if size > self.large_cluster_threshold else 0.0
        else:  # Normal; FullDisruption of one zone: HealthyQPSFunc
            qps = self.eviction_rate
        self._tainter(zone, now).swap_limiter(qps, self.time_scale, now)

    # -- doNoExecuteTaintingPass --
    def _noexecute(self, view: View, now: float) -> tuple[list[Action], Result]:
        actions: list[Action] = []
        for zone in sorted(self.tainters):
            q = self.tainters[zone]
            while (head := q.head()) is not None:
                if not q.limiter.try_accept(now):
                    break
                if now < head.process_at:
                    break
                name = head.value
                node = view.get("nodes", "", name)
                if node is None:  # gone: done
                    q.remove_from_queue(name)
                    continue
                cond = nu.ready_condition(node.get("status"))
                if cond is None:
                    q.replace(name, now + self.scaled(NO_CONDITION_RETRY))
                    continue
                if cond.get("status") == "False":
                    add, opposite = NOT_READY_NOEXECUTE, UNREACHABLE_NOEXECUTE
                elif cond.get("status") == "Unknown":
                    add, opposite = UNREACHABLE_NOEXECUTE, NOT_READY_NOEXECUTE
                else:  # ready again: nothing to taint
                    q.remove_from_queue(name)
                    continue
                taints, _ = nu.add_or_update_taint(nu.node_taints(node),
                                                   {**add, "timeAdded": u.now_str(now)})
                taints, _ = nu.remove_taint(taints, opposite)
                actions.append(Action("patch", "nodes", "", name, options={
                    "patch": nu.taints_patch(node, taints), "patch_type": "merge"},
                    batch=0, always=True, tolerate=(404,)))
                self._tainting[name] = (zone, head.uid)
                q.remove_from_queue(name)
        return actions, Result(requeue_after=self._next_tainting(now))

    def _next_tainting(self, now: float) -> float | None:
        best: float | None = None
        for q in self.tainters.values():
            head = q.head()
            if head is None:
                continue
            t = q.limiter.next_token(now)
            if t is None:
                continue
            t = max(t, head.process_at)
            best = t if best is None else min(best, t)
        return None if best is None else max(best - now, 1e-3)

    # -- doNoScheduleTaintingPass --
    def _noschedule(self, name: str, view: View, now: float) -> list[Action]:
        node = view.get("nodes", "", name)
        if node is None:
            return []
        to_add, to_remove = nu.taint_set_diff(no_schedule_taints_wanted(node),
                                              no_schedule_taints_managed(node))
        if not to_add and not to_remove:
            return []
        taints = nu.node_taints(node)
        for t in to_add:
            taints, _ = nu.add_or_update_taint(taints, {**t, "timeAdded": u.now_str(now)})
        for t in to_remove:
            taints, _ = nu.remove_taint(taints, t)
        return [Action("patch", "nodes", "", name, options={
            "patch": nu.taints_patch(node, taints), "patch_type": "merge"}, tolerate=(404,))]

    # -- pods --
    @staticmethod
    def mark_pods_not_ready(pods: list[Obj], node_name: str, now: float) -> list[Action]:
        """MarkPodsNotReady: the Ready condition of each pod on the node set to False
        (status update), then the pod event NodeNotReady."""
        actions = []
        for p in pods:
            if nu.node_name_of(p) != node_name:
                continue
            status = copy.deepcopy(p.get("status") or {})
            cond = u.get_condition(status, "Ready")
            if cond is None:
                continue
            new = dict(cond)
            new["status"] = "False"
            if not nu.update_pod_condition(status, new, now):
                continue
            actions.append(Action(
                "update_status", "pods", u.namespace(p), u.name(p), nu.with_status(p, status),
                batch=0, always=True, tolerate=(404,),
                event=EventSpec("Warning", "NodeNotReady", "Node is not ready", nu.pod_ref(p))))
        return actions

    def _markpods(self, name: str, view: View, now: float) -> list[Action]:
        if name not in self.mark_pending:
            return []
        self.mark_pending.discard(name)  # back on a failure (action_done)
        if view.get("nodes", "", name) is None:
            return []
        return self.mark_pods_not_ready(nu.pods_on_node(view, name), name, now)

    def _process_pod(self, key: str, view: View, now: float) -> tuple[list[Action], Result]:
        """processPod: a pod bound to a node last seen not Ready is marked NotReady."""
        ns, name = u.split_key(key)
        pod = view.get("pods", ns, name)
        if pod is None:
            return [], Result()
        node_name = nu.node_name_of(pod)
        h = self.health.get(node_name)
        if h is None:
            return [], Result()
        if view.get("nodes", "", node_name) is None:
            return [], Result(requeue=True)
        cond = nu.ready_condition(h.status)
        if cond is None or cond.get("status") == "True":
            return [], Result()
        return self.mark_pods_not_ready([pod], node_name, now), Result()

    def action_done(self, key: str, action: Action, error: BaseException | None,
                    now: float) -> None:
        if key == MONITOR:
            if action.verb == "update_status" and error is None and \
                    action.options.get("node_transition"):
                self.mark_pending.add(action.name)
        elif key.startswith("markpods/"):
            if error is not None and error_code(error) != 404:
                self.mark_pending.add(key.partition("/")[2])
        elif key == NOEXECUTE and action.verb == "patch":
            zone, uid = self._tainting.pop(action.name, ("", ""))
            if error is not None and error_code(error) != 404:
                q = self.tainters.get(zone)
                if q is not None:  # SwapNodeControllerTaint failed: try again
                    q.requeue(action.name, uid, now)


def _num(config: Mapping[str, Any], key: str, default: float) -> float:
    v = config.get(key)
    return default if v is None else float(v)


@register("nodelifecycle")
def _new(config: dict[str, Any]) -> NodeLifecycleController:
    return NodeLifecycleController(
        node_monitor_period=_num(config, "node_monitor_period", NODE_MONITOR_PERIOD),
        node_monitor_grace_period=_num(config, "node_monitor_grace_period",
                                       NODE_MONITOR_GRACE_PERIOD),
        node_startup_grace_period=_num(config, "node_startup_grace_period",
                                       NODE_STARTUP_GRACE_PERIOD),
        node_eviction_rate=_num(config, "node_eviction_rate", NODE_EVICTION_RATE),
        secondary_node_eviction_rate=_num(config, "secondary_node_eviction_rate",
                                          SECONDARY_NODE_EVICTION_RATE),
        large_cluster_size_threshold=int(_num(config, "large_cluster_size_threshold",
                                              LARGE_CLUSTER_SIZE_THRESHOLD)),
        unhealthy_zone_threshold=_num(config, "unhealthy_zone_threshold",
                                      UNHEALTHY_ZONE_THRESHOLD),
        time_scale=_num(config, "time_scale", 1.0))
