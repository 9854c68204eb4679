"""The timeline: notable transitions derived from the versions of nodes, pods and events.

`Transitions` (pure) takes object versions as they come — from watches, relists, or
the runner's own lists — and turns the changes worth a line into `Entry`s: a node
going NotReady (Ready False/Unknown) and Ready again, a taint added or removed, a
node cordoned, a pod created, Running on a node, marked for deletion (evicted when
the taint manager did it: a DisruptionTarget condition or a TaintManagerEviction
event), gone; and the events worth noting (TaintManagerEviction, FailedScheduling...).
A version older than one already seen (by resourceVersion) is ignored, so a watch and
a list can feed it in any order. Objects that existed before the scenario started are
seeded (no entry). It also keeps every pod's history — the last version, when first
seen, when gone — which the `podsEvicted` condition reads.

`Observer` is the I/O shell: one informer per resource over `APIClient` in its own
loop thread (relisting and rewatching across apiserver restarts), feeding a
`Transitions` under a lock; `drain()` returns the entries not yet taken.

Every entry is stamped with the epoch time it was observed, real seconds since the
scenario started and scenario seconds (real / timeScale).
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

from actors.scenario.conditions import (Sighting, meta, name, namespace, node_name, phase,
                                        ready_condition, taints, terminating, uid)

Obj = dict[str, Any]

NOTABLE_EVENTS = {
    "TaintManagerEviction": "info",
    "FailedScheduling": "debug",
    "NodeNotSchedulable": "debug",
    "RemovingNode": "info",
    "DeletingNode": "info",
    "Evicted": "info",
    "Preempted": "info",
    "LeaderElection": "debug",
    "FaultInjected": "debug",
    "FaultCleared": "debug",
}


@dataclass
class Entry:
    t: float            # epoch seconds when observed
    t_real: float       # real seconds since the scenario started
    t_scenario: float   # scenario seconds (t_real / timeScale)
    kind: str           # node-notready, node-ready, taint-added, pod-evicted, step, expect...
    subject: str        # node/node-2, pod/default/web-x, step 3 ...
    text: str
    source: str = "observed"   # observed | step | fault | expect | mark
    level: str = "info"        # info | debug (the console and table show info)
    ok: bool | None = None     # for expect entries

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["t_real"] = round(self.t_real, 3)
        d["t_scenario"] = round(self.t_scenario, 2)
        return d


def _rv(o: Obj) -> int | None:
    try:
        return int(str(meta(o).get("resourceVersion") or ""))
    except ValueError:
        return None


def _taint_set(node: Obj) -> set[tuple[str, str]]:
    return {(str(t.get("key", "")), str(t.get("effect", ""))) for t in taints(node)}


def _disruption_reason(pod: Obj) -> str:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "DisruptionTarget" and c.get("status") == "True":
            return str(c.get("reason") or "")
    return ""


def _pod_subject(o: Obj) -> str:
    ns = namespace(o)
    return f"pod/{ns + '/' if ns and ns != 'default' else ''}{name(o)}"


class Transitions:
    def __init__(self, start: float, time_scale: float = 1.0,
                 notable_events: dict[str, str] | None = None) -> None:
        self.start = start
        self.time_scale = time_scale or 1.0
        self.notable_events = dict(NOTABLE_EVENTS if notable_events is None else notable_events)
        self.entries: list[Entry] = []
        self.last: dict[tuple[str, str], Obj] = {}          # (resource, uid) -> last version
        self.rvs: dict[tuple[str, str], int] = {}
        self.gone: set[tuple[str, str]] = set()
        self.pod_history: dict[str, Sighting] = {}
        self._evicted_pods: set[str] = set()                # uids named by an eviction event
        self._deleting_entry: dict[str, Entry] = {}         # pod uid -> its deleting entry

    # ---- stamping ---------------------------------------------------------------------

    def stamp(self, now: float) -> tuple[float, float]:
        real = max(0.0, now - self.start)
        return real, real / self.time_scale

    def add(self, now: float, kind: str, subject: str, text: str, *, source: str = "observed",
            level: str = "info", ok: bool | None = None) -> Entry:
        real, scn = self.stamp(now)
        e = Entry(now, real, scn, kind, subject, text, source, level, ok)
        self.entries.append(e)
        return e

    # ---- feeding ----------------------------------------------------------------------

    def observe(self, resource: str, obj: Obj, now: float, *, deleted: bool = False,
                seed: bool = False) -> list[Entry]:
        """One version of an object (from a watch event, a relist or a list). Returns
        the entries it produced."""
        key = (resource, uid(obj))
        if key in self.gone:
            return []
        rv = _rv(obj)
        last_rv = self.rvs.get(key)
        if rv is not None and last_rv is not None and rv < last_rv:
            return []  # older than what we have
        if rv is not None and last_rv is not None and rv == last_rv and not deleted:
            return []
        old = self.last.get(key)
        if rv is not None:
            self.rvs[key] = rv
        n0 = len(self.entries)
        if deleted:
            self.gone.add(key)
            self.last.pop(key, None)
        else:
            self.last[key] = obj
        if resource == "nodes":
            self._node(old, obj, now, deleted, seed)
        elif resource == "pods":
            self._pod(old, obj, now, deleted, seed)
        elif resource == "events":
            self._event(old, obj, now, deleted, seed)
        return self.entries[n0:]

    def sync(self, resource: str, items: list[Obj], now: float, *,
             complete: bool = False) -> list[Entry]:
        """A list's items. With `complete` (a full list, and nothing else feeding this
        resource) what is no longer listed is taken as deleted."""
        out: list[Entry] = []
        for o in items:
            out.extend(self.observe(resource, o, now))
        if complete:
            listed = {uid(o) for o in items}
            for (res, u), last in list(self.last.items()):
                if res == resource and u not in listed:
                    out.extend(self.observe(resource, last, now, deleted=True))
        return out

    # ---- nodes ------------------------------------------------------------------------

    def _node(self, old: Obj | None, new: Obj, now: float, deleted: bool, seed: bool) -> None:
        n = name(new)
        subj = f"node/{n}"
        if deleted:
            self.add(now, "node-deleted", subj, f"node {n} deleted")
            return
        c = ready_condition(new)
        st = str(c.get("status")) if c else ""
        if old is None:
            if not seed:
                self.add(now, "node-added", subj, f"node {n} registered (Ready={st or 'none'})")
            return
        oc = ready_condition(old)
        ost = str(oc.get("status")) if oc else ""
        if st != ost:
            why = f" ({c.get('reason')})" if c and c.get("reason") else ""
            if st == "True":
                self.add(now, "node-ready", subj, f"node {n} Ready (was Ready={ost or 'none'})")
            elif ost == "True" or not ost:
                self.add(now, "node-notready", subj, f"node {n} NotReady: Ready={st}{why}")
            else:
                self.add(now, "node-condition", subj, f"node {n} Ready={st}{why} "
                         f"(was {ost})")
        ot, nt = _taint_set(old), _taint_set(new)
        for k, eff in sorted(nt - ot):
            self.add(now, "taint-added", subj, f"taint {k}:{eff} added to {n}")
        for k, eff in sorted(ot - nt):
            self.add(now, "taint-removed", subj, f"taint {k}:{eff} removed from {n}")
        ou = bool((old.get("spec") or {}).get("unschedulable"))
        nu = bool((new.get("spec") or {}).get("unschedulable"))
        if ou != nu:
            self.add(now, "node-cordoned" if nu else "node-uncordoned", subj,
                     f"node {n} {'cordoned' if nu else 'uncordoned'}")

    # ---- pods -------------------------------------------------------------------------

    def _pod(self, old: Obj | None, new: Obj, now: float, deleted: bool, seed: bool) -> None:
        u = uid(new)
        sub = _pod_subject(new)
        s = self.pod_history.get(u)
        if s is None:
            s = self.pod_history[u] = Sighting(new, now if not seed else min(now, self.start))
        s.obj = new
        nd = node_name(new)
        if deleted:
            s.gone_at = now
            where = f" (was on {nd})" if nd else ""
            self.add(now, "pod-gone", sub, f"pod {name(new)} deleted{where}")
            return
        if old is None:
            if seed:
                return
            self.add(now, "pod-created", sub, f"pod {name(new)} created"
                     + (f" on {nd}" if nd else ""), level="debug")
        if nd and old is not None and not node_name(old):
            self.add(now, "pod-scheduled", sub, f"pod {name(new)} scheduled to {nd}",
                     level="debug")
        ph, oph = phase(new), phase(old) if old is not None else ""
        if ph != oph and not terminating(new):
            if ph == "Running":
                self.add(now, "pod-running", sub, f"pod {name(new)} Running on {nd or '?'}")
            elif ph in ("Succeeded", "Failed"):
                self.add(now, "pod-finished", sub, f"pod {name(new)} {ph} on {nd or '?'}")
        if terminating(new) and (old is None or not terminating(old)):
            why = _disruption_reason(new)
            by_taint = why == "DeletionByTaintManager" or u in self._evicted_pods
            where = f" on {nd}" if nd else ""
            if by_taint:
                self.add(now, "pod-evicted", sub,
                         f"pod {name(new)} evicted{where} (taint manager)")
            else:
                self._deleting_entry[u] = self.add(
                    now, "pod-deleting", sub,
                    f"pod {name(new)} marked for deletion{where}"
                    + (f" ({why})" if why else ""))

    # ---- events -----------------------------------------------------------------------

    def _event(self, old: Obj | None, new: Obj, now: float, deleted: bool, seed: bool) -> None:
        if deleted or old is not None or seed:
            return
        reason = str(new.get("reason") or "")
        level = self.notable_events.get(reason)
        if level is None:
            return
        io = new.get("involvedObject") or {}
        kind = str(io.get("kind") or "?")
        subj = f"{kind.lower()}/{io.get('name', '?')}"
        if reason == "TaintManagerEviction" and kind == "Pod":
            pu = str(io.get("uid") or "")
            if not pu:
                for u, s in self.pod_history.items():
                    if name(s.obj) == io.get("name") and namespace(s.obj) == io.get("namespace"):
                        pu = u
            if pu:
                self._evicted_pods.add(pu)
                e = self._deleting_entry.pop(pu, None)
                if e is not None:  # it was marked for deletion before the event came
                    e.kind = "pod-evicted"
                    e.text = e.text.replace("marked for deletion", "evicted") + " (taint manager)"
        self.add(now, "event", subj, f"event {reason} {subj}: {new.get('message', '')}".rstrip(),
                 level=level)


class Observer:
    """Informers on nodes, pods and events feeding a `Transitions` (a background thread)."""

    RESOURCES = ("nodes", "pods", "events")

    def __init__(self, apiserver: str, transitions: Transitions,
                 clock: Callable[[], float] = time.time,
                 client_factory: Callable[[], Any] | None = None) -> None:
        self.apiserver = apiserver
        self.client_factory = client_factory  # an async client (APIClient's list/watch)
        self.tr = transitions
        self.clock = clock
        self.lock = threading.RLock()
        self._taken = 0
        self._lt: Any = None
        self._client: Any = None
        self._informers: list[Any] = []

    def start(self, timeout: float = 30.0) -> bool:
        """Start watching; True once every informer has listed (seeding the timeline)."""
        import asyncio

        from actors.apiserver.client import APIClient
        from actors.common.informer import Informer
        from actors.common.loopthread import LoopThread

        self._lt = LoopThread("scenario-observer")

        async def go() -> bool:
            self._client = (self.client_factory() if self.client_factory is not None
                            else APIClient(self.apiserver, timeout=10.0))
            for res in self.RESOURCES:
                inf = Informer(self._client, res, backoff_max=1.0)
                self._handlers(inf, res)
                self._informers.append(inf)
                inf.start()
            results = await asyncio.gather(*(i.wait_for_sync(timeout) for i in self._informers))
            return all(results)

        return bool(self._lt.run(go(), timeout=timeout + 5))

    def _handlers(self, inf: Any, res: str) -> None:
        def on_add(o: Obj) -> None:
            self._feed(res, o, seed=not inf.has_synced)  # the first list seeds

        def on_update(_old: Obj, o: Obj) -> None:
            self._feed(res, o)

        def on_delete(o: Obj) -> None:
            self._feed(res, o, deleted=True)

        inf.add_event_handler(on_add=on_add, on_update=on_update, on_delete=on_delete)

    def _feed(self, resource: str, obj: Obj, *, deleted: bool = False, seed: bool = False) -> None:
        with self.lock:
            self.tr.observe(resource, obj, self.clock(), deleted=deleted, seed=seed)

    complete_lists = False  # lists are the only feed (LocalObserver): absence = deletion

    def sync(self, resource: str, items: list[Obj]) -> None:
        with self.lock:
            self.tr.sync(resource, items, self.clock(), complete=self.complete_lists)

    def seed(self, resource: str, items: list[Obj]) -> None:
        """What existed before the scenario started: history, but no entries."""
        with self.lock:
            now = self.clock()
            for o in items:
                self.tr.observe(resource, o, now, seed=True)

    def add(self, kind: str, subject: str, text: str, **kw: Any) -> Entry:
        with self.lock:
            return self.tr.add(self.clock(), kind, subject, text, **kw)

    def drain(self) -> list[Entry]:
        with self.lock:
            out = self.tr.entries[self._taken:]
            self._taken = len(self.tr.entries)
            return list(out)

    def history(self) -> dict[str, Sighting]:
        with self.lock:
            return dict(self.tr.pod_history)

    def entries(self) -> list[Entry]:
        with self.lock:
            return list(self.tr.entries)

    def stop(self) -> None:
        if self._lt is None:
            return

        async def halt() -> None:
            for i in self._informers:
                i.stop()
            if self._client is not None and hasattr(self._client, "close"):
                await self._client.close()

        try:
            self._lt.run(halt(), timeout=5)
        except Exception:
            pass
        self._lt.stop()
        self._lt = None


class LocalObserver(Observer):
    """No watches: only what the runner's own lists feed in (tests, or no apiserver)."""

    complete_lists = True

    def __init__(self, transitions: Transitions, clock: Callable[[], float] = time.time) -> None:
        super().__init__("", transitions, clock)

    def start(self, timeout: float = 30.0) -> bool:
        return True

    def stop(self) -> None:
        pass
