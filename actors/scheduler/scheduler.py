"""The scheduler's event loop logic without the I/O (pure): kube-scheduler's
eventhandlers.go + scheduleOne, with the writes returned as data for the actor.

Informer events come in through `on_node_*` / `on_pod_*`:

- assigned pods (spec.nodeName set, not Succeeded/Failed) live in the cache; a pod
  turning terminal counts as deleted (upstream's informer filters terminal pods out);
- unassigned pods with our schedulerName live in the queue (and in `pending`, the
  latest version of each, which failure handling requeues);
- a pod going from unassigned to assigned (our bind, or someone else's) leaves the
  queue and confirms/enters the cache.

`schedule_next()` runs one cycle (scheduleOne): pop, skip pods being deleted or already
assumed, snapshot, `schedule_one`, then either *assume* the pod on the chosen node and
return a `Bind` for the actor to send, or handle the failure: requeue the pod (as
unschedulable, or to backoff after an error), and return the FailedScheduling event
and the PodScheduled=False status patch. The actor reports the bind's outcome:
`bind_succeeded` (FinishBinding, a Scheduled event) or `bind_failed` (ForgetPod, a move
of the unschedulable pods since the assumption freed its resources, and the failure
handling with reason SchedulerError).

Preemption (schedulingCycle's PostFilter step): when no node fits (a FitError) the
profile's PostFilter plugins run (DefaultPreemption); its message ends the FitError
("... preemption: 0/3 nodes are available: ..."), and a success nominates the pod to
a node: the queue's nominator holds it there at once (lower-or-equal-priority pods are
filtered as if it ran there), the failure's status patch carries
`status.nominatedNodeName`, and the victims are evicted (`preemption.preemption_calls`:
DisruptionTarget condition, delete, Preempted event; nominations of lower-priority pods
on that node cleared). The pod waits as unschedulable until a victim's deletion moves
it; a pod with a nominated node tries that node first (evaluateNominatedNode). A cycle
that fails with an error, an assume or a bind failure clears the nomination.

Profiles (config.py): `profiles` maps each schedulerName this scheduler serves to its
Framework; a pod is ours when its schedulerName is one of them, and its cycle runs its
profile. The filter pass's nextStartNodeIndex and the global percentageOfNodesToScore
live in `search`, shared by the profiles as upstream. Each cycle's decision record
(decision.py) rides on the Cycle and the Bind for the actor to write.

`tick()` runs the periodic queue flushes on the injected clock.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from typing import Any, Mapping

from actors.common.clock import Clock

from . import helpers
from .cache import Cache, CacheError
from .eventhandlers import node_scheduling_properties_changed, pre_check_for_node
from .events import (EVENT_TYPE_NORMAL, EVENT_TYPE_WARNING, REASON_SCHEDULER_ERROR, REASON_UNSCHEDULABLE,
                     ApiCall, EventRecorder, pod_scheduled_false_patch, truncate_message)
from .decision import decision_record
from .framework import Framework, plugin_events
from .queue import (ASSIGNED_POD_ADD, ASSIGNED_POD_DELETE, ASSIGNED_POD_UPDATE, BACKOFF_FLUSH_PERIOD, NODE_ADD,
                    UNSCHEDULABLE_FLUSH_PERIOD, QueuedPodInfo, SchedulingQueue, node_update_event)
from .registry import DEFAULT_SCHEDULER_NAME, default_profile
from .schedule import FitError, NodeSearch, ScheduleResult, schedule_one
from .framework import Code, CycleState, NodeToStatus, Snapshot
from .preemption import preemption_calls
from .queue import nominated_node_name

log = logging.getLogger("kubemu.scheduler")

Obj = Mapping[str, Any]
DEFAULT_BINDER = "DefaultBinder"
ASSUMED_CLEANUP_PERIOD = 1.0  # upstream's cleanAssumedPeriod


@dataclass
class Bind:
    """A decided placement: bind `pod` to `node` (the pod is assumed in the cache)."""

    pod: Obj
    node: str
    assumed: dict[str, Any]
    info: QueuedPodInfo
    cycle: int
    result: ScheduleResult
    decision: dict[str, Any] | None = None  # decision.decision_record, for the pod's annotation

    @property
    def namespace(self) -> str:
        return helpers.namespace_of(self.pod)

    @property
    def name(self) -> str:
        return helpers.name_of(self.pod)


@dataclass
class Cycle:
    """The outcome of one scheduling cycle: a bind to send and/or API writes."""

    pod: Obj
    bind: Bind | None = None
    calls: list[ApiCall] = field(default_factory=list)
    message: str = ""
    decision: dict[str, Any] | None = None  # decision.decision_record of the attempt


def _assumed(pod: Obj, node: str) -> dict[str, Any]:
    out = dict(pod)
    out["spec"] = dict(helpers.spec(pod))
    out["spec"]["nodeName"] = node
    return out


class Scheduler:
    def __init__(self, clock: Clock, rng: random.Random, *,
                 scheduler_name: str = DEFAULT_SCHEDULER_NAME,
                 profile: Framework | None = None,
                 queue: SchedulingQueue | None = None,
                 cache: Cache | None = None,
                 backoff_flush_period: float = BACKOFF_FLUSH_PERIOD,
                 unschedulable_flush_period: float = UNSCHEDULABLE_FLUSH_PERIOD,
                 profiles: Mapping[str, Framework] | None = None,
                 percentage_of_nodes_to_score: int = 0) -> None:
        self.clock = clock
        self.rng = rng
        self.scheduler_name = scheduler_name
        self.profile = profile or default_profile(scheduler_name)
        # schedulerName -> profile: the pods of every one of them are ours
        self.profiles: dict[str, Framework] = dict(profiles) if profiles else {scheduler_name: self.profile}
        if profiles:
            self.profile = self.profiles.get(scheduler_name) or next(iter(self.profiles.values()))
        self.search = NodeSearch(percentage_of_nodes_to_score=percentage_of_nodes_to_score)
        self.queue = queue or SchedulingQueue(clock)
        for name, fwk in self.profiles.items():
            self.queue.register_profile_events(name, {p.name: plugin_events(p) for p in fwk.plugins})
        for fwk in self.profiles.values():  # the framework handle: the queue's nominator, the rng
            fwk.nominator, fwk.rng = self.queue.nominator, rng
        self.cache = cache or Cache()
        self.recorder = EventRecorder(scheduler_name)
        self.pending: dict[str, Obj] = {}  # namespace/name -> latest unassigned pod of ours
        self.backoff_flush_period = backoff_flush_period
        self.unschedulable_flush_period = unschedulable_flush_period
        now = clock.now()
        self._last_backoff_flush = now
        self._last_unschedulable_flush = now
        self._last_assumed_cleanup = now
        self.stats = {"attempts": 0, "scheduled": 0, "unschedulable": 0, "errors": 0,
                      "bind_failures": 0}

    # ---- informer handlers ------------------------------------------------------------

    def responsible_for(self, pod: Obj) -> bool:
        return helpers.scheduler_name(pod) in self.profiles

    def on_node_add(self, node: Obj) -> None:
        ni = self.cache.add_node(node)
        self.queue.move_all_to_active_or_backoff_queue(NODE_ADD, pre_check_for_node(ni))

    def on_node_update(self, old: Obj | None, new: Obj) -> None:
        ni = self.cache.update_node(old, new)
        changes = node_scheduling_properties_changed(old, new) if old is not None else ["Update"]
        if changes:
            self.queue.move_all_to_active_or_backoff_queue(node_update_event(changes), pre_check_for_node(ni))

    def on_node_delete(self, node: Obj) -> None:
        try:
            self.cache.remove_node(node)
        except CacheError as e:
            log.warning("%s", e)

    def _cacheable(self, pod: Obj) -> bool:
        return helpers.is_assigned(pod) and not helpers.is_terminal(pod)

    def _queueable(self, pod: Obj) -> bool:
        return not helpers.is_assigned(pod) and not helpers.is_terminal(pod) and self.responsible_for(pod)

    def on_pod_add(self, pod: Obj) -> None:
        if self._cacheable(pod):
            try:
                self.cache.add_pod(pod)
            except CacheError as e:
                log.warning("%s", e)
            # AssignedPodAdded: a pod waiting for an affinity partner or a spread domain to
            # fill may fit now (only pods rejected by plugins registering Pod/Add move)
            self.queue.move_all_to_active_or_backoff_queue(ASSIGNED_POD_ADD)
        elif self._queueable(pod):
            self.pending[helpers.pod_key(pod)] = pod
            self.queue.add(pod)

    def on_pod_update(self, old: Obj | None, new: Obj) -> None:
        was_cached = old is not None and self._cacheable(old) and self.cache.get_pod(old) is not None
        was_queued = helpers.pod_key(new) in self.pending
        if self._cacheable(new):
            if was_queued:  # just bound: leaves the queue
                self.pending.pop(helpers.pod_key(new), None)
                self.queue.delete(new)
            try:
                if was_cached and not self.cache.is_assumed_pod(new):
                    assert old is not None
                    self.cache.update_pod(old, new)
                    if helpers.meta(old).get("labels") != helpers.meta(new).get("labels"):
                        self.queue.move_all_to_active_or_backoff_queue(ASSIGNED_POD_UPDATE)
                else:
                    self.cache.add_pod(new)  # confirms an assumed pod
                    self.queue.move_all_to_active_or_backoff_queue(ASSIGNED_POD_ADD)
            except CacheError as e:
                log.warning("%s", e)
        elif self._queueable(new):
            self.pending[helpers.pod_key(new)] = new
            self.queue.update(old if was_queued else None, new)
        else:  # terminal, or no longer ours
            if was_cached or (old is not None and self._cacheable(old)):
                self._assigned_pod_gone(old if old is not None else new)
            if was_queued:
                self.pending.pop(helpers.pod_key(new), None)
                self.queue.delete(new)

    def on_pod_delete(self, pod: Obj) -> None:
        key = helpers.pod_key(pod)
        if key in self.pending:
            del self.pending[key]
            self.queue.delete(pod)
        if helpers.is_assigned(pod) and self.cache.get_pod(pod) is not None:
            self._assigned_pod_gone(pod)

    def _assigned_pod_gone(self, pod: Obj) -> None:
        try:
            self.cache.remove_pod(pod)
        except CacheError as e:
            log.warning("%s", e)
        self.queue.move_all_to_active_or_backoff_queue(ASSIGNED_POD_DELETE)

    # ---- periodic work -------------------------------------------------------------------

    def tick(self) -> None:
        """The queue's background flushes (every 1 s and 30 s upstream) and assumed-pod expiry."""
        now = self.clock.now()
        if now - self._last_backoff_flush >= self.backoff_flush_period:
            self._last_backoff_flush = now
            self.queue.flush_backoff_completed()
        if now - self._last_unschedulable_flush >= self.unschedulable_flush_period:
            self._last_unschedulable_flush = now
            self.queue.flush_unschedulable_pods_leftover()
        if now - self._last_assumed_cleanup >= ASSUMED_CLEANUP_PERIOD:  # cleanAssumedPeriod
            self._last_assumed_cleanup = now
            for pod in self.cache.cleanup_assumed_pods(now):
                log.warning("assumed pod %s expired", helpers.pod_key(pod))

    # ---- one scheduling cycle ------------------------------------------------------------

    def schedule_next(self) -> Cycle | None:
        """Run one cycle on the head of activeQ; None when there is nothing to schedule."""
        info = self.queue.pop()
        if info is None:
            return None
        pod = info.pod
        cycle = self.queue.scheduling_cycle
        now = self.clock.now()
        if helpers.is_terminating(pod):
            msg = f"skip schedule deleting pod: {helpers.pod_key(pod)}"
            return Cycle(pod, calls=[self.recorder.event(pod, EVENT_TYPE_WARNING, "FailedScheduling",
                                                         msg, now, "Scheduling")], message=msg)
        if self.cache.is_assumed_pod(pod):
            return Cycle(pod, message="already assumed")
        self.stats["attempts"] += 1
        fwk = self.profiles.get(helpers.scheduler_name(pod), self.profile)
        state = CycleState()
        result = self._schedule_pod(fwk, pod, state)
        nominated, preempting = self._post_filter(fwk, state, info, result)
        record = decision_record(fwk.profile_name, result)
        if result.error is not None:
            if isinstance(result.error, FitError):
                info.unschedulable_plugins = set(result.error.diagnosis.unschedulable_plugins)
                info.pending_plugins = set(result.error.diagnosis.pending_plugins)
            else:
                info.unschedulable_plugins, info.pending_plugins = set(), set()
            calls = preempting + self._handle_failure(info, cycle, result.status.is_rejected(), result.message,
                                                      nominated)
            return Cycle(pod, calls=calls, message=result.message, decision=record)
        assumed = _assumed(pod, result.suggested_host)
        try:
            self.cache.assume_pod(assumed)
        except CacheError as e:
            info.unschedulable_plugins, info.pending_plugins = set(), set()
            return Cycle(pod, calls=self._handle_failure(info, cycle, False, str(e), ""), message=str(e))
        self.queue.nominator.delete_nominated_pod_if_exists(pod)
        return Cycle(pod, bind=Bind(pod, result.suggested_host, assumed, info, cycle, result, record),
                     decision=record)

    def _schedule_pod(self, fwk: Framework, pod: Obj, state: CycleState) -> ScheduleResult:
        """schedulePod, trying a nominated node alone first (evaluateNominatedNode): a pod
        that preempted binds where it made room as soon as it fits there."""
        snapshot = self.cache.snapshot()
        nominated = nominated_node_name(pod)
        ni = snapshot.get(nominated) if nominated else None
        if ni is not None:
            fast = schedule_one(pod, Snapshot([ni]), fwk, self.rng)
            if fast.error is None:
                fast.num_all_nodes = snapshot.num_nodes()
                return fast
        return schedule_one(pod, snapshot, fwk, self.rng, state, search=self.search)

    def _post_filter(self, fwk: Framework, state: CycleState, info: QueuedPodInfo, result: ScheduleResult
                     ) -> tuple[str | None, list[ApiCall]]:
        """The PostFilter step of a failed cycle: (the nomination to record -- None keeps the
        pod's own, "" clears it -- and the preemption's API writes). Its message is added
        to the FitError."""
        if result.error is None:
            return None, []
        if not isinstance(result.error, FitError):
            return "", []  # clearNominatedNode
        if not fwk.has_post_filter_plugins():
            return None, []
        diagnosis = result.error.diagnosis
        latest = self.pending.get(info.key, info.pod)
        pf, status = fwk.run_post_filter_plugins(
            state, latest, NodeToStatus(diagnosis.node_to_status, diagnosis.absent_nodes_status))
        diagnosis.post_filter_msg = status.message()
        if status.code == Code.ERROR:
            log.warning("PostFilter for %s failed: %s", info.key, status.message())
        if pf is None:
            return None, []
        return pf.nominated_node_name, preemption_calls(pf, latest, self.recorder, self.clock.now())

    def _handle_failure(self, info: QueuedPodInfo, cycle: int, rejected: bool, message: str,
                        nominated: str | None = None) -> list[ApiCall]:
        """handleSchedulingFailure: requeue, record the nomination (`nominated`: None keeps
        the pod's status.nominatedNodeName, else the node, "" for none), FailedScheduling
        event, PodScheduled=False (and nominatedNodeName) status patch."""
        now = self.clock.now()
        reason = REASON_UNSCHEDULABLE if rejected else REASON_SCHEDULER_ERROR
        self.stats["unschedulable" if rejected else "errors"] += 1
        latest = self.pending.get(info.key)
        if latest is not None and not helpers.is_assigned(latest):
            info.pod = latest
            err = self.queue.add_unschedulable_if_not_present(info, cycle)
            if err:
                log.warning("%s", err)
            self.queue.nominator.add_nominated_pod(latest, nominated)
        pod = latest if latest is not None else info.pod
        calls = [self.recorder.event(pod, EVENT_TYPE_WARNING, "FailedScheduling", truncate_message(message),
                                     now, "Scheduling")]
        if latest is not None:
            patch = pod_scheduled_false_patch(latest, reason, message, now)
            if nominated is not None and nominated != nominated_node_name(latest):
                if patch is None:
                    patch = ApiCall("patch", "pods", helpers.namespace_of(latest), helpers.name_of(latest),
                                    {"status": {}}, "status")
                patch.body["status"]["nominatedNodeName"] = nominated or None
            if patch is not None:
                calls.append(patch)
        return calls

    def bind_succeeded(self, bind: Bind) -> list[ApiCall]:
        now = self.clock.now()
        self.cache.finish_binding(bind.assumed, now)
        self.stats["scheduled"] += 1
        msg = f"Successfully assigned {bind.namespace}/{bind.name} to {bind.node}"
        return [self.recorder.event(bind.assumed, EVENT_TYPE_NORMAL, "Scheduled", msg, now, "Binding")]

    def bind_failed(self, bind: Bind, error: str) -> list[ApiCall]:
        """handleBindingCycleError: forget the assumption, move pods, fail the pod."""
        self.stats["bind_failures"] += 1
        try:
            self.cache.forget_pod(bind.assumed)
        except CacheError as e:
            log.warning("scheduler cache ForgetPod failed: %s", e)
        else:
            self.queue.move_all_to_active_or_backoff_queue(ASSIGNED_POD_DELETE)
        bind.info.unschedulable_plugins, bind.info.pending_plugins = set(), set()
        message = f'running Bind plugin "{DEFAULT_BINDER}": {error}'
        return self._handle_failure(bind.info, bind.cycle, False, message, "")

    # ---- introspection ------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {"scheduler_name": self.scheduler_name, "queue": self.queue.lengths(),
                "pending_pods": self.queue.pending_pods_summary(),
                "scheduling_cycle": self.queue.scheduling_cycle,
                "nodes": self.cache.node_count(), "cached_pods": self.cache.pod_count(),
                "assumed_pods": len(self.cache.assumed_pods), **self.stats,
                "profiles": list(self.profiles),
                "framework_metrics": {n: f.metrics() for n, f in self.profiles.items()}}
