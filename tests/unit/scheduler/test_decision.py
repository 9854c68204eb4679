"""Decision records: what they say, the 1 KiB budget, when they are (re)written, the
`describe pod` section, and the annotation on a real bind and a real failure."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any, Sequence

import pytest

from actors.api.resources import lookup
from actors.common.clock import FakeClock
from actors.scheduler import decision
from actors.scheduler.framework import Snapshot
from actors.scheduler.registry import default_profile, new_framework
from actors.scheduler.schedule import ScheduleResult, SchedulingError, schedule_one
from actors.scheduler.scheduler import Scheduler
from cli import kubectl

from .builders import make_node, make_pod, name_in, term
from .live import api_pod, create_node, eventually, live_scheduler


def node(name: str, cpu: str = "2") -> Any:
    return make_node().name(name).cap(cpu=cpu, memory="4Gi", pods=110)


def record(pod: dict[str, Any], nodes: Sequence[dict[str, Any]], profile: Any = None, seed: int = 0) -> Any:
    r = schedule_one(pod, Snapshot.of(nodes), profile or default_profile(), random.Random(seed))
    return decision.decision_record("default-scheduler", r)


def test_scheduled_record() -> None:
    nodes = [node("big", cpu="8").obj(), node("tainted").taint("k", effect="PreferNoSchedule").obj(),
             node("small", cpu="500m").obj(), node("mid", cpu="4").obj(), node("mid2", cpu="4").obj()]
    profile = new_framework(plugins=[("NodeResourcesFit", 1), ("TaintToleration", 3)])
    rec = record(make_pod().req(cpu="1").obj(), nodes, profile)
    assert {k: rec[k] for k in ("profile", "result", "node", "nodes", "evaluated", "feasible")} == \
        {"profile": "default-scheduler", "result": "Scheduled", "node": "big", "nodes": 5, "evaluated": 5,
         "feasible": 4}
    assert rec["filtered"] == {"NodeResourcesFit": {"count": 1, "reasons": {"Insufficient cpu": 1}}}
    assert rec["scorePlugins"] == ["NodeResourcesFit", "TaintToleration"]
    # big: 7/8 cpu free -> 87 (memory (4Gi-0.2Gi)/4Gi -> 95 averaged: 91), x1 + 100 x3
    assert [t["node"] for t in rec["top"]] == ["big", "mid", "mid2"]
    assert rec["top"][0]["total"] == sum(rec["top"][0]["scores"])
    assert rec["top"][0]["scores"][1] == 300
    assert isinstance(rec["durationMs"], float)


def test_chosen_node_first_among_equals() -> None:
    nodes = [node(f"n{i}").obj() for i in range(5)]
    for seed in range(5):
        rec = record(make_pod().obj(), nodes, seed=seed)
        assert rec["top"][0]["node"] == rec["node"]
        assert len({t["total"] for t in rec["top"]}) == 1


@pytest.mark.parametrize("pod,nodes,filtered", [
    pytest.param(make_pod().req(cpu="3").obj(), [node("n1").obj(), node("n2").taint("k").obj()],
                 {"NodeResourcesFit": {"count": 1, "reasons": {"Insufficient cpu": 1}},
                  "TaintToleration": {"count": 1, "reasons": {"node(s) had untolerated taint(s)": 1}}},
                 id="per-plugin"),
    pytest.param(make_pod().req(cpu="3").required_terms(term(fields=[name_in("n1")])).obj(),
                 [node("n1").obj(), node("n2").obj(), node("n3").obj()],
                 {"NodeResourcesFit": {"count": 1, "reasons": {"Insufficient cpu": 1}},
                  "PreFilter": {"count": 2, "reasons": {"node(s) didn't satisfy plugin(s) [NodeAffinity]": 2}}},
                 id="prefilter-narrowed"),
    pytest.param(make_pod().required_terms(term(fields=[name_in("n1"), name_in("n2")])).obj(),
                 [node("n1").obj(), node("n2").obj()],
                 {"NodeAffinity": {"count": 2, "reasons": {"pod affinity terms conflict": 2}}},
                 id="prefilter-rejects-all"),
])
def test_unschedulable_record(pod: dict[str, Any], nodes: list[dict[str, Any]],
                              filtered: dict[str, Any]) -> None:
    rec = record(pod, nodes)
    assert rec["result"] == "Unschedulable" and "node" not in rec and "top" not in rec
    assert rec["filtered"] == filtered
    assert "message" not in rec  # the FitError text is in the PodScheduled condition already


def test_error_record_carries_the_message() -> None:
    r = ScheduleResult(error=SchedulingError("x" * 1000), num_all_nodes=3, evaluated_nodes=1)
    rec = decision.decision_record("p", r)
    assert rec["result"] == "Error" and len(rec["message"]) == decision.MAX_MESSAGE
    assert rec["message"].endswith(" ...")


def test_encoding_stays_under_one_kib() -> None:
    long = "node-with-a-rather-long-name-in-a-big-cluster-"
    wanted = {f"example.com/resource-{i}": "1" for i in range(20)}
    # 4 nodes have every resource, 20 nodes each lack one: 20 different reasons
    nodes = [node(f"{long}{i}").cap(**wanted).obj() for i in range(4)] + \
        [node(f"{long}short-{i}").cap(**{k: "1" for k in wanted if k != f"example.com/resource-{i}"}).obj()
         for i in range(20)] + [node(f"{long}tainted-{i}").taint("k").obj() for i in range(3)]
    rec = record(make_pod().req(cpu="1", **wanted).obj(), nodes)
    full = json.dumps(rec, separators=(",", ":"))
    text = decision.encode(rec)
    assert len(full) > decision.MAX_BYTES >= len(text.encode())
    small = json.loads(text)
    assert (small["node"], small["nodes"], small["evaluated"], small["feasible"]) == \
        (rec["node"], 27, 27, 4)
    # every plugin's count is kept; the reasons are cut to the most frequent
    assert {p: e["count"] for p, e in small["filtered"].items()} == {"NodeResourcesFit": 20, "TaintToleration": 3}
    assert len(small["filtered"]["NodeResourcesFit"]["reasons"]) < 20
    # a record that fits is kept whole
    rec2 = record(make_pod().obj(), [node("n1").obj(), node("n2").obj()])
    assert json.loads(decision.encode(rec2)) == rec2


def test_annotation_patch_only_when_the_decision_changed() -> None:
    pod = make_pod().name("big").req(cpu="3").obj()
    rec = record(pod, [node("n1").obj()])
    patch = decision.annotation_patch(pod, rec)
    assert patch is not None and (patch.verb, patch.resource, patch.name, patch.subresource) == \
        ("patch", "pods", "big", "")
    text = patch.body["metadata"]["annotations"][decision.ANNOTATION]
    annotated = make_pod().name("big").req(cpu="3").annotation(decision.ANNOTATION, text).obj()
    again = dict(record(pod, [node("n1").obj()]), durationMs=99.0)
    assert decision.annotation_patch(annotated, again) is None  # the same but for the duration
    other = record(pod, [node("n1").obj(), node("n2").obj()])
    assert decision.annotation_patch(annotated, other) is not None


def test_scheduler_hands_out_the_record() -> None:
    sched = Scheduler(FakeClock(), random.Random(0))
    sched.on_node_add(node("n1").obj())
    sched.on_pod_add(make_pod().name("ok").obj())
    sched.on_pod_add(make_pod().name("big").req(cpu="3").obj())
    ok = sched.schedule_next()
    assert ok is not None and ok.bind is not None and ok.bind.decision is not None
    assert ok.bind.decision["node"] == "n1"
    big = sched.schedule_next()
    assert big is not None and big.bind is None and big.decision is not None
    assert big.decision["result"] == "Unschedulable"
    # the actor's annotation patch comes back as a pod update: it does not move the pod
    pod = sched.pending["default/big"]
    patch = decision.annotation_patch(pod, big.decision)
    assert patch is not None
    annotated = make_pod().name("big").req(cpu="3").rv("2").obj()
    annotated["metadata"]["annotations"] = patch.body["metadata"]["annotations"]
    sched.on_pod_update(pod, annotated)
    assert sched.queue.lengths() == {"active": 0, "backoff": 0, "unschedulable": 1}
    # ... while a real change does
    relabeled = make_pod().name("big").req(cpu="3").rv("3").label("x", "y").obj()
    sched.on_pod_update(annotated, relabeled)
    assert sched.queue.lengths()["unschedulable"] == 0


def test_describe_pod_section() -> None:
    rec = record(make_pod().req(cpu="1").obj(),
                 [node("n1").obj(), node("n2", cpu="500m").obj(), node("n3").obj()])
    pod = make_pod().name("web").node(rec["node"]).annotation("team", "a") \
        .annotation(decision.ANNOTATION, decision.encode(rec)).obj()
    out = kubectl._describe_pod_with_decision(lookup("pods"), pod, [], {})
    assert decision.ANNOTATION not in out and "Annotations:  team: a\n" in out
    section = out[out.index("Scheduling Decision:"):out.index("Events:")]
    lines = section.splitlines()
    assert lines[0] == "Scheduling Decision:"
    assert lines[1].split() == ["Profile:", "default-scheduler"]
    assert lines[2].split() == ["Result:", "Scheduled", "to", rec["node"]]
    assert lines[3].split() == ["Nodes:", "3", "total,", "3", "evaluated,", "2", "feasible"]
    assert lines[5:7] == ["  Filtered Out:", "    NodeResourcesFit:  1 (1 Insufficient cpu)"]
    assert lines[7] == "  Top Scores:"
    assert lines[8].startswith(f"    {rec['node']}:") and "TaintToleration=300" in lines[8]
    # without a record: plain kubectl output
    plain = make_pod().name("web").obj()
    assert "Scheduling Decision" not in kubectl._describe_pod_with_decision(lookup("pods"), plain, None, {})


def test_annotation_on_bind_and_on_failure() -> None:
    async def body() -> None:
        async with live_scheduler() as (_, c, sched):
            await create_node(c, "node-1", "2")
            await c.create("pods", api_pod("web", cpu="500m"))
            await c.create("pods", api_pod("big", cpu="4"))

            async def rec_of(name: str) -> Any:
                p = await c.get("pods", name, "default")
                return decision.parse(((p["metadata"].get("annotations")) or {}).get(decision.ANNOTATION))
            web = await eventually(lambda: rec_of("web"))
            assert (web["result"], web["node"]) == ("Scheduled", "node-1")
            assert (await c.get("pods", "web", "default"))["spec"]["nodeName"] == "node-1"
            big = await eventually(lambda: rec_of("big"))
            assert big["result"] == "Unschedulable" and big["filtered"]["NodeResourcesFit"]["count"] == 1
            await asyncio.sleep(0.3)  # the annotation's update reached the scheduler: still waiting
            assert sched.status()["queue"]["unschedulable"] == 1
            assert "default-scheduler" in sched.status()["framework_metrics"]
    asyncio.run(body())
