"""`kubemu bench nodes`: how many hollow nodes one machine holds, and what a node costs.

One run:

1. launches a cluster whose nodes all come from one node pool (`--nodes` hollow nodes,
   `--nodes-per-actor` per pool actor, 3 etcd members, upstream timings) and times
   launch -> every node Ready, also from the moment the pool actors were started;
2. holds it for `--duration` seconds (upstream's 10 s lease renewals, 40 s leases,
   50 s grace) while a node watch counts every Ready=True -> not True transition (a
   false NotReady: nothing is failing), the oldest Lease renewTime is sampled every
   10 s, and every component's CPU and RSS are read from /proc;
3. the peer, side by side on the same machine and cluster: `--peer` nodes run the
   way small clusters run them, one kubelet Ray actor per node; their CPU and memory
   per node are measured over the same kind of window and set against the pool's.

Prints a table, writes a JSON report and a PNG (Ready nodes during the launch, CPU per
component during the hold) to `--out`, tears the cluster down.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

DRIVER_NAME = "bench-nodes"
POOL = "hollow"
Obj = dict[str, Any]


def bench_config(nodes: int, per_actor: int, time_scale: float, name: str) -> Any:
    from actors.common.config import parse

    return parse({
        "name": name, "timeScale": time_scale, "etcd": {"members": 3},
        "nodePools": [{"name": POOL, "count": nodes, "nodesPerActor": per_actor,
                       "capacity": {"cpu": "4", "memory": "32Gi", "pods": 110},
                       "zones": ["zone-a", "zone-b", "zone-c"]}],
        "registry": {"images": {"registry.k8s.io/pause:3.9": {"size": "300Ki",
                                                               "pullTime": "100ms"}}},
    }, source="bench nodes")


def _ready(node: Obj) -> bool:
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def _parse_time(s: str) -> float | None:
    from datetime import datetime

    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
    except (ValueError, AttributeError):
        return None


@dataclass
class Hold:
    """What the node watch saw while the cluster was held."""
    flaps: list[tuple[float, str, str]] = field(default_factory=list)  # (t, node, new status)
    events: int = 0
    lease_age_max: list[tuple[float, float]] = field(default_factory=list)  # (t, seconds)
    cpu: list[tuple[float, dict[str, float]]] = field(default_factory=list)  # (t, role -> %)
    stop: threading.Event = field(default_factory=threading.Event)
    error: str = ""


def _watch_nodes(apiserver: str, hold: Hold, t0: float) -> None:
    from actors.apiserver.client import SyncAPIClient

    c = SyncAPIClient(apiserver)
    try:
        lst = c.list_all("nodes")
        ready = {n["metadata"]["name"]: _ready(n) for n in lst["items"]}
        rv = str(lst["metadata"].get("resourceVersion") or "")
        while not hold.stop.is_set():
            try:
                for typ, obj in c.watch("nodes", resource_version=rv, allow_bookmarks=True,
                                        timeout=5):
                    rv = str(obj.get("metadata", {}).get("resourceVersion") or rv)
                    if typ in ("ADDED", "MODIFIED"):
                        hold.events += 1
                        name = obj["metadata"]["name"]
                        now_ready = _ready(obj)
                        if ready.get(name) and not now_ready:
                            st = next((x.get("status") for x in obj["status"].get("conditions", [])
                                       if x.get("type") == "Ready"), "?")
                            hold.flaps.append((time.monotonic() - t0, name, str(st)))
                        ready[name] = now_ready
                    if hold.stop.is_set():
                        return
            except TimeoutError:
                continue
            except Exception as e:  # a broken stream: resume from the last RV
                hold.error = f"{type(e).__name__}: {e}"
                time.sleep(0.5)
    finally:
        c.close()


def _lease_age(apiserver: str) -> float:
    from actors.apiserver.client import SyncAPIClient

    c = SyncAPIClient(apiserver)
    try:
        now = time.time()
        ages = [now - t for lease in c.list_all("leases", "kube-node-lease")["items"]
                if (t := _parse_time(str((lease.get("spec") or {}).get("renewTime") or "")))]
        return max(ages) if ages else float("nan")
    finally:
        c.close()


def _role_cpu(state: Any, prev: dict[str, Any], cur: dict[str, Any], dt: float) -> dict[str, float]:
    """CPU % of a core per role (node pools summed) between two /proc samples."""
    out: dict[str, float] = {}
    for name, s in cur.items():
        p = prev.get(name)
        if s is None or p is None or s.pid != p.pid:
            continue
        role = state.actors.get(name, name)
        out[role] = out.get(role, 0.0) + 100.0 * (s.cpu_seconds - p.cpu_seconds) / dt
    return out


def _measure_peer(state: Any, cfg: Any, peer: int, window: float,
                  say: Any) -> dict[str, Any]:
    """Start `peer` per-node kubelet actors, wait for Ready, measure them over `window`."""
    from actors import cluster as cl
    from actors.bench_schedule import actor_pids, sample_all
    from actors.common.config import NodeSpec

    sd = cl.state_dir(state.name)
    first = len(cl.ClusterState.load(state.name).all_pool_nodes())
    names = []
    for i in range(peer):
        spec = NodeSpec(name=f"peer-{i}", capacity={"cpu": "4", "memory": "32Gi", "pods": "110"},
                        labels={"topology.kubernetes.io/zone": "zone-a"})
        actor = f"kubelet-peer-{i}"
        cl.start_agent(sd, state.namespace, actor, "kubelet",
                       cl.kubelet_config(cfg, first + i, state.apiserver, spec))
        state.actors[actor] = "kubelet"
        names.append(spec.name)
    state.save()
    say(f"peer: {peer} per-node kubelet actors started; waiting for Ready")
    cl.wait_nodes_ready(state.apiserver, names, 180)
    time.sleep(min(10.0, window / 4))  # past the start-up work
    pids = {k: v for k, v in actor_pids(state).items() if k.startswith("kubelet-peer-")}
    a = sample_all(pids)
    t = time.monotonic()
    time.sleep(window)
    b = sample_all(pids)
    dt = time.monotonic() - t
    cpu = 0.0
    rss = 0
    for k in pids:
        sa, sb = a.get(k), b.get(k)
        if sa is not None and sb is not None:
            cpu += 100.0 * (sb.cpu_seconds - sa.cpu_seconds) / dt
            rss += sb.rss_kb
    return {"nodes": peer, "cpu_percent_per_node": cpu / peer, "rss_kib_per_node": rss / peer,
            "window_seconds": round(dt, 1)}


def bench_nodes(*, nodes: int = 5000, per_actor: int = 1000, duration: float = 600.0,
                time_scale: float = 1.0, peer: int = 10, out_dir: str = "bench-out",
                name: str = DRIVER_NAME, plot: bool = True) -> dict[str, Any]:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from actors import cluster as cl
    from actors.bench_schedule import actor_pids, sample_all

    console = Console(stderr=True)
    cfg = bench_config(nodes, per_actor, time_scale, name)
    try:
        cl.teardown(cl.ClusterState.load(name))
    except FileNotFoundError:
        pass
    marks: dict[str, float] = {}
    ready_curve: list[tuple[float, int]] = []
    t0 = time.monotonic()

    def progress(msg: str) -> None:
        now = time.monotonic() - t0
        if msg.startswith("node pool") and "pools" not in marks:
            marks["pools"] = now
        if msg.endswith("nodes Ready"):
            ready_curve.append((now, int(msg.split("/")[0])))
        else:
            console.log(msg)

    console.log(f"launching {nodes} hollow nodes ({per_actor} per pool actor)")
    state = cl.launch(cfg, progress=progress, ready_timeout=max(300.0, nodes / 20))
    t_ready = time.monotonic() - t0
    ready_curve.append((t_ready, nodes))
    report: dict[str, Any] = {
        "nodes": nodes, "nodes_per_actor": per_actor, "time_scale": time_scale,
        "launch_to_ready_seconds": round(t_ready, 1),
        "pools_started_to_ready_seconds": round(t_ready - marks.get("pools", 0.0), 1),
    }
    console.log(f"{nodes} nodes Ready {report['pools_started_to_ready_seconds']} s after the "
                f"pool actors started ({t_ready:.1f} s after launch)")
    try:
        hold = Hold()
        th = threading.Thread(target=_watch_nodes, args=(state.apiserver, hold, t0), daemon=True)
        th.start()
        pids = actor_pids(state)
        prev, t_prev = sample_all(pids), time.monotonic()
        first, t_first = prev, t_prev
        with Progress(TextColumn("holding {task.fields[nodes]} nodes"), BarColumn(),
                      TextColumn("{task.completed:.0f}/{task.total:.0f} s  false NotReady: "
                                 "{task.fields[flaps]}  oldest lease: {task.fields[age]}"),
                      TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task("hold", total=duration, nodes=nodes, flaps=0, age="-")
            start = time.monotonic()
            while (el := time.monotonic() - start) < duration:
                time.sleep(min(10.0, max(0.1, duration - el)))
                cur, t_cur = sample_all(pids), time.monotonic()
                hold.cpu.append((t_cur - t0, _role_cpu(state, prev, cur, t_cur - t_prev)))
                prev, t_prev = cur, t_cur
                try:
                    age = _lease_age(state.apiserver)
                    hold.lease_age_max.append((t_cur - t0, age))
                except Exception:
                    age = float("nan")
                bar.update(task, completed=min(duration, time.monotonic() - start),
                           flaps=len(hold.flaps), age=f"{age:.1f} s")
        hold.stop.set()
        last, t_last = sample_all(pids), time.monotonic()
        avg = _role_cpu(state, first, last, t_last - t_first)
        rss: dict[str, float] = {}
        for n, s in last.items():
            if s is not None:
                role = state.actors.get(n, n)
                rss[role] = rss.get(role, 0.0) + s.rss_kb / 1024
        pool_cpu = avg.get("node-pool", 0.0)
        pool_rss_kib = rss.get("node-pool", 0.0) * 1024
        report["hold"] = {
            "seconds": round(t_last - t_first, 1),
            "false_not_ready": len(hold.flaps),
            "flaps": [{"t": round(t, 1), "node": n, "status": s} for t, n, s in hold.flaps[:50]],
            "node_events": hold.events,
            "oldest_lease_seconds_max": round(max((a for _, a in hold.lease_age_max
                                                   if a == a), default=float("nan")), 1),
            "oldest_lease_series": [[round(t, 1), round(a, 1)] for t, a in hold.lease_age_max],
            "cpu_percent_by_role": {k: round(v, 1) for k, v in sorted(avg.items())},
            "cpu_percent_total": round(sum(avg.values()), 1),
            "rss_mib_by_role": {k: round(v, 1) for k, v in sorted(rss.items())},
            "watch_error": hold.error,
        }
        report["pool_per_node"] = {"cpu_percent": round(pool_cpu / nodes, 4),
                                   "rss_kib": round(pool_rss_kib / nodes, 1)}
        if peer > 0:
            p = _measure_peer(state, cfg, peer, min(60.0, max(20.0, duration / 4)), console.log)
            report["peer_per_node_actor"] = {k: round(v, 4) if isinstance(v, float) else v
                                             for k, v in p.items()}
            report["ratio_pool_to_actor"] = {
                "cpu": round((pool_cpu / nodes) / p["cpu_percent_per_node"], 4)
                if p["cpu_percent_per_node"] else None,
                "rss": round((pool_rss_kib / nodes) / p["rss_kib_per_node"], 4)
                if p["rss_kib_per_node"] else None,
            }
    finally:
        console.log("tearing the cluster down")
        cl.teardown(cl.ClusterState.load(name))
    os.makedirs(out_dir, exist_ok=True)
    base = os.path.join(out_dir, f"bench-nodes-{nodes}")
    with open(base + ".json", "w") as f:
        json.dump(report, f, indent=2)
    if plot:
        report["plot"] = _plot(ready_curve, hold, nodes, base + ".png")
    _print(console, report)
    console.print(f"report: {base}.json" + (f", plot: {report.get('plot')}" if plot else ""))
    return report


def _print(console: Any, r: dict[str, Any]) -> None:
    from rich.table import Table

    h = r.get("hold", {})
    t = Table(title=f"kubemu bench nodes: {r['nodes']} hollow nodes, "
                    f"{r['nodes_per_actor']} per pool actor")
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_row("pool actors started -> all Ready", f"{r['pools_started_to_ready_seconds']} s")
    t.add_row("launch -> all Ready", f"{r['launch_to_ready_seconds']} s")
    t.add_row(f"false NotReady in {h.get('seconds')} s", str(h.get("false_not_ready")))
    t.add_row("oldest Lease renewTime seen", f"{h.get('oldest_lease_seconds_max')} s (lease 40 s)")
    for role, v in (h.get("cpu_percent_by_role") or {}).items():
        t.add_row(f"CPU {role}", f"{v} % of a core")
    t.add_row("CPU total", f"{h.get('cpu_percent_total')} % of a core (2 cores = 200 %)")
    pp = r.get("pool_per_node") or {}
    t.add_row("per pooled node", f"{pp.get('cpu_percent')} % CPU, {pp.get('rss_kib')} KiB")
    peer = r.get("peer_per_node_actor")
    if peer:
        t.add_row("per node, one kubelet actor each (peer)",
                  f"{peer['cpu_percent_per_node']:.3f} % CPU, {peer['rss_kib_per_node']:.0f} KiB")
        ratio = r.get("ratio_pool_to_actor") or {}
        t.add_row("ratio pooled / per-node actor", f"CPU {ratio.get('cpu')}x, memory {ratio.get('rss')}x")
    console.print(t)


def _plot(ready: list[tuple[float, int]], hold: Hold, nodes: int, path: str) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
    if ready:
        a.plot([t for t, _ in ready], [n for _, n in ready], marker=".")
    a.set_title(f"nodes Ready during the launch ({nodes})")
    a.set_xlabel("seconds since launch")
    a.set_ylabel("Ready nodes")
    roles = sorted({r for _, d in hold.cpu for r in d})
    for role in roles:
        b.plot([t for t, _ in hold.cpu], [d.get(role, 0.0) for _, d in hold.cpu], label=role)
    for t, _, _ in hold.flaps:
        b.axvline(t, color="red", alpha=0.3)
    b.set_title("CPU per component while holding (red: false NotReady)")
    b.set_xlabel("seconds since launch")
    b.set_ylabel("% of a core")
    b.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
