"""One pod's life on its node, as a state machine driven by time (pure).

    w = PodWorker(pod, node_cfg, runtime)
    fx = w.step(now)        # -> Effects(status, events, wake_at, delete)
    w.update(pod)           # a newer object from the watch (deletionTimestamp, ...)
    fx = w.kill(now)        # the pod is gone from the API (force delete)

`step(now)` applies every transition that is due by `now`, each at its own time (a
late step still stamps the right startedAt / finishedAt), and returns the status to
post when it differs from the last one, the events to record, and when to call again.
The caller does no polling: between wake-ups nothing changes.

The lifecycle follows the kubelet's syncPod / kuberuntime SyncPod:

1. admission: startTime, hostIP; the sandbox gets an IP from the podCIDR (host-local
   IPAM) -> PodReadyToStartContainers.
2. init containers one at a time, each to a successful exit (sidecars, i.e. init
   containers with restartPolicy Always, only need to be started), then the regular
   containers in spec order. Starting one = EnsureImageExists (per imagePullPolicy:
   Always pulls every time, IfNotPresent when missing, Never fails with
   ErrImageNeverPull), then Created and Started. Pulls are serialized per node (see
   runtime.images); while a container's image is being pulled the containers after it
   wait, as SyncPod blocks on the pull.
3. a failed pull: ErrImagePull, then ImagePullBackOff (per pod+image backoff, 10 s
   doubling to 300 s) with the kubelet's retries every 10 s.
4. a container that exits (scripted, see runtime.behavior) is restarted per the
   restart policy with the crash-loop backoff (CrashLoopBackOff), or stays terminated;
   when no container will run again the pod is terminal (Succeeded / Failed) and its
   sandbox is torn down.
5. deletion (deletionTimestamp): Killing each running container with the grace period
   (deletionGracePeriodSeconds; the kubelet never uses less than 2 s), each one exits
   after its simulated stop time or is SIGKILLed (137) when the grace period ends; then
   a last status in a terminal phase and `delete=True`: the caller deletes the pod with
   grace period 0.

Probes and readiness gates beyond "running = ready" slot in at `_container_ready`.
Every duration is simulated seconds x `time_scale` (`NodeConfig.scaled`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from actors.common import clock
from actors.common.clock import parse_time

from . import pod_status
from .backoff import Backoff, go_duration
from .config import NodeConfig
from .events import PodEvent
from .runtime import (SIGKILL_EXIT_CODE, Container, IPExhausted, LogError, PullTicket,
                      RegistryImage, Runtime, behavior_for, container_log_id,
                      default_pull_policy, exit_reason)

Obj = dict[str, Any]

PLEG_RELIST_SECONDS = 1.0  # the kubelet notices container changes within one relist
SYNC_RETRY_SECONDS = 10.0  # pod worker requeue after a failed sync (backOffPeriod)
IMAGE_BACKOFF_INITIAL = 10.0
IMAGE_BACKOFF_MAX = 300.0
MIN_GRACE_SECONDS = 2.0  # kuberuntime minimumGracePeriodInSeconds
DEFAULT_GRACE_SECONDS = 30.0
UNKNOWN_MESSAGE = "The container could not be located when the pod was terminated"


@lru_cache(maxsize=8192)
def rfc3339(t: float) -> str:
    """clock.rfc3339, memoized: a pod's few timestamps are formatted at every status."""
    return clock.rfc3339(t)


# container slot stages
NEW = "new"  # to be started at its `due`
PULLING = "pulling"  # pull ticket in flight, done at `due`
PULL_FAILED = "pull-failed"  # waiting ErrImagePull / ImagePullBackOff / ErrImageNeverPull
RUNNING = "running"  # `due` = scripted exit, if any
RESTART = "restart"  # terminated; the restart decision is due
BACKOFF = "backoff"  # waiting CrashLoopBackOff
DONE = "done"  # terminated for good
STOPPING = "stopping"  # killed, gone at `due`
UNKNOWN = "unknown"  # never ran and never will: ContainerStatusUnknown at the end
_STARTABLE = (NEW, PULL_FAILED, RESTART, BACKOFF)

# pod stages
ACTIVE = "active"
TERMINATING = "terminating"
TERMINATED = "terminated"


@dataclass(slots=True)
class Effects:
    status: Obj | None = None  # the full pod status to post, when it changed
    events: list[PodEvent] = field(default_factory=list)
    wake_at: float | None = None  # call step() again at this time (None: only on update)
    delete: bool = False  # delete the pod object now, with grace period 0


class _Slot:
    """One container of the pod: its spec, its current runtime container, its history
    (`prev`: the instance before `c`, kept for `kubectl logs --previous`)."""

    __slots__ = ("spec", "name", "init", "sidecar", "stage", "due", "reason", "message",
                 "ticket", "c", "prev", "restarts", "last_term", "crash", "img_backoff")

    def __init__(self, spec: Obj, init: bool) -> None:
        self.spec = spec
        self.name: str = spec["name"]
        self.init = init
        self.sidecar = init and spec.get("restartPolicy") == "Always"
        self.stage = NEW
        self.due: float | None = None
        self.reason = ""
        self.message = ""
        self.ticket: PullTicket | None = None
        self.c: Container | None = None
        self.prev: Container | None = None
        self.restarts = 0
        self.last_term: Obj | None = None
        self.crash: Backoff | None = None
        self.img_backoff: Backoff | None = None

    @property
    def field_path(self) -> str:
        return f"spec.{'initContainers' if self.init else 'containers'}{{{self.name}}}"

    @property
    def image(self) -> str:
        return str(self.spec.get("image", ""))

    def init_complete(self) -> bool:
        if self.sidecar:
            return self.stage in (RUNNING, STOPPING)
        c = self.c
        return self.stage == DONE and c is not None and c.exit_code == 0


def _restore_terminated(rt: Runtime, pod: Obj, s: _Slot, cs: Obj, term: Obj, cid: str,
                        now: float) -> Container:
    """A terminated container as its status described it (kubelet restart)."""
    ref = str(cs.get("image") or s.image)
    img = rt.images.lookup(ref) or RegistryImage(ref=ref, size_bytes=0, pull_seconds=0.0)
    tid = str(term.get("containerID", "")).split("://", 1)[-1] or cid
    c = Container(tid, s.name, img, behavior_for(pod, s.spec, init=s.init), now)
    c.state = "terminated"
    c.exit_code = int(term.get("exitCode") or 0)
    c.reason = str(term.get("reason") or exit_reason(c.exit_code))
    c.started_at = parse_time(term["startedAt"]) if term.get("startedAt") else None
    c.finished_at = parse_time(term["finishedAt"]) if term.get("finishedAt") else now
    return c


def _restore_prev(rt: Runtime, pod: Obj, s: _Slot, cs: Obj, now: float) -> None:
    """The instance before the current one, from lastState (its log stays readable)."""
    term = (s.last_term or {}).get("terminated")
    cid = str((term or {}).get("containerID", "")).split("://", 1)[-1]
    if term and cid:
        s.prev = _restore_terminated(rt, pod, s, cs, term, cid, now)


class PodWorker:
    __slots__ = ("pod", "cfg", "rt", "uid", "stage", "slots", "ip", "start_time",
                 "terminal_phase", "kill_requested", "rejected", "_last", "_fx",
                 "_sandbox_ready", "_t", "_qos", "_sandbox_due")

    def __init__(self, pod: Obj, cfg: NodeConfig, runtime: Runtime,
                 rejected: tuple[str, str] | None = None) -> None:
        self.pod = pod
        self.cfg = cfg
        self.rt = runtime
        meta = pod.get("metadata") or {}
        self.uid: str = meta.get("uid", "")
        spec = pod.get("spec") or {}
        self.slots = [_Slot(c, True) for c in spec.get("initContainers") or []] + \
            [_Slot(c, False) for c in spec.get("containers") or []]
        self.stage = ""  # "" until admitted at the first step
        self.ip = ""
        self._sandbox_ready = False
        self.start_time: float | None = None
        self.terminal_phase = ""
        self.kill_requested = bool(meta.get("deletionTimestamp"))
        self.rejected = rejected  # (reason, message) from admission
        self._last: Obj | None = None
        self._fx = Effects()
        self._t = 0.0  # time of the last transition applied: time never runs backwards
        self._qos = ""
        self._sandbox_due: float | None = None  # retry of a failed sandbox creation

    @classmethod
    def adopt(cls, pod: Obj, cfg: NodeConfig, runtime: Runtime, now: float) -> "PodWorker":
        """A worker for a pod this node was already running before the kubelet restarted:
        its sandbox IP and running containers carry on (containerd outlives the kubelet)."""
        w = cls(pod, cfg, runtime)
        st = pod.get("status") or {}
        if st.get("hostIP") != cfg.node_ip or not st.get("startTime"):
            return w
        w.stage = ACTIVE
        w.start_time = parse_time(st["startTime"])
        phase = st.get("phase", "Pending")
        by_name = {cs.get("name"): cs for cs in (st.get("initContainerStatuses") or [])
                   + (st.get("containerStatuses") or [])}
        if phase in ("Succeeded", "Failed"):
            w.terminal_phase, w.stage, w.ip = phase, TERMINATED, st.get("podIP", "")
            for s in w.slots:
                cs = by_name.get(s.name) or {}
                term = (cs.get("state") or {}).get("terminated")
                if term and term.get("reason") != "ContainerStatusUnknown":
                    cid = str(cs.get("containerID", "")).split("://", 1)[-1]
                    s.c = _restore_terminated(runtime, pod, s, cs, term, cid, now)
                    s.stage = DONE
                else:
                    s.stage = UNKNOWN
                s.restarts = int(cs.get("restartCount") or 0)
                s.last_term = (cs.get("lastState") or {}) or None
                _restore_prev(runtime, pod, s, cs, now)
            w._last = st
            return w
        w.ip = st.get("podIP", "")
        if not w.ip:
            w.ip = cfg.node_ip if (pod.get("spec") or {}).get("hostNetwork") \
                else runtime.run_sandbox(w.uid)
        elif w.ip != cfg.node_ip:
            runtime.adopt_sandbox(w.uid, w.ip)
        w._sandbox_ready = True
        for s in w.slots:
            cs = by_name.get(s.name) or {}
            s.restarts = int(cs.get("restartCount") or 0)
            s.last_term = (cs.get("lastState") or {}) or None
            _restore_prev(runtime, pod, s, cs, now)
            running = (cs.get("state") or {}).get("running")
            cid = str(cs.get("containerID", "")).split("://", 1)[-1]
            if running and cid:
                img = runtime.images.lookup(str(cs.get("image") or s.image)) or RegistryImage(
                    ref=str(cs.get("image") or s.image), size_bytes=0, pull_seconds=0.0)
                s.c = runtime.adopt_container(cid, s.name, img,
                                              behavior_for(pod, s.spec, init=s.init),
                                              parse_time(running.get("startedAt") or
                                                         st["startTime"]))
                s.stage, s.due = RUNNING, s.c.exit_at
            elif (cs.get("state") or {}).get("terminated") or \
                    (cs.get("lastState") or {}).get("terminated"):
                waiting = "terminated" not in (cs.get("state") or {})
                term = (cs.get("lastState") if waiting else cs.get("state")) or {}
                if waiting:
                    s.last_term, s.prev = None, None
                s.c = _restore_terminated(runtime, pod, s, cs, term["terminated"], cid, now)
                if s.init and not s.sidecar and s.c.exit_code == 0:
                    s.stage = DONE
                else:
                    w._exited(s, now)
            else:
                s.stage, s.due = NEW, now
        w._last = st
        w._check_terminal(now)
        return w

    # ---- inputs ---------------------------------------------------------------------

    def update(self, pod: Obj, *, check_status: bool = False) -> None:
        """A newer version of the pod object (from the watch).

        With `check_status`, a status that someone else changed (the node lifecycle
        controller marks pods Ready=False while the node is unreachable) is noticed:
        the worker forgets what it last posted, so its next step posts its own view
        again, as upstream's status manager re-checks against the apiserver."""
        self.pod = pod
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            self.kill_requested = True
        if check_status and self._last is not None and \
                _status_digest(pod.get("status")) != _status_digest(self._last):
            self._last = None

    @property
    def key(self) -> str:
        meta = self.pod.get("metadata") or {}
        return f"{meta.get('namespace', 'default')}/{meta.get('name', '')}"

    @property
    def hostname(self) -> str:
        """The pod's hostname (spec.hostname, else its name, at most 63 characters)."""
        spec = self.pod.get("spec") or {}
        return str(spec.get("hostname") or (self.pod.get("metadata") or {}).get("name")
                   or "")[:63]

    def log_container(self, name: str, previous: bool) -> Container:
        """The container instance a log request reads: the kubelet's
        validateContainerLogStatus over the status this worker last generated (the
        status manager's copy), else the pod's; LogError with the kubelet's message."""
        meta = self.pod.get("metadata") or {}
        st = self._last if self._last is not None else (self.pod.get("status") or {})
        cid = container_log_id(st, str(meta.get("name", "")), name, previous)
        cid = cid.split("://", 1)[-1]
        restarts = 0
        for s in self.slots:
            if s.name == name:
                for c in (s.c, s.prev):
                    if c is not None and c.id == cid:
                        return c
                restarts = max(0, s.restarts - (1 if previous else 0))
        path = (f"/var/log/pods/{meta.get('namespace', 'default')}_{meta.get('name', '')}_"
                f"{self.uid}/{name}/{restarts}.log")
        raise LogError(f'failed to try resolving symlinks in path "{path}": lstat {path}: '
                       "no such file or directory")

    @property
    def finished(self) -> bool:
        """Every container is down and the sandbox is gone."""
        return self.stage == TERMINATED

    # ---- the step -------------------------------------------------------------------

    def step(self, now: float) -> Effects:
        fx = self._fx = Effects()
        if not self.stage:
            self._admit(now)
        self._run_until(now)
        if self.kill_requested and self.stage == ACTIVE:
            self._t = max(self._t, now)
            self._begin_termination(now)
            self._run_until(now)
        fx.status = self._status_if_changed(now)
        nxt = self._next_event()
        fx.wake_at = nxt[0] if nxt is not None else None
        fx.delete = self.kill_requested and self.stage == TERMINATED
        return fx

    def _run_until(self, now: float) -> None:
        for _ in range(100_000):  # every transition makes progress; this is only a guard
            nxt = self._next_event()
            if nxt is None or nxt[0] > now:
                return
            t = max(nxt[0], self._t)
            self._t = t
            self._fire(nxt[1], t)
            self._check_terminal(t)

    def kill(self, now: float) -> Effects:
        """The pod object is gone: stop everything at once (no status, no delete)."""
        fx = self._fx = Effects()
        for s in self.slots:
            if s.c is not None and s.c.state == "running":
                self._event(now, "Normal", "Killing", f"Stopping container {s.name}", s)
                s.c.stop(now, 0.0, self.rt.time_scale)
                s.c.observe(now)
            s.stage = DONE if s.c is not None else UNKNOWN
            s.due = None
        self._teardown()
        self.stage = TERMINATED
        return fx

    # ---- admission and sandbox ------------------------------------------------------

    def _admit(self, now: float) -> None:
        self.stage = ACTIVE
        self._t = now
        self.start_time = now
        if self.rejected is not None:
            reason, message = self.rejected
            self._event(now, "Warning", reason, message)
            for s in self.slots:
                s.stage = UNKNOWN
            self.terminal_phase = "Failed"
            self.stage = TERMINATED
            return
        if self.kill_requested:
            # deleted before it ever ran: nothing to start
            for s in self.slots:
                s.stage = UNKNOWN
            return
        self._create_sandbox(now)

    def _create_sandbox(self, t: float) -> None:
        spec = self.pod.get("spec") or {}
        if spec.get("hostNetwork"):
            self.ip = self.cfg.node_ip
        else:
            try:
                self.ip = self.rt.run_sandbox(self.uid)
            except IPExhausted as e:
                self._event(t, "Warning", "FailedCreatePodSandBox",
                            "Failed to create pod sandbox: rpc error: code = Unknown desc = "
                            f"failed to setup network for sandbox: plugin type=\"host-local\" "
                            f"failed (add): failed to allocate for range 0: {e}: "
                            f"{self.cfg.pod_cidr}")
                self._sandbox_due = t + self.cfg.scaled(SYNC_RETRY_SECONDS)
                return
        self._sandbox_due = None
        self._sandbox_ready = True
        for s in self.slots:
            s.stage, s.due = NEW, t

    def _teardown(self) -> None:
        if self._sandbox_ready:
            self._sandbox_ready = False
            if self.ip and self.ip != self.cfg.node_ip:
                self.rt.stop_sandbox(self.ip)

    # ---- scheduling: which transition is next ---------------------------------------

    def _next_event(self) -> tuple[float, _Slot | None] | None:
        """The earliest due transition: (time, slot), or (time, None) for the sandbox."""
        best: tuple[float, _Slot | None] | None = None

        def cand(s: _Slot) -> None:
            nonlocal best
            if s.due is not None and (best is None or s.due < best[0]):
                best = (s.due, s)

        if self.stage == TERMINATING:
            for s in self.slots:
                if s.stage == STOPPING:
                    cand(s)
            return best
        if self.stage != ACTIVE:
            return None
        if self._sandbox_due is not None:
            return (self._sandbox_due, None)
        blocked = False
        for s in self.slots:
            if s.stage == RUNNING:
                cand(s)  # a scripted exit happens whatever else is going on
            if blocked:
                continue
            if s.stage == PULLING:
                cand(s)
                blocked = True  # SyncPod waits for this pull before starting later ones
            elif s.stage in _STARTABLE:
                cand(s)
                if s.init:
                    blocked = True
            elif s.init and not s.init_complete():
                blocked = True  # an init container still running (or failed for good)
        return best

    def _fire(self, s: _Slot | None, t: float) -> None:
        if s is None:
            self._create_sandbox(t)
        elif s.stage == PULLING:
            self._pull_done(s, t)
        elif s.stage == RUNNING or s.stage == STOPPING:
            c = s.c
            assert c is not None
            c.observe(t)
            if s.stage == STOPPING:
                s.stage, s.due = DONE, None
            else:
                self._exited(s, t)
        elif s.stage in _STARTABLE:
            self._start(s, t)

    # ---- starting containers --------------------------------------------------------

    def _restart_policy(self, s: _Slot) -> str:
        if s.sidecar:
            return "Always"
        return str((self.pod.get("spec") or {}).get("restartPolicy") or "Always")

    def _pod_ref(self) -> str:
        meta = self.pod.get("metadata") or {}
        return f"{meta.get('name', '')}_{meta.get('namespace', 'default')}({self.uid})"

    def _start(self, s: _Slot, t: float) -> None:
        scale = self.cfg.scaled
        if s.stage in (RESTART, BACKOFF) and s.c is not None and s.c.finished_at is not None:
            fin = s.c.finished_at
            if s.crash is None:
                s.crash = Backoff()
            reset = scale(self.cfg.crash_loop_backoff_reset)
            if s.crash.in_backoff_since(fin, t, reset):
                delay = go_duration(s.crash.duration)
                s.stage, s.reason = BACKOFF, "CrashLoopBackOff"
                s.message = (f"back-off {delay} restarting failed container={s.name} "
                             f"pod={self._pod_ref()}")
                self._event(t, "Warning", "BackOff",
                            f"Back-off restarting failed container {s.name} in pod "
                            f"{self._pod_ref()}", s)
                s.due = min(fin + s.crash.duration, t + scale(SYNC_RETRY_SECONDS))
                return
            s.crash.next(fin, t, scale(self.cfg.crash_loop_backoff_initial),
                         scale(self.cfg.crash_loop_backoff_max), reset)
        image = s.image
        policy = str(s.spec.get("imagePullPolicy") or default_pull_policy(image))
        present = self.rt.images.get_present(image, t)
        if policy == "Never" and present is None:
            msg = f"Container image \"{image}\" is not present with pull policy of Never"
            self._event(t, "Warning", "ErrImageNeverPull", msg, s)
            self._failed_start(s, t, "ErrImageNeverPull", msg, t + scale(SYNC_RETRY_SECONDS))
            return
        if present is not None and policy != "Always":
            self._event(t, "Normal", "Pulled",
                        f"Container image \"{image}\" already present on machine", s)
            self._create_and_start(s, present, t)
            return
        if s.img_backoff is not None and s.img_backoff.in_backoff_since_update(t):
            msg = f"Back-off pulling image \"{image}\""
            self._event(t, "Normal", "BackOff", msg, s)
            last = s.img_backoff.last_update or t
            self._failed_start(s, t, "ImagePullBackOff", msg,
                               min(last + s.img_backoff.duration,
                                   t + scale(SYNC_RETRY_SECONDS)))
            return
        self._event(t, "Normal", "Pulling", f"Pulling image \"{image}\"", s)
        s.ticket = self.rt.images.pull(image, t)
        s.stage, s.due = PULLING, s.ticket.done_at

    def _failed_start(self, s: _Slot, t: float, reason: str, message: str, due: float) -> None:
        self._event(t, "Warning", "Failed", f"Error: {reason}", s)
        s.stage, s.reason, s.message, s.due = PULL_FAILED, reason, message, due

    def _pull_done(self, s: _Slot, t: float) -> None:
        ticket = s.ticket
        assert ticket is not None
        s.ticket = None
        image = s.image
        if ticket.image is None or not ticket.ok:
            self._event(t, "Warning", "Failed",
                        f"Failed to pull image \"{image}\": {ticket.error}", s)
            if s.img_backoff is None:
                s.img_backoff = Backoff()
            sc = self.cfg.scaled
            s.img_backoff.next(t, t, sc(IMAGE_BACKOFF_INITIAL), sc(IMAGE_BACKOFF_MAX),
                               2 * sc(IMAGE_BACKOFF_MAX))
            # the status update this causes brings the pod worker back at once
            self._failed_start(s, t, "ErrImagePull", ticket.error,
                               t + sc(PLEG_RELIST_SECONDS))
            return
        self._event(t, "Normal", "Pulled",
                    f"Successfully pulled image \"{image}\" in {go_duration(ticket.pull_seconds)}"
                    f" ({go_duration(ticket.total_seconds)} including waiting). "
                    f"Image size: {ticket.image.size_bytes} bytes.", s)
        self._create_and_start(s, ticket.image, t)

    def _create_and_start(self, s: _Slot, image: RegistryImage, t: float) -> None:
        if s.c is not None:  # a restart: the old container becomes lastState
            s.last_term = self._terminated_state(s.c)
            s.prev = s.c
            s.restarts += 1
        beh = behavior_for(self.pod, s.spec, init=s.init)
        c = self.rt.create_container(self.uid, s.name, image, beh, t)
        self._event(t, "Normal", "Created", f"Created container {s.name}", s)
        self.rt.start_container(c, t)
        self._event(t, "Normal", "Started", f"Started container {s.name}", s)
        s.c, s.stage, s.due, s.reason, s.message = c, RUNNING, c.exit_at, "", ""

    # ---- exits ----------------------------------------------------------------------

    def _exited(self, s: _Slot, t: float) -> None:
        c = s.c
        assert c is not None
        policy = self._restart_policy(s)
        code = c.exit_code or 0
        if s.init and not s.sidecar:
            restart = code != 0 and policy != "Never"
        else:
            restart = policy == "Always" or (policy == "OnFailure" and code != 0)
        if restart:
            s.stage, s.due = RESTART, t + self.cfg.scaled(PLEG_RELIST_SECONDS)
        else:
            s.stage, s.due = DONE, None

    def _check_terminal(self, t: float) -> None:
        """No container will run again: the pod is terminal, its sandbox goes away."""
        if self.stage == TERMINATING:
            if all(s.stage not in (STOPPING, RUNNING) for s in self.slots):
                self._finish_termination()
            return
        if self.stage != ACTIVE:
            return
        regular = [s for s in self.slots if not s.init]
        failed_init = any(s.init and not s.sidecar and s.stage == DONE and s.c is not None
                          and s.c.exit_code != 0 for s in self.slots)
        if not (failed_init or all(s.stage == DONE for s in regular)):
            return
        # stop what still runs (sidecars), as the pod worker's termination does
        self._begin_termination(t)

    # ---- termination ----------------------------------------------------------------

    def _grace_seconds(self) -> float:
        meta = self.pod.get("metadata") or {}
        g = meta.get("deletionGracePeriodSeconds")
        if g is None:
            g = (self.pod.get("spec") or {}).get("terminationGracePeriodSeconds")
        return float(DEFAULT_GRACE_SECONDS if g is None else g)

    def _begin_termination(self, t: float) -> None:
        grace = self.cfg.scaled(max(self._grace_seconds(), MIN_GRACE_SECONDS))
        self.stage = TERMINATING
        self._sandbox_due = None
        for s in self.slots:
            if s.stage == RUNNING and s.c is not None:
                self._event(t, "Normal", "Killing", f"Stopping container {s.name}", s)
                s.stage, s.due = STOPPING, self.rt.stop_container(s.c, t, grace)
            elif s.c is not None:  # a previous run: it stays as it ended
                s.stage, s.due, s.ticket = DONE, None, None
            elif s.stage != DONE:
                s.stage, s.due, s.ticket = UNKNOWN, None, None
        if all(s.stage != STOPPING for s in self.slots):
            self._finish_termination()

    def _finish_termination(self) -> None:
        self._teardown()
        self.stage = TERMINATED

    # ---- status ---------------------------------------------------------------------

    def _event(self, t: float, etype: str, reason: str, message: str,
               s: _Slot | None = None) -> None:
        self._fx.events.append(PodEvent(t, etype, reason, message,
                                        s.field_path if s is not None else ""))

    @staticmethod
    def _terminated_state(c: Container) -> Obj:
        term: Obj = {"exitCode": c.exit_code if c.exit_code is not None else 0,
                     "reason": c.reason or exit_reason(c.exit_code or 0)}
        if c.started_at is not None:
            term["startedAt"] = rfc3339(c.started_at)
        if c.finished_at is not None:
            term["finishedAt"] = rfc3339(c.finished_at)
        term["containerID"] = f"kubemu://{c.id}"
        return {"terminated": term}

    def _container_ready(self, s: _Slot) -> bool:
        """Readiness: running (probes come later); a finished init container is ready."""
        if s.init and not s.sidecar:
            return s.init_complete()
        return s.stage == RUNNING

    def _container_status(self, s: _Slot, default_waiting: str) -> Obj:
        c = s.c
        if s.stage in (RUNNING, STOPPING) and c is not None and c.state == "running":
            state: Obj = {"running": {"startedAt": rfc3339(c.started_at or 0.0)}}
        elif s.stage == UNKNOWN or (c is None and self.stage == TERMINATED):
            state = {"terminated": {"exitCode": SIGKILL_EXIT_CODE,
                                    "reason": "ContainerStatusUnknown",
                                    "message": UNKNOWN_MESSAGE}}
        elif s.stage in (PULL_FAILED, BACKOFF):
            state = {"waiting": {"reason": s.reason, "message": s.message}}
        elif c is not None and c.state == "terminated" and s.stage in (DONE, RESTART, STOPPING):
            state = self._terminated_state(c)
        else:
            state = {"waiting": {"reason": default_waiting}}
        last: Obj = s.last_term or {}
        if s.stage == BACKOFF or (s.stage == PULL_FAILED and c is not None):
            # the previous run becomes lastState while waiting to run again
            last = self._terminated_state(c) if c is not None else last
        cs: Obj = {"name": s.name, "state": state, "lastState": last,
                   "ready": self._container_ready(s), "restartCount": s.restarts}
        if c is not None:
            cs["image"] = c.image.ref
            cs["imageID"] = c.image.image_id
            cs["containerID"] = f"kubemu://{c.id}"
        else:
            cs["image"] = s.image
            cs["imageID"] = ""
        cs["started"] = bool(c is not None and s.stage in (RUNNING, STOPPING)
                             and c.state == "running")
        return cs

    def build_status(self, now: float) -> Obj:
        spec = self.pod.get("spec") or {}
        old = self.pod.get("status") or {}
        if self.rejected is not None:
            reason, message = self.rejected
            # kubelet rejectPod: the event has the bare message, the status a prefix
            return {"phase": "Failed", "reason": reason,
                    "message": f"Pod was rejected: {message}"}
        has_init = bool(spec.get("initContainers"))
        waiting = "PodInitializing" if has_init else "ContainerCreating"
        inits = [self._container_status(s, waiting) for s in self.slots if s.init]
        regs = [self._container_status(s, waiting) for s in self.slots if not s.init]
        terminal = self.stage == TERMINATED
        phase = pod_status.pod_phase(spec, inits, regs, terminal)
        if self.terminal_phase:
            phase = self.terminal_phase
        elif terminal and phase not in ("Succeeded", "Failed"):
            phase = self.terminal_phase = "Failed"  # status manager's TerminatePod
        elif phase in ("Succeeded", "Failed"):
            self.terminal_phase = phase
        any_started = any(s.c is not None for s in self.slots if not s.init)
        cready = pod_status.containers_ready_condition(spec, regs, inits, phase)
        generated = [
            {"type": "PodReadyToStartContainers",
             "status": "True" if self._sandbox_ready else "False"},
            pod_status.initialized_condition(spec, inits, phase, any_started),
        ]
        ready = pod_status.ready_condition(cready, spec, old.get("conditions") or [])
        if phase == "Failed" and ready["status"] == "False":
            ready = {"type": "Ready", "status": "False", "reason": "PodFailed"}
        generated += [ready, cready, {"type": "PodScheduled", "status": "True"}]
        prev = (self._last if self._last is not None else old).get("conditions") or []
        st: Obj = {"phase": phase,
                   "conditions": pod_status.merge_conditions(generated, prev, now),
                   "hostIP": self.cfg.node_ip, "hostIPs": [{"ip": self.cfg.node_ip}]}
        if self.ip:
            st["podIP"] = self.ip
            st["podIPs"] = [{"ip": self.ip}]
        st["startTime"] = rfc3339(self.start_time or now)
        if inits:
            st["initContainerStatuses"] = inits
        st["containerStatuses"] = regs
        if not self._qos:
            self._qos = pod_status.qos_class(spec)  # resources are immutable in v1.30
        st["qosClass"] = self._qos
        return st

    def _status_if_changed(self, now: float) -> Obj | None:
        st = self.build_status(now)
        if st == self._last:
            return None
        self._last = st
        return st

    @property
    def last_status(self) -> Obj | None:
        return self._last


def _status_digest(st: Obj | None) -> tuple[Any, ...]:
    """What the kubelet owns in a pod status and others may overwrite: phase, conditions."""
    st = st or {}
    conds = tuple(sorted((str(c.get("type")), str(c.get("status")))
                         for c in st.get("conditions") or [] if isinstance(c, dict)))
    return (st.get("phase"), conds)
