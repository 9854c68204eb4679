"""`kubemu bench schedule`: scheduling throughput and latency of a whole kubemu cluster,
next to the pure scheduler core in-process on the same nodes and pods.

This is the I/O half (Ray, gRPC, asyncio, /proc); workloads, figures, the report and
the in-process peer are pure, in actors/scheduler/bench.py (the scheduler package
keeps every module but its actor shell free of I/O).

Per invocation it launches a cluster (3 etcd members, the control plane, N hollow
nodes in one node pool: `bench.bench_cluster_config`) or joins a running one
(`--cluster NAME`), then per run:

1. namespace `bench` (and the workload's PriorityClasses) exist, no pod is left there;
2. an informer on the namespace's pods stamps, with the driver's monotonic clock, the
   first event of each pod with spec.nodeName set (bound), with status.phase Running,
   and with a deletionTimestamp or a delete (a preemption's victims);
3. the unmeasured fill pods (preemption) are created and bound;
4. the scheduler's framework metrics and every component's /proc figures are sampled;
5. the measured pods are created -- at --rate pods/s through a token bucket, else as
   fast as CREATORS concurrent creators go; the create time of a pod is when its create
   call is issued -- until every one is Running (or nothing moved for STALL_SECONDS);
   churn deletes each pod CHURN_LIFETIME_SECONDS after it runs;
6. samples again; the namespace's pods are force-deleted and gone before the next run.

The cluster is torn down (when launched here) before the in-process peers run, so
they have the machine to themselves. Every headline figure is the median of the runs;
a JSON report and a PNG (throughput over time, latency CDFs) go to --out.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from actors.scheduler import bench as sb

CREATORS = 32  # concurrent create calls without --rate
STALL_SECONDS = 120.0  # give up waiting when no pod got created/bound/running for this long
TICK = 0.1
DRIVER = "bench-driver"
Obj = dict[str, Any]


@dataclass
class RunData:
    run: int
    plan: sb.Plan
    nodes: list[Obj]
    existing: list[Obj]
    times: sb.PodTimes
    t0: float
    created: dict[str, Obj] = field(default_factory=dict)  # name -> the object the create returned
    create_errors: int = 0
    usage: dict[str, Any] = field(default_factory=dict)
    metrics_before: dict[str, Any] = field(default_factory=dict)
    metrics_after: dict[str, Any] = field(default_factory=dict)
    timed_out: bool = False


# ---- processes and the scheduler's metrics (blocking: run in a thread) ------------------------


def proc_sample(pid: int) -> sb.ProcSample | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            cpu = sb.parse_proc_stat(f.read(), os.sysconf("SC_CLK_TCK"))
        with open(f"/proc/{pid}/status") as f:
            rss, hwm = sb.parse_proc_status(f.read())
    except (OSError, ValueError, IndexError):
        return None
    return sb.ProcSample(pid, cpu, rss, hwm)


def actor_pids(state: Any) -> dict[str, int]:
    """name -> pid of every actor of the cluster (those that answer), and the driver."""
    from actors.common import rayutil

    refs = {}
    for name in state.actors:
        try:
            refs[name] = rayutil.call_async(rayutil.get_actor(name, state.namespace), "pid")
        except Exception:
            continue
    out = {DRIVER: os.getpid()}
    for name, ref in refs.items():
        try:
            out[name] = int(rayutil.get(ref, timeout=30))
        except Exception:
            pass
    return out


def sample_all(pids: dict[str, int]) -> dict[str, sb.ProcSample | None]:
    return {name: proc_sample(pid) for name, pid in pids.items()}


def scheduler_metrics(state: Any) -> dict[str, Any]:
    from actors.common import rayutil

    try:
        st = rayutil.call(rayutil.get_actor("scheduler", state.namespace), "status", timeout=30)
        return dict((st or {}).get("framework_metrics") or {})
    except Exception:
        return {}


# ---- one run ------------------------------------------------------------------------------------


async def _ensure(client: Any, resource: str, obj: Obj) -> None:
    from actors.api.errors import APIError

    try:
        await client.create(resource, obj)
    except APIError as e:
        if e.code != 409:
            raise


async def cleanup(client: Any, timeout: float = 300.0) -> int:
    """Force-delete every pod of the bench namespace and wait until none is left."""
    from actors.api.errors import APIError

    items = (await client.list_all("pods", namespace=sb.NAMESPACE)).get("items", [])

    async def delete(name: str) -> None:
        try:
            await client.delete("pods", name, namespace=sb.NAMESPACE, grace_period_seconds=0)
        except APIError as e:
            if e.code != 404:
                raise

    for i in range(0, len(items), 256):
        await asyncio.gather(*(delete(p["metadata"]["name"]) for p in items[i:i + 256]))
    deadline = time.monotonic() + timeout
    while (await client.list("pods", namespace=sb.NAMESPACE, limit=1)).get("items"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"pods of namespace {sb.NAMESPACE} still there after {timeout:.0f} s")
        await asyncio.sleep(0.5)
    return len(items)


async def create_pods(client: Any, pods: list[Obj], times: sb.PodTimes, created: dict[str, Obj],
                      rate: float | None, clock: Callable[[], float]) -> int:
    """Create `pods`; returns how many creates failed."""
    errors = 0
    sem = asyncio.Semaphore(CREATORS if rate is None else 4 * CREATORS)

    async def one(pod: Obj) -> None:
        nonlocal errors
        name = pod["metadata"]["name"]
        try:
            times.created[name] = clock()
            created[name] = await client.create("pods", pod, namespace=sb.NAMESPACE)
        except Exception:
            errors += 1
            times.created.pop(name, None)
        finally:
            sem.release()

    tasks = []
    bucket = sb.TokenBucket(rate, now=clock()) if rate else None
    for pod in pods:
        if bucket is not None:
            wait = bucket.take(clock())
            if wait > 0:
                await asyncio.sleep(wait)
        await sem.acquire()
        tasks.append(asyncio.get_running_loop().create_task(one(pod)))
    await asyncio.gather(*tasks)
    return errors


async def measure_run(state: Any, workload: str, n_pods: int, rate: float | None, run: int,
                      pids: dict[str, int], ui: Any) -> RunData:
    from actors.apiserver.client import APIClient
    from actors.common.informer import Informer

    clock = time.monotonic
    client = APIClient(state.apiserver, max_inflight=256)
    try:
        await _ensure(client, "namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                             "metadata": {"name": sb.NAMESPACE}})
        for pc in sb.priority_classes(workload):
            await _ensure(client, "priorityclasses", pc)
        await cleanup(client)
        nodes = (await client.list_all("nodes")).get("items", [])
        existing = [p for p in (await client.list_all("pods")).get("items", [])
                    if (p.get("spec") or {}).get("nodeName")
                    and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        plan = sb.plan(workload, n_pods, nodes, run=run)
        times = sb.PodTimes()
        inf = Informer(client, "pods", namespace=sb.NAMESPACE,
                       on_add=lambda p: times.observe(p, clock()),
                       on_update=lambda old, new: times.observe(new, clock()),
                       on_delete=lambda p: times.deleted(p, clock()))
        inf.start()
        if not await inf.wait_for_sync(60):
            raise TimeoutError("the pod watch did not sync within 60 s")
        data = RunData(run, plan, nodes, existing, times, 0.0)
        try:
            if plan.fill:
                t_fill = ui.task(f"run {run + 1}: fill (low priority)", len(plan.fill))
                data.create_errors += await create_pods(client, plan.fill, times, data.created, None, clock)
                fill_names = [p["metadata"]["name"] for p in plan.fill]
                await wait_until(lambda: sum(1 for n in fill_names if n in times.bound),
                                 len(fill_names) - data.create_errors, lambda n: ui.set(t_fill, n))
            data.metrics_before = await asyncio.to_thread(scheduler_metrics, state)
            start = await asyncio.to_thread(sample_all, pids)
            names = [p["metadata"]["name"] for p in plan.measured]
            bars = {k: ui.task(f"run {run + 1}: {k}", len(names)) for k in ("created", "bound", "Running")}
            data.t0 = clock()
            creating = asyncio.get_running_loop().create_task(
                create_pods(client, plan.measured, times, data.created,
                            rate if rate else (sb.CHURN_DEFAULT_RATE if workload == "churn" else None), clock))
            churn_deleted: set[str] = set()
            deletes: set[asyncio.Task[None]] = set()

            def progress() -> int:
                ui.set(bars["created"], sum(1 for n in names if n in times.created))
                ui.set(bars["bound"], sum(1 for n in names if n in times.bound))
                running = sum(1 for n in names if n in times.running)
                ui.set(bars["Running"], running)
                if workload == "churn":
                    now = clock()
                    for n in names:
                        t = times.running.get(n)
                        if t is not None and n not in churn_deleted and now - t >= sb.CHURN_LIFETIME_SECONDS:
                            churn_deleted.add(n)
                            task = asyncio.get_running_loop().create_task(_delete_quietly(client, n))
                            deletes.add(task)
                            task.add_done_callback(deletes.discard)
                return running + len(times.created) + len(times.bound)

            def done_target() -> int:
                return sum(1 for n in names if n in times.running)

            data.timed_out = not await wait_until(
                done_target, len(names), lambda _: progress(), until_created=creating,
                activity=lambda: len(times.created) + len(times.bound) + len(times.running))
            data.create_errors += await creating
            progress()
            end = await asyncio.to_thread(sample_all, pids)
            t_end = clock()
            data.metrics_after = await asyncio.to_thread(scheduler_metrics, state)
            data.usage = sb.component_usage(start, end, {**dict(state.actors), DRIVER: "bench driver"},
                                            seconds=t_end - data.t0)
            if deletes:
                await asyncio.gather(*list(deletes), return_exceptions=True)
        finally:
            inf.stop()
        await cleanup(client)
        return data
    finally:
        await client.close()


async def _delete_quietly(client: Any, name: str) -> None:
    try:
        await client.delete("pods", name, namespace=sb.NAMESPACE)
    except Exception:
        pass


async def wait_until(count: Callable[[], int], target: int, on_tick: Callable[[int], Any], *,
                     until_created: "asyncio.Task[Any] | None" = None,
                     activity: Callable[[], int] | None = None) -> bool:
    """Poll `count()` every TICK until it reaches `target` (True), or until nothing moved
    (`activity()`, by default `count()`) for STALL_SECONDS after the creates finished."""
    last_activity, last_change = -1, time.monotonic()
    while True:
        n = count()
        on_tick(n)
        if n >= target:
            return True
        a = activity() if activity is not None else n
        now = time.monotonic()
        if a != last_activity:
            last_activity, last_change = a, now
        elif now - last_change > STALL_SECONDS and (until_created is None or until_created.done()):
            return False
        await asyncio.sleep(TICK)


# ---- the command ----------------------------------------------------------------------------


class _UI:
    """The rich progress bars (no-ops without one)."""

    def __init__(self, prog: Any = None) -> None:
        self.prog = prog

    def task(self, description: str, total: int) -> Any:
        return self.prog.add_task(description, total=total) if self.prog is not None else None

    def set(self, task: Any, n: int) -> None:
        if self.prog is not None and task is not None:
            self.prog.update(task, completed=n)


def _cluster_scheduler_config(state: Any) -> dict[str, Any]:
    from actors.common.config import load

    if state.config_file and os.path.exists(state.config_file):
        try:
            return dict(load(state.config_file).scheduler)
        except Exception:
            return {}
    return {}


def bench_schedule(*, nodes: int = 500, pods: int = 1000, workload: str = "basic", rate: float | None = None,
                   runs: int = 3, nodes_per_actor: int | None = None, cluster: str | None = None,
                   time_scale: float = 1.0, out_dir: str = "bench-out", plot: bool = True,
                   address: str | None = None, seed: int = 1) -> dict[str, Any]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from actors import cluster as cl

    if workload not in sb.WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}: one of {', '.join(sb.WORKLOADS)}")
    console = Console(width=max(170, Console().width))
    launched = cluster is None
    if cluster is not None:
        state = cl.ClusterState.load(cluster)
        cl.connect(state.ray_address, state.namespace)
        sched_cfg = _cluster_scheduler_config(state)
    else:
        cfg = sb.bench_cluster_config(nodes, nodes_per_actor=nodes_per_actor, time_scale=time_scale)
        try:
            cl.teardown(cl.ClusterState.load(cfg.name))
        except FileNotFoundError:
            pass
        sched_cfg = dict(cfg.scheduler)
        with console.status(f"launching {nodes} hollow nodes") as st:
            state = cl.launch(cfg, address=address, progress=lambda m: st.update(f"launching: {m}"),
                              ready_timeout=max(180.0, nodes * 0.2))
    data: list[RunData] = []
    try:
        pids = actor_pids(state)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as prog:
            ui = _UI(prog)
            for run in range(runs):
                data.append(asyncio.run(measure_run(state, workload, pods, rate, run, pids, ui)))
    finally:
        if launched:
            with console.status("tearing the cluster down"):
                cl.teardown(state)
    effective_rate = rate or (sb.CHURN_DEFAULT_RATE if workload == "churn" else None)
    if effective_rate:
        for d in data:
            d.plan.notes.append(f"creates paced at {effective_rate:g} pods/s: the throughput cannot exceed it "
                                "(nor can end-to-end / in-process say more than that)")
    reports = []
    with console.status("in-process core") as st:
        for d in data:
            st.update(f"in-process core: run {d.run + 1}/{len(data)}")
            churn_window = 0
            if workload == "churn":
                churn_window = max(1, int((rate or sb.CHURN_DEFAULT_RATE) * sb.CHURN_LIFETIME_SECONDS))
            fill = [d.created[n] for n in (p["metadata"]["name"] for p in d.plan.fill) if n in d.created]
            measured = [d.created[n] for n in (p["metadata"]["name"] for p in d.plan.measured) if n in d.created]
            peer = sb.run_in_process(d.nodes, measured, fill=fill, existing=d.existing,
                                     scheduler_config=sched_cfg, churn_window=churn_window, seed=seed)
            peer.pop("placements", None)
            rep = sb.run_report(workload=workload, nodes=len(d.nodes), plan_=d.plan, times=d.times, t0=d.t0,
                                metrics_before=d.metrics_before, metrics_after=d.metrics_after,
                                usage=d.usage, in_process=peer, create_errors=d.create_errors)
            rep["run"] = d.run + 1
            rep["timed_out"] = d.timed_out
            names = [p["metadata"]["name"] for p in d.plan.measured]
            rep["latency_samples_ms"] = {
                key: sorted(round((seen[n] - d.times.created[n]) * 1000, 3)
                            for n in names if n in seen and n in d.times.created)
                for key, seen in (("create_to_bound", d.times.bound), ("create_to_running", d.times.running))}
            reports.append(rep)
    median = sb.merge_runs([{k: v for k, v in r.items() if k != "latency_samples_ms"} for r in reports])
    _print(console, workload, reports, median)
    os.makedirs(out_dir, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    report = {"benchmark": "schedule", "workload": workload, "nodes": len(data[0].nodes) if data else nodes,
              "pods": pods, "rate": effective_rate, "runs": runs, "cluster": cluster or state.name,
              "time_scale": state.time_scale, "goal_pods_per_s": sb.GOAL_PODS_PER_S,
              "goal": "scheduler_perf SchedulingBasic/5000Nodes_10000Pods threshold (Go, in-process)",
              "scheduler_config": sched_cfg, "median": median, "runs_detail": reports}
    path = os.path.join(out_dir, f"schedule-{workload}-{stamp}.json")
    with open(path, "w") as f:
        json.dump(_clean(report), f, indent=1, default=str)
    report["json"] = path
    console.print(f"report: {path}")
    if plot:
        png = _plot(reports, workload, os.path.join(out_dir, f"schedule-{workload}-{stamp}.png"))
        if png:
            report["png"] = png
            console.print(f"plot:   {png}")
    return report


def _clean(o: Any) -> Any:
    """JSON-safe: NaN/inf become null."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    return o


def _f(x: Any, fmt: str = ",.1f") -> str:
    return format(x, fmt) if isinstance(x, (int, float)) and math.isfinite(x) else "-"


def _print(console: Any, workload: str, reports: list[dict[str, Any]], median: dict[str, Any]) -> None:
    from rich.table import Table

    first = reports[0] if reports else {}
    t = Table(title=f"kubemu bench schedule — {workload}: {first.get('pods', 0)} pods on {first.get('nodes', 0)} "
                    f"nodes; goal {sb.GOAL_PODS_PER_S:.0f} pods/s (scheduler_perf SchedulingBasic, Go in-process)")
    cols = ["run", "pods/s", "÷ goal 680", "in-process pods/s", "e2e ÷ in-process",
            "→bound p50/p90/p99 ms", "→Running p50/p90/p99 ms", "bound/Running"]
    if workload == "preemption":
        cols.append("victims/s")
    for c in cols:
        t.add_column(c, justify="right")

    def row(label: str, r: dict[str, Any]) -> list[str]:
        tp = r.get("throughput") or {}
        lb = (r.get("latency_ms") or {}).get("create_to_bound") or {}
        lr = (r.get("latency_ms") or {}).get("create_to_running") or {}
        ratios = r.get("ratios") or {}
        cells = [label, _f(tp.get("average")), _f(ratios.get("vs_goal"), ".3f") + "x",
                 _f((r.get("in_process") or {}).get("pods_per_s")),
                 _f(ratios.get("vs_in_process"), ".2f") + "x",
                 f"{_f(lb.get('p50'))} / {_f(lb.get('p90'))} / {_f(lb.get('p99'))}",
                 f"{_f(lr.get('p50'))} / {_f(lr.get('p90'))} / {_f(lr.get('p99'))}",
                 f"{_f(r.get('bound'), 'g')}/{_f(r.get('running'), 'g')} of {_f(r.get('pods'), 'g')}"]
        if workload == "preemption":
            cells.append(_f((r.get("preemption") or {}).get("victims_per_s")))
        return cells

    for r in reports:
        t.add_row(*row(str(r.get("run")), r))
    t.add_row(*row(f"median of {len(reports)}", median), style="bold")
    console.print(t)
    for note in first.get("notes") or []:
        console.print(f"note: {note}")
    for r in reports:
        if r.get("timed_out"):
            console.print(f"[yellow]run {r.get('run')}: stopped waiting after {STALL_SECONDS:.0f} s "
                          "without progress[/yellow]")

    sched = median.get("scheduler") or {}
    peer = (median.get("in_process") or {}).get("latency") or {}
    if sched.get("plugins"):
        pt = Table(title="per-plugin latency, ms per scheduling cycle (sampled cycles; median of runs)")
        for c in ("plugin", "extension point", "cycles", "mean", "p50", "p99", "in-process mean"):
            pt.add_column(c, justify="right")
        rows = []
        for plugin, by_point in sched["plugins"].items():
            for point, s in by_point.items():
                ip = ((peer.get("plugins") or {}).get(plugin) or {}).get(point) or {}
                rows.append((s.get("total_ms") or 0.0, [plugin, point, _f(s.get("count"), "g"),
                                                         _f(s.get("mean_ms"), ".3f"), _f(s.get("p50_ms"), ".3f"),
                                                         _f(s.get("p99_ms"), ".3f"), _f(ip.get("mean_ms"), ".3f")]))
        for _, cells in sorted(rows, key=lambda x: -x[0]):
            pt.add_row(*cells)
        for point, s in (sched.get("extension_points") or {}).items():
            ip = (peer.get("extension_points") or {}).get(point) or {}
            pt.add_row("(all)", point, _f(s.get("count"), "g"), _f(s.get("mean_ms"), ".3f"),
                       _f(s.get("p50_ms"), ".3f"), _f(s.get("p99_ms"), ".3f"), _f(ip.get("mean_ms"), ".3f"),
                       style="dim")
        console.print(pt)
    comp = median.get("components") or {}
    if comp.get("roles"):
        ct = Table(title=f"CPU and memory per component over the measured phase "
                         f"({_f(comp.get('seconds'), '.1f')} s: first create -> all Running; median of runs)")
        for c in ("component", "processes", "CPU s", "cores busy", "peak RSS MB (sum)"):
            ct.add_column(c, justify="right")
        for role, r in sorted(comp["roles"].items(), key=lambda x: -(x[1].get("cpu_seconds") or 0)):
            ct.add_row(role, _f(r.get("processes"), "g"), _f(r.get("cpu_seconds"), ".2f"),
                       _f(r.get("cores"), ".2f"), _f(r.get("peak_rss_mb"), ",.0f"))
        ct.add_row("total", "", _f(comp.get("total_cpu_seconds"), ".2f"), _f(comp.get("total_cores"), ".2f"), "",
                   style="bold")
        console.print(ct)


def _plot(reports: list[dict[str, Any]], workload: str, path: str) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    for i, r in enumerate(reports):
        c = colors[i % len(colors)]
        series = (r.get("throughput") or {}).get("series") or []
        if series:  # bin k covers [k, k+1) s
            ax1.step(range(len(series) + 1), series + series[-1:], where="post", color=c,
                     label=f"run {r.get('run')} ({_f((r.get('throughput') or {}).get('average'))} pods/s average)")
        ip = (r.get("in_process") or {}).get("pods_per_s")
        if isinstance(ip, (int, float)) and math.isfinite(ip) and i == 0:
            ax1.axhline(ip, color="gray", linestyle=":", label=f"in-process core {ip:,.0f} pods/s")
        samples = r.get("latency_samples_ms") or {}
        for key, style in (("create_to_bound", "-"), ("create_to_running", "--")):
            xs = samples.get(key) or []
            if xs:
                ax2.plot(xs, [(j + 1) / len(xs) for j in range(len(xs))], color=c, linestyle=style,
                         label=f"run {r.get('run')} {'create→bound' if key == 'create_to_bound' else 'create→Running'}")
    ax1.set_xlabel("seconds since the first create")
    ax1.set_ylabel("pods bound per second")
    ax1.set_title(f"{workload}: scheduling throughput (goal {sb.GOAL_PODS_PER_S:.0f} pods/s)")
    ax1.grid(True, alpha=0.3)
    ax1.legend(fontsize=8)
    ax2.set_xscale("log")
    ax2.set_xlabel("latency (ms, log)")
    ax2.set_ylabel("fraction of pods")
    ax2.set_title("create→bound (solid), create→Running (dashed)")
    ax2.grid(True, alpha=0.3)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
