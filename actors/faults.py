"""Fault injection into a running kubemu cluster: kill, stop/start, partition, delay, drop.

    f = Faults(ClusterState.load("kubemu"))
    f.kill("node-2", restart_after=60)   # SIGKILL its kubelet and kube-proxy; back in 60 s
    f.kill("etcd-leader")                # SIGKILL the raft leader; Ray restarts it
    f.partition("node-3"); ...; f.heal("node-3")
    f.delay("scheduler", 0.5); f.drop("apiserver", 0.1); f.heal()
    f.log()

Targets (`targets()`): every node name (= both of its agents), `kubelet-<node>`,
`kube-proxy-<node>`, `pool-<pool>-<k>` (a hollow node pool actor: all its nodes at
once, a rack), `apiserver`, `scheduler`, `controller-manager`, `etcd-1`..`etcd-N`
and the alias `etcd-leader` (the member the others follow at the time of the call).

Mechanics:

- **kill** is a real SIGKILL of the component's process (its pid from the actor's
  `pid()`; the CLI runs on the machine of the Ray runtime, as everything kubemu
  starts does). The control plane (apiserver, scheduler, controller-manager, etcd
  members) is restartable: Ray restarts it at once, `__init__` starts it again — a
  fresh list-watch for the stateless ones, recovery from the data dir for etcd. The
  node agents are launched non-restarting (`max_restarts=0`, actors.cluster
  .start_agent), so a killed node stays down until `start` re-creates its actors
  from the specs saved at launch (`$KUBEMU_HOME/<name>/agents/`, same config, same
  ports); the new kubelet registers again (the Node exists: it reconciles it) and
  takes over the pods bound to the node.
- **restart_after** needs something alive after the caller (the CLI) exits: a small
  detached actor, `fault-scheduler`, started in the cluster's Ray namespace on first
  use (and recorded in cluster.json, so `kubemu down` removes it), sleeps and then
  runs `start` — logged like any fault, with detail.by = "restart-after". Its timers
  live in its memory only: a pending restart is lost if that actor dies. A later
  kill (of a running node), stop or start of the node cancels its pending restart.
- **partition / delay / drop** flip the process-wide `FaultState` of the victim's
  process (`set_fault` on its actor, actors.common.faultinject): every RPC it makes
  goes through gRPC client interceptors, so a partitioned kubelet's lease renewals
  and status updates fail with UNAVAILABLE, its watches break and cannot be reopened,
  while the process and its pods live on. For the apiserver the affected RPCs are
  its etcd calls (clients still reach it). Delay and drop apply to calls as they
  start (an open watch stream keeps flowing). `etcd-N` partitions are raft-level
  instead (EtcdMemberActor.partition: the member and the others drop each other's
  raft traffic); etcd members take no delay or drop.
  The faults in force are kept in `faults-active.json`: `start` re-applies a node's
  (the network does not heal because its machine rebooted), and after a kill of a
  faulted control-plane component the fault-scheduler re-applies its fault once Ray
  has restarted it.
- An unknown target or a bad value raises ValueError (nothing recorded); every action
  taken, also a failed one (ok=False), is appended to `faults.jsonl` and posted as a core
  v1 Event in namespace default (reason FaultInjected / FaultCleared /
  FaultInjectionFailed, source.component kubemu-fault; involvedObject the Node for
  node faults, else a ComponentStatus reference named after the component). Posting
  is best effort: when the apiserver is the victim the event is posted before the
  fault is applied.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from actors import cluster as cl
from actors.cluster import ClusterState

FAULT_SCHEDULER = "fault-scheduler"
EVENT_SOURCE = "kubemu-fault"
CONTROL_PLANE = ("apiserver", "scheduler", "controller-manager")
AGENT_ROLES = ("kubelet", "kube-proxy", "node-pool")


@dataclass
class FaultRecord:
    id: int
    time: float  # epoch seconds
    action: str  # kill | stop | start | partition | heal | delay | drop
    target: str
    detail: dict[str, Any]
    ok: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FaultRecord":
        return cls(id=int(d["id"]), time=float(d["time"]), action=str(d["action"]),
                   target=str(d["target"]), detail=dict(d.get("detail") or {}),
                   ok=bool(d["ok"]), message=str(d.get("message") or ""))


@dataclass
class Component:
    name: str  # what the user types: "kubelet-node-2", "etcd-2", "apiserver"
    actor: str  # the Ray actor name: "kubelet-node-2", "<cluster>-etcd-2", "apiserver"
    role: str  # kubelet | kube-proxy | apiserver | scheduler | controller-manager | etcd
    node: str | None = None
    etcd_id: int | None = None


@dataclass
class Target:
    name: str  # as resolved (etcd-leader becomes etcd-N)
    role: str  # "node" or the component's role
    components: list[Component] = field(default_factory=list)
    node: str | None = None


def _and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:g}ms" if 0 < seconds < 1 else f"{seconds:g}s"


def pid_alive(pid: int) -> bool:
    """True while `pid` is a live (non-zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError, OSError):
        return False


def wait_pid_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


class Faults:
    def __init__(self, state: ClusterState, *, state_dir: str | Path | None = None,
                 by: str = "", connect: bool = True) -> None:
        """`state_dir` overrides `$KUBEMU_HOME/<name>` (the fault-scheduler actor's
        environment need not have the caller's KUBEMU_HOME); `by` goes into each
        record's detail; `connect=False` skips joining Ray (enough for `log`,
        `targets` and `active`)."""
        self.state = state
        self.ns = state.namespace
        self.dir = Path(state_dir) if state_dir is not None else cl.state_dir(state.name)
        self.by = by
        self._api: Any = None
        self._components = self._build_components()
        self._connected = False
        if connect:
            self._connect()

    def _connect(self) -> None:
        if not self._connected:
            try:
                cl.connect(self.state.ray_address, self.state.namespace, timeout=20)
            except Exception as e:
                raise ConnectionError(f"cluster {self.state.name}: the Ray runtime at "
                                      f"{self.state.ray_address} is not reachable: "
                                      f"{type(e).__name__}: {e}") from None
            self._connected = True

    # ---- what can be targeted ---------------------------------------------------------

    def _build_components(self) -> dict[str, Component]:
        out: dict[str, Component] = {}
        etcd_prefix = f"{self.state.name}-etcd-"
        for actor, role in self.state.actors.items():
            if role == "etcd" and actor.startswith(etcd_prefix):
                mid = int(actor[len(etcd_prefix):])
                out[f"etcd-{mid}"] = Component(f"etcd-{mid}", actor, "etcd", etcd_id=mid)
            elif role == "node-pool":  # a pool actor stands for all its hollow nodes
                out[actor] = Component(actor, actor, role, node=actor)
            elif role in AGENT_ROLES:
                node = actor[len(role) + 1:]
                out[actor] = Component(actor, actor, role, node=node)
            elif role in CONTROL_PLANE:
                out[actor] = Component(actor, actor, role)
        return out

    def targets(self) -> dict[str, str]:
        """Every name a fault can target -> its role ("node" for a node's two agents)."""
        out: dict[str, str] = {n: "node" for n in self.state.nodes}
        for c in self._components.values():
            out[c.name] = c.role
        if any(c.role == "etcd" for c in self._components.values()):
            out["etcd-leader"] = "etcd"
        return dict(sorted(out.items()))

    def _unknown(self, target: str) -> ValueError:
        pools = getattr(self.state, "pools", None) or {}
        for actor, names in pools.items():
            if target in names:
                return ValueError(f'"{target}" is a hollow node of the node pool actor '
                                  f'"{actor}": faults target the whole pool actor')
        names = list(self.targets())
        more = f" and {len(names) - 40} more" if len(names) > 40 else ""
        return ValueError(f'unknown target "{target}"; valid targets: '
                          + ", ".join(names[:40]) + more)

    def _node_components(self, node: str) -> list[Component]:
        return [c for c in self._components.values() if c.node == node]

    def _resolve(self, target: str) -> Target:
        if not isinstance(target, str) or not target:
            raise self._unknown(str(target))
        if target in self.state.nodes:
            return Target(target, "node", self._node_components(target), node=target)
        if target == "etcd-leader" and "etcd-leader" in self.targets():
            return Target(target, "etcd-leader")
        c = self._components.get(target)
        if c is None:
            raise self._unknown(target)
        return Target(c.name, c.role, [c], node=c.node)

    def _resolve_nodeish(self, action: str, node: str) -> Target:
        t = self._resolve(node)
        if t.role not in ("node",) + AGENT_ROLES:
            nodes = ", ".join(self.state.nodes)
            raise ValueError(f'{action}: "{node}" is not a node ({action} applies to nodes '
                             f"and their agents; nodes: {nodes})")
        return t

    def _leader(self, timeout: float = 10.0) -> Component | None:
        """The etcd member a majority follows (waits up to `timeout` for an election)."""
        from actors.common import rayutil

        members = [c for c in self._components.values() if c.role == "etcd"]
        deadline = time.monotonic() + timeout
        while True:
            sts = []
            for c in members:
                h = self._handle(c)
                if h is None:
                    continue
                try:
                    sts.append(rayutil.call(h, "status", timeout=2))
                except Exception:
                    pass
            for s in sts:
                if s.get("role") != "leader":
                    continue
                votes = sum(1 for o in sts if o.get("leader") == s["id"]
                            and o.get("term") == s.get("term"))
                if votes * 2 > len(members):
                    return next(c for c in members if c.etcd_id == s["id"])
            if time.monotonic() > deadline:
                return None
            time.sleep(0.1)

    # ---- the actors ---------------------------------------------------------------------

    def _handle(self, c: Component) -> Any:
        from actors.common import rayutil

        self._connect()
        return rayutil.try_get_actor(c.actor, self.ns)

    def _pid(self, c: Component, timeout: float = 10.0) -> int | None:
        """The component's pid, None when it is not running (dead, stopped)."""
        from actors.common import rayutil

        h = self._handle(c)
        if h is None:
            return None
        try:
            return int(rayutil.call(h, "pid", timeout=timeout))
        except Exception:
            return None

    def _wait_name_free(self, c: Component, timeout: float = 30.0) -> bool:
        """Wait until no live actor holds c's name; False if one is alive after all."""
        from actors.common import rayutil

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            h = self._handle(c)
            if h is None:
                return True
            try:
                rayutil.call(h, "pid", timeout=2)
                return False
            except Exception:
                time.sleep(0.1)
        return self._handle(c) is None

    def _start_agent(self, c: Component, timeout: float = 90.0) -> int:
        from actors.common import rayutil

        deadline = time.monotonic() + timeout
        while True:
            try:
                h = cl.start_agent(self.dir, self.ns, c.actor)
                break
            except ValueError as e:  # the dead actor's name is not released yet
                if time.monotonic() > deadline:
                    raise RuntimeError(f"cannot start {c.name}: {e}") from None
                time.sleep(0.2)
        return int(rayutil.call(h, "pid", timeout=max(5.0, deadline - time.monotonic())))

    # ---- records, events, the active-fault table ----------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "faults.lock", "a") as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lk, fcntl.LOCK_UN)

    @property
    def log_path(self) -> Path:
        return self.dir / "faults.jsonl"

    def log(self) -> list[FaultRecord]:
        """Every recorded fault, oldest first."""
        out = []
        try:
            lines = self.log_path.read_text().splitlines()
        except FileNotFoundError:
            return []
        for line in lines:
            line = line.strip()
            if line:
                try:
                    out.append(FaultRecord.from_dict(json.loads(line)))
                except (ValueError, KeyError, TypeError):
                    continue  # a torn line: skip it
        return out

    def _append(self, action: str, target: str, detail: dict[str, Any], ok: bool,
                message: str) -> FaultRecord:
        if self.by:
            detail = dict(detail, by=self.by)
        with self._locked():
            last = self.log()
            rec = FaultRecord(id=(last[-1].id + 1) if last else 1, time=time.time(),
                              action=action, target=target, detail=detail, ok=ok,
                              message=message)
            with open(self.log_path, "a") as f:
                f.write(json.dumps(rec.to_dict()) + "\n")
        return rec

    def _active(self) -> dict[str, Any]:
        try:
            d = json.loads((self.dir / "faults-active.json").read_text())
        except (FileNotFoundError, ValueError):
            d = {}
        d.setdefault("components", {})
        d.setdefault("etcd_partitioned", [])
        return d  # type: ignore[no-any-return]

    def _save_active(self, d: dict[str, Any]) -> None:
        d["components"] = {k: v for k, v in d["components"].items()
                           if v.get("partitioned") or v.get("delay") or v.get("drop_rate")}
        p = self.dir / "faults-active.json"
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(d, indent=2, sort_keys=True))
        tmp.replace(p)

    def active(self) -> dict[str, Any]:
        """The faults in force: {"components": {name: {partitioned, delay, drop_rate}},
        "etcd_partitioned": [member ids]}."""
        return self._active()

    def _api_client(self) -> Any:
        if self._api is None:
            from actors.apiserver.client import SyncAPIClient

            self._api = SyncAPIClient(self.state.apiserver, timeout=5.0)
        return self._api

    def _involved(self, t: Target) -> dict[str, Any]:
        if t.role == "node-pool":
            return {"kind": "ComponentStatus", "name": t.name, "apiVersion": "v1"}
        if t.node is not None and t.role == "node":
            return {"kind": "Node", "name": t.node, "uid": t.node, "apiVersion": "v1"}
        if t.node is not None:  # one agent of a node: still about the node
            return {"kind": "Node", "name": t.node, "uid": t.node, "apiVersion": "v1",
                    "fieldPath": t.name}
        return {"kind": "ComponentStatus", "name": t.name, "apiVersion": "v1"}

    def _post_event(self, t: Target, action: str, ok: bool, message: str) -> bool:
        from actors.common.clock import rfc3339

        reason = ("FaultInjectionFailed" if not ok else
                  "FaultCleared" if action in ("heal", "start") else "FaultInjected")
        ref = self._involved(t)
        now = time.time()
        ts = rfc3339(now)
        ev = {"apiVersion": "v1", "kind": "Event",
              "metadata": {"name": f"{ref['name']}.{time.time_ns():x}", "namespace": "default"},
              "involvedObject": ref, "reason": reason, "message": message[:1024],
              "type": "Warning" if reason != "FaultCleared" else "Normal",
              "source": {"component": EVENT_SOURCE, "host": socket.gethostname()},
              "firstTimestamp": ts, "lastTimestamp": ts, "count": 1,
              "reportingComponent": EVENT_SOURCE, "reportingInstance": socket.gethostname()}
        try:
            self._api_client().create("events", ev, "default")
            return True
        except Exception:
            return False

    def _finish(self, t: Target, action: str, detail: dict[str, Any], ok: bool,
                message: str, *, posted: bool | None = None) -> FaultRecord:
        if posted is None:
            posted = self._post_event(t, action, ok, message)
        detail = dict(detail, event=posted)
        return self._append(action, t.name, detail, ok, message)

    def close(self) -> None:
        if self._api is not None:
            try:
                self._api.close()
            except Exception:
                pass
            self._api = None

    def __enter__(self) -> "Faults":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- the fault-scheduler actor ------------------------------------------------------

    def _scheduler(self, create: bool) -> Any:
        from actors.common import rayutil

        self._connect()
        h = rayutil.try_get_actor(FAULT_SCHEDULER, self.ns)
        if h is not None or not create:
            return h
        cfg = {"state": asdict(self.state), "state_dir": str(self.dir)}
        try:
            h = rayutil.start_actor(FaultSchedulerActor, FAULT_SCHEDULER, cfg,
                                    namespace=self.ns)
        except ValueError:  # someone else just started it
            h = rayutil.get_actor(FAULT_SCHEDULER, self.ns)
        if self.state.actors.get(FAULT_SCHEDULER) != FAULT_SCHEDULER:
            # recorded so that `kubemu down` removes it with the rest of the cluster
            # (written in place: ClusterState.save would also make this cluster current)
            with self._locked():
                p = self.dir / "cluster.json"
                try:
                    disk = json.loads(p.read_text())
                except (FileNotFoundError, ValueError):
                    disk = None
                if disk is not None:
                    disk.setdefault("actors", {})[FAULT_SCHEDULER] = FAULT_SCHEDULER
                    tmp = p.with_suffix(".json.tmp")
                    tmp.write_text(json.dumps(disk, indent=2))
                    tmp.replace(p)
            self.state.actors[FAULT_SCHEDULER] = FAULT_SCHEDULER
        return h

    def _cancel_restart(self, node: str) -> list[str]:
        from actors.common import rayutil

        h = self._scheduler(create=False)
        if h is None:
            return []
        try:
            return list(rayutil.call(h, "cancel", node, timeout=10))
        except Exception:
            return []

    def pending(self) -> list[dict[str, Any]]:
        """Restarts the fault-scheduler has yet to do."""
        from actors.common import rayutil

        h = self._scheduler(create=False)
        if h is None:
            return []
        try:
            return list(rayutil.call(h, "pending", timeout=10))
        except Exception:
            return []

    # ---- network faults: applying the table ---------------------------------------------

    def _apply_net(self, c: Component, fault: dict[str, Any]) -> str | None:
        """Set c's fault; returns an error string when it could not be applied."""
        from actors.common import rayutil

        h = self._handle(c)
        if h is None:
            return f"{c.name} is not running"
        try:
            rayutil.call(h, "set_fault", bool(fault.get("partitioned")),
                         float(fault.get("delay") or 0.0),
                         float(fault.get("drop_rate") or 0.0), timeout=10)
            return None
        except Exception as e:
            return f"{c.name}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"

    def _apply_etcd(self, partitioned: list[int]) -> list[str]:
        """Raft-level partitions: every member in `partitioned` is cut off from all others."""
        from actors.common import rayutil

        members = sorted((c for c in self._components.values() if c.role == "etcd"),
                         key=lambda c: c.etcd_id or 0)
        ids = [c.etcd_id for c in members]
        cut = set(partitioned)
        errs = []
        for c in members:
            blocked = [i for i in ids if i != c.etcd_id] if c.etcd_id in cut else sorted(cut)
            h = self._handle(c)
            try:
                if h is None:
                    raise RuntimeError("not running")
                rayutil.call(h, "partition", blocked, timeout=10)
            except Exception as e:
                errs.append(f"{c.name}: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
        return errs

    def reapply(self, name: str) -> list[str]:
        """Re-apply the recorded fault of component `name` (after its process restarted)."""
        c = self._components.get(name)
        if c is None:
            return [f"unknown component {name}"]
        act = self._active()
        if c.role == "etcd":
            if c.etcd_id in act["etcd_partitioned"]:
                return self._apply_etcd(act["etcd_partitioned"])
            return []
        fault = act["components"].get(c.name)
        if not fault:
            return []
        err = self._apply_net(c, fault)
        return [err] if err else []

    def _set_net(self, t: Target, action: str, **change: Any) -> tuple[list[str], list[str]]:
        """Merge `change` into the table for t's components and apply; (applied, errors)."""
        with self._locked():
            act = self._active()
            for c in t.components:
                cur = dict(act["components"].get(c.name) or
                           {"partitioned": False, "delay": 0.0, "drop_rate": 0.0})
                cur.update(change)
                act["components"][c.name] = cur
            self._save_active(act)
        applied: list[str] = []
        errs: list[str] = []
        for c in t.components:
            fault = act["components"].get(c.name) or {}
            err = self._apply_net(c, fault)
            (errs if err else applied).append(err or c.name)
        return applied, errs

    # ---- the API ------------------------------------------------------------------------

    def kill(self, target: str, restart_after: float | None = None) -> FaultRecord:
        """SIGKILL a node's kubelet and kube-proxy (they stay down until `start`, or for
        `restart_after` seconds), or a control-plane component (Ray restarts it)."""
        t = self._resolve(target)
        if restart_after is not None:
            restart_after = float(restart_after)
            if restart_after < 0:
                raise ValueError(f"restart after: must be >= 0, got {restart_after:g}")
            if t.role not in ("node",) + AGENT_ROLES:
                raise ValueError(f'kill: --restart-after applies to nodes and their agents; '
                                 f'Ray restarts "{target}" by itself')
        detail: dict[str, Any] = {"signal": "SIGKILL"}
        if t.role == "etcd-leader":
            leader = self._leader()
            if leader is None:
                return self._finish(t, "kill", detail, False,
                                    "kill: no etcd leader elected (an election in progress?)")
            t = Target(leader.name, "etcd", [leader])
            detail["leader"] = True
        pids: dict[str, int] = {}
        notes: list[str] = []
        for c in t.components:
            pid = self._pid(c)
            if pid is None:
                notes.append(f"{c.name} is not running")
            else:
                pids[c.name] = pid
        detail["pids"] = pids
        if not pids:  # (a pending restart of the node stays pending)
            return self._finish(t, "kill", detail, False, "kill: " + "; ".join(notes))
        what = _and([f"{n} (pid {p})" for n, p in pids.items()])
        message = f"kill: SIGKILL {what}"
        if detail.get("leader"):
            message = f"kill: SIGKILL the etcd leader {what}"
        if t.node is not None:
            message += ("; they stay down until `kubemu fault start`" if restart_after is None
                        else f"; restarting in {_fmt_s(restart_after)}")
        else:
            message += "; Ray restarts it"
        if notes:
            message += " (" + "; ".join(notes) + ")"
        posted = None
        if "apiserver" in pids:  # say it while someone can still hear it
            posted = self._post_event(t, "kill", True, message)
        if t.node is not None:
            self._cancel_restart(t.node)
        errors = []
        for name, pid in pids.items():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            except PermissionError as e:
                errors.append(f"{name} (pid {pid}): {e}")
        for name, pid in pids.items():
            if not wait_pid_gone(pid, 5.0):
                errors.append(f"{name} (pid {pid}) still alive after SIGKILL")
        ok = not errors
        if errors:
            message += "; errors: " + "; ".join(errors)
        from actors.common import rayutil

        if ok and restart_after is not None and t.node is not None:
            try:
                h = self._scheduler(create=True)
                rayutil.call(h, "schedule_start", t.name, restart_after, timeout=30)
                detail["restart_after"] = restart_after
            except Exception as e:
                ok = False
                message += (f"; could not schedule the restart ({type(e).__name__}: {e}): "
                            "`kubemu fault start` it")
        if ok and t.node is None:
            act = self._active()
            c = t.components[0]
            if c.name in act["components"] or (c.etcd_id in act["etcd_partitioned"]):
                # Ray's new process starts without the fault: put it back once it is up
                try:
                    h = self._scheduler(create=True)
                    rayutil.call(h, "reapply_after_restart", c.name, pids[c.name], timeout=30)
                    detail["reapply"] = True
                except Exception as e:
                    message += (f"; could not arrange to re-apply its fault ({e}): "
                                "re-run the fault once it is back")
        return self._finish(t, "kill", detail, ok, message, posted=posted)

    def stop(self, node: str) -> FaultRecord:
        """Clean shutdown of the node's kubelet and kube-proxy (stop(), then the actor
        exits); they stay down until `start`."""
        from actors.common import rayutil

        t = self._resolve_nodeish("stop", node)
        assert t.node is not None
        self._cancel_restart(t.node)
        stopped: dict[str, int] = {}
        notes: list[str] = []
        for c in t.components:
            h = self._handle(c)
            pid = self._pid(c)
            if h is None or pid is None:
                notes.append(f"{c.name} is not running")
                continue
            try:
                rayutil.call(h, "stop", timeout=15)
            except Exception as e:
                notes.append(f"{c.name}: stop() failed ({type(e).__name__}), killed anyway")
            try:
                rayutil.kill(h)
            except Exception:
                pass
            wait_pid_gone(pid, 5.0)
            stopped[c.name] = pid
        ok = bool(stopped)
        message = ("stop: stopped " + _and([f"{n} (pid {p})" for n, p in stopped.items()])
                   if stopped else "stop")
        if notes:
            message += ("; " if stopped else ": ") + "; ".join(notes)
        return self._finish(t, "stop", {"pids": stopped}, ok, message)

    def start(self, node: str) -> FaultRecord:
        """Start the node's kubelet and kube-proxy again (same config, same ports) — the
        ones that are not running; the node's network faults in force are re-applied."""
        t = self._resolve_nodeish("start", node)
        assert t.node is not None
        if self.by != "restart-after":
            self._cancel_restart(t.node)
        started: dict[str, int] = {}
        already: list[str] = []
        errors: list[str] = []
        act = self._active()
        for c in t.components:
            if self._pid(c, timeout=5) is not None or not self._wait_name_free(c):
                already.append(c.name)
                continue
            try:
                started[c.name] = self._start_agent(c)
            except Exception as e:
                errors.append(f"{c.name}: {e}")
                continue
            fault = act["components"].get(c.name)
            if fault:
                err = self._apply_net(c, fault)
                if err:
                    errors.append(f"re-applying the fault of {c.name}: {err}")
        parts = []
        if started:
            parts.append("started " + _and([f"{n} (pid {p})" for n, p in started.items()]))
        if already:
            parts.append(_and(already) + (" is" if len(already) == 1 else " are")
                         + " already running")
        if errors:
            parts.append("errors: " + "; ".join(errors))
        reapplied = [c.name for c in t.components
                     if c.name in started and act["components"].get(c.name)]
        if reapplied:
            parts.append("network fault re-applied to " + _and(reapplied))
        message = "start: " + "; ".join(parts)
        if self.by == "restart-after":
            message += " (kill --restart-after)"
        return self._finish(t, "start", {"pids": started, "already_running": already},
                            not errors, message)

    def partition(self, node: str) -> FaultRecord:
        """Cut `node` (or any component) off: its processes live, every RPC between it and
        the control plane fails. `etcd-N` / `etcd-leader`: a raft-level cut of that member."""
        t = self._resolve(node)
        if t.role == "etcd-leader":
            leader = self._leader()
            if leader is None:
                return self._finish(t, "partition", {}, False,
                                    "partition: no etcd leader elected")
            t = Target(leader.name, "etcd", [leader])
        if t.role == "etcd":
            c = t.components[0]
            with self._locked():
                act = self._active()
                cut = sorted(set(act["etcd_partitioned"]) | {c.etcd_id or 0})
                act["etcd_partitioned"] = cut
                self._save_active(act)
            errs = self._apply_etcd(cut)
            others = [o.name for o in self._components.values()
                      if o.role == "etcd" and o.name != c.name]
            message = (f"partition: {c.name} cut off from {_and(others)} "
                       "(raft traffic dropped both ways)")
            if errs:
                message += "; errors: " + "; ".join(errs)
            return self._finish(t, "partition", {"etcd_partitioned": cut}, not errs, message)
        message = self._net_message(t, "partition")
        posted = self._post_event(t, "partition", True, message) \
            if any(c.role == "apiserver" for c in t.components) else None
        applied, errs = self._set_net(t, "partition", partitioned=True)
        if errs:
            message += " (" + "; ".join(errs) + "; applies when it starts)"
        return self._finish(t, "partition", {"components": [c.name for c in t.components],
                                             "applied": applied}, bool(applied) or
                            t.role in ("node",) + AGENT_ROLES, message, posted=posted)

    def _net_message(self, t: Target, action: str, value: float = 0.0) -> str:
        names = [c.name for c in t.components]
        if action == "partition":
            if t.node is not None:
                return (f"partition: {_and(names)} cut off from the control plane (their "
                        "processes live on; every RPC they make fails with UNAVAILABLE and "
                        "their watches break)")
            return (f"partition: every RPC {_and(names)} makes fails with UNAVAILABLE and "
                    "its watches break")
        if action == "delay":
            if value == 0:
                return f"delay: removed the RPC delay of {_and(names)}"
            return f"delay: every RPC {_and(names)} makes is delayed {_fmt_s(value)}"
        if value == 0:
            return f"drop: {_and(names)} no longer drops RPCs"
        return f"drop: {value:.0%} of the RPCs {_and(names)} makes fail with UNAVAILABLE"

    def _net_target(self, action: str, component: str) -> Target:
        t = self._resolve(component)
        if t.role in ("etcd", "etcd-leader"):
            raise ValueError(f"{action}: etcd members take partitions only (no {action}); "
                             "delay or drop the apiserver's etcd calls with "
                             f"`{action} apiserver`")
        return t

    def delay(self, component: str, seconds: float) -> FaultRecord:
        """Delay every RPC `component` makes by `seconds` (0 removes the delay)."""
        t = self._net_target("delay", component)
        seconds = float(seconds)
        if seconds < 0:
            raise ValueError(f"delay: must be >= 0, got {seconds:g}")
        message = self._net_message(t, "delay", seconds)
        posted = self._post_event(t, "delay", True, message) \
            if any(c.role == "apiserver" for c in t.components) else None
        applied, errs = self._set_net(t, "delay", delay=seconds)
        if errs:
            message += " (" + "; ".join(errs) + ")"
        return self._finish(t, "delay", {"seconds": seconds, "applied": applied},
                            bool(applied) or t.node is not None, message, posted=posted)

    def drop(self, component: str, rate: float) -> FaultRecord:
        """Fail that fraction (0..1) of the RPCs `component` makes with UNAVAILABLE."""
        t = self._net_target("drop", component)
        rate = float(rate)
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"drop: rate must be between 0 and 1, got {rate:g}")
        message = self._net_message(t, "drop", rate)
        posted = self._post_event(t, "drop", True, message) \
            if any(c.role == "apiserver" for c in t.components) else None
        applied, errs = self._set_net(t, "drop", drop_rate=rate)
        if errs:
            message += " (" + "; ".join(errs) + ")"
        return self._finish(t, "drop", {"rate": rate, "applied": applied},
                            bool(applied) or t.node is not None, message, posted=posted)

    def heal(self, node: str | None = None) -> FaultRecord:
        """Undo partitions, delays and drops: of `node` (or component), or all of them."""
        if node is None:
            t = Target("all", "all", list(self._components.values()))
        else:
            t = self._resolve(node)
            if t.role == "etcd-leader":
                leader = self._leader()
                if leader is None:
                    return self._finish(t, "heal", {}, False, "heal: no etcd leader elected")
                t = Target(leader.name, "etcd", [leader])
        names = {c.name for c in t.components}
        with self._locked():
            act = self._active()
            before_net = {k: v for k, v in act["components"].items() if k in names}
            before_etcd = [i for i in act["etcd_partitioned"]
                           if f"etcd-{i}" in names]
            act["components"] = {k: v for k, v in act["components"].items()
                                 if k not in names}
            act["etcd_partitioned"] = [i for i in act["etcd_partitioned"]
                                       if f"etcd-{i}" not in names]
            self._save_active(act)
        errs: list[str] = []
        # clear every targeted process, not just the recorded ones (a stale table must
        # not leave a fault behind); a component that is not running has nothing to clear
        for c in t.components:
            if c.role == "etcd":
                continue
            if c.name in before_net or node is not None or self._handle(c) is not None:
                err = self._apply_net(c, {})
                if err and c.name in before_net and "not running" not in err:
                    errs.append(err)
        if any(c.role == "etcd" for c in t.components):
            errs += self._apply_etcd(act["etcd_partitioned"])
        cleared = []
        for k, v in sorted(before_net.items()):
            what = [w for w, on in (("partition", v.get("partitioned")),
                                    (f"delay {_fmt_s(float(v.get('delay') or 0))}",
                                     v.get("delay")),
                                    (f"drop {float(v.get('drop_rate') or 0):.0%}",
                                     v.get("drop_rate"))) if on]
            cleared.append(f"{k} ({', '.join(what)})")
        cleared += [f"etcd-{i} (partition)" for i in before_etcd]
        scope = "every component" if node is None else _and(sorted(names))
        message = (f"heal: cleared {_and(cleared)}" if cleared
                   else f"heal: no fault in force on {scope}")
        if errs:
            message += "; errors: " + "; ".join(errs)
        if t.role == "all":
            t = Target("all", "all")
        return self._finish(t, "heal", {"cleared": cleared}, not errs, message)


# ---- the fault-scheduler actor ----------------------------------------------------------


class FaultSchedulerActor:
    """Detached helper in the cluster's namespace: `kill --restart-after` and putting a
    network fault back on a control-plane component Ray restarted. Timers are in memory."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.state = ClusterState(**cfg["state"])
        self.state_dir = str(cfg["state_dir"])
        self._lock = threading.Lock()
        self._timers: dict[str, tuple[threading.Timer, float, str | None]] = {}
        self.done: list[dict[str, Any]] = []

    def pid(self) -> int:
        return os.getpid()

    def status(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "pending": self.pending(), "done": self.done[-20:]}

    def _faults(self, by: str) -> Faults:
        return Faults(self.state, state_dir=self.state_dir, by=by)

    def _node_of(self, target: str) -> str | None:
        if target in self.state.nodes:
            return target
        for role in AGENT_ROLES:
            if target.startswith(role + "-") and self.state.actors.get(target) == role:
                return target[len(role) + 1:]
        return None

    def schedule_start(self, target: str, seconds: float) -> float:
        """Run `Faults.start(target)` in `seconds`; replaces a pending one for the node."""
        node = self._node_of(target)
        self.cancel(node or target)
        due = time.time() + seconds
        timer = threading.Timer(seconds, self._fire, (target, seconds))
        timer.daemon = True
        with self._lock:
            self._timers[target] = (timer, due, node)
        timer.start()
        return due

    def cancel(self, node: str) -> list[str]:
        """Cancel the pending restarts of `node` (or of a target of that name)."""
        out = []
        with self._lock:
            for key, (timer, _, n) in list(self._timers.items()):
                if key == node or n == node:
                    timer.cancel()
                    del self._timers[key]
                    out.append(key)
        return out

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"target": k, "due": due, "node": n}
                    for k, (_, due, n) in sorted(self._timers.items())]

    def _fire(self, target: str, seconds: float) -> None:
        with self._lock:
            cur = self._timers.get(target)
            if cur is None or cur[0] is not threading.current_thread():
                return  # cancelled meanwhile
            del self._timers[target]
        try:
            f = self._faults("restart-after")
            try:
                rec = f.start(target)
            finally:
                f.close()
            self.done.append({"target": target, "ok": rec.ok, "message": rec.message})
        except Exception as e:
            self.done.append({"target": target, "ok": False, "message": str(e)})

    def reapply_after_restart(self, name: str, old_pid: int, timeout: float = 120.0) -> None:
        """Once component `name` runs under a pid other than `old_pid`, re-apply its fault."""
        def run() -> None:
            try:
                f = self._faults("reapply")
                try:
                    c = f._components.get(name)
                    if c is None:
                        return
                    deadline = time.monotonic() + timeout
                    while time.monotonic() < deadline:
                        pid = f._pid(c, timeout=5)
                        if pid is not None and pid != old_pid:
                            errs = f.reapply(name)
                            self.done.append({"target": name, "ok": not errs,
                                              "message": "fault re-applied after restart"
                                              + (": " + "; ".join(errs) if errs else "")})
                            return
                        time.sleep(0.2)
                finally:
                    f.close()
            except Exception as e:
                self.done.append({"target": name, "ok": False, "message": str(e)})

        threading.Thread(target=run, name=f"reapply-{name}", daemon=True).start()
