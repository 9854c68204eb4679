"""`kubemu bench failover`: how faithfully kubemu keeps Kubernetes' failure timeline.

For each (node count, timeScale) it launches a cluster (cluster.yaml's settings, N
nodes), runs a Deployment of 3, SIGKILLs the kubelet and kube-proxy of a node that
hosts one of its pods, and measures, in scenario (upstream) seconds:

- last lease renewal → node NotReady, against nodeMonitorGracePeriod (upstream adds up
  to one monitor period to notice a renewal and up to one more to act on its expiry);
- NoExecute taint → pod evicted, against the pod's tolerationSeconds (300);
- eviction → replacement Running elsewhere (scheduling + image pull + start);
- node started again → Ready, and → taints gone.

The peer is the configuration itself: the report prints each measured delay, the
configured value and the overshoot.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from typing import Any, Callable

from actors.common.clock import parse_time


def _cond(node: dict[str, Any], t: str) -> dict[str, Any]:
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == t:
            return dict(c)
    return {}


def _poll(pred: Callable[[], Any], timeout: float, what: str, period: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(period)
    raise TimeoutError(f"timed out waiting for {what}")


def measure_once(n_nodes: int, time_scale: float, *, config: str = "cluster.yaml",
                 progress: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    from actors import cluster as cl
    from actors.apiserver.client import SyncAPIClient
    from actors.common.config import NodeSpec, load
    from actors.faults import Faults

    cfg = load(config)
    base = cfg.nodes[0]
    zones = sorted({n.labels.get("topology.kubernetes.io/zone", "") for n in cfg.nodes})
    cfg.nodes = [NodeSpec(name=f"node-{i + 1}", capacity=dict(base.capacity),
                          labels={"topology.kubernetes.io/zone": zones[i % len(zones)]}
                          if zones and zones[0] else {})
                 for i in range(n_nodes)]
    cfg.name = f"failover-{n_nodes}n"
    cfg.time_scale = time_scale
    ts = time_scale
    grace = cfg.timings["nodeMonitorGracePeriod"]
    period = cfg.timings["nodeMonitorPeriod"]
    toleration = cfg.timings["defaultTolerationSeconds"]
    try:
        cl.teardown(cl.ClusterState.load(cfg.name))
    except FileNotFoundError:
        pass
    progress(f"{n_nodes} nodes, timeScale {ts:g}: launching")
    t0 = time.monotonic()
    state = cl.launch(cfg, progress=lambda m: None)
    launch_s = time.monotonic() - t0
    api = SyncAPIClient(state.apiserver)
    faults = Faults(state)
    try:
        api.create("deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web",
                                                           "image": "nginx:1.25"}]}}}},
            namespace="default")

        def web(pred: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
            pods = api.list("pods", namespace="default", label_selector="app=web")["items"]
            return [p for p in pods if pred(p)]

        def running(p: dict[str, Any]) -> bool:
            return (p.get("status") or {}).get("phase") == "Running" and \
                not p["metadata"].get("deletionTimestamp")

        pods = _poll(lambda: (lambda r: r if len(r) == 3 else None)(web(running)),
                     120, "3 Running pods", 0.2)
        victim = pods[0]["spec"]["nodeName"]
        progress(f"{n_nodes} nodes, timeScale {ts:g}: killing {victim}")
        time.sleep(3 * ts + 0.5)  # let the informers settle
        t_kill = time.time()
        faults.kill(victim)
        lease = api.get("leases", victim, namespace="kube-node-lease")
        last_renew = parse_time(lease["spec"]["renewTime"])

        def not_ready() -> float | None:
            c = _cond(api.get("nodes", victim), "Ready")
            return time.time() if c.get("status") == "Unknown" else None

        t_notready = _poll(not_ready, (grace + 4 * period) * ts + 30, "NotReady")
        progress(f"{n_nodes} nodes, timeScale {ts:g}: {victim} NotReady; waiting for eviction")

        def taint_added() -> float | None:
            for t in (api.get("nodes", victim).get("spec") or {}).get("taints") or []:
                if t.get("key") == "node.kubernetes.io/unreachable" and \
                        t.get("effect") == "NoExecute":
                    return parse_time(t["timeAdded"]) if t.get("timeAdded") else time.time()
            return None

        t_taint = _poll(taint_added, 4 * period * ts + 30, "the NoExecute taint")
        t_taint_seen = time.time()

        def evicted() -> float | None:
            on = web(lambda p: p["spec"].get("nodeName") == victim)
            return time.time() if on and all(p["metadata"].get("deletionTimestamp")
                                              for p in on) else None

        t_evicted = _poll(evicted, (toleration + 60) * ts + 30, "eviction")

        def replaced() -> float | None:
            ok = web(lambda p: running(p) and p["spec"].get("nodeName") != victim)
            return time.time() if len(ok) == 3 else None

        t_replaced = _poll(replaced, 120 * ts + 60, "replacements Running")
        progress(f"{n_nodes} nodes, timeScale {ts:g}: replaced; starting {victim} again")
        t_start = time.time()
        faults.start(victim)
        t_ready = _poll(lambda: time.time() if _cond(api.get("nodes", victim), "Ready")
                        .get("status") == "True" else None, 120 * ts + 60, "Ready again")
        t_clean = _poll(lambda: time.time() if not [
            t for t in (api.get("nodes", victim).get("spec") or {}).get("taints") or []
            if t.get("key", "").startswith("node.kubernetes.io/unreachable")] else None,
            (4 * period) * ts + 60, "taints removed")
    finally:
        api.close()
        try:
            faults.close()
        except Exception:
            pass
        cl.teardown(state)

    def scn(real: float) -> float:
        return round(real / ts, 2)

    return {
        "nodes": n_nodes, "time_scale": ts, "launch_seconds": round(launch_s, 1),
        "configured": {"nodeMonitorGracePeriod": grace, "nodeMonitorPeriod": period,
                       "tolerationSeconds": toleration},
        "kill_to_notready": scn(t_notready - t_kill),
        "renewal_to_notready": scn(t_notready - last_renew),
        "notready_overshoot": scn(t_notready - last_renew) - grace,
        "taint_after_notready": scn(max(0.0, t_taint_seen - t_notready)),
        "taint_to_eviction": scn(t_evicted - t_taint),
        "eviction_overshoot": scn(t_evicted - t_taint) - toleration,
        "eviction_to_replacement_running": scn(t_replaced - t_evicted),
        "start_to_ready": scn(t_ready - t_start),
        "start_to_taints_gone": scn(t_clean - t_start),
    }


def bench_failover(node_counts: list[int], time_scales: list[float], runs: int = 1, *,
                   out_dir: str = "bench-out") -> dict[str, Any]:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(150, Console().width))
    results: list[dict[str, Any]] = []
    with console.status("failover") as st:
        for ts in time_scales:
            for n in node_counts:
                for r in range(runs):
                    res = measure_once(n, ts, progress=lambda m: st.update(
                        f"run {r + 1}/{runs}: {m}"))
                    results.append(res)
                    console.log(f"{n} nodes @ timeScale {ts:g}: NotReady "
                                f"{res['renewal_to_notready']:.1f} s after the last renewal, "
                                f"evicted {res['taint_to_eviction']:.1f} s after the taint")
    table = Table(title="kubemu bench failover — scenario seconds (real ÷ timeScale), "
                        f"median of {runs}")
    for c in ("nodes", "timeScale", "renewal→NotReady", "grace", "overshoot", "taint→evicted",
              "toleration", "overshoot", "evicted→replacement Running", "start→Ready"):
        table.add_column(c, justify="right")
    summary = []
    for ts in time_scales:
        for n in node_counts:
            rs = [r for r in results if r["nodes"] == n and r["time_scale"] == ts]

            def med(k: str, rs: list[dict[str, Any]] = rs) -> float:
                return float(statistics.median(r[k] for r in rs))
            row = {k: med(k) for k in ("renewal_to_notready", "notready_overshoot",
                                       "taint_to_eviction", "eviction_overshoot",
                                       "eviction_to_replacement_running", "start_to_ready")}
            row.update(nodes=n, time_scale=ts)
            summary.append(row)
            cfg = rs[0]["configured"]
            table.add_row(str(n), f"{ts:g}", f"{row['renewal_to_notready']:.1f}",
                          f"{cfg['nodeMonitorGracePeriod']:g}",
                          f"{row['notready_overshoot']:+.1f}",
                          f"{row['taint_to_eviction']:.1f}", f"{cfg['tolerationSeconds']:g}",
                          f"{row['eviction_overshoot']:+.1f}",
                          f"{row['eviction_to_replacement_running']:.1f}",
                          f"{row['start_to_ready']:.1f}")
    console.print(table)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"failover-{time.strftime('%Y%m%d-%H%M%S')}.json")
    report = {"benchmark": "failover", "runs": runs, "summary": summary, "results": results}
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
    console.print(f"report: {path}")
    return report
