"""`kubemu bench schedule`, the pure half: workloads, figures, the report and the
in-process peer (no I/O; the driver that talks to a cluster is actors/bench_schedule.py).

Workloads follow upstream scheduler_perf (test/integration/scheduler_perf: the
SchedulingBasic, SchedulingPodAntiAffinity, TopologySpreading and PreemptionBasic
test cases and their pod templates), on nodes shaped like its default node
(templates/node-default.yaml: cpu 4, memory 32Gi, pods 110), zones zone-a/b/c round robin:

    basic       pod-default: one pause container requesting (and limited to) cpu 100m,
                memory 500Mi -- 40 pods fill a node's cpu
    spread      the same pod labelled color=blue with a topologySpreadConstraint over
                topology.kubernetes.io/zone, whenUnsatisfiable DoNotSchedule, selecting
                color=blue (upstream's template has maxSkew 5; the bench uses 1, the
                tightest constraint)
    affinity    pods in groups (`bench-group=g<k>`, k = i mod G): a required pod
                anti-affinity on kubernetes.io/hostname against the own group (at most
                one pod of a group per node; G = ceil(pods / nodes), so with no more
                pods than nodes every pod repels every other, as upstream's
                SchedulingPodAntiAffinity), plus a preferred one (weight 1) against
                every pod of the workload -- both InterPodAffinity's Filter and Score
    preemption  PreemptionBasic: every node is first filled with low-priority pods
                (PriorityClass bench-low, value 100; cpu 900m, terminationGracePeriod 0,
                4 per 4-cpu node), then the measured high-priority pods (bench-high,
                value 1000; cpu 3000m) each have to preempt 3 of them; at most one per
                node fits, so the measured count is capped at the node count
    churn       pod-default created at a steady rate (default 20/s); each pod is
                deleted CHURN_LIFETIME_SECONDS after it runs

The figures of a run (`run_report`): scheduling throughput -- pods bound per second,
the average over the measured phase (first create issued -> last pod bound, as
scheduler_perf's SchedulingThroughput) and the per-second series with its
percentiles; latencies create->bound and create->Running (nearest-rank p50/p90/p99);
the per-plugin and per-extension-point latency from the scheduler's histograms
(after - before, quantiles interpolated within a bucket as Prometheus'
histogram_quantile); CPU seconds and peak RSS per component from /proc samples. The
goal is upstream's SchedulingBasic/5000Nodes_10000Pods threshold, GOAL_PODS_PER_S;
`merge_runs` takes the median of every number over the runs.

The in-process peer (`run_in_process`) schedules the same node and pod objects with
the pure core, built as the scheduler actor builds it (`build_core`: the same
KubeSchedulerConfiguration, profiles, plugins and percentageOfNodesToScore), on a
FakeClock: binding is confirming the pod to the core, a preemption's victim deletes
happen at once, and waiting for a backoff costs nothing. Its pods/s is the ceiling of
the scheduling logic itself on this machine; end-to-end / in-process tells how much
goes elsewhere (API round trips, watches, the kubelets, etcd).
"""

from __future__ import annotations

import copy
import math
import random
import statistics
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any, Callable, Iterable, Mapping, Sequence

from actors.api.defaults import apply_defaults
from actors.api.patch import merge_patch
from actors.common.clock import FakeClock
from actors.common.config import ClusterConfig, ImageSpec, NodePoolSpec

from . import helpers
from .config import load as load_scheduler_config
from .queue import BACKOFF_FLUSH_PERIOD, UNSCHEDULABLE_FLUSH_PERIOD, SchedulingQueue
from .registry import DEFAULT_SCHEDULER_NAME
from .resources import node_allocatable
from .scheduler import Scheduler

Obj = dict[str, Any]

GOAL_PODS_PER_S = 680.0  # scheduler_perf SchedulingBasic 5000Nodes_10000Pods threshold
NAMESPACE = "bench"
WORKLOADS = ("basic", "spread", "affinity", "preemption", "churn")
BENCH_LABEL = "kubemu.io/bench"
GROUP_LABEL = "bench-group"
ZONE_LABEL = "topology.kubernetes.io/zone"
HOSTNAME_LABEL = "kubernetes.io/hostname"
ZONES = ("zone-a", "zone-b", "zone-c")
NODE_CAPACITY = {"cpu": "4", "memory": "32Gi", "pods": "110"}  # scheduler_perf node-default
POOL_NAME = "hollow"
# the pause image of the repo's cluster.yaml registry, so `--cluster` works on a default cluster
PAUSE_IMAGE = "registry.k8s.io/pause:3.9"
PAUSE_IMAGE_SPEC = ImageSpec(size_bytes=300 * 1024, pull_seconds=0.1)
LOW_PRIORITY = ("bench-low", 100)
HIGH_PRIORITY = ("bench-high", 1000)
LOW_CPU_MILLI = 900
HIGH_CPU_MILLI = 3000
CHURN_DEFAULT_RATE = 20.0
CHURN_LIFETIME_SECONDS = 5.0


# ---- the cluster and the pods -------------------------------------------------------------


def bench_cluster_config(nodes: int, *, nodes_per_actor: int | None = None, time_scale: float = 1.0,
                         name: str = "bench-schedule") -> ClusterConfig:
    """3 etcd members and the control plane, no per-node actors: `nodes` hollow nodes in
    one node pool (node-default's capacity, zones round robin)."""
    pool = NodePoolSpec(name=POOL_NAME, count=nodes, capacity=dict(NODE_CAPACITY), zones=list(ZONES))
    if nodes_per_actor:
        pool.nodes_per_actor = nodes_per_actor
    return ClusterConfig(name=name, time_scale=time_scale, etcd_members=3, nodes=[], node_pools=[pool],
                         images={PAUSE_IMAGE: PAUSE_IMAGE_SPEC}, source="kubemu bench schedule")


def _pod(name: str, workload: str, cpu_milli: int, labels: Mapping[str, str] | None = None) -> Obj:
    res = {"cpu": f"{cpu_milli}m", "memory": "500Mi"}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {BENCH_LABEL: workload, **(labels or {})}},
        "spec": {"containers": [{"name": "pause", "image": PAUSE_IMAGE, "ports": [{"containerPort": 80}],
                                 "resources": {"requests": dict(res), "limits": dict(res)}}]},
    }


def affinity_groups(n_pods: int, n_nodes: int) -> int:
    """How many anti-affinity groups: the fewest with at most one pod per node each."""
    return max(1, math.ceil(n_pods / max(1, n_nodes)))


def workload_pod(workload: str, i: int, *, n_pods: int, n_nodes: int, run: int = 0) -> Obj:
    """The i-th measured pod of a workload (names are unique per run)."""
    name = f"{workload}-r{run}-{i:06d}"
    if workload in ("basic", "churn"):
        return _pod(name, workload, 100)
    if workload == "spread":
        pod = _pod(name, workload, 100, {"color": "blue"})
        pod["spec"]["topologySpreadConstraints"] = [{
            "maxSkew": 1, "topologyKey": ZONE_LABEL, "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"color": "blue"}}}]
        return pod
    if workload == "affinity":
        group = f"g{i % affinity_groups(n_pods, n_nodes)}"
        pod = _pod(name, workload, 100, {GROUP_LABEL: group})
        pod["spec"]["affinity"] = {"podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {GROUP_LABEL: group}}, "topologyKey": HOSTNAME_LABEL}],
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 1, "podAffinityTerm": {"labelSelector": {"matchLabels": {BENCH_LABEL: workload}},
                                                  "topologyKey": HOSTNAME_LABEL}}]}}
        return pod
    if workload == "preemption":
        pod = _pod(name, workload, HIGH_CPU_MILLI)
        pod["spec"]["priorityClassName"] = HIGH_PRIORITY[0]
        return pod
    raise ValueError(f"unknown workload {workload!r}: one of {', '.join(WORKLOADS)}")


def fill_pod(i: int, *, run: int = 0) -> Obj:
    """A low-priority pod of the preemption workload's fill phase (pod-low-priority)."""
    pod = _pod(f"low-r{run}-{i:06d}", "preemption-fill", LOW_CPU_MILLI)
    pod["spec"]["priorityClassName"] = LOW_PRIORITY[0]
    pod["spec"]["terminationGracePeriodSeconds"] = 0
    return pod


def priority_classes(workload: str) -> list[Obj]:
    if workload != "preemption":
        return []
    return [{"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": n},
             "value": v, "description": "kubemu bench schedule"} for n, v in (LOW_PRIORITY, HIGH_PRIORITY)]


def schedulable_nodes(nodes: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Ready, not cordoned, without NoSchedule/NoExecute taints."""
    out = []
    for n in nodes:
        ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (n.get("status") or {}).get("conditions") or [])
        spec = n.get("spec") or {}
        tainted = any(t.get("effect") in ("NoSchedule", "NoExecute") for t in spec.get("taints") or [])
        if ready and not spec.get("unschedulable") and not tainted:
            out.append(n)
    return out


@dataclass
class Plan:
    """What a run creates: `fill` (unmeasured, bound first) then `measured`."""

    workload: str
    fill: list[Obj]
    measured: list[Obj]
    notes: list[str] = field(default_factory=list)


def plan(workload: str, n_pods: int, nodes: Sequence[Mapping[str, Any]], *, run: int = 0) -> Plan:
    """The pods of one run on these nodes (the preemption workload sizes its fill phase
    and caps its measured pods from the nodes' allocatable cpu)."""
    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}: one of {', '.join(WORKLOADS)}")
    ok = schedulable_nodes(nodes)
    notes: list[str] = []
    fill: list[Obj] = []
    count = n_pods
    if workload == "preemption":
        cpus = [node_allocatable(n).milli_cpu for n in ok]
        n_fill = sum(c // LOW_CPU_MILLI for c in cpus)
        fill = [fill_pod(i, run=run) for i in range(n_fill)]
        room = sum(1 for c in cpus if c >= HIGH_CPU_MILLI)
        if count > room:
            notes.append(f"preemption: {count} high-priority pods asked, {room} fit (one per node): "
                         f"measuring {room}")
            count = room
    measured = [workload_pod(workload, i, n_pods=count, n_nodes=len(ok), run=run) for i in range(count)]
    return Plan(workload, fill, measured, notes)


def admitted(pod: Mapping[str, Any], classes: Sequence[Mapping[str, Any]] = ()) -> Obj:
    """The pod as the apiserver would store it (defaults, Priority admission's
    spec.priority from its class), for feeding the core without an apiserver."""
    out: Obj = copy.deepcopy(dict(pod))
    name = (out.get("spec") or {}).get("priorityClassName")
    for pc in classes:
        if name and pc["metadata"]["name"] == name:
            out["spec"]["priority"] = int(pc["value"])
    apply_defaults(out)
    out["metadata"].setdefault("uid", f"uid-{out['metadata']['namespace']}-{out['metadata']['name']}")
    out.setdefault("status", {"phase": "Pending"})
    return out


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved: `take(now)` returns how long to
    wait before the next create may go (0 when a token is there)."""

    def __init__(self, rate: float, burst: float = 1.0, now: float = 0.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be greater than 0")
        self.rate = rate
        self.burst = max(1.0, burst)
        self.tokens = self.burst
        self.last = now

    def take(self, now: float) -> float:
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


# ---- what the watch saw -------------------------------------------------------------------


@dataclass
class PodTimes:
    """First times (driver clock) each pod was seen bound, Running, deleting/gone; the
    create times are when the create call was issued."""

    created: dict[str, float] = field(default_factory=dict)
    bound: dict[str, float] = field(default_factory=dict)
    running: dict[str, float] = field(default_factory=dict)
    gone: dict[str, float] = field(default_factory=dict)

    def observe(self, pod: Mapping[str, Any], now: float) -> None:
        name = helpers.name_of(pod)
        if helpers.spec(pod).get("nodeName") and name not in self.bound:
            self.bound[name] = now
        if (pod.get("status") or {}).get("phase") == "Running" and name not in self.running:
            self.running[name] = now
        if (pod.get("metadata") or {}).get("deletionTimestamp") and name not in self.gone:
            self.gone[name] = now

    def deleted(self, pod: Mapping[str, Any], now: float) -> None:
        self.gone.setdefault(helpers.name_of(pod), now)


# ---- figures ------------------------------------------------------------------------------


def percentile(xs: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (NaN for no samples)."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = max(1, math.ceil(p / 100.0 * len(s)))
    return float(s[min(len(s), k) - 1])


def latency_summary(ms: Sequence[float]) -> dict[str, Any]:
    return {"count": len(ms), "p50": _r(percentile(ms, 50)), "p90": _r(percentile(ms, 90)),
            "p99": _r(percentile(ms, 99)), "max": _r(max(ms)) if ms else float("nan")}


def per_second(times: Iterable[float], t0: float) -> list[int]:
    """How many of `times` fall in each whole second after t0 ([t0, t0+1), ...)."""
    bins: list[int] = []
    for t in times:
        k = max(0, int(t - t0))
        if k >= len(bins):
            bins.extend([0] * (k + 1 - len(bins)))
        bins[k] += 1
    return bins


def throughput(bound_times: Sequence[float], t0: float) -> dict[str, Any]:
    """Pods bound per second: the average from t0 to the last bind, and the series."""
    if not bound_times:
        return {"average": 0.0, "seconds": 0.0, "series": [], "p50": 0.0, "p90": 0.0, "p99": 0.0}
    seconds = max(bound_times) - t0
    series = per_second(bound_times, t0)
    return {"average": _r(len(bound_times) / seconds if seconds > 0 else float("nan")),
            "seconds": _r(seconds), "series": series,
            "p50": percentile(series, 50), "p90": percentile(series, 90), "p99": percentile(series, 99)}


def _r(x: float, nd: int = 3) -> float:
    return round(x, nd) if isinstance(x, float) and math.isfinite(x) else x


# ---- the scheduler's histograms ------------------------------------------------------------


def histogram_diff(after: Mapping[str, Any], before: Mapping[str, Any] | None) -> dict[str, Any]:
    """after - before of one Framework histogram dict ({count, sum, buckets{le: cumulative}})."""
    b = before or {}
    bb = b.get("buckets") or {}
    return {"count": int(after.get("count", 0)) - int(b.get("count", 0)),
            "sum": float(after.get("sum", 0.0)) - float(b.get("sum", 0.0)),
            "buckets": {le: int(n) - int(bb.get(le, 0)) for le, n in (after.get("buckets") or {}).items()}}


def histogram_quantile(q: float, h: Mapping[str, Any]) -> float:
    """Prometheus' histogram_quantile over cumulative buckets: linear within the bucket
    the rank falls in (from 0 for the first); the +Inf bucket gives the highest bound."""
    count = int(h.get("count", 0))
    if count <= 0:
        return float("nan")
    bounds = sorted(((float(le), int(n)) for le, n in (h.get("buckets") or {}).items()), key=lambda x: x[0])
    rank = q * count
    prev_le, prev_n = 0.0, 0
    for le, n in bounds:
        if n >= rank:
            if math.isinf(le):
                return prev_le
            if n == prev_n:
                return le
            return prev_le + (le - prev_le) * (rank - prev_n) / (n - prev_n)
        prev_le, prev_n = le, n
    return prev_le


def _hist_summary(h: Mapping[str, Any]) -> dict[str, Any]:
    n = int(h["count"])
    return {"count": n, "mean_ms": _r(h["sum"] / n * 1000 if n else float("nan"), 4),
            "p50_ms": _r(histogram_quantile(0.5, h) * 1000, 4),
            "p99_ms": _r(histogram_quantile(0.99, h) * 1000, 4),
            "total_ms": _r(h["sum"] * 1000, 2)}


def _sum_hists(hs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"count": 0, "sum": 0.0, "buckets": {}}
    for h in hs:
        out["count"] += h["count"]
        out["sum"] += h["sum"]
        for le, n in h["buckets"].items():
            out["buckets"][le] = out["buckets"].get(le, 0) + n
    return out


def plugin_latency(after: Mapping[str, Any], before: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The scheduler's framework_metrics ({profile: Framework.metrics()}) over a phase:
    {"plugins": {plugin: {point: summary}}, "extension_points": {point: summary},
    "attempts": {result: summary}}, each summary {count, mean_ms, p50_ms, p99_ms,
    total_ms}; the profiles are added together. Plugin figures come from the sampled
    cycles (10 % upstream) and are the time per cycle summed over the nodes."""
    before = before or {}
    plugins: dict[str, dict[str, list[dict[str, Any]]]] = {}
    points: dict[str, list[dict[str, Any]]] = {}
    attempts: dict[str, list[dict[str, Any]]] = {}
    for profile, m in after.items():
        old = before.get(profile) or {}
        old_p = old.get("plugin_execution_duration_seconds") or {}
        for plugin, by_point in (m.get("plugin_execution_duration_seconds") or {}).items():
            for point, h in by_point.items():
                d = histogram_diff(h, (old_p.get(plugin) or {}).get(point))
                plugins.setdefault(plugin, {}).setdefault(point, []).append(d)
        old_e = old.get("extension_point_duration_seconds") or {}
        for point, by_status in (m.get("extension_point_duration_seconds") or {}).items():
            for status, h in by_status.items():
                points.setdefault(point, []).append(histogram_diff(h, (old_e.get(point) or {}).get(status)))
        old_a = old.get("scheduling_attempt_duration_seconds") or {}
        for result, h in (m.get("scheduling_attempt_duration_seconds") or {}).items():
            attempts.setdefault(result, []).append(histogram_diff(h, old_a.get(result)))

    def summarize(hs: list[dict[str, Any]]) -> dict[str, Any] | None:
        total = _sum_hists(hs)
        return _hist_summary(total) if total["count"] > 0 else None

    out_plugins: dict[str, dict[str, Any]] = {}
    for plugin, by_point in sorted(plugins.items()):
        for point, hs in sorted(by_point.items()):
            s = summarize(hs)
            if s is not None:
                out_plugins.setdefault(plugin, {})[point] = s
    return {"plugins": out_plugins,
            "extension_points": {p: s for p, hs in sorted(points.items()) if (s := summarize(hs)) is not None},
            "attempts": {r: s for r, hs in sorted(attempts.items()) if (s := summarize(hs)) is not None}}


# ---- processes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcSample:
    pid: int
    cpu_seconds: float  # utime + stime
    rss_kb: int  # VmRSS
    hwm_kb: int  # VmHWM: the process's peak RSS so far


def parse_proc_stat(text: str, clock_ticks: int) -> float:
    """utime + stime of /proc/<pid>/stat, in seconds (the comm field may hold spaces
    and parentheses: the fields are counted after its last ')')."""
    rest = text.rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / float(clock_ticks)


def parse_proc_status(text: str) -> tuple[int, int]:
    """(VmRSS, VmHWM) in kB from /proc/<pid>/status (0 when absent)."""
    rss = hwm = 0
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
        elif line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
    return rss, hwm


def component_usage(start: Mapping[str, ProcSample | None], end: Mapping[str, ProcSample | None],
                    roles: Mapping[str, str], seconds: float = 0.0) -> dict[str, Any]:
    """Per process: CPU seconds over the phase (`seconds` long), RSS at both ends and the
    peak; per role the sums and the cores kept busy (a process that changed pid --
    restarted -- counts its new life only)."""
    per: dict[str, Any] = {}
    by_role: dict[str, dict[str, Any]] = {}
    for name, e in sorted(end.items()):
        if e is None:
            continue
        s = start.get(name)
        same = s is not None and s.pid == e.pid
        cpu = e.cpu_seconds - (s.cpu_seconds if same and s is not None else 0.0)
        role = roles.get(name, name)
        per[name] = {"role": role, "pid": e.pid, "cpu_seconds": _r(cpu),
                     "rss_start_mb": _r(s.rss_kb / 1024, 1) if same and s is not None else None,
                     "rss_end_mb": _r(e.rss_kb / 1024, 1), "peak_rss_mb": _r(e.hwm_kb / 1024, 1),
                     "restarted": not same}
        r = by_role.setdefault(role, {"processes": 0, "cpu_seconds": 0.0, "peak_rss_mb": 0.0})
        r["processes"] += 1
        r["cpu_seconds"] = _r(r["cpu_seconds"] + cpu)
        r["peak_rss_mb"] = _r(r["peak_rss_mb"] + e.hwm_kb / 1024, 1)
    total = sum(float(p["cpu_seconds"]) for p in per.values())
    for r in by_role.values():
        r["cores"] = _r(r["cpu_seconds"] / seconds) if seconds > 0 else None
    return {"processes": per, "roles": by_role, "seconds": _r(seconds), "total_cpu_seconds": _r(total),
            "total_cores": _r(total / seconds) if seconds > 0 else None}


# ---- the in-process peer ------------------------------------------------------------------


def build_core(scheduler_config: Mapping[str, Any] | None, clock: FakeClock, seed: int = 1,
               scheduler_name: str = DEFAULT_SCHEDULER_NAME) -> Scheduler:
    """The core as the scheduler actor (actor.SchedulerServer) builds it from the same
    KubeSchedulerConfiguration: profiles, plugins, weights, percentageOfNodesToScore,
    pod backoffs (time scale 1: the clock is fake anyway)."""
    raw = dict(scheduler_config or {})
    if not raw.get("profiles"):
        raw["profiles"] = [{"schedulerName": scheduler_name}]
    cfg, profiles = load_scheduler_config(raw)
    queue = SchedulingQueue(clock, pod_initial_backoff=float(cfg.pod_initial_backoff_seconds),
                            pod_max_backoff=float(cfg.pod_max_backoff_seconds))
    return Scheduler(clock, random.Random(seed), scheduler_name=cfg.profiles[0].scheduler_name, queue=queue,
                     profiles=profiles, percentage_of_nodes_to_score=cfg.percentage_of_nodes_to_score,
                     backoff_flush_period=BACKOFF_FLUSH_PERIOD,
                     unschedulable_flush_period=UNSCHEDULABLE_FLUSH_PERIOD)


class _Peer:
    """Drives a core like the actor does, with the apiserver's side played at once."""

    def __init__(self, core: Scheduler, clock: FakeClock, churn_window: int = 0) -> None:
        self.core, self.clock = core, clock
        self.pods: dict[str, Obj] = {}  # namespace/name -> latest object
        self.bound_order: list[str] = []
        self.churn_window = churn_window
        self.bound = 0
        self.victims = 0
        self.rv = 0

    def _next_rv(self, pod: Obj) -> Obj:
        self.rv += 1
        pod.setdefault("metadata", {})["resourceVersion"] = f"peer-{self.rv}"
        return pod

    def add(self, pod: Mapping[str, Any]) -> None:
        p = copy.deepcopy(dict(pod))
        self.pods[helpers.pod_key(p)] = p
        if helpers.is_assigned(p):
            self.bound_order.append(helpers.pod_key(p))
        self.core.on_pod_add(p)

    def _delete(self, key: str) -> None:
        pod = self.pods.pop(key, None)
        if pod is not None:
            self.core.on_pod_delete(pod)

    def _apply(self, calls: Sequence[Any]) -> None:
        for call in calls:
            if call.resource != "pods":
                continue  # events
            key = f"{call.namespace}/{call.name}"
            if call.verb == "delete":
                self.victims += 1
                self._delete(key)
            elif call.verb == "patch" and key in self.pods:
                old = self.pods[key]
                new = self._next_rv(merge_patch(old, call.body))
                self.pods[key] = new
                self.core.on_pod_update(old, new)

    def step(self) -> bool:
        """One loop iteration of the actor: tick, one cycle, its writes, the bind's
        outcome as the informer would report it. False when nothing was active."""
        self.core.tick()
        cycle = self.core.schedule_next()
        if cycle is None:
            return False
        self._apply(cycle.calls)
        b = cycle.bind
        if b is not None:
            self._apply(self.core.bind_succeeded(b))
            key = helpers.pod_key(b.pod)
            old = self.pods.get(key)
            if old is not None:  # what the watch then reports: the pod with its nodeName
                new = self._next_rv({**old, "metadata": dict(old["metadata"]),
                                     "spec": {**old["spec"], "nodeName": b.node}})
                self.pods[key] = new
                self.core.on_pod_update(old, new)
                self.bound += 1
                self.bound_order.append(key)
                if self.churn_window and len(self.bound_order) > self.churn_window:
                    self._delete(self.bound_order.pop(0))
        return True

    def drain(self, want: int, idle_budget: float = 600.0) -> None:
        """Run cycles until `want` pods are bound; when nothing is active, move the fake
        clock a flush period on (backoff / unschedulable waits cost no real time), for at
        most `idle_budget` fake seconds."""
        idle = 0.0
        while self.bound < want:
            if self.step():
                continue
            if idle >= idle_budget or not self.core.pending:
                return
            self.clock.advance(BACKOFF_FLUSH_PERIOD)
            idle += BACKOFF_FLUSH_PERIOD


def run_in_process(nodes: Sequence[Mapping[str, Any]], measured: Sequence[Mapping[str, Any]], *,
                   fill: Sequence[Mapping[str, Any]] = (), existing: Sequence[Mapping[str, Any]] = (),
                   scheduler_config: Mapping[str, Any] | None = None, churn_window: int = 0, seed: int = 1,
                   timer: Callable[[], float] = perf_counter) -> dict[str, Any]:
    """Schedule `measured` (after `fill`, untimed) on `nodes` with the pure core.

    `existing` are pods already bound (they enter the cache as the informer would report
    them). The timed part starts with the first measured pod handed to the core and ends
    with the last bind; `churn_window` > 0 deletes the oldest bound pod whenever more
    than that many are bound (the churn workload's steady state). `placements` maps each
    measured pod still there to its node (None: not bound)."""
    clock = FakeClock()
    core = build_core(scheduler_config, clock, seed)
    peer = _Peer(core, clock)
    for n in nodes:
        core.on_node_add(copy.deepcopy(dict(n)))
    for p in existing:
        peer.add(p)
    for p in fill:
        peer.add(p)
    peer.drain(len(fill))
    fill_bound = peer.bound
    before = {name: f.metrics() for name, f in core.profiles.items()}
    peer.bound, peer.victims, peer.churn_window, peer.bound_order = 0, 0, churn_window, []
    t0 = timer()
    for p in measured:
        peer.add(p)
    peer.drain(len(measured))
    seconds = timer() - t0
    after = {name: f.metrics() for name, f in core.profiles.items()}
    measured_keys = {helpers.pod_key(p) for p in measured}
    placements = {helpers.name_of(p): helpers.spec(p).get("nodeName") for k, p in peer.pods.items()
                  if k in measured_keys}
    return {"pods": len(measured), "bound": peer.bound, "fill_bound": fill_bound, "victims": peer.victims,
            "seconds": _r(seconds, 4), "pods_per_s": _r(peer.bound / seconds if seconds > 0 else float("nan"), 1),
            "attempts": core.stats["attempts"], "cached_pods_end": core.cache.pod_count(),
            "latency": plugin_latency(after, before), "placements": placements}


# ---- the report ---------------------------------------------------------------------------


def run_report(*, workload: str, nodes: int, plan_: Plan, times: PodTimes, t0: float,
               metrics_before: Mapping[str, Any] | None = None, metrics_after: Mapping[str, Any] | None = None,
               usage: Mapping[str, Any] | None = None, in_process: Mapping[str, Any] | None = None,
               create_errors: int = 0) -> dict[str, Any]:
    """One run's figures (times in the driver's clock; t0 = the first measured create)."""
    names = [helpers.name_of(p) for p in plan_.measured]
    bound = [times.bound[n] for n in names if n in times.bound]
    to_bound = [(times.bound[n] - times.created[n]) * 1000 for n in names if n in times.bound and n in times.created]
    to_running = [(times.running[n] - times.created[n]) * 1000 for n in names
                  if n in times.running and n in times.created]
    tp = throughput(bound, t0)
    rep: dict[str, Any] = {
        "workload": workload, "nodes": nodes, "pods": len(names), "fill_pods": len(plan_.fill),
        "notes": list(plan_.notes),
        "bound": len(bound), "running": len(to_running), "create_errors": create_errors,
        "throughput": tp,
        "latency_ms": {"create_to_bound": latency_summary(to_bound), "create_to_running": latency_summary(to_running)},
        "scheduler": plugin_latency(metrics_after, metrics_before) if metrics_after else None,
        "components": dict(usage) if usage else None,
        "in_process": dict(in_process) if in_process else None,
    }
    if workload == "preemption":
        fill_names = {helpers.name_of(p) for p in plan_.fill}
        gone = [t for n, t in times.gone.items() if n in fill_names and t >= t0]
        secs = tp["seconds"] or float("nan")
        rep["preemption"] = {"victims": len(gone), "victims_per_s": _r(len(gone) / secs if gone else 0.0),
                             "preemptors_per_s": tp["average"]}
    rep["ratios"] = ratios(tp["average"], (in_process or {}).get("pods_per_s"))
    return rep


def ratios(pods_per_s: float, in_process_pods_per_s: float | None) -> dict[str, Any]:
    ip = in_process_pods_per_s
    return {"vs_goal": _r(pods_per_s / GOAL_PODS_PER_S, 4),
            "vs_in_process": _r(pods_per_s / ip, 4) if ip else None}


def _numeric(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _median_of(values: list[Any]) -> Any:
    nums = [v for v in values if _numeric(v) and math.isfinite(v)]
    if nums and all(_numeric(v) for v in values if v is not None):
        m = statistics.median(nums)
        return _r(float(m)) if isinstance(m, float) or any(isinstance(v, float) for v in nums) else m
    present = [v for v in values if v is not None]
    if present and all(v == present[0] for v in present):
        return present[0]
    return None


def _merge(values: list[Any]) -> Any:
    dicts = [v for v in values if isinstance(v, dict)]
    if dicts:
        keys: list[str] = []
        for d in dicts:
            keys.extend(k for k in d if k not in keys)
        return {k: _merge([d.get(k) for d in dicts]) for k in keys}
    if any(isinstance(v, list) for v in values):
        return None  # series: per run only
    return _median_of(values)


def merge_runs(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The median of every number over the runs (per-second series left out), the
    ratios recomputed from the medians."""
    if not runs:
        return {}
    out: dict[str, Any] = _merge([dict(r) for r in runs])
    out.pop("notes", None)
    out["runs"] = len(runs)
    tp = out.get("throughput") or {}
    tp.pop("series", None)
    ip = (out.get("in_process") or {}).get("pods_per_s")
    out["ratios"] = ratios(float(tp.get("average") or 0.0), ip)
    return out
