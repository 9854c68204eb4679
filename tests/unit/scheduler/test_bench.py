"""`kubemu bench schedule`'s pure half: workloads, figures, the report, the in-process peer."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest

from actors.common.clock import FakeClock
from actors.scheduler import bench as sb
from actors.scheduler.framework import Histogram

from .builders import make_node, make_pod


def node(name: str, cpu: str = "4", zone: str = "zone-a") -> dict[str, Any]:
    return make_node().name(name).cap(cpu=cpu, memory="32Gi", pods=110).zone(zone).obj()


def nodes(n: int, cpu: str = "4") -> list[dict[str, Any]]:
    return [node(f"n{i}", cpu, sb.ZONES[i % 3]) for i in range(n)]


def ticking(*values: float) -> Any:
    it = iter(values)
    return lambda: next(it)


def requests(pod: dict[str, Any]) -> dict[str, str]:
    return pod["spec"]["containers"][0]["resources"]["requests"]  # type: ignore[no-any-return]


# ---- workloads ------------------------------------------------------------------------------


@pytest.mark.parametrize("workload, cpu, labels", [
    pytest.param("basic", "100m", {sb.BENCH_LABEL: "basic"}, id="basic-is-pod-default"),
    pytest.param("churn", "100m", {sb.BENCH_LABEL: "churn"}, id="churn-is-pod-default"),
    pytest.param("spread", "100m", {sb.BENCH_LABEL: "spread", "color": "blue"}, id="spread"),
    pytest.param("affinity", "100m", {sb.BENCH_LABEL: "affinity", sb.GROUP_LABEL: "g0"}, id="affinity"),
    pytest.param("preemption", "3000m", {sb.BENCH_LABEL: "preemption"}, id="preemption-high"),
])
def test_workload_pod_shape(workload: str, cpu: str, labels: dict[str, str]) -> None:
    pod = sb.workload_pod(workload, 0, n_pods=10, n_nodes=10, run=2)
    assert pod["metadata"]["namespace"] == sb.NAMESPACE
    assert pod["metadata"]["name"] == f"{workload}-r2-000000"
    assert pod["metadata"]["labels"] == labels
    c = pod["spec"]["containers"][0]
    assert c["image"] == sb.PAUSE_IMAGE
    assert c["resources"] == {"requests": {"cpu": cpu, "memory": "500Mi"}, "limits": {"cpu": cpu, "memory": "500Mi"}}


def test_spread_constraint() -> None:
    pod = sb.workload_pod("spread", 3, n_pods=10, n_nodes=10)
    assert pod["spec"]["topologySpreadConstraints"] == [{
        "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"color": "blue"}}}]


def test_affinity_terms_repel_the_own_group_on_hostname() -> None:
    pod = sb.workload_pod("affinity", 5, n_pods=60, n_nodes=30)  # 2 groups: pod 5 is in g1
    anti = pod["spec"]["affinity"]["podAntiAffinity"]
    assert anti["requiredDuringSchedulingIgnoredDuringExecution"] == [
        {"labelSelector": {"matchLabels": {sb.GROUP_LABEL: "g1"}}, "topologyKey": "kubernetes.io/hostname"}]
    assert anti["preferredDuringSchedulingIgnoredDuringExecution"] == [
        {"weight": 1, "podAffinityTerm": {"labelSelector": {"matchLabels": {sb.BENCH_LABEL: "affinity"}},
                                          "topologyKey": "kubernetes.io/hostname"}}]


@pytest.mark.parametrize("pods, n_nodes, groups", [
    pytest.param(10, 30, 1, id="fewer-pods-than-nodes-one-group"),
    pytest.param(30, 30, 1, id="as-many-pods-as-nodes"),
    pytest.param(60, 30, 2, id="twice-as-many"),
    pytest.param(61, 30, 3, id="one-more-needs-a-third-group"),
    pytest.param(5, 0, 5, id="no-nodes"),
])
def test_affinity_groups(pods: int, n_nodes: int, groups: int) -> None:
    assert sb.affinity_groups(pods, n_nodes) == groups


def test_fill_pod_and_priority_classes() -> None:
    pod = sb.fill_pod(7, run=1)
    assert pod["metadata"]["name"] == "low-r1-000007"
    assert pod["spec"]["priorityClassName"] == "bench-low"
    assert pod["spec"]["terminationGracePeriodSeconds"] == 0
    assert requests(pod)["cpu"] == "900m"
    assert sb.workload_pod("preemption", 0, n_pods=1, n_nodes=1)["spec"]["priorityClassName"] == "bench-high"
    assert {(pc["metadata"]["name"], pc["value"]) for pc in sb.priority_classes("preemption")} == \
        {("bench-low", 100), ("bench-high", 1000)}
    assert sb.priority_classes("basic") == []


def test_unknown_workload() -> None:
    with pytest.raises(ValueError, match="unknown workload 'gang'"):
        sb.plan("gang", 10, nodes(3))
    with pytest.raises(ValueError, match="unknown workload"):
        sb.workload_pod("gang", 0, n_pods=1, n_nodes=1)


@pytest.mark.parametrize("node_list, asked, fill, measured, noted", [
    pytest.param(nodes(3), 2, 12, 2, False, id="four-low-pods-per-4-cpu-node"),
    pytest.param(nodes(3), 10, 12, 3, True, id="one-high-pod-per-node-at-most"),
    pytest.param(nodes(2) + nodes(1, cpu="2"), 5, 10, 2, True, id="a-2-cpu-node-has-no-room-for-3-cpu"),
    pytest.param([make_node().name("cordoned").cap(cpu="4", memory="32Gi", pods=110).unschedulable().obj(),
                  make_node().name("tainted").cap(cpu="4", memory="32Gi", pods=110).taint("k").obj(),
                  make_node().name("down").cap(cpu="4", memory="32Gi", pods=110).condition("Ready", "False").obj(),
                  node("ok")], 5, 4, 1, True, id="only-schedulable-nodes-count"),
])
def test_preemption_plan(node_list: list[dict[str, Any]], asked: int, fill: int, measured: int,
                         noted: bool) -> None:
    p = sb.plan("preemption", asked, node_list)
    assert (len(p.fill), len(p.measured)) == (fill, measured)
    assert bool(p.notes) == noted


def test_basic_plan_has_no_fill() -> None:
    p = sb.plan("basic", 7, nodes(3), run=4)
    assert p.fill == [] and len(p.measured) == 7
    assert len({x["metadata"]["name"] for x in p.measured}) == 7


def test_bench_cluster_config() -> None:
    cfg = sb.bench_cluster_config(30, nodes_per_actor=10, time_scale=0.5)
    assert (cfg.etcd_members, cfg.nodes, cfg.time_scale) == (3, [], 0.5)
    (pool,) = cfg.node_pools
    assert (pool.count, pool.nodes_per_actor) == (30, 10)
    assert len(pool.actors()) == 3
    assert pool.capacity == {"cpu": "4", "memory": "32Gi", "pods": "110"}
    assert [pool.node(i).labels["topology.kubernetes.io/zone"] for i in range(4)] == \
        ["zone-a", "zone-b", "zone-c", "zone-a"]
    assert sb.PAUSE_IMAGE in cfg.images
    assert sb.bench_cluster_config(5).node_pools[0].nodes_per_actor == 1000


def test_admitted_resolves_the_priority_class_and_defaults() -> None:
    pod = sb.admitted(sb.fill_pod(0), sb.priority_classes("preemption"))
    assert pod["spec"]["priority"] == 100
    assert pod["spec"]["schedulerName"] == "default-scheduler"
    assert pod["status"] == {"phase": "Pending"}
    assert "priority" not in sb.fill_pod(0)["spec"]  # the template is left alone


# ---- figures --------------------------------------------------------------------------------


@pytest.mark.parametrize("xs, p, want", [
    pytest.param(list(range(1, 11)), 50, 5, id="p50-of-1-to-10"),
    pytest.param(list(range(1, 11)), 90, 9, id="p90-of-1-to-10"),
    pytest.param(list(range(1, 11)), 99, 10, id="p99-of-1-to-10"),
    pytest.param([10, 1, 5], 50, 5, id="unsorted"),
    pytest.param([7.5], 99, 7.5, id="one-sample"),
])
def test_percentile(xs: list[float], p: float, want: float) -> None:
    assert sb.percentile(xs, p) == want


def test_percentile_of_nothing_is_nan() -> None:
    assert math.isnan(sb.percentile([], 50))


@pytest.mark.parametrize("times, t0, want", [
    pytest.param([10.1, 10.9, 11.0, 12.5], 10.0, [2, 1, 1], id="bins-of-a-second"),
    pytest.param([0.1, 3.2], 0.0, [1, 0, 0, 1], id="idle-seconds-are-zero"),
    pytest.param([], 0.0, [], id="nothing"),
])
def test_per_second(times: list[float], t0: float, want: list[int]) -> None:
    assert sb.per_second(times, t0) == want


def test_throughput_average_runs_from_the_first_create_to_the_last_bind() -> None:
    tp = sb.throughput([100.5, 101.0, 101.5, 102.0], 100.0)
    assert tp["average"] == 2.0 and tp["seconds"] == 2.0
    assert tp["series"] == [1, 2, 1]
    assert sb.throughput([], 0.0)["average"] == 0.0


def test_pod_times_keep_the_first_sighting() -> None:
    t = sb.PodTimes()
    pending = make_pod().name("a").obj()
    bound = make_pod().name("a").node("n1").obj()
    running = make_pod().name("a").node("n1").phase("Running").obj()
    deleting = make_pod().name("a").node("n1").phase("Running").terminating().obj()
    for i, p in enumerate([pending, bound, bound, running, running, deleting]):
        t.observe(p, float(i))
    t.deleted(deleting, 9.0)
    assert (t.bound, t.running, t.gone) == ({"a": 1.0}, {"a": 3.0}, {"a": 5.0})


def test_token_bucket_paces_creates_at_the_rate() -> None:
    b = sb.TokenBucket(10.0, now=0.0)
    assert b.take(0.0) == 0.0  # the first token is there
    assert b.take(0.0) == pytest.approx(0.1)
    assert b.take(0.1) == pytest.approx(0.1)  # the second was owed: the third is due at 0.2
    assert b.take(1.0) == 0.0  # idle time refills, up to the burst
    assert b.take(1.0) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        sb.TokenBucket(0)


# ---- the scheduler's histograms ---------------------------------------------------------------


def hist(buckets: tuple[float, ...], *values: float) -> dict[str, Any]:
    h = Histogram(buckets)
    for v in values:
        h.observe(v)
    return h.to_dict()


@pytest.mark.parametrize("values, q, want", [
    pytest.param((0.5, 1.5, 1.5, 3.0), 0.5, 1.5, id="interpolated-in-the-bucket"),
    pytest.param((0.5, 1.5, 1.5, 3.0), 1.0, 4.0, id="top-of-the-last-bucket"),
    pytest.param((0.5, 0.5), 0.5, 0.5, id="first-bucket-from-zero"),
    pytest.param((0.5, 10.0, 10.0), 0.99, 4.0, id="inf-bucket-gives-the-highest-bound"),
])
def test_histogram_quantile(values: tuple[float, ...], q: float, want: float) -> None:
    assert sb.histogram_quantile(q, hist((1.0, 2.0, 4.0), *values)) == pytest.approx(want)


def test_histogram_diff_is_the_phase_only() -> None:
    before = hist((1.0, 2.0), 0.5, 0.5)
    after = hist((1.0, 2.0), 0.5, 0.5, 1.5, 1.5)
    d = sb.histogram_diff(after, before)
    assert d["count"] == 2 and d["sum"] == pytest.approx(3.0)
    assert sb.histogram_quantile(0.5, d) == pytest.approx(1.5)
    assert math.isnan(sb.histogram_quantile(0.5, sb.histogram_diff(before, before)))


def test_plugin_latency_over_a_phase_of_a_real_core() -> None:
    clock = FakeClock()
    core = sb.build_core(None, clock)
    for n in nodes(3):
        core.on_node_add(n)

    def schedule(k: int, prefix: str) -> None:
        for i in range(k):
            core.on_pod_add(sb.admitted(sb.workload_pod("basic", i, n_pods=k, n_nodes=3, run=len(prefix))))
        while core.schedule_next() is not None:
            pass

    schedule(5, "a")
    before = {n: f.metrics() for n, f in core.profiles.items()}
    schedule(20, "bb")
    lat = sb.plugin_latency({n: f.metrics() for n, f in core.profiles.items()}, before)
    assert lat["attempts"]["scheduled"]["count"] == 20  # the phase only, not the first 5
    assert lat["extension_points"]["Filter"]["count"] == 20
    assert lat["plugins"]["NodeResourcesFit"]["Filter"]["count"] == 2  # 10 % of the cycles are sampled
    s = lat["plugins"]["NodeResourcesFit"]["Filter"]
    assert s["mean_ms"] > 0 and s["p50_ms"] <= s["p99_ms"]


# ---- processes --------------------------------------------------------------------------------


def test_parse_proc_stat_counts_fields_after_the_command() -> None:
    fields = ["S", "1", "1", "1", "0", "-1", "4194560", "100", "0", "0", "0", "150", "50", "0", "0", "20"]
    text = "4242 (ray::Actor (x) y) " + " ".join(fields) + "\n"
    assert sb.parse_proc_stat(text, 100) == 2.0


def test_parse_proc_status() -> None:
    text = "Name:\tpython\nVmPeak:\t  900 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t12\n"
    assert sb.parse_proc_status(text) == (102400, 204800)
    assert sb.parse_proc_status("Name:\tzombie\n") == (0, 0)


def test_component_usage_by_process_and_role() -> None:
    start = {"etcd-1": sb.ProcSample(10, 5.0, 1024, 2048), "etcd-2": sb.ProcSample(11, 1.0, 1024, 1024),
             "scheduler": sb.ProcSample(12, 3.0, 1024, 1024), "gone": sb.ProcSample(13, 1.0, 1, 1)}
    end = {"etcd-1": sb.ProcSample(10, 7.0, 3072, 4096), "etcd-2": sb.ProcSample(11, 2.0, 1024, 2048),
           "scheduler": sb.ProcSample(99, 0.5, 1024, 1024), "gone": None}
    u = sb.component_usage(start, end, {"etcd-1": "etcd", "etcd-2": "etcd", "scheduler": "scheduler"}, 2.0)
    assert u["processes"]["etcd-1"]["cpu_seconds"] == 2.0
    assert u["processes"]["etcd-1"]["peak_rss_mb"] == 4.0
    assert u["processes"]["scheduler"]["restarted"] is True  # new pid: its new life only
    assert u["processes"]["scheduler"]["cpu_seconds"] == 0.5
    assert "gone" not in u["processes"]
    assert u["roles"]["etcd"] == {"processes": 2, "cpu_seconds": 3.0, "peak_rss_mb": 6.0, "cores": 1.5}
    assert (u["total_cpu_seconds"], u["total_cores"]) == (3.5, 1.75)


# ---- the in-process peer --------------------------------------------------------------------------


def test_peer_builds_the_core_as_the_scheduler_actor_does() -> None:
    from actors.scheduler.actor import SchedulerServer

    cfg = {"percentageOfNodesToScore": 50, "profiles": [{
        "schedulerName": "default-scheduler",
        "plugins": {"multiPoint": {"disabled": [{"name": "ImageLocality"}],
                                   "enabled": [{"name": "TaintToleration", "weight": 7}]}}}]}
    actor = SchedulerServer({"apiserver": "unused:1", "scheduler_config": cfg}, clock=FakeClock(), client=object()).core
    peer = sb.build_core(cfg, FakeClock())

    def shape(core: Any) -> Any:
        return (core.search.percentage_of_nodes_to_score, {
            name: ([p.name for p in f.pre_filter_plugins], [p.name for p in f.filter_plugins],
                   [p.name for p in f.pre_score_plugins], [(p.name, w) for p, w in f.score_plugins],
                   [p.name for p in f.post_filter_plugins]) for name, f in core.profiles.items()})

    assert shape(peer) == shape(actor)
    assert ("TaintToleration", 7) in shape(peer)[1]["default-scheduler"][3]
    assert "ImageLocality" not in shape(peer)[1]["default-scheduler"][1] + \
        [n for n, _ in shape(peer)[1]["default-scheduler"][3]]


def measured(workload: str, n: int, node_count: int) -> list[dict[str, Any]]:
    classes = sb.priority_classes(workload)
    return [sb.admitted(p, classes) for p in sb.plan(workload, n, nodes(node_count)).measured]


def test_peer_basic_rate_from_the_injected_timer() -> None:
    r = sb.run_in_process(nodes(3), measured("basic", 6, 3), timer=ticking(10.0, 12.0))
    assert (r["bound"], r["pods"], r["seconds"], r["pods_per_s"]) == (6, 6, 2.0, 3.0)
    assert r["attempts"] == 6 and r["cached_pods_end"] == 6
    assert r["latency"]["attempts"]["scheduled"]["count"] == 6
    assert set(r["placements"].values()) == {"n0", "n1", "n2"}  # LeastAllocated spreads them


def test_peer_spread_keeps_zones_within_max_skew() -> None:
    r = sb.run_in_process(nodes(6), measured("spread", 7, 6))
    zone = {f"n{i}": sb.ZONES[i % 3] for i in range(6)}
    per_zone = Counter(zone[n] for n in r["placements"].values())
    assert r["bound"] == 7 and max(per_zone.values()) - min(per_zone.values()) <= 1


def test_peer_affinity_puts_one_pod_of_a_group_per_node() -> None:
    r = sb.run_in_process(nodes(4), measured("affinity", 8, 4))  # 2 groups of 4 on 4 nodes
    assert r["bound"] == 8
    groups = Counter((int(name[-6:]) % 2, n) for name, n in r["placements"].items())
    assert max(groups.values()) == 1


def test_peer_affinity_leaves_the_extra_pod_of_a_full_group_pending() -> None:
    # three pods of one group (shaped for 2 pods on 2 nodes) on 2 nodes: the third has nowhere to go
    pods = [sb.admitted(sb.workload_pod("affinity", i, n_pods=2, n_nodes=2)) for i in range(3)]
    r = sb.run_in_process(nodes(2), pods)
    assert r["bound"] == 2 and Counter(r["placements"].values()) == Counter(["n0", "n1", None])


def test_peer_preemption_evicts_three_low_pods_per_high_pod() -> None:
    classes = sb.priority_classes("preemption")
    p = sb.plan("preemption", 5, nodes(3))
    r = sb.run_in_process(nodes(3), [sb.admitted(x, classes) for x in p.measured],
                          fill=[sb.admitted(x, classes) for x in p.fill])
    assert (r["fill_bound"], r["pods"], r["bound"], r["victims"]) == (12, 3, 3, 9)
    assert sorted(r["placements"].values()) == ["n0", "n1", "n2"]
    assert r["cached_pods_end"] == 3 + 3  # each node: its high pod and one low pod left


def test_peer_churn_keeps_the_window_of_live_pods() -> None:
    r = sb.run_in_process(nodes(3), measured("churn", 10, 3), churn_window=4)
    assert r["bound"] == 10 and r["cached_pods_end"] == 4


def test_peer_counts_existing_pods() -> None:
    # a 4-cpu node already running 3.9 cpu elsewhere takes no bench pod
    busy = sb.admitted(make_pod().name("other").namespace("default").req(cpu="3900m").node("n0").obj())
    r = sb.run_in_process(nodes(2), measured("basic", 3, 2), existing=[busy])
    assert set(r["placements"].values()) == {"n1"}


# ---- the report ----------------------------------------------------------------------------------


def times_for(names: list[str], created: float, bound: list[float], running: list[float]) -> sb.PodTimes:
    t = sb.PodTimes()
    for n, b, r in zip(names, bound, running):
        t.created[n], t.bound[n], t.running[n] = created, b, r
    return t


def test_run_report_figures() -> None:
    p = sb.plan("basic", 4, nodes(2))
    names = [x["metadata"]["name"] for x in p.measured]
    t = times_for(names, 100.0, [100.1, 100.2, 100.3, 102.0], [100.5, 100.6, 100.7, 103.0])
    rep = sb.run_report(workload="basic", nodes=2, plan_=p, times=t, t0=100.0,
                        in_process={"pods_per_s": 8.0})
    assert (rep["pods"], rep["bound"], rep["running"]) == (4, 4, 4)
    assert rep["throughput"]["average"] == 2.0
    lb, lr = rep["latency_ms"]["create_to_bound"], rep["latency_ms"]["create_to_running"]
    assert (lb["p50"], lb["p99"]) == pytest.approx((200.0, 2000.0))
    assert (lr["p50"], lr["p99"]) == pytest.approx((600.0, 3000.0))
    assert rep["ratios"] == {"vs_goal": round(2.0 / 680, 4), "vs_in_process": 0.25}
    assert "preemption" not in rep


def test_run_report_counts_only_the_pods_seen() -> None:
    p = sb.plan("basic", 3, nodes(2))
    names = [x["metadata"]["name"] for x in p.measured]
    t = times_for(names[:1], 0.0, [1.0], [2.0])
    t.created[names[1]] = 0.0  # created, never bound
    rep = sb.run_report(workload="basic", nodes=2, plan_=p, times=t, t0=0.0, create_errors=1)
    assert (rep["pods"], rep["bound"], rep["running"], rep["create_errors"]) == (3, 1, 1, 1)
    assert rep["ratios"]["vs_in_process"] is None


def test_run_report_preemption_victims_after_the_measured_start() -> None:
    p = sb.plan("preemption", 3, nodes(3))
    names = [x["metadata"]["name"] for x in p.measured]
    t = times_for(names, 50.0, [51.0, 52.0, 53.0], [51.5, 52.5, 53.5])
    low = [x["metadata"]["name"] for x in p.fill]
    t.gone[low[0]] = 10.0  # before the measured phase: not a victim of it
    for n in low[1:10]:
        t.gone[n] = 51.0
    rep = sb.run_report(workload="preemption", nodes=3, plan_=p, times=t, t0=50.0)
    assert rep["preemption"] == {"victims": 9, "victims_per_s": 3.0, "preemptors_per_s": 1.0}
    assert rep["fill_pods"] == 12


def test_merge_runs_takes_medians_and_recomputes_ratios() -> None:
    def run(avg: float, p99: float, ip: float) -> dict[str, Any]:
        return {"workload": "basic", "notes": ["x"], "bound": 10,
                "throughput": {"average": avg, "series": [1, 2]},
                "latency_ms": {"create_to_bound": {"p99": p99}},
                "in_process": {"pods_per_s": ip}, "ratios": sb.ratios(avg, ip), "scheduler": None}

    m = sb.merge_runs([run(10.0, 300.0, 100.0), run(30.0, 100.0, 300.0), run(20.0, float("nan"), 200.0)])
    assert m["throughput"] == {"average": 20.0}
    assert m["latency_ms"]["create_to_bound"]["p99"] == 200.0  # NaN runs left out
    assert m["in_process"]["pods_per_s"] == 200.0
    assert m["ratios"] == {"vs_goal": round(20.0 / 680, 4), "vs_in_process": 0.1}
    assert (m["workload"], m["bound"], m["runs"], m["scheduler"]) == ("basic", 10, 3, None)
    assert "notes" not in m
    assert sb.merge_runs([]) == {}
