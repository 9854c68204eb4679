"""The shared controller loop: controller-runtime's contract made pure.

A controller is a plain object with

- ``name`` and ``watches`` (the resources whose informer events it wants),
- ``keys_for(event, view, now)`` — the event handler: which keys to enqueue, and
  after what delay (client-go's ``AddFunc``/``UpdateFunc``/``DeleteFunc``; it may also
  update controller-owned bookkeeping such as ReplicaSet expectations),
- ``reconcile(key, view, now, rng) -> (actions, Result)`` — level-based, never sleeps,
  never does I/O: it reads the informer caches through a `View` and returns the
  `Action`\\ s it wants carried out,
- ``action_done(key, action, error, now)`` — told how each action went (for
  expectations: upstream lowers them when a create fails or is skipped).

`Runner` owns one client-go style workqueue per controller (dedup of keys, a key is
never processed twice at once, delayed adds, per-key exponential backoff 5 ms → 1000 s
combined with the 10 qps / burst 100 bucket, i.e. ``DefaultControllerRateLimiter``) and
carries out actions through an injected ``execute(action)``. Everything here is pure
and driven by the ``now`` passed in: tests use `Runner.run_until_idle` with a fake clock
and a synchronous executor; the actor drives the same steps in asyncio worker tasks
(`actors.controllers.actor.ControllerManager`).

Execution of one reconcile's actions (`Execution`) follows the Go code's sequencing:
actions run in order, consecutive actions sharing a ``batch`` id run concurrently
(slow-start batches), and the first failure skips every later action except those
marked ``always`` (the RS controller's status update) — like an ``if err != nil { return
err }``. A write's returned resourceVersion is carried into later writes of the same
object in the same reconcile (Go code keeps using the object the API returned), also
into a later merge patch guarded by ``metadata.resourceVersion``.
Errors whose HTTP code is in ``tolerate`` count as success (e.g. 404 on delete) but
are still shown to ``action_done``; any other failure requeues the key rate-limited.
Events (`EventSpec`) ride on actions: ``event`` is recorded when the action succeeds,
``failure_event`` when it fails; verb ``event`` only records.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol, Sequence

if TYPE_CHECKING:
    from actors.api.selectors import Selector

log = logging.getLogger("kubemu.controllers")

# ---- the contract ---------------------------------------------------------------------------


@dataclass
class Result:
    """controller-runtime's reconcile.Result."""
    requeue_after: float | None = None
    requeue: bool = False  # rate-limited requeue
    enqueue: list[str] = field(default_factory=list)  # other keys of this controller to queue


@dataclass(frozen=True)
class EventSpec:
    """An event to record about `regarding` (an ObjectReference dict)."""
    type: str  # Normal | Warning
    reason: str
    message: str  # for failure events "{error}" is replaced by the error message
    regarding: dict[str, str]


VERBS = ("create", "update", "update_status", "patch", "delete", "event")


@dataclass
class Action:
    """What a reconcile wants done; the loop executes it through the API.

    verb: create | update | update_status | patch | delete | event (only records `event`).
    body: the object for create/update/update_status.
    options: patch -> {"patch": doc, "patch_type": "merge"|"json"};
             delete -> {"propagation_policy", "grace_period_seconds", "preconditions_uid",
                        "if_absent": [{resource, namespace, name, uid}]}  (skip unless every
                        listed object is really gone: a live GET, the GC's owner check;
                        ``"any_uid": True`` in an entry: an object of that name with any
                        uid counts as present — PodGC's node check). if_absent is
                        honoured by every verb.
    """
    verb: str
    resource: str
    namespace: str
    name: str
    body: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    batch: int | None = None
    always: bool = False
    tolerate: tuple[int, ...] = ()
    event: EventSpec | None = None
    failure_event: EventSpec | None = None

    def target(self) -> tuple[str, str, str]:
        return (self.resource, self.namespace, self.name)


class View(Protocol):
    """Read-only informer caches."""
    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None: ...
    def list(self, resource: str, namespace: str | None = None,
             selector: Selector | None = None) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class WatchEvent:
    """An informer notification: type ADDED | MODIFIED | DELETED (old set on MODIFIED)."""
    type: str
    resource: str
    obj: dict[str, Any]
    old: dict[str, Any] | None = None


class Skipped(Exception):
    """The outcome of an action not run because an earlier one failed."""


class OwnerExists(Exception):
    """An ``if_absent`` precondition did not hold: a listed object still exists (the
    executor raises it; the GC tolerates it, the cache was just stale)."""
    code = 412

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} still exists")
        self.message = f"{what} still exists"


class Controller(Protocol):
    name: str
    watches: tuple[str, ...]

    def keys_for(self, ev: WatchEvent, view: View, now: float) -> list[tuple[str, float]]: ...

    def reconcile(self, key: str, view: View, now: float,
                  rng: random.Random) -> tuple[list[Action], Result]: ...

    def action_done(self, key: str, action: Action, error: BaseException | None,
                    now: float) -> None: ...


class BaseController:
    """Defaults for the optional parts of the protocol."""
    name = "base"
    watches: tuple[str, ...] = ()

    def action_done(self, key: str, action: Action, error: BaseException | None,
                    now: float) -> None:
        return None


ControllerFactory = Callable[[dict[str, Any]], Controller]
REGISTRY: dict[str, ControllerFactory] = {}


def register(name: str) -> Callable[[ControllerFactory], ControllerFactory]:
    """Decorator: make a controller constructible by name (kube-controller-manager's
    --controllers names: replicaset, deployment, garbagecollector, nodelifecycle,
    tainteviction, podgc, endpoints, namespace)."""
    def deco(factory: ControllerFactory) -> ControllerFactory:
        REGISTRY[name] = factory
        return factory
    return deco


def build_controllers(names: Iterable[str], config: dict[str, Any] | None = None) -> list[Controller]:
    # importing the modules registers them
    from actors.controllers import (deployment, endpoints,  # noqa: F401
                                    garbagecollector, namespace, nodelifecycle, podgc,
                                    replicaset, tainteviction)
    out = []
    for n in names:
        if n not in REGISTRY:
            raise KeyError(f"unknown controller {n!r} (known: {sorted(REGISTRY)})")
        out.append(REGISTRY[n](dict(config or {})))
    return out


# ---- rate limiters (client-go util/workqueue) -------------------------------------------------


class ItemExponentialFailureRateLimiter:
    """base * 2^failures per item, capped at max_delay; forget() resets the item."""

    def __init__(self, base: float = 0.005, max_delay: float = 1000.0) -> None:
        self.base = base
        self.max_delay = max_delay
        self.failures: dict[Any, int] = {}

    def when(self, item: Any, now: float) -> float:
        exp = self.failures.get(item, 0)
        self.failures[item] = exp + 1
        if exp > 62:
            return self.max_delay
        return float(min(self.base * (2 ** exp), self.max_delay))

    def num_requeues(self, item: Any) -> int:
        return self.failures.get(item, 0)

    def forget(self, item: Any) -> None:
        self.failures.pop(item, None)


class BucketRateLimiter:
    """golang.org/x/time/rate Limiter.Reserve().Delay(): overall qps with a burst."""

    def __init__(self, qps: float = 10.0, burst: int = 100) -> None:
        self.qps = qps
        self.burst = burst
        self.tokens = float(burst)
        self.last: float | None = None

    def when(self, item: Any, now: float) -> float:
        if self.last is not None and now > self.last:
            self.tokens = min(float(self.burst), self.tokens + (now - self.last) * self.qps)
        if self.last is None or now > self.last:
            self.last = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.qps

    def num_requeues(self, item: Any) -> int:
        return 0

    def forget(self, item: Any) -> None:
        return None


class MaxOfRateLimiter:
    def __init__(self, *limiters: Any) -> None:
        self.limiters = limiters

    def when(self, item: Any, now: float) -> float:
        return float(max(lim.when(item, now) for lim in self.limiters))

    def num_requeues(self, item: Any) -> int:
        return int(max(lim.num_requeues(item) for lim in self.limiters))

    def forget(self, item: Any) -> None:
        for lim in self.limiters:
            lim.forget(item)


def default_controller_rate_limiter() -> MaxOfRateLimiter:
    """workqueue.DefaultControllerRateLimiter()."""
    return MaxOfRateLimiter(ItemExponentialFailureRateLimiter(0.005, 1000.0),
                            BucketRateLimiter(10.0, 100))


# ---- the workqueue ------------------------------------------------------------------------------


class WorkQueue:
    """client-go's rate-limiting delaying queue, with time passed in.

    FIFO of dirty keys; a key is handed out once until done(); adds while it is being
    processed are remembered and re-queued at done(). Delayed adds wait in a heap (an
    earlier deadline for a waiting key wins)."""

    def __init__(self, rate_limiter: Any | None = None) -> None:
        self.rate_limiter = rate_limiter or default_controller_rate_limiter()
        self._queue: list[str] = []
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._waiting: list[tuple[float, int, str]] = []
        self._waiting_at: dict[str, float] = {}
        self._seq = itertools.count()

    def add(self, key: str) -> None:
        if key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return
        self._queue.append(key)

    def add_after(self, key: str, delay: float, now: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        at = now + delay
        cur = self._waiting_at.get(key)
        if cur is not None and cur <= at:
            return
        self._waiting_at[key] = at
        heapq.heappush(self._waiting, (at, next(self._seq), key))

    def add_rate_limited(self, key: str, now: float) -> None:
        self.add_after(key, self.rate_limiter.when(key, now), now)

    def forget(self, key: str) -> None:
        self.rate_limiter.forget(key)

    def num_requeues(self, key: str) -> int:
        return int(self.rate_limiter.num_requeues(key))

    def _promote(self, now: float) -> None:
        while self._waiting and self._waiting[0][0] <= now:
            at, _, key = heapq.heappop(self._waiting)
            if self._waiting_at.get(key) != at:
                continue  # superseded by an earlier deadline
            del self._waiting_at[key]
            self.add(key)

    def get(self, now: float) -> str | None:
        self._promote(now)
        if not self._queue:
            return None
        key = self._queue.pop(0)
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def done(self, key: str) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)

    def next_deadline(self, now: float) -> float | None:
        """When get() may next return something: now if keys are ready, else the earliest
        waiting deadline, else None."""
        self._promote(now)
        if self._queue:
            return now
        while self._waiting and self._waiting_at.get(self._waiting[0][2]) != self._waiting[0][0]:
            heapq.heappop(self._waiting)
        return self._waiting[0][0] if self._waiting else None

    def __len__(self) -> int:
        return len(self._queue)

    def pending(self) -> int:
        return len(self._queue) + len(self._waiting_at)

    def processing(self) -> int:
        return len(self._processing)


# ---- carrying out one reconcile's actions -------------------------------------------------------


def error_code(e: BaseException) -> int | None:
    c = getattr(e, "code", None)
    return c if isinstance(c, int) else None


def error_message(e: BaseException) -> str:
    m = getattr(e, "message", None)
    return m if isinstance(m, str) and m else str(e)


class Execution:
    """The actions of one reconcile, handed out step by step (see the module docstring).

    Drivers loop: ``while (step := ex.next_step()) is not None: for a in step: ...
    ex.record(a, result, error)``."""

    def __init__(self, controller: str, key: str, actions: Sequence[Action], result: Result) -> None:
        self.controller = controller
        self.key = key
        self.actions = list(actions)
        self.result = result
        # (action, raw error or None, tolerated): action_done sees raw errors (the RS
        # controller lowers its deletion expectations even on a tolerated 404)
        self.outcomes: list[tuple[Action, BaseException | None, bool]] = []
        self.failed = False
        self.errors: list[BaseException] = []
        self._i = 0
        self._rv: dict[tuple[str, str, str], str] = {}

    def next_step(self) -> list[Action] | None:
        while self._i < len(self.actions):
            first = self.actions[self._i]
            j = self._i + 1
            if first.batch is not None:
                while j < len(self.actions) and self.actions[j].batch == first.batch:
                    j += 1
            group = self.actions[self._i:j]
            self._i = j
            runnable = []
            for a in group:
                if self.failed and not a.always:
                    self.outcomes.append((a, Skipped("skipped after an earlier error"), False))
                else:
                    runnable.append(self._chain_rv(a))
            if runnable:
                return runnable
        return None

    def _chain_rv(self, a: Action) -> Action:
        rv = self._rv.get(a.target())
        if rv is None:
            return a
        if a.verb == "patch":
            return self._chain_patch_rv(a, rv)
        if a.body is None or a.verb not in ("update", "update_status"):
            return a
        body = dict(a.body)
        body["metadata"] = dict(body.get("metadata") or {})
        body["metadata"]["resourceVersion"] = rv
        return Action(a.verb, a.resource, a.namespace, a.name, body, a.options, a.batch,
                      a.always, a.tolerate, a.event, a.failure_event)

    @staticmethod
    def _chain_patch_rv(a: Action, rv: str) -> Action:
        """A merge patch guarded by metadata.resourceVersion (PatchNodeTaints) after an
        earlier write of the same object in this reconcile: guard with the new version."""
        doc = a.options.get("patch")
        if a.options.get("patch_type", "merge") != "merge" or not isinstance(doc, dict):
            return a
        md = doc.get("metadata")
        if not isinstance(md, dict) or not md.get("resourceVersion"):
            return a
        options = dict(a.options)
        options["patch"] = {**doc, "metadata": {**md, "resourceVersion": rv}}
        return Action(a.verb, a.resource, a.namespace, a.name, a.body, options, a.batch,
                      a.always, a.tolerate, a.event, a.failure_event)

    def record(self, a: Action, obj: dict[str, Any] | None, error: BaseException | None) -> None:
        tolerated = error is not None and error_code(error) in a.tolerate
        if error is None and isinstance(obj, dict):
            rv = (obj.get("metadata") or {}).get("resourceVersion")
            if rv and a.verb in ("update", "update_status", "patch"):
                self._rv[a.target()] = str(rv)
        if error is not None and not tolerated:
            self.failed = True
            self.errors.append(error)
        self.outcomes.append((a, error, tolerated))

    def events(self) -> list[EventSpec]:
        out = []
        for a, err, tolerated in self.outcomes:
            if isinstance(err, Skipped) or tolerated:
                continue
            if err is None and a.event is not None:
                out.append(a.event)
            elif err is not None and a.failure_event is not None:
                fe = a.failure_event
                out.append(EventSpec(fe.type, fe.reason,
                                     fe.message.replace("{error}", error_message(err)),
                                     fe.regarding))
        return out


SyncExecute = Callable[[Action], "dict[str, Any] | None"]
Recorder = Callable[[str, EventSpec, float], None]


# ---- the runner -------------------------------------------------------------------------------


@dataclass
class Stats:
    reconciles: int = 0
    errors: int = 0
    actions: int = 0
    failed_actions: int = 0
    events: int = 0


class Runner:
    """Queues per controller, event fan-out, reconcile and bookkeeping. Pure: callers pass
    `now`; `run_until_idle` drives it synchronously for tests."""

    def __init__(self, controllers: Sequence[Controller], view: View, rng: random.Random,
                 recorder: Recorder | None = None) -> None:
        self.controllers: dict[str, Controller] = {c.name: c for c in controllers}
        self.queues: dict[str, WorkQueue] = {c.name: WorkQueue() for c in controllers}
        self.view = view
        self.rng = rng
        self.recorder = recorder
        self.stats: dict[str, Stats] = {c.name: Stats() for c in controllers}
        self._rr = 0
        self.on_wake: Callable[[], None] | None = None

    def watched_resources(self) -> list[str]:
        seen: list[str] = []
        for c in self.controllers.values():
            for r in c.watches:
                if r not in seen:
                    seen.append(r)
        return seen

    # -- events --
    def handle(self, ev: WatchEvent, now: float) -> None:
        """Informer notification: let every interested controller map it to keys."""
        for c in self.controllers.values():
            if ev.resource not in c.watches:
                continue
            try:
                keys = c.keys_for(ev, self.view, now)
            except Exception:  # a handler bug must not take the informer down
                log.exception("%s: event handler failed on %s %s", c.name, ev.type, ev.resource)
                continue
            q = self.queues[c.name]
            for key, delay in keys:
                q.add_after(key, delay, now)
        if self.on_wake is not None:
            self.on_wake()

    def enqueue(self, controller: str, key: str, now: float, delay: float = 0.0) -> None:
        self.queues[controller].add_after(key, delay, now)
        if self.on_wake is not None:
            self.on_wake()

    # -- processing --
    def next_deadline(self, now: float) -> float | None:
        ds = [d for q in self.queues.values() if (d := q.next_deadline(now)) is not None]
        return min(ds) if ds else None

    def pop(self, now: float) -> Execution | None:
        """Take one ready key (round-robin over controllers), reconcile it and return the
        actions to carry out; finish() must follow."""
        names = list(self.queues)
        for i in range(len(names)):
            cname = names[(self._rr + i) % len(names)]
            key = self.queues[cname].get(now)
            if key is None:
                continue
            self._rr = (self._rr + i + 1) % len(names)
            c = self.controllers[cname]
            self.stats[cname].reconciles += 1
            try:
                actions, result = c.reconcile(key, self.view, now, self.rng)
            except Exception as e:
                log.exception("%s: reconcile %s failed", cname, key)
                ex = Execution(cname, key, [], Result())
                ex.failed = True
                ex.errors.append(e)
                return ex
            return Execution(cname, key, actions, result)
        return None

    def finish(self, ex: Execution, now: float) -> None:
        c = self.controllers[ex.controller]
        st = self.stats[ex.controller]
        for a, err, tolerated in ex.outcomes:
            if a.verb != "event":
                st.actions += 1
            if err is not None and not tolerated and not isinstance(err, Skipped):
                st.failed_actions += 1
            try:
                c.action_done(ex.key, a, err, now)
            except Exception:
                log.exception("%s: action_done failed", ex.controller)
        if self.recorder is not None:
            for spec in ex.events():
                st.events += 1
                try:
                    self.recorder(ex.controller, spec, now)
                except Exception:
                    log.exception("%s: recording an event failed", ex.controller)
        q = self.queues[ex.controller]
        for k in ex.result.enqueue:
            if k != ex.key:
                q.add(k)
        if ex.failed:
            st.errors += 1
            for e in ex.errors:
                if not isinstance(e, Skipped):
                    log.info("%s: %s: %s", ex.controller, ex.key, error_message(e))
            q.add_rate_limited(ex.key, now)
        elif ex.result.requeue_after is not None and ex.result.requeue_after > 0:
            q.forget(ex.key)
            q.add_after(ex.key, ex.result.requeue_after, now)
        elif ex.result.requeue:
            q.add_rate_limited(ex.key, now)
        else:
            q.forget(ex.key)
        q.done(ex.key)

    # -- synchronous driving (tests, simulations) --
    def execute_sync(self, ex: Execution, execute: SyncExecute) -> None:
        while (step := ex.next_step()) is not None:
            for a in step:
                if a.verb == "event":
                    ex.record(a, None, None)
                    continue
                try:
                    obj = execute(a)
                except Exception as e:
                    ex.record(a, None, e)
                else:
                    ex.record(a, obj, None)

    def step(self, now: float, execute: SyncExecute) -> bool:
        ex = self.pop(now)
        if ex is None:
            return False
        self.execute_sync(ex, execute)
        self.finish(ex, now)
        return True

    def run_until_idle(self, execute: SyncExecute, clock: Any, *, advance: bool = False,
                       until: float | None = None, max_steps: int = 100_000) -> int:
        """Process keys until none is ready. With advance=True, move the fake `clock`
        forward to the next delayed key (never past `until`, when given) and go on."""
        steps = 0
        while steps < max_steps:
            if self.step(clock.now(), execute):
                steps += 1
                continue
            if not advance:
                break
            d = self.next_deadline(clock.now())
            if d is None or (until is not None and d > until):
                if until is not None and clock.now() < until:
                    clock.advance(until - clock.now())
                    continue
                break
            if d > clock.now():
                clock.advance(d - clock.now())
        else:
            raise RuntimeError(f"controllers did not settle in {max_steps} steps")
        return steps
