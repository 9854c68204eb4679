"""ReplicaSet controller: slow start, expectations, adoption/release, victims, status."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from actors.api import errors
from actors.common.clock import FakeClock, rfc3339
from actors.controllers import replicaset as rsc
from actors.controllers.loop import Action
from actors.controllers.util import ALPHANUMS

from .fakes import T0, FakeCluster, Sim, make_pod, make_rs

POD_NAME = re.compile(rf"^web-[{ALPHANUMS}]{{5}}$")


def _creates(log: list[Action]) -> list[Action]:
    return [a for a in log if a.verb == "create" and a.resource == "pods"]


# ---- creating ------------------------------------------------------------------------------------


@pytest.mark.parametrize("count,batches", [
    pytest.param(1, [1], id="one"),
    pytest.param(3, [1, 2], id="three"),
    pytest.param(10, [1, 2, 4, 3], id="ten"),
    pytest.param(500, [1, 2, 4, 8, 16, 32, 64, 128, 245], id="burst"),
])
def test_slow_start_batch_sizes(count: int, batches: list[int]) -> None:
    assert rsc.slow_start_batches(count) == batches


def test_creates_missing_pods_in_slow_start_batches_with_owner_refs() -> None:
    sim = Sim(("replicaset",))
    rs = sim.cluster.add("replicasets", make_rs(replicas=10))
    sim.settle()
    pods = sim.objs("pods")
    assert len(pods) == 10
    creates = _creates(sim.cluster.log)
    assert [a.batch for a in creates] == [0, 1, 1, 2, 2, 2, 2, 3, 3, 3]
    for p in pods:
        assert POD_NAME.match(p["metadata"]["name"]), p["metadata"]["name"]
        assert p["metadata"]["generateName"] == "web-"
        assert p["metadata"]["labels"] == {"app": "web"}
        assert p["metadata"]["ownerReferences"] == [{
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
            "uid": rs["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    msgs = sim.cluster.event_messages("SuccessfulCreate")
    assert sorted(msgs) == sorted(f"Created pod: {p['metadata']['name']}" for p in pods)
    st = sim.get("replicasets", "web")["status"]  # type: ignore[index]
    assert st["replicas"] == 10 and st["observedGeneration"] == 1


def test_burst_limit_caps_one_pass_at_500() -> None:
    sim = Sim(("replicaset",))
    sim.cluster.add("replicasets", make_rs(replicas=600))
    assert sim.runner.step(sim.clock.now(), sim.cluster.execute)
    assert len(sim.objs("pods")) == 500
    sim.settle()
    assert len(sim.objs("pods")) == 600


def test_failed_batch_stops_the_rest_and_reports_replica_failure() -> None:
    sim = Sim(("replicaset",))
    quota = errors.forbidden("pods", "web-x", "exceeded quota: q")
    calls = {"n": 0}

    def fail(a: Action) -> BaseException | None:
        if a.verb == "create":
            calls["n"] += 1
            if calls["n"] == 2:
                return quota
        return None
    sim.cluster.fail = fail
    sim.cluster.add("replicasets", make_rs(replicas=10))
    sim.runner.step(sim.clock.now(), sim.cluster.execute)
    # batch 0 (1 pod) ok, batch 1 (2 pods) has one failure, batches 2 and 3 never tried
    assert len(_creates(sim.cluster.log)) == 3
    assert len(sim.objs("pods")) == 2
    ctrl = sim.controllers["replicaset"]
    assert ctrl.expectations.satisfied("default/web", sim.clock.now())  # type: ignore[attr-defined]
    assert any("Error creating: " in m for m in sim.cluster.event_messages("FailedCreate"))
    sim.cluster.fail = None
    sim.settle(advance=True, until=T0 + 1)  # the backoff retry
    st = sim.get("replicasets", "web")["status"]  # type: ignore[index]
    cond = [c for c in st.get("conditions", []) if c["type"] == "ReplicaFailure"]
    assert len(sim.objs("pods")) == 10
    # reported on the retry, cleared on the pass after it
    assert cond == [] and any(
        a.verb == "update_status" and any(c["type"] == "ReplicaFailure" for c in
                                          (a.body or {}).get("status", {}).get("conditions", []))
        for a in sim.cluster.log)


def test_expectations_prevent_double_create_while_own_creates_are_unobserved() -> None:
    sim = Sim(("replicaset",))
    sim.cluster.add("replicasets", make_rs(replicas=3))
    sim.cluster.deliver = False  # the pod informer lags
    sim.runner.step(sim.clock.now(), sim.cluster.execute)
    assert len(_creates(sim.cluster.log)) == 3
    ctrl = sim.controllers["replicaset"]
    sim.runner.enqueue("replicaset", "default/web", sim.clock.now())
    view_without_pods = FakeCluster(sim.clock)
    view_without_pods.store["replicasets"] = dict(sim.cluster.store["replicasets"])
    actions, _ = ctrl.reconcile("default/web", view_without_pods, sim.clock.now(),
                                random.Random(0))
    assert [a for a in actions if a.verb == "create"] == []  # expectations unsatisfied
    # ... until they expire after 5 minutes
    actions, _ = ctrl.reconcile("default/web", view_without_pods, sim.clock.now() + 301,
                                random.Random(0))
    assert len([a for a in actions if a.verb == "create"]) == 3
    sim.cluster.deliver = True
    sim.cluster.flush()
    assert ctrl.expectations.satisfied("default/web", sim.clock.now())  # type: ignore[attr-defined]


def test_deletion_expectations_track_the_chosen_pods() -> None:
    sim = Sim(("replicaset",))
    sim.cluster.add("replicasets", make_rs(replicas=3))
    sim.settle()
    rs = sim.get("replicasets", "web")
    assert rs is not None
    rs["spec"]["replicas"] = 1
    sim.cluster.deliver = False
    sim.cluster.update("replicasets", rs)
    sim.cluster.flush()  # the RS update only
    sim.cluster.deliver = False
    sim.runner.step(sim.clock.now(), sim.cluster.execute)
    ctrl = sim.controllers["replicaset"]
    assert ctrl.expectations.get("default/web") == (0, 2)  # type: ignore[attr-defined]
    sim.cluster.deliver = True
    sim.cluster.flush()
    assert ctrl.expectations.get("default/web") == (0, 0)  # type: ignore[attr-defined]
    sim.settle()
    assert len(sim.objs("pods")) == 1
    assert len(sim.cluster.event_messages("SuccessfulDelete")) == 2


# ---- adoption and release --------------------------------------------------------------------------


def test_adopts_matching_orphans_and_releases_non_matching_pods() -> None:
    sim = Sim(("replicaset",))
    rs = sim.cluster.add("replicasets", make_rs(replicas=2))
    sim.cluster.deliver = False
    sim.cluster.add("pods", make_pod("orphan", labels={"app": "web"}))
    sim.cluster.add("pods", make_pod("owned-mismatch", labels={"app": "other"}, owner=rs))
    sim.cluster.add("pods", make_pod("other-app", labels={"app": "db"}))
    sim.cluster.add("pods", make_pod("dying", labels={"app": "web"}, deleting=True))
    sim.cluster.deliver = True
    sim.cluster.flush()
    sim.settle()
    owner = {n: [r["uid"] for r in (sim.get("pods", n) or {})["metadata"].get("ownerReferences", [])]
             for n in ("orphan", "owned-mismatch", "other-app", "dying")}
    assert owner == {"orphan": [rs["metadata"]["uid"]], "owned-mismatch": [], "other-app": [],
                     "dying": []}
    owned = [p for p in sim.objs("pods")
             if any(r["uid"] == rs["metadata"]["uid"]
                    for r in p["metadata"].get("ownerReferences", []))]
    assert len(owned) == 2  # the adopted orphan + one new pod


def test_pods_owned_by_another_controller_are_left_alone() -> None:
    rs = make_rs()
    other = make_rs("other", uid="rs-uid-other")
    pod = make_pod("p", owner=other)
    claimed, adopt, release = rsc.claim(rs, [pod])
    assert (claimed, adopt, release) == ([], [], [])


# ---- choosing victims ------------------------------------------------------------------------------

NOW = T0 + 10_000


@pytest.mark.parametrize("a,b", [
    pytest.param(make_pod("a"), make_pod("b", node="n1"), id="unassigned-before-assigned"),
    pytest.param(make_pod("a", node="n1", phase="Pending"),
                 make_pod("b", node="n1", phase="Running"), id="pending-before-running"),
    pytest.param(make_pod("a", node="n1", phase="Unknown"),
                 make_pod("b", node="n1", phase="Running"), id="unknown-before-running"),
    pytest.param(make_pod("a", node="n1", phase="Running"),
                 make_pod("b", node="n1", phase="Running", ready=True), id="not-ready-before-ready"),
    pytest.param(make_pod("a", node="n1", phase="Running", ready=True, deletion_cost=-5),
                 make_pod("b", node="n1", phase="Running", ready=True), id="lower-deletion-cost"),
    pytest.param(make_pod("a", node="n1", phase="Running", ready=True, ready_at=NOW - 10),
                 make_pod("b", node="n1", phase="Running", ready=True, ready_at=NOW - 1000),
                 id="more-recently-ready"),
    pytest.param(make_pod("a", node="n1", phase="Running", ready=True, ready_at=NOW - 100,
                          restarts=3),
                 make_pod("b", node="n1", phase="Running", ready=True, ready_at=NOW - 100),
                 id="more-restarts"),
    pytest.param(make_pod("a", node="n1", phase="Running", created=NOW - 10),
                 make_pod("b", node="n1", phase="Running", created=NOW - 1000), id="newer"),
    pytest.param(make_pod("a", node="n1", phase="Running", created=NOW - 10, uid="u-a"),
                 make_pod("b", node="n1", phase="Running", created=NOW - 12, uid="u-b"),
                 id="same-log2-bucket-uid-breaks-tie"),
])
def test_active_pods_with_ranks_order(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert rsc.pod_less(a, b, 0, 0, NOW)
    assert not rsc.pod_less(b, a, 0, 0, NOW)
    assert rsc.pods_to_delete([b, a], [], 1, NOW) == [a]


def test_log2_buckets_group_similar_ready_times() -> None:
    # 10 s and 12 s ago are both in bucket floor(log2(1e10..1.2e10 ns)) = 33: a tie -> uid
    a = make_pod("a", node="n", phase="Running", ready=True, ready_at=NOW - 12, uid="u-1")
    b = make_pod("b", node="n", phase="Running", ready=True, ready_at=NOW - 10, uid="u-2")
    assert rsc.pod_less(a, b, 0, 0, NOW)


def test_doubled_up_pods_go_first() -> None:
    """A pod sharing its node with more pods of the same owner is deleted first."""
    owner = {"kind": "Deployment", "metadata": {"name": "d", "uid": "d-uid"}}
    rs = make_rs(owner=owner)
    p1 = make_pod("p1", node="n1", phase="Running", ready=True, ready_at=NOW - 100)
    p2 = make_pod("p2", node="n1", phase="Running", ready=True, ready_at=NOW - 100)
    p3 = make_pod("p3", node="n2", phase="Running", ready=True, ready_at=NOW - 100)
    victims = rsc.pods_to_delete([p3, p1, p2], [p1, p2, p3], 1, NOW)
    assert victims[0]["metadata"]["name"] in ("p1", "p2")
    assert rs["metadata"]["ownerReferences"][0]["uid"] == "d-uid"


def test_scale_down_deletes_the_upstream_chosen_victims() -> None:
    sim = Sim(("replicaset",))
    rs = sim.cluster.add("replicasets", make_rs(replicas=4))
    now = sim.clock.now()
    pods = [make_pod("ready-old", owner=rs, node="n1", phase="Running", ready=True,
                     ready_at=now - 5000, created=now - 6000),
            make_pod("ready-new", owner=rs, node="n1", phase="Running", ready=True,
                     ready_at=now - 5, created=now - 6),
            make_pod("pending", owner=rs, node="n1", phase="Pending", created=now - 6000),
            make_pod("unscheduled", owner=rs, created=now - 6000)]
    for p in pods:
        sim.cluster.add("pods", p)
    rs = sim.get("replicasets", "web") or {}
    rs["spec"]["replicas"] = 1
    sim.cluster.update("replicasets", rs)
    sim.settle()
    assert sim.names("pods") == ["ready-old"]
    assert sorted(sim.cluster.event_messages("SuccessfulDelete")) == [
        "Deleted pod: pending", "Deleted pod: ready-new", "Deleted pod: unscheduled"]


# ---- status --------------------------------------------------------------------------------------------


def test_status_counts_and_min_ready_seconds() -> None:
    clock = FakeClock(T0)
    rs = make_rs(replicas=4, min_ready_seconds=30, labels={"app": "web", "tier": "fe"},
                 selector={"matchLabels": {"app": "web"}})
    rs["metadata"]["generation"] = 2
    now = clock.now()
    pods = [make_pod("a", labels={"app": "web", "tier": "fe"}, phase="Running", ready=True,
                     ready_at=now - 60),
            make_pod("b", labels={"app": "web", "tier": "fe"}, phase="Running", ready=True,
                     ready_at=now - 5),
            make_pod("c", labels={"app": "web"}, phase="Running"),
            make_pod("d", labels={"app": "web", "tier": "fe"})]
    st = rsc.calculate_status(rs, pods, None, now)
    assert (st["replicas"], st["fullyLabeledReplicas"], st["readyReplicas"],
            st["availableReplicas"]) == (4, 3, 2, 1)
    assert rsc.status_needs_update(rs, st)


def test_requeues_after_min_ready_seconds_until_available() -> None:
    sim = Sim(("replicaset",))
    sim.cluster.add("replicasets", make_rs(replicas=2, min_ready_seconds=10))
    sim.settle()
    sim.cluster.run_pods()
    sim.settle()
    st = (sim.get("replicasets", "web") or {})["status"]
    assert (st.get("readyReplicas"), st.get("availableReplicas", 0)) == (2, 0)
    # requeued after exactly minReadySeconds (not yet available: "ready for more than"),
    # then again: available
    sim.settle(advance=True, until=sim.clock.now() + 21)
    st = (sim.get("replicasets", "web") or {})["status"]
    assert st["availableReplicas"] == 2


def test_inactive_pods_do_not_count_and_are_replaced() -> None:
    sim = Sim(("replicaset",))
    rs = sim.cluster.add("replicasets", make_rs(replicas=2))
    sim.cluster.add("pods", make_pod("done", owner=rs, node="n1", phase="Succeeded"))
    sim.cluster.add("pods", make_pod("failed", owner=rs, node="n1", phase="Failed"))
    sim.settle()
    st = (sim.get("replicasets", "web") or {})["status"]
    assert st["replicas"] == 2 and len(sim.objs("pods")) == 4


def test_update_status_keeps_observed_generation() -> None:
    sim = Sim(("replicaset",))
    sim.cluster.add("replicasets", make_rs(replicas=1))
    sim.settle()
    rs = sim.get("replicasets", "web") or {}
    rs["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    sim.cluster.update("replicasets", rs)
    sim.settle()
    rs = sim.get("replicasets", "web") or {}
    assert rs["metadata"]["generation"] == 2 and rs["status"]["observedGeneration"] == 2
    assert rfc3339(T0)  # (timestamps are RFC 3339 throughout)
