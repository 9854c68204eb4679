"""Preemption (DefaultPreemption + the Evaluator): victim choice, node choice,
eligibility, the FitError suffix, the nominated pods, and the whole flow through the
scheduler core."""

from __future__ import annotations

import asyncio
import random
from typing import Any, Sequence

import pytest

from actors.common.clock import FakeClock
from actors.scheduler import preemption
from actors.scheduler.framework import Code, CycleState, Framework, Pod, Snapshot, Status, new_status
from actors.scheduler.plugins import default_preemption
from actors.scheduler.preemption import Candidate, pick_one_node_for_preemption
from actors.scheduler.queue import UNSCHEDULABLE_Q, Nominator
from actors.scheduler.registry import default_profile, new_framework
from actors.scheduler.scheduler import Scheduler

from . import live
from .plugin_harness import post_filter
from .builders import make_node, make_pod

Obj = dict[str, Any]


def node(name: str, cpu: str = "2", pods: int = 110) -> Obj:
    return make_node().name(name).cap(cpu=cpu, memory="8Gi", pods=pods).obj()


def running(name: str, priority: int, cpu: str = "1", on: str = "n1", start: str = "") -> Obj:
    b = make_pod().name(name).priority(priority).req(cpu=cpu).node(on).phase("Running")
    if start:
        b = b.start_time(start)
    return b.obj()


def preemptor(priority: int = 100, cpu: str = "1", name: str = "hi") -> Obj:
    return make_pod().name(name).priority(priority).req(cpu=cpu).obj()


def names(pods: Sequence[Any]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


def profile(nominator: Nominator | None = None, rng: random.Random | None = None) -> Framework:
    fw = default_profile()
    fw.nominator = nominator
    fw.rng = rng or random.Random(0)
    return fw


# ---- victims on one node -----------------------------------------------------------------


@pytest.mark.parametrize("pod,existing,want_victims,want_status", [
    pytest.param(preemptor(100, "1"), [running("a", 1), running("b", 2)], ["a"], None,
                 id="lowest-priority-goes-first"),
    pytest.param(preemptor(100, "2"), [running("a", 1), running("b", 2), running("c", 3)], ["b", "a"], None,
                 id="reprieve-keeps-the-highest-priority"),
    pytest.param(preemptor(100, "1"), [running("old", 1, start="2026-01-01T09:00:00Z"),
                                       running("new", 1, start="2026-01-01T10:00:00Z")], ["new"], None,
                 id="equal-priority-the-later-started-goes"),
    pytest.param(preemptor(100, "1"), [running("started", 1, start="2026-01-01T09:00:00Z"),
                                       running("pending", 1)], ["pending"], None,
                 id="not-started-counts-as-latest"),
    pytest.param(preemptor(100, "1"), [running("peer", 100), running("boss", 200)], [],
                 new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, "No preemption victims found for incoming pod"),
                 id="no-lower-priority-pods"),
    pytest.param(preemptor(100, "2"), [running("boss", 200), running("low", 1)], [],
                 new_status(Code.UNSCHEDULABLE, "Insufficient cpu"),
                 id="does-not-fit-even-without-them"),
])
def test_select_victims_on_node(pod: Obj, existing: list[Obj], want_victims: list[str],
                                want_status: Status | None) -> None:
    fw = profile()
    cpu = sum(int(p["spec"]["containers"][0]["resources"]["requests"]["cpu"]) for p in existing)
    snap = Snapshot.of([node("n1", cpu=str(cpu))], existing)  # a full node
    state = CycleState()
    state.snapshot = snap
    fw.run_pre_filter_plugins(state, pod, snap.node_info_list)
    ni = snap.node_info_list[0]
    before = len(ni.pods)
    victims, violations, status = preemption.select_victims_on_node(fw, state, pod, ni.clone())
    assert names(victims) == want_victims and violations == 0
    if want_status is None:
        assert status.is_success()
    else:
        assert (status.code, status.reasons) == (want_status.code, want_status.reasons)
    assert len(ni.pods) == before  # the snapshot's NodeInfo is untouched


# ---- which node --------------------------------------------------------------------------


def cand(name: str, *victims: tuple[int, str], pdb: int = 0) -> Candidate:
    pods: list[Pod] = [make_pod().name(f"{name}-{i}").priority(p).start_time(t).obj() if t else
            make_pod().name(f"{name}-{i}").priority(p).obj() for i, (p, t) in enumerate(victims)]
    return Candidate(name, pods, pdb)


T9, T10 = "2026-01-01T09:00:00Z", "2026-01-01T10:00:00Z"


@pytest.mark.parametrize("candidates,want", [
    pytest.param([cand("a", (1, T9), pdb=1), cand("b", (50, T9))], "b", id="fewest-pdb-violations"),
    pytest.param([cand("a", (5, T9)), cand("b", (3, T9), (3, T9), (3, T9))], "b",
                 id="lowest-highest-victim-priority"),
    pytest.param([cand("a", (5, T9), (4, T9)), cand("b", (5, T9), (1, T9))], "b", id="smallest-priority-sum"),
    pytest.param([cand("a", (-5, T9), (-5, T9)), cand("b", (-5, T9), (-5, T9), (-10, T9))], "a",
                 id="negative-priorities-sum-shifted"),
    pytest.param([cand("a", (5, T9), (0, T9), (0, T9)), cand("b", (5, T9), (0, T9))], "b",
                 id="fewest-victims"),
    pytest.param([cand("a", (5, T9), (1, T10)), cand("b", (5, T10), (1, T9))], "b",
                 id="latest-start-of-highest-priority-victims"),
    pytest.param([cand("a", (5, T9)), cand("b", (5, T9))], "a", id="tie-first-wins"),
])
def test_pick_one_node_for_preemption(candidates: list[Candidate], want: str) -> None:
    got = pick_one_node_for_preemption(candidates)
    assert got is not None and got.name == want


@pytest.mark.parametrize("num_nodes,pct,absolute,want", [
    pytest.param(5, 10, 100, 5, id="few-nodes-all"),
    pytest.param(5000, 10, 100, 500, id="percentage"),
    pytest.param(500, 10, 100, 100, id="absolute-floor"),
    pytest.param(500, 0, 3, 3, id="absolute-only"),
])
def test_calculate_num_candidates(num_nodes: int, pct: int, absolute: int, want: int) -> None:
    assert preemption.calculate_num_candidates(num_nodes, pct, absolute) == want


class _FixedRng(random.Random):
    def __init__(self, value: int) -> None:
        super().__init__(0)
        self.value = value
        self.calls: list[int] = []

    def randrange(self, n: int, *args: Any, **kw: Any) -> int:  # type: ignore[override]
        self.calls.append(n)
        return self.value


@pytest.mark.parametrize("offset,absolute,want", [
    pytest.param(0, 1, "n0", id="one-candidate-from-offset-0"),
    pytest.param(1, 1, "n1", id="one-candidate-from-offset-1"),
    pytest.param(1, 100, "n2", id="all-candidates-best-wins"),
])
def test_dry_run_starts_at_a_random_offset_and_stops_at_the_candidate_count(offset: int, absolute: int,
                                                                             want: str) -> None:
    fw = new_framework(plugin_args={default_preemption.NAME: {"minCandidateNodesPercentage": 0,
                                                              "minCandidateNodesAbsolute": absolute}})
    rng = _FixedRng(offset)
    fw.rng = rng
    nodes = [node(f"n{i}", cpu="1") for i in range(3)]
    # n2's victim has the lowest priority: the best candidate, when the dry run gets to it
    pods = [running(f"low{i}", prio, on=f"n{i}") for i, prio in enumerate((5, 3, 1))]
    pf, status, _ = post_filter(preemptor(), nodes, pods, fw)
    assert status.is_success() and rng.calls == [3]
    assert pf.nominated_node_name == want and names(pf.victims) == [f"low{want[1]}"]


# ---- eligibility and messages ------------------------------------------------------------------


def _terminating_victim(condition: bool) -> Obj:
    b = make_pod().name("victim").priority(1).req(cpu="2").node("n1").terminating()
    if condition:
        b = b.pod_condition("DisruptionTarget", "True", "PreemptionByScheduler")
    return b.obj()


@pytest.mark.parametrize("pod,pods,nominated_status,want", [
    pytest.param(preemptor(), [], Status(Code.UNSCHEDULABLE), (True, ""), id="no-nomination"),
    pytest.param(make_pod().name("p").priority(100).preemption_policy("Never").obj(), [],
                 Status(Code.UNSCHEDULABLE), (False, "not eligible due to preemptionPolicy=Never."), id="never"),
    pytest.param(make_pod().name("p").priority(100).nominated("n1").obj(), [_terminating_victim(True)],
                 Status(Code.UNSCHEDULABLE),
                 (False, "not eligible due to a terminating pod on the nominated node."),
                 id="victim-still-terminating"),
    pytest.param(make_pod().name("p").priority(100).nominated("n1").obj(), [_terminating_victim(False)],
                 Status(Code.UNSCHEDULABLE), (True, ""), id="terminating-but-not-by-preemption"),
    pytest.param(make_pod().name("p").priority(100).nominated("n1").obj(), [_terminating_victim(True)],
                 Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE), (True, ""), id="nominated-node-now-unresolvable"),
    pytest.param(make_pod().name("p").priority(100).nominated("n1").obj(), [running("low", 1)],
                 Status(Code.UNSCHEDULABLE), (True, ""), id="nominated-node-victims-gone"),
])
def test_pod_eligible_to_preempt_others(pod: Obj, pods: list[Obj], nominated_status: Status,
                                        want: tuple[bool, str]) -> None:
    snap = Snapshot.of([node("n1")], pods)
    assert preemption.pod_eligible_to_preempt_others(pod, snap, nominated_status) == want


@pytest.mark.parametrize("pod,nodes,pods,want", [
    pytest.param(preemptor(100, "1"), [node(f"n{i}", cpu="1") for i in range(3)],
                 [running(f"boss{i}", 200, on=f"n{i}") for i in range(3)],
                 "0/3 nodes are available: 3 Insufficient cpu. "
                 "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
                 id="only-higher-priority-pods"),
    pytest.param(preemptor(100, "4"), [node("n0"), node("n1")], [running("low", 1, on="n0")],
                 "0/2 nodes are available: 2 Insufficient cpu. "
                 "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
                 id="bigger-than-any-node"),
    pytest.param(preemptor(100, "2"), [node("n0"), node("n1"), node("n2", cpu="1")],
                 [running("boss", 200, on="n0"), running("low", 1, on="n0"), running("peer", 100, on="n1")],
                 "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: "
                 "1 Insufficient cpu, 1 No preemption victims found for incoming pod, "
                 "1 Preemption is not helpful for scheduling.", id="mixed"),
    pytest.param(make_pod().name("p").priority(100).req(cpu="1").preemption_policy("Never").obj(), [node("n0")],
                 [running("low", 1, cpu="2", on="n0")],
                 "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.",
                 id="preemption-policy-never"),
])
def test_fit_error_gets_the_preemption_message(pod: Obj, nodes: list[Obj], pods: list[Obj], want: str) -> None:
    pf, status, err = post_filter(pod, nodes, pods)
    assert status.code == Code.UNSCHEDULABLE and status.plugin == default_preemption.NAME
    assert str(err) == want
    if "not eligible" in want:
        assert pf is None  # the nomination is left alone
    else:
        assert pf is not None and pf.nominated_node_name == "" and not pf.victims  # cleared


@pytest.mark.parametrize("args,error", [
    pytest.param({"minCandidateNodesPercentage": 101},
                 "minCandidateNodesPercentage: Invalid value: 101: not in valid range [0, 100]", id="pct"),
    pytest.param({"minCandidateNodesAbsolute": -1},
                 "minCandidateNodesAbsolute: Invalid value: -1: not in valid range [0, inf)", id="abs"),
    pytest.param({"minCandidateNodesPercentage": 0, "minCandidateNodesAbsolute": 0},
                 "[minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the same time as "
                 "minCandidateNodesAbsolute, minCandidateNodesAbsolute: Invalid value: 0: cannot be zero at the "
                 "same time as minCandidateNodesPercentage]", id="both-zero"),
])
def test_default_preemption_args(args: dict[str, int], error: str) -> None:
    with pytest.raises(ValueError) as ei:
        default_preemption.new(args)
    assert str(ei.value) == error


# ---- nominated pods ----------------------------------------------------------------------------


@pytest.mark.parametrize("pod,want", [
    pytest.param(preemptor(50, "1", name="mid"), "Insufficient cpu", id="lower-priority-yields"),
    pytest.param(preemptor(100, "1", name="peer"), "Insufficient cpu", id="equal-priority-yields"),
    pytest.param(preemptor(200, "1", name="top"), "", id="higher-priority-ignores-it"),
    pytest.param(make_pod().name("nom").uid("uid-nominated").priority(100).req(cpu="2").obj(), "",
                 id="not-against-itself"),
])
def test_filter_counts_nominated_pods(pod: Obj, want: str) -> None:
    nominator = Nominator()
    nominator.add_nominated_pod(make_pod().name("nom").uid("uid-nominated").priority(100).req(cpu="2").obj(), "n1")
    fw = profile(nominator)
    snap = Snapshot.of([node("n1")])
    state = CycleState()
    fw.run_pre_filter_plugins(state, pod, snap.node_info_list)
    status = fw.run_filter_plugins(state, pod, snap.node_info_list[0])
    assert status.message() == want
    assert len(snap.node_info_list[0].pods) == 0  # added to a copy only


def test_nominator_follows_the_pod_status() -> None:
    n = Nominator()
    plain = make_pod().name("p").priority(5).obj()
    nominated = make_pod().name("p").priority(5).nominated("n1").obj()
    n.add_nominated_pod(plain)
    assert n.nominated_pods_for_node("n1") == []
    n.add_nominated_pod(plain, "n2")  # set by the scheduler before the status says so
    n.update_nominated_pod(plain, make_pod().name("p").priority(5).label("x", "y").obj())
    assert n.nominated_node(plain) == "n2"  # an update without one keeps it
    n.update_nominated_pod(plain, nominated)
    assert [pi.pod["metadata"]["name"] for pi in n.nominated_pods_for_node("n1")] == ["p"]
    assert n.nominated_pods_for_node("n2") == []
    n.update_nominated_pod(nominated, plain)  # cleared in the status: gone
    assert n.nominated_node(plain) == "" and len(n) == 0


# ---- the whole flow through the scheduler core ------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_700_000_000.0)


def calls_of(cycle: Any) -> list[tuple[str, str, str]]:
    return [(c.verb, c.resource, c.name if c.resource == "pods" else c.body.get("reason", "")) for c in cycle.calls]


def test_high_priority_pod_preempts_and_binds_on_its_nominated_node(clock: FakeClock) -> None:
    sched = Scheduler(clock, random.Random(1))
    sched.on_node_add(node("n1", cpu="2"))
    low = running("low", 0, cpu="2")
    sched.on_pod_add(low)
    high = preemptor(1000, "1", name="high")
    sched.on_pod_add(high)

    cycle = sched.schedule_next()
    assert cycle is not None and cycle.bind is None
    assert cycle.message == "0/1 nodes are available: 1 Insufficient cpu."
    assert calls_of(cycle) == [("patch", "pods", "low"), ("delete", "pods", "low"), ("create", "events", "Preempted"),
                               ("create", "events", "FailedScheduling"), ("patch", "pods", "high")]
    cond_patch, delete, preempted, _, status_patch = cycle.calls
    assert cond_patch.subresource == "status"
    [cond] = cond_patch.body["status"]["conditions"]
    assert {k: cond[k] for k in ("type", "status", "reason", "message")} == {
        "type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
        "message": "default-scheduler: preempting to accommodate a higher priority pod"}
    assert (delete.namespace, delete.body) == ("default", {})
    assert (preempted.body["type"], preempted.body["message"], preempted.body["involvedObject"]["name"],
            preempted.body["related"]["name"]) == ("Normal", "Preempted by pod uid-default-high on node n1", "low",
                                                   "high")
    assert status_patch.subresource == "status" and status_patch.body["status"]["nominatedNodeName"] == "n1"
    assert status_patch.body["status"]["conditions"][0]["reason"] == "Unschedulable"
    assert [pi.pod["metadata"]["name"] for pi in sched.queue.nominator.nominated_pods_for_node("n1")] == ["high"]
    assert sched.queue.get(high)[0] == UNSCHEDULABLE_Q  # type: ignore[index]

    # the apiserver applies the writes: high is nominated, low is terminating
    high_nominated = dict(high, status=dict(high["status"], nominatedNodeName="n1"))
    sched.on_pod_update(high, high_nominated)
    low_terminating = make_pod().name("low").priority(0).req(cpu="2").node("n1").phase("Running").terminating() \
        .pod_condition("DisruptionTarget", "True", "PreemptionByScheduler").obj()
    sched.on_pod_update(low, low_terminating)
    # a retry while the victim terminates does not preempt again
    clock.advance(301)
    sched.tick()
    again = sched.schedule_next()
    assert again is not None and again.bind is None
    assert again.message == ("0/1 nodes are available: 1 Insufficient cpu. "
                             "preemption: not eligible due to a terminating pod on the nominated node.")
    assert [c.verb for c in again.calls if c.resource == "pods"] == ["patch"]  # its condition message only
    assert sched.queue.nominator.nominated_node(high) == "n1"

    # the victim is gone: high goes back to the queue and binds on n1
    sched.on_pod_delete(low_terminating)
    clock.advance(20)
    sched.tick()
    done = sched.schedule_next()
    assert done is not None and done.bind is not None and done.bind.node == "n1"
    assert sched.queue.nominator.nominated_node(high) == ""


def test_nominated_pod_keeps_its_room_from_lower_priority_pods(clock: FakeClock) -> None:
    sched = Scheduler(clock, random.Random(1))
    sched.on_node_add(node("n1", cpu="4"))
    low = running("low", 0, cpu="3")
    sched.on_pod_add(low)
    high = preemptor(1000, "2", name="high")
    sched.on_pod_add(high)
    first = sched.schedule_next()
    assert first is not None and first.bind is None
    sched.on_pod_delete(low)  # evicted; high waits in backoff
    small = preemptor(0, "3", name="small")
    sched.on_pod_add(small)
    cycle = sched.schedule_next()
    assert cycle is not None and cycle.pod["metadata"]["name"] == "small" and cycle.bind is None
    assert cycle.message == ("0/1 nodes are available: 1 Insufficient cpu. "
                             "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.")
    clock.advance(2)
    sched.tick()
    done = sched.schedule_next()
    assert done is not None and done.bind is not None and (done.pod["metadata"]["name"], done.bind.node) == \
        ("high", "n1")


def test_lower_priority_nominations_on_the_node_are_cleared(clock: FakeClock) -> None:
    sched = Scheduler(clock, random.Random(1))
    sched.on_node_add(node("n1", cpu="2"))
    sched.on_pod_add(running("low", 0, cpu="2"))
    mid = make_pod().name("mid").priority(10).req(cpu="2").nominated("n1").obj()
    sched.on_pod_add(mid)  # nominated by an earlier preemption
    assert sched.queue.nominator.nominated_node(mid) == "n1"
    high = preemptor(1000, "2", name="high")
    sched.on_pod_add(high)
    cycle = sched.schedule_next()
    assert cycle is not None and cycle.pod["metadata"]["name"] == "high"
    clears = [c for c in cycle.calls if c.name == "mid"]
    assert [(c.verb, c.subresource, c.body) for c in clears] == [
        ("patch", "status", {"status": {"nominatedNodeName": None}})]


# ---- through the shell: a real in-process apiserver (admission resolves the priorities) ----------


def test_preemption_end_to_end_through_the_apiserver() -> None:
    def api_pod(name: str, pc: str, grace: int | None = None) -> Obj:
        p = live.api_pod(name, cpu="2")
        p["spec"]["priorityClassName"] = pc
        if grace is not None:
            p["spec"]["terminationGracePeriodSeconds"] = grace
        return p

    async def body() -> None:
        async with live.live_scheduler() as (_, c, _):
            assert (await c.get("priorityclasses", "system-cluster-critical"))["value"] == 2000000000
            for name, value in (("low", 10), ("high", 1000)):
                await c.create("priorityclasses", {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                                   "metadata": {"name": name}, "value": value})
            await live.register_node(c, node("n1", cpu="2"))
            low = await c.create("pods", api_pod("victim", "low", grace=0))
            assert low["spec"]["priority"] == 10

            async def node_of(name: str) -> str:
                try:
                    return str((await c.get("pods", name, "default"))["spec"].get("nodeName") or "")
                except Exception:
                    return ""
            assert await live.eventually(lambda: node_of("victim")) == "n1"
            high = await c.create("pods", api_pod("urgent", "high"))
            assert high["spec"]["priority"] == 1000
            assert await live.eventually(lambda: node_of("urgent")) == "n1"
            names_left = [p["metadata"]["name"] for p in (await c.list("pods", "default"))["items"]]
            assert names_left == ["urgent"]
            got = await c.get("pods", "urgent", "default")
            assert got["status"].get("nominatedNodeName") == "n1"
            events = (await c.list("events", "default"))["items"]
            preempted = [e for e in events if e["reason"] == "Preempted"]
            assert [(e["involvedObject"]["name"], e["message"]) for e in preempted] == [
                ("victim", f"Preempted by pod {high['metadata']['uid']} on node n1")]
    asyncio.run(body())
