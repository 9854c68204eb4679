"""PodWorker: one pod's lifecycle on a fake clock (pulls, status, events, IPs, deletion)."""

from __future__ import annotations

from typing import Any

import pytest

from actors.common.clock import rfc3339
from actors.kubelet.runtime import Runtime

from .builders import T0, Harness, container, deleted, node_cfg, pod

NGINX_ID = "docker.io/library/nginx@sha256:"


def _runtime(preloaded: tuple[str, ...] = (), **kw: Any) -> Runtime:
    cfg = node_cfg(preloaded_images=list(preloaded), **kw)
    return Runtime(cfg.node_name, cfg.pod_cidr, cfg.registry, cfg.time_scale,
                   cfg.preloaded_images)


# ---- image pull policy x image present / absent / unknown ------------------------------

PULLED_2S = ('Successfully pulled image "nginx:1.25" in 2s (2s including waiting). '
             'Image size: 70000000 bytes.')
PRESENT = 'Container image "nginx:1.25" already present on machine'


@pytest.mark.parametrize("policy,image,preloaded,reasons,messages,started_after", [
    pytest.param("IfNotPresent", "nginx:1.25", False,
                 ["Pulling", "Pulled", "Created", "Started"],
                 ['Pulling image "nginx:1.25"', PULLED_2S, "Created container web",
                  "Started container web"], 2.0, id="ifnotpresent-absent-pulls"),
    pytest.param("IfNotPresent", "nginx:1.25", True, ["Pulled", "Created", "Started"],
                 [PRESENT, "Created container web", "Started container web"], 0.0,
                 id="ifnotpresent-present-no-pull"),
    pytest.param("Always", "nginx:1.25", False, ["Pulling", "Pulled", "Created", "Started"],
                 ['Pulling image "nginx:1.25"', PULLED_2S, "Created container web",
                  "Started container web"], 2.0, id="always-absent-pulls"),
    pytest.param("Always", "nginx:1.25", True, ["Pulling", "Pulled", "Created", "Started"],
                 ['Pulling image "nginx:1.25"',
                  'Successfully pulled image "nginx:1.25" in 250ms (250ms including waiting). '
                  'Image size: 70000000 bytes.',
                  "Created container web", "Started container web"], 0.25,
                 id="always-present-repulls-manifest-only"),
    pytest.param("Never", "nginx:1.25", True, ["Pulled", "Created", "Started"],
                 [PRESENT, "Created container web", "Started container web"], 0.0,
                 id="never-present-runs"),
    pytest.param(None, "nginx:1.25", False, ["Pulling", "Pulled", "Created", "Started"],
                 None, 2.0, id="default-policy-for-tag-is-ifnotpresent"),
    pytest.param(None, "nginx", True, ["Pulling", "Pulled", "Created", "Started"],
                 None, 0.25, id="default-policy-untagged-is-always"),
    pytest.param(None, "nginx:latest", True, ["Pulling", "Pulled", "Created", "Started"],
                 None, 0.25, id="default-policy-latest-is-always"),
])
def test_pull_policy_success(policy: str | None, image: str, preloaded: bool,
                             reasons: list[str], messages: list[str] | None,
                             started_after: float) -> None:
    c = container(image=image)
    if policy:
        c["imagePullPolicy"] = policy
    pre = ("nginx:1.25", "nginx:latest") if preloaded else ()
    h = Harness(pod(containers=[c]), runtime=_runtime(pre))
    h.run_until(T0 + 10)
    assert h.reasons() == reasons
    if messages is not None:
        assert h.messages() == messages
    assert all(e.field_path == "spec.containers{web}" for e in h.events)
    cs = h.cstatus()
    assert cs["state"] == {"running": {"startedAt": rfc3339(T0 + started_after)}}
    assert h.status["phase"] == "Running"
    assert cs["ready"] is True and cs["started"] is True


def test_never_policy_with_absent_image_fails_with_err_image_never_pull() -> None:
    h = Harness(pod(containers=[container(imagePullPolicy="Never")]))
    h.step()
    msg = 'Container image "nginx:1.25" is not present with pull policy of Never'
    assert [(e.type, e.reason, e.message) for e in h.events] == [
        ("Warning", "ErrImageNeverPull", msg), ("Warning", "Failed", "Error: ErrImageNeverPull")]
    assert h.cstatus()["state"] == {"waiting": {"reason": "ErrImageNeverPull", "message": msg}}
    assert h.status["phase"] == "Pending"
    assert h.last is not None and h.last.wake_at == pytest.approx(T0 + 10)  # retried per sync


def test_unknown_image_err_image_pull_then_image_pull_backoff() -> None:
    h = Harness(pod(containers=[container(image="nosuch:1.0")]))
    h.step()
    assert h.reasons() == ["Pulling"]
    h.clock.t = T0 + 0.25  # one registry round trip
    h.step()
    ref = "docker.io/library/nosuch:1.0"
    err = (f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": '
           f'failed to resolve reference "{ref}": {ref}: not found')
    assert [(e.type, e.reason, e.message) for e in h.events[1:]] == [
        ("Warning", "Failed", f'Failed to pull image "nosuch:1.0": {err}'),
        ("Warning", "Failed", "Error: ErrImagePull")]
    assert h.cstatus()["state"] == {"waiting": {"reason": "ErrImagePull", "message": err}}
    h.clock.t = T0 + 1.25  # the resync caused by the status update
    h.step()
    assert [(e.type, e.reason, e.message) for e in h.events[3:]] == [
        ("Normal", "BackOff", 'Back-off pulling image "nosuch:1.0"'),
        ("Warning", "Failed", "Error: ImagePullBackOff")]
    assert h.cstatus()["state"] == {
        "waiting": {"reason": "ImagePullBackOff",
                    "message": 'Back-off pulling image "nosuch:1.0"'}}
    assert h.status["phase"] == "Pending"
    assert h.cond("Ready")["reason"] == "ContainersNotReady"


def test_image_pull_backoff_doubles_from_10s() -> None:
    h = Harness(pod(containers=[container(image="nosuch:1.0")]))
    h.run_until(T0 + 200)
    pulls = [e.at - T0 for e in h.events if e.reason == "Pulling"]
    # fail at +0.25 (10 s backoff), at +10.5 (20 s), at +30.75 (40 s), at +71 (80 s), ...
    assert pulls == pytest.approx([0.0, 10.25, 30.5, 70.75, 151.0])


def test_timings_scale_with_time_scale() -> None:
    cfg = node_cfg(time_scale=0.1)
    h = Harness(pod(), cfg=cfg)
    h.run_until(T0 + 1)
    pulled = next(e for e in h.events if e.reason == "Pulled")
    assert pulled.at == pytest.approx(T0 + 0.2)
    assert pulled.message == ('Successfully pulled image "nginx:1.25" in 200ms '
                              '(200ms including waiting). Image size: 70000000 bytes.')


def test_pulls_are_serialized_per_node_and_joined_per_image() -> None:
    rt = _runtime()
    a = Harness(pod("a", [container(image="nginx:1.25")]), runtime=rt)
    b = Harness(pod("b", [container(image="redis:7")]), runtime=rt)
    c = Harness(pod("c", [container(image="nginx:1.25")]), runtime=rt)
    for h in (a, b, c):
        h.step()
    for h in (a, b, c):
        h.run_until(T0 + 10)
    msg = {h.w.key: next(e for e in h.events if e.reason == "Pulled") for h in (a, b, c)}
    assert msg["default/a"].at == pytest.approx(T0 + 2)
    assert msg["default/b"].at == pytest.approx(T0 + 3.5)
    assert "in 1.5s (3.5s including waiting)" in msg["default/b"].message
    assert msg["default/c"].at == pytest.approx(T0 + 2)  # joined a's pull


def test_containers_start_in_order_each_waiting_for_its_pull() -> None:
    h = Harness(pod(containers=[container("web"), container("cache", image="redis:7")]))
    h.run_until(T0 + 10)
    seq = [(e.reason, e.field_path.split("{")[1][:-1], round(e.at - T0, 2)) for e in h.events]
    assert seq == [("Pulling", "web", 0.0), ("Pulled", "web", 2.0), ("Created", "web", 2.0),
                   ("Started", "web", 2.0), ("Pulling", "cache", 2.0),
                   ("Pulled", "cache", 3.5), ("Created", "cache", 3.5),
                   ("Started", "cache", 3.5)]


# ---- status fields and conditions --------------------------------------------------------

def test_pending_status_while_pulling() -> None:
    h = Harness(pod())
    h.step()
    st = h.status
    assert st["phase"] == "Pending"
    assert st["hostIP"] == "10.0.0.3" and st["hostIPs"] == [{"ip": "10.0.0.3"}]
    assert st["podIP"] == "10.244.1.2" and st["podIPs"] == [{"ip": "10.244.1.2"}]
    assert st["startTime"] == rfc3339(T0)
    assert st["qosClass"] == "BestEffort"
    assert h.cstatus() == {"name": "web", "state": {"waiting": {"reason": "ContainerCreating"}},
                           "lastState": {}, "ready": False, "restartCount": 0,
                           "image": "nginx:1.25", "imageID": "", "started": False}
    conds = {c["type"]: (c["status"], c.get("reason"), c.get("message"))
             for c in st["conditions"]}
    assert conds == {
        "PodReadyToStartContainers": ("True", None, None),
        "Initialized": ("True", None, None),
        "Ready": ("False", "ContainersNotReady", "containers with unready status: [web]"),
        "ContainersReady": ("False", "ContainersNotReady",
                            "containers with unready status: [web]"),
        "PodScheduled": ("True", None, None)}
    assert [c["type"] for c in st["conditions"]] == [
        "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]


def test_running_status_fields_and_transition_times() -> None:
    h = Harness(pod())
    h.run_until(T0 + 5)
    cs = h.cstatus()
    assert cs["image"] == "docker.io/library/nginx:1.25"
    assert cs["imageID"].startswith(NGINX_ID) and len(cs["imageID"]) == len(NGINX_ID) + 64
    assert cs["containerID"].startswith("kubemu://") and len(cs["containerID"]) == 9 + 64
    assert cs["restartCount"] == 0 and cs["lastState"] == {}
    assert h.cond("Ready")["lastTransitionTime"] == rfc3339(T0 + 2)
    assert h.cond("Initialized")["lastTransitionTime"] == rfc3339(T0)
    # the scheduler's PodScheduled transition time is kept
    assert h.cond("PodScheduled")["lastTransitionTime"] == rfc3339(T0 - 1)
    assert all(c["lastProbeTime"] is None for c in h.status["conditions"])
    assert len(h.statuses) == 2  # Pending, then Running; nothing while nothing changes


def test_no_status_and_no_wakeup_when_idle() -> None:
    h = Harness(pod())
    h.run_until(T0 + 5)
    assert h.last is not None and h.last.wake_at is None
    h.clock.t = T0 + 500
    fx = h.step()
    assert fx.status is None and fx.events == [] and fx.wake_at is None


def test_pod_scheduled_added_when_absent() -> None:
    p = pod()
    p["status"] = {"phase": "Pending"}
    h = Harness(p)
    h.step()
    assert h.cond("PodScheduled") == {"type": "PodScheduled", "status": "True",
                                      "lastProbeTime": None,
                                      "lastTransitionTime": rfc3339(T0)}


def test_other_conditions_are_kept_first() -> None:
    p = pod()
    p["status"]["conditions"].append({"type": "DisruptionTarget", "status": "True",
                                      "lastTransitionTime": rfc3339(T0 - 5)})
    h = Harness(p)
    h.step()
    assert h.status["conditions"][0]["type"] == "DisruptionTarget"


@pytest.mark.parametrize("resources,qos", [
    pytest.param([{}], "BestEffort", id="no-resources"),
    pytest.param([{"requests": {"cpu": "100m"}}], "Burstable", id="requests-only"),
    pytest.param([{"limits": {"cpu": "1", "memory": "1Gi"}}], "Guaranteed",
                 id="limits-default-requests"),
    pytest.param([{"requests": {"cpu": "1", "memory": "1Gi"},
                   "limits": {"cpu": "1", "memory": "1Gi"}}], "Guaranteed", id="equal"),
    pytest.param([{"requests": {"cpu": "500m", "memory": "1Gi"},
                   "limits": {"cpu": "1", "memory": "1Gi"}}], "Burstable", id="cpu-below-limit"),
    pytest.param([{"limits": {"cpu": "1"}}], "Burstable", id="cpu-limit-only"),
    pytest.param([{"limits": {"cpu": "1", "memory": "1Gi"}}, {}], "Burstable",
                 id="one-container-besteffort"),
    pytest.param([{"requests": {"cpu": "1000m", "memory": "1024Mi"},
                   "limits": {"cpu": "1", "memory": "1Gi"}}], "Guaranteed",
                 id="equal-in-other-units"),
])
def test_qos_class(resources: list[dict[str, Any]], qos: str) -> None:
    cs = [container(f"c{i}", resources=r) for i, r in enumerate(resources)]
    h = Harness(pod(containers=cs))
    h.step()
    assert h.status["qosClass"] == qos


# ---- IP allocation ----------------------------------------------------------------------

def test_pod_ips_are_allocated_in_order_and_released_after_termination() -> None:
    rt = _runtime(("nginx:1.25",))
    hs = [Harness(pod(f"p{i}"), runtime=rt) for i in range(3)]
    for h in hs:
        h.step()
    assert [h.status["podIP"] for h in hs] == ["10.244.1.2", "10.244.1.3", "10.244.1.4"]
    hs[0].w.update(deleted(hs[0].w.pod, T0))
    hs[0].step()
    assert rt.ipam.in_use() == 2
    h4 = Harness(pod("p4"), runtime=rt)
    h4.step()
    assert h4.status["podIP"] == "10.244.1.5"  # round robin: .2 is not reused at once


def test_host_network_pod_uses_the_node_ip() -> None:
    rt = _runtime(("nginx:1.25",))
    h = Harness(pod(hostNetwork=True), runtime=rt)
    h.step()
    assert h.status["podIP"] == "10.0.0.3" and rt.ipam.in_use() == 0


# ---- deletion ---------------------------------------------------------------------------

def _running(p: dict[str, Any] | None = None, **kw: Any) -> Harness:
    h = Harness(p or pod(), **kw)
    h.run_until(T0 + 5)
    assert h.status["phase"] == "Running"
    return h


def test_delete_stops_at_once_by_default_then_asks_for_grace_0_delete() -> None:
    h = _running()
    h.clock.t = T0 + 10
    h.w.update(deleted(h.w.pod, T0 + 10))
    fx = h.step()
    assert [(e.reason, e.message) for e in fx.events] == [("Killing", "Stopping container web")]
    assert fx.delete is True
    st = fx.status
    assert st is not None and st["phase"] == "Succeeded"
    term = h.cstatus()["state"]["terminated"]
    assert term["exitCode"] == 0 and term["reason"] == "Completed"
    assert term["finishedAt"] == rfc3339(T0 + 10) and term["startedAt"] == rfc3339(T0 + 2)
    assert h.cond("PodReadyToStartContainers")["status"] == "False"
    assert h.cond("Ready")["reason"] == "PodCompleted"
    assert h.cond("ContainersReady")["reason"] == "PodCompleted"


@pytest.mark.parametrize("stop_after,grace,scale,gone_after,exit_code,phase", [
    pytest.param("5s", 30, 1.0, 5.0, 0, "Succeeded", id="stops-within-grace"),
    pytest.param("60s", 30, 1.0, 30.0, 137, "Failed", id="sigkill-at-grace"),
    pytest.param("10s", 0, 1.0, 2.0, 137, "Failed", id="grace-never-below-2s"),
    pytest.param("60s", 30, 0.1, 3.0, 137, "Failed", id="grace-scaled"),
    pytest.param("5s", 30, 0.1, 0.5, 0, "Succeeded", id="stop-time-scaled"),
])
def test_graceful_deletion_timing(stop_after: str, grace: int, scale: float, gone_after: float,
                                  exit_code: int, phase: str) -> None:
    cfg = node_cfg(time_scale=scale)
    h = _running(pod(annotations={"kubemu.io/stop-after": stop_after}), cfg=cfg)
    t_del = T0 + 10
    h.clock.t = t_del
    h.w.update(deleted(h.w.pod, t_del, grace))
    fx = h.step()
    assert [e.reason for e in fx.events] == ["Killing"] and not fx.delete
    assert fx.wake_at == pytest.approx(t_del + gone_after)
    assert h.status["phase"] == "Running"  # still running while it stops
    h.clock.t = t_del + gone_after
    fx = h.step()
    assert fx.delete is True and h.status["phase"] == phase
    term = h.cstatus()["state"]["terminated"]
    assert term["exitCode"] == exit_code
    assert term["reason"] == ("Completed" if exit_code == 0 else "Error")


def test_deleting_a_pulling_pod_marks_containers_unknown_and_fails_it() -> None:
    h = Harness(pod())
    h.step()
    h.clock.t = T0 + 1
    h.w.update(deleted(h.w.pod, T0 + 1))
    fx = h.step()
    assert fx.delete is True and [e.reason for e in fx.events] == []
    assert h.status["phase"] == "Failed"
    assert h.cstatus()["state"] == {"terminated": {
        "exitCode": 137, "reason": "ContainerStatusUnknown",
        "message": "The container could not be located when the pod was terminated"}}


def test_grace_comes_from_termination_grace_period_when_not_in_metadata() -> None:
    h = _running(pod(annotations={"kubemu.io/stop-after": "1h"},
                     terminationGracePeriodSeconds=7))
    h.w.update(deleted(h.w.pod, h.clock.t, grace=None))
    fx = h.step()
    assert fx.wake_at == pytest.approx(h.clock.t + 7)


def test_kill_when_the_pod_object_is_gone() -> None:
    h = _running()
    fx = h.w.kill(T0 + 6)
    assert [e.reason for e in fx.events] == ["Killing"] and h.w.finished
    assert h.rt.ipam.in_use() == 0


# ---- exits, restart policy, init containers (the hooks later issues build on) ------------

@pytest.mark.parametrize("policy,code,phase,restarts", [
    pytest.param("Never", "0", "Succeeded", 0, id="never-success"),
    pytest.param("Never", "3", "Failed", 0, id="never-failure"),
    pytest.param("OnFailure", "0", "Succeeded", 0, id="onfailure-success"),
    pytest.param("OnFailure", "3", "Running", 1, id="onfailure-failure-restarts"),
    pytest.param("Always", "0", "Running", 1, id="always-restarts"),
])
def test_scripted_exit_and_restart_policy(policy: str, code: str, phase: str,
                                          restarts: int) -> None:
    p = pod(annotations={"kubemu.io/exit-after": "5s", "kubemu.io/exit-code": code},
            restartPolicy=policy)
    h = Harness(p, runtime=_runtime(("nginx:1.25",)))
    h.run_until(T0 + 6.5)
    assert h.status["phase"] == phase
    assert h.cstatus()["restartCount"] == restarts
    if restarts:
        last = h.cstatus()["lastState"]["terminated"]
        assert last["exitCode"] == int(code) and last["finishedAt"] == rfc3339(T0 + 5)
    else:
        assert h.cstatus()["state"]["terminated"]["exitCode"] == int(code)
        assert h.cond("PodReadyToStartContainers")["status"] == "False"
        assert h.rt.ipam.in_use() == 0


def test_crash_loop_backoff() -> None:
    p = pod(annotations={"kubemu.io/exit-after": "1s", "kubemu.io/exit-code": "1"})
    h = Harness(p, runtime=_runtime(("nginx:1.25",)))
    h.run_until(T0 + 2.5)  # exit at 1, restarted at 2 (next relist), exits again at 3
    assert h.cstatus()["restartCount"] == 1
    h.clock.t = T0 + 4
    h.step()
    cs = h.cstatus()
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert cs["state"]["waiting"]["message"] == (
        "back-off 10s restarting failed container=web pod=web-1_default(uid-web-1)")
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert h.events[-1].reason == "BackOff" and h.events[-1].type == "Warning"
    assert h.events[-1].message == ("Back-off restarting failed container web in pod "
                                    "web-1_default(uid-web-1)")
    h.run_until(T0 + 13.5)
    starts = [round(e.at - T0, 2) for e in h.events if e.reason == "Started"]
    assert starts == [0.0, 2.0, 13.0]  # second restart waits 10 s after the exit at 3


def test_init_containers_run_one_after_another_before_the_app() -> None:
    init = [container("init-a", image="busybox:1.36", command=["sleep", "3"]),
            container("init-b", image="busybox:1.36")]
    h = Harness(pod(init=init), runtime=_runtime(("busybox:1.36", "nginx:1.25")))
    h.step()
    assert h.cstatus("init-a")["state"]["running"]
    assert h.cstatus("web")["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert h.cond("Initialized") == {
        "type": "Initialized", "status": "False", "lastProbeTime": None,
        "lastTransitionTime": rfc3339(T0), "reason": "ContainersNotInitialized",
        "message": "containers with incomplete status: [init-a init-b]"}
    h.run_until(T0 + 5)
    starts = [(e.field_path, e.at - T0) for e in h.events if e.reason == "Started"]
    assert starts == [("spec.initContainers{init-a}", 0.0),
                      ("spec.initContainers{init-b}", 3.0), ("spec.containers{web}", 3.0)]
    assert h.cond("Initialized")["status"] == "True"
    assert h.cstatus("init-a")["state"]["terminated"]["reason"] == "Completed"
    assert h.cstatus("init-a")["ready"] is True
    assert h.status["phase"] == "Running"


def test_failed_init_container_with_restart_never_fails_the_pod() -> None:
    init = [container("init", image="busybox:1.36", command=["sh", "-c", "exit 2"])]
    h = Harness(pod(init=init, restartPolicy="Never"), runtime=_runtime(("busybox:1.36",)))
    h.run_until(T0 + 5)
    assert h.status["phase"] == "Failed"
    assert h.cstatus("web")["state"]["terminated"]["reason"] == "ContainerStatusUnknown"
    assert "Started" not in [e.reason for e in h.events if "web" in e.field_path]


def test_adopting_a_running_pod_after_a_kubelet_restart_keeps_it_running() -> None:
    h = _running()
    before = h.status
    p = dict(h.w.pod, status=before)
    rt2 = _runtime()
    from actors.kubelet.pod_worker import PodWorker
    w2 = PodWorker.adopt(p, h.cfg, rt2, T0 + 100)
    fx = w2.step(T0 + 100)
    assert fx.status is None and fx.events == []  # nothing changed, nothing restarted
    assert rt2.ipam.in_use() == 1
    assert w2.build_status(T0 + 100)["containerStatuses"] == before["containerStatuses"]
    # a new pod on the restarted kubelet does not get the adopted IP
    h2 = Harness(pod("other"), runtime=rt2, cfg=h.cfg)
    h2.step()
    assert h2.status["podIP"] != before["podIP"]


def test_sandbox_creation_retried_when_the_pod_cidr_is_full() -> None:
    cfg = node_cfg(pod_cidr="10.244.1.0/30", preloaded_images=["nginx:1.25"])  # one pod IP
    rt = _runtime(("nginx:1.25",), pod_cidr="10.244.1.0/30")
    first = Harness(pod("a"), cfg=cfg, runtime=rt)
    first.step()
    h = Harness(pod("b"), cfg=cfg, runtime=rt)
    fx = h.step()
    assert [e.reason for e in fx.events] == ["FailedCreatePodSandBox"]
    assert "no IP addresses available in range set" in fx.events[0].message
    assert h.status["phase"] == "Pending" and "podIP" not in h.status
    assert h.cond("PodReadyToStartContainers")["status"] == "False"
    assert fx.wake_at == pytest.approx(T0 + 10)
    first.w.update(deleted(first.w.pod, T0 + 5))
    first.clock.t = T0 + 5
    first.step()
    h.clock.t = T0 + 10
    h.step()
    assert h.status["podIP"] == "10.244.1.2" and h.status["phase"] == "Running"


def test_adopting_a_completed_pod_does_not_run_it_again() -> None:
    p = pod(annotations={"kubemu.io/exit-after": "1s"}, restartPolicy="Never")
    h = Harness(p, runtime=_runtime(("nginx:1.25",)))
    h.run_until(T0 + 5)
    assert h.status["phase"] == "Succeeded"
    from actors.kubelet.pod_worker import PodWorker
    rt2 = _runtime(("nginx:1.25",))
    w2 = PodWorker.adopt(dict(p, status=h.status), h.cfg, rt2, T0 + 50)
    fx = w2.step(T0 + 50)
    assert fx.status is None and fx.events == [] and fx.wake_at is None


def test_adopting_a_pod_whose_container_exited_meanwhile() -> None:
    p = pod(annotations={"kubemu.io/exit-after": "1s"}, restartPolicy="Never")
    h = Harness(p, runtime=_runtime(("nginx:1.25",)))
    h.step()  # running; exits at +1 but nobody looks
    from actors.kubelet.pod_worker import PodWorker
    w2 = PodWorker.adopt(dict(p, status=h.status), h.cfg, _runtime(("nginx:1.25",)), T0 + 50)
    fx = w2.step(T0 + 50)
    assert fx.status is not None and fx.status["phase"] == "Succeeded"
    term = fx.status["containerStatuses"][0]["state"]["terminated"]
    assert term["finishedAt"] == rfc3339(T0 + 1)  # the real exit time, not the adoption's
