"""Deployment controller: hash naming, scaling, rolling update, Recreate, history, status."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from actors.controllers import deployment as dc
from actors.controllers import util as u

from .fakes import T0, FakeCluster, Sim, make_deploy, make_rs

HASHED = re.compile(r"^web-[4-9bcdf]{6,10}$")  # decimal digits safe-encoded


def _rss(sim: Sim) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in sim.objs("replicasets")}


def _set_image(sim: Sim, image: str, name: str = "web") -> None:
    d = sim.get("deployments", name)
    assert d is not None
    d["spec"]["template"]["spec"]["containers"][0]["image"] = image
    sim.cluster.update("deployments", d)


def _scale(sim: Sim, n: int, name: str = "web") -> None:
    d = sim.get("deployments", name)
    assert d is not None
    d["spec"]["replicas"] = n
    sim.cluster.update("deployments", d)


def _cond(obj: dict[str, Any] | None, ctype: str) -> tuple[str, str] | None:
    c = u.get_condition((obj or {}).get("status"), ctype)
    return None if c is None else (c["status"], c["reason"])


def _rollout(sim: Sim, rounds: int = 20) -> None:
    for _ in range(rounds):
        sim.settle()
        if not sim.cluster.run_pods():
            break
    sim.settle()


# ---- the pod-template-hash ------------------------------------------------------------------------


@pytest.mark.parametrize("data,h", [
    pytest.param(b"", 0x811C9DC5, id="empty"),
    pytest.param(b"a", 0xE40C292C, id="a"),
    pytest.param(b"foobar", 0xBF9CF968, id="foobar"),
])
def test_fnv32a_vectors(data: bytes, h: int) -> None:
    assert u.fnv32a(data) == h


def test_safe_encode_uses_upstream_alphabet() -> None:
    assert u.safe_encode_string("0123456789") == "456789bcdf"


def test_compute_hash_is_stable_and_collision_count_changes_it() -> None:
    t = make_deploy()["spec"]["template"]
    h0, h0b = u.compute_hash(t, None), u.compute_hash(dict(t), None)
    assert h0 == h0b and re.fullmatch(r"[4-9bcdf]+", h0)
    assert u.compute_hash(t, 1) != h0 and u.compute_hash(t, 1) != u.compute_hash(t, 2)
    assert u.compute_hash(t, 0) != h0  # collisionCount 0 still salts (8 zero bytes)


@pytest.mark.parametrize("desired,surge,unavail,expect", [
    pytest.param(10, "25%", "25%", (3, 2), id="10-25%-25%"),
    pytest.param(4, "25%", "25%", (1, 1), id="4-25%-25%"),
    pytest.param(1, "25%", "25%", (1, 0), id="1-rounding"),
    pytest.param(2, "0%", "1%", (0, 1), id="both-zero-means-1-unavailable"),
    pytest.param(5, 2, 0, (2, 0), id="absolute"),
    pytest.param(3, "50%", "50%", (2, 1), id="surge-up-unavailable-down"),
])
def test_resolve_fenceposts(desired: int, surge: Any, unavail: Any, expect: tuple[int, int]) -> None:
    assert dc.resolve_fenceposts(surge, unavail, desired) == expect


# ---- the new ReplicaSet ------------------------------------------------------------------------------


def test_new_replicaset_named_with_hash_labels_and_annotations() -> None:
    sim = Sim()
    d = sim.cluster.add("deployments", make_deploy(replicas=3))
    sim.settle()
    (name, rs), = _rss(sim).items()
    h = u.compute_hash(d["spec"]["template"], None)
    assert name == f"web-{h}" and HASHED.match(name)
    assert rs["metadata"]["labels"] == {"app": "web", "pod-template-hash": h}
    assert rs["spec"]["selector"] == {"matchLabels": {"app": "web", "pod-template-hash": h}}
    assert rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == h
    assert rs["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "1",
                                             "deployment.kubernetes.io/desired-replicas": "3",
                                             "deployment.kubernetes.io/max-replicas": "4"}
    assert rs["metadata"]["ownerReferences"][0]["uid"] == d["metadata"]["uid"]
    assert sim.cluster.event_messages("ScalingReplicaSet") == [f"Scaled up replica set {name} to 3"]
    pods = sim.objs("pods")
    assert len(pods) == 3 and all(p["metadata"]["name"].startswith(name + "-") for p in pods)
    got = sim.get("deployments", "web")
    assert got is not None
    assert got["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert _cond(got, "Progressing") == ("True", "ReplicaSetUpdated")
    assert _cond(got, "Available") == ("False", "MinimumReplicasUnavailable")
    sim.cluster.run_pods()
    sim.settle()
    got = sim.get("deployments", "web")
    assert _cond(got, "Available") == ("True", "MinimumReplicasAvailable")
    assert _cond(got, "Progressing") == ("True", "NewReplicaSetAvailable")
    st = (got or {})["status"]
    assert (st["replicas"], st["updatedReplicas"], st["readyReplicas"],
            st["availableReplicas"], st.get("unavailableReplicas", 0),
            st["observedGeneration"]) == (3, 3, 3, 3, 0, 1)
    assert [c["type"] for c in st["conditions"]] == ["Available", "Progressing"]


def test_progressing_condition_reasons_on_creation() -> None:
    """Between the RS create and its pods: NewReplicaSetCreated is written first."""
    sim = Sim(("deployment",))
    sim.cluster.add("deployments", make_deploy(replicas=2))
    sim.settle()
    writes = [a.body for a in sim.cluster.log if a.verb == "update_status"]
    reasons = [_cond(b, "Progressing") for b in writes]
    assert reasons[0] == ("True", "NewReplicaSetCreated")


# ---- scaling ------------------------------------------------------------------------------------------


def test_scale_3_to_5_to_1() -> None:
    sim = Sim()
    sim.cluster.add("deployments", make_deploy(replicas=3))
    _rollout(sim)
    (name, _), = _rss(sim).items()
    _scale(sim, 5)
    _rollout(sim)
    assert _rss(sim)[name]["spec"]["replicas"] == 5 and len(sim.objs("pods")) == 5
    _scale(sim, 1)
    _rollout(sim)
    rs = _rss(sim)[name]
    assert rs["spec"]["replicas"] == 1 and len(sim.objs("pods")) == 1
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "1"
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "2"
    assert sim.cluster.event_messages("ScalingReplicaSet") == [
        f"Scaled up replica set {name} to 3", f"Scaled up replica set {name} to 5 from 3",
        f"Scaled down replica set {name} to 1 from 5"]
    assert (sim.get("deployments", "web") or {})["status"]["replicas"] == 1


def _mid_rollout(old: int, new: int, d_replicas: int, annotated: int, surge: Any = 0,
                 unavailable: Any = 1) -> tuple[FakeCluster, dict[str, Any]]:
    """A deployment (scaled to d_replicas) with two active ReplicaSets whose annotations
    say they were sized for a deployment of `annotated` replicas."""
    cluster = FakeCluster()
    d = cluster.add("deployments", make_deploy(replicas=d_replicas, max_surge=surge,
                                               max_unavailable=unavailable, image="v2"))
    max_r = annotated + dc.resolve_fenceposts(surge, unavailable, annotated)[0]
    for name, n, image, rev, age in (("web-old", old, "v1", "1", 100), ("web-new", new, "v2", "2", 10)):
        rs = make_rs(name, replicas=n, labels={"app": "web"}, owner=d, image=image)
        rs["spec"]["template"]["spec"]["containers"] = [{"name": "web", "image": image}]
        rs["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": rev,
                                         "deployment.kubernetes.io/desired-replicas": str(annotated),
                                         "deployment.kubernetes.io/max-replicas": str(max_r)}
        rs["metadata"]["creationTimestamp"] = u.now_str(T0 - age)
        cluster.add("replicasets", rs)
    d = cluster.get("deployments", "default", "web") or {}
    d["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "2"}
    d["status"] = {"replicas": annotated}
    return cluster, d


@pytest.mark.parametrize("old,new,annotated,target,expect", [
    pytest.param(3, 2, 5, 10, (6, 4), id="up-5-to-10"),
    pytest.param(6, 4, 10, 5, (3, 2), id="down-10-to-5"),
    pytest.param(2, 1, 3, 5, (3, 2), id="up-rounding"),
    pytest.param(5, 5, 10, 15, (7, 8), id="tie-newer-first-when-up"),
    pytest.param(5, 5, 10, 5, (2, 3), id="tie-older-first-when-down"),
    pytest.param(3, 2, 5, 0, (0, 0), id="to-zero"),
])
def test_proportional_scaling(old: int, new: int, annotated: int, target: int,
                              expect: tuple[int, int]) -> None:
    cluster, _ = _mid_rollout(old, new, target, annotated)
    actions, _ = dc.DeploymentController().reconcile("default/web", cluster, T0, random.Random(0))
    sizes = {"web-old": old, "web-new": new}
    for a in actions:
        if a.verb == "update" and a.resource == "replicasets":
            sizes[a.name] = (a.body or {})["spec"]["replicas"]
    assert (sizes["web-old"], sizes["web-new"]) == expect


# ---- rolling update --------------------------------------------------------------------------------------


@pytest.mark.parametrize("replicas,surge,unavail,steps", [
    # each step: (old, new) spec.replicas after the controllers settle, then new pods get ready
    pytest.param(4, 1, 1, [(3, 2), (1, 4), (0, 4)], id="4-surge1-unavail1"),
    pytest.param(4, 0, 1, [(3, 1), (2, 2), (1, 3), (0, 4)], id="4-surge0-unavail1"),
    pytest.param(4, 1, 0, [(4, 1), (3, 2), (2, 3), (1, 4), (0, 4)], id="4-surge1-unavail0"),
    pytest.param(10, "25%", "25%", [(8, 5), (3, 10), (0, 10)], id="10-25%-25%"),
])
def test_rolling_update_steps(replicas: int, surge: Any, unavail: Any,
                              steps: list[tuple[int, int]]) -> None:
    sim = Sim()
    sim.cluster.add("deployments", make_deploy(replicas=replicas, max_surge=surge,
                                               max_unavailable=unavail, image="v1"))
    _rollout(sim)
    (old_name, _), = _rss(sim).items()
    _set_image(sim, "v2")
    max_s, max_u = dc.resolve_fenceposts(surge, unavail, replicas)
    seen = []
    for _ in range(len(steps)):
        sim.settle()
        rss = _rss(sim)
        new_name = next(n for n in rss if n != old_name)
        old_r, new_r = rss[old_name]["spec"]["replicas"], rss[new_name]["spec"]["replicas"]
        seen.append((old_r, new_r))
        assert old_r + new_r <= replicas + max_s
        available = sum(r.get("status", {}).get("availableReplicas", 0) for r in rss.values())
        assert available >= replicas - max_u
        sim.cluster.run_pods()
    assert seen == steps
    sim.settle()
    d = sim.get("deployments", "web")
    assert _cond(d, "Progressing") == ("True", "NewReplicaSetAvailable")
    assert (d or {})["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"


def test_rolling_update_reports_replica_set_updated_while_progressing() -> None:
    sim = Sim()
    sim.cluster.add("deployments", make_deploy(replicas=4, max_surge=1, max_unavailable=1))
    _rollout(sim)
    _set_image(sim, "nginx:2")
    sim.settle()
    d = sim.get("deployments", "web")
    assert _cond(d, "Progressing") == ("True", "ReplicaSetUpdated")
    st = (d or {})["status"]
    assert (st["replicas"], st["updatedReplicas"], st["availableReplicas"],
            st["unavailableReplicas"]) == (5, 2, 3, 2)


def test_progress_deadline_exceeded_when_new_pods_never_get_ready() -> None:
    sim = Sim()
    sim.cluster.add("deployments", make_deploy(replicas=2, progress_deadline=60))
    _rollout(sim)
    _set_image(sim, "nginx:broken")
    sim.settle(advance=True, until=sim.clock.now() + 30)
    assert _cond(sim.get("deployments", "web"), "Progressing") == ("True", "ReplicaSetUpdated")
    sim.settle(advance=True, until=sim.clock.now() + 60)
    d = sim.get("deployments", "web")
    new = next(n for n, r in _rss(sim).items()
               if r["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2")
    c = u.get_condition((d or {})["status"], "Progressing") or {}
    assert (c["status"], c["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert c["message"] == f'ReplicaSet "{new}" has timed out progressing.'
    assert _cond(d, "Available") == ("True", "MinimumReplicasAvailable")


# ---- Recreate ---------------------------------------------------------------------------------------------


def test_recreate_scales_old_down_and_waits_for_old_pods_before_creating_new() -> None:
    sim = Sim()
    sim.cluster.add("deployments", make_deploy(replicas=3, strategy="Recreate", image="v1"))
    _rollout(sim)
    (old_name, _), = _rss(sim).items()
    sim.cluster.graceful_pods = True
    _set_image(sim, "v2")
    sim.settle()
    rss = _rss(sim)
    assert list(rss) == [old_name] and rss[old_name]["spec"]["replicas"] == 0
    assert len(sim.objs("pods")) == 3  # terminating, still there: no new RS yet
    sim.cluster.finish_terminating()
    sim.settle()
    rss = _rss(sim)
    new_name = next(n for n in rss if n != old_name)
    assert rss[new_name]["spec"]["replicas"] == 3
    assert sim.cluster.event_messages("ScalingReplicaSet")[-2:] == [
        f"Scaled down replica set {old_name} to 0 from 3", f"Scaled up replica set {new_name} to 3"]
    _rollout(sim)
    assert _cond(sim.get("deployments", "web"), "Progressing") == ("True", "NewReplicaSetAvailable")


# ---- history ----------------------------------------------------------------------------------------------


def test_old_replicasets_beyond_revision_history_limit_are_deleted() -> None:
    sim = Sim()
    sim.cluster.add("deployments", make_deploy(replicas=2, revision_history_limit=1, image="v1"))
    _rollout(sim)
    for image in ("v2", "v3", "v4"):
        _set_image(sim, image)
        _rollout(sim)
    revs = sorted(int(r["metadata"]["annotations"]["deployment.kubernetes.io/revision"])
                  for r in sim.objs("replicasets"))
    assert revs == [3, 4]
    assert len(sim.objs("pods")) == 2


@pytest.mark.parametrize("status_keeps_annotations", [True, False],
                         ids=["upstream-status-strategy", "status-only-apiserver"])
def test_returning_to_an_old_template_reuses_its_replicaset_with_a_new_revision(
        status_keeps_annotations: bool) -> None:
    sim = Sim()
    sim.cluster.status_keeps_annotations = status_keeps_annotations
    sim.cluster.add("deployments", make_deploy(replicas=2, image="v1"))
    _rollout(sim)
    (first, _), = _rss(sim).items()
    _set_image(sim, "v2")
    _rollout(sim)
    _set_image(sim, "v1")
    _rollout(sim)
    rss = _rss(sim)
    assert len(rss) == 2
    ann = rss[first]["metadata"]["annotations"]
    assert ann["deployment.kubernetes.io/revision"] == "3"
    assert ann["deployment.kubernetes.io/revision-history"] == "1"
    assert rss[first]["spec"]["replicas"] == 2
    d = sim.get("deployments", "web") or {}
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"


# ---- ownership, pause, collisions -----------------------------------------------------------------------------


def test_adopts_an_orphan_replicaset_matching_the_selector() -> None:
    sim = Sim(("deployment",))
    orphan = make_rs("web-manual", replicas=0, labels={"app": "web"})
    sim.cluster.add("replicasets", orphan)
    d = sim.cluster.add("deployments", make_deploy(replicas=1))
    sim.settle()
    rs = sim.get("replicasets", "web-manual") or {}
    assert [r["uid"] for r in rs["metadata"]["ownerReferences"]] == [d["metadata"]["uid"]]


def test_paused_deployment_does_not_roll_out() -> None:
    sim = Sim()
    sim.cluster.add("deployments", make_deploy(replicas=2, image="v1"))
    _rollout(sim)
    d = sim.get("deployments", "web") or {}
    d["spec"]["paused"] = True
    sim.cluster.update("deployments", d)
    _set_image(sim, "v2")
    _rollout(sim)
    assert len(_rss(sim)) == 1
    assert _cond(sim.get("deployments", "web"), "Progressing") == ("Unknown", "DeploymentPaused")
    d = sim.get("deployments", "web") or {}
    d["spec"]["paused"] = False
    sim.cluster.update("deployments", d)
    _rollout(sim)
    assert len(_rss(sim)) == 2
    assert _cond(sim.get("deployments", "web"), "Progressing") == ("True", "NewReplicaSetAvailable")


def test_hash_collision_bumps_collision_count() -> None:
    sim = Sim(("deployment",))
    tmpl = make_deploy()["spec"]["template"]
    h = u.compute_hash(tmpl, None)
    squatter = make_rs(f"web-{h}", replicas=0, labels={"other": "x"}, image="busybox")
    sim.cluster.add("replicasets", squatter)
    sim.cluster.add("deployments", make_deploy(replicas=1))
    sim.settle(advance=True, until=sim.clock.now() + 1)
    d = sim.get("deployments", "web") or {}
    assert d["status"]["collisionCount"] == 1
    names = sorted(_rss(sim))
    assert f"web-{u.compute_hash(tmpl, 1)}" in names and len(names) == 2
