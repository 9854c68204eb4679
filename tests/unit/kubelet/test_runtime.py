"""The simulated runtime: image names, the serial puller, IPAM, container behaviour."""

from __future__ import annotations

import pytest

from actors.kubelet.backoff import Backoff, go_duration
from actors.kubelet.config import parse_registry
from actors.kubelet.durations import parse_duration
from actors.kubelet.runtime import Behavior, IPAllocator, IPExhausted, behavior_for
from actors.kubelet.runtime.behavior import parse_command
from actors.kubelet.runtime.containers import Container
from actors.kubelet.runtime.images import (ImageStore, RegistryImage, default_pull_policy,
                                           normalize_image)


@pytest.mark.parametrize("ref,norm", [
    ("nginx", "docker.io/library/nginx:latest"),
    ("nginx:1.25", "docker.io/library/nginx:1.25"),
    ("bitnami/redis:7", "docker.io/bitnami/redis:7"),
    ("registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9"),
    ("localhost:5000/app", "localhost:5000/app:latest"),
    ("localhost/app:v1", "localhost/app:v1"),
    ("nginx@sha256:abc", "docker.io/library/nginx@sha256:abc"),
    ("docker.io/library/nginx:1.25", "docker.io/library/nginx:1.25"),
])
def test_normalize_image(ref: str, norm: str) -> None:
    assert normalize_image(ref) == norm


@pytest.mark.parametrize("image,policy", [
    ("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.25", "IfNotPresent"),
    ("localhost:5000/app", "Always"), ("nginx@sha256:abc", "IfNotPresent"),
])
def test_default_pull_policy(image: str, policy: str) -> None:
    assert default_pull_policy(image) == policy


def _store(scale: float = 1.0) -> ImageStore:
    reg = parse_registry({"nginx:1.25": {"size_bytes": 100, "pull_seconds": 2},
                          "redis:7": {"size_bytes": 50, "pull_seconds": "1500ms",
                                      "digest": "ab" * 32}})
    return ImageStore(reg, scale)


def test_serial_puller_queues_and_joins() -> None:
    s = _store()
    a = s.pull("nginx:1.25", 10.0)
    b = s.pull("redis:7", 10.5)
    c = s.pull("docker.io/library/nginx:1.25", 11.0)
    assert (a.started_at, a.done_at) == (10.0, 12.0)
    assert (b.started_at, b.done_at, b.pull_seconds, b.total_seconds) == (12.0, 13.5, 1.5, 3.0)
    assert c.done_at == 12.0 and c.ok  # joined
    assert s.get_present("nginx:1.25", 11.9) is None
    assert s.get_present("nginx:1.25", 12.0) is not None
    assert [i["names"][1] for i in s.status_images(20.0)] == [
        "docker.io/library/nginx:1.25", "docker.io/library/redis:7"]
    assert s.status_images(20.0)[1]["names"][0] == "docker.io/library/redis@sha256:" + "ab" * 32


def test_unknown_image_fails_after_a_round_trip_scaled() -> None:
    s = _store(scale=0.1)
    t = s.pull("nosuch", 0.0)
    assert not t.ok and t.done_at == pytest.approx(0.025)
    assert "not found" in t.error and "docker.io/library/nosuch:latest" in t.error


def test_ipam_skips_network_gateway_broadcast_and_round_robins() -> None:
    ip = IPAllocator("10.244.3.0/29")  # .0 network, .1 gateway, .7 broadcast
    got = [ip.allocate(f"p{i}") for i in range(5)]
    assert got == [f"10.244.3.{i}" for i in (2, 3, 4, 5, 6)]
    with pytest.raises(IPExhausted):
        ip.allocate("x")
    ip.release("10.244.3.4")
    assert ip.allocate("y") == "10.244.3.4"
    ip.release("10.244.3.2")
    ip.release("10.244.3.3")
    assert ip.allocate("z") == "10.244.3.2"  # wraps around after .6
    assert ip.reserve("10.244.3.3", "w") and not ip.reserve("10.244.3.3", "v")


@pytest.mark.parametrize("argv,expect", [
    pytest.param([], None, id="no-command"),
    pytest.param(["nginx", "-g", "daemon off;"], None, id="server"),
    pytest.param(["sleep", "5"], Behavior(run_seconds=5.0), id="sleep"),
    pytest.param(["/bin/sleep", "2m"], Behavior(run_seconds=120.0), id="sleep-unit"),
    pytest.param(["sleep", "infinity"], Behavior(), id="sleep-infinity"),
    pytest.param(["true"], Behavior(run_seconds=0.0), id="true"),
    pytest.param(["false"], Behavior(run_seconds=0.0, exit_code=1), id="false"),
    pytest.param(["sh", "-c", "echo hi; sleep 2 && exit 3"],
                 Behavior(run_seconds=2.0, exit_code=3), id="sh-script"),
    pytest.param(["/bin/sh", "-c", "while true; do sleep 1; done"], None, id="sh-loop"),
])
def test_parse_command(argv: list[str], expect: Behavior | None) -> None:
    assert parse_command(argv) == expect


@pytest.mark.parametrize("ann,init,expect", [
    pytest.param({}, False, Behavior(), id="runs-forever"),
    pytest.param({}, True, Behavior(run_seconds=0.0), id="init-exits-at-once"),
    pytest.param({"kubemu.io/exit-after": "5s", "kubemu.io/exit-code": "2"}, False,
                 Behavior(run_seconds=5.0, exit_code=2), id="pod-wide"),
    pytest.param({"kubemu.io/exit-after": "5s", "kubemu.io/exit-after.web": "7"}, False,
                 Behavior(run_seconds=7.0), id="per-container-wins"),
    pytest.param({"kubemu.io/exit-after.other": "5s"}, False, Behavior(), id="other-container"),
    pytest.param({"kubemu.io/stop-after": "20s", "kubemu.io/stop-exit-code": "143"}, False,
                 Behavior(stop_seconds=20.0, stop_exit_code=143), id="stop"),
])
def test_behavior_from_annotations(ann: dict[str, str], init: bool, expect: Behavior) -> None:
    pod = {"metadata": {"annotations": ann}}
    assert behavior_for(pod, {"name": "web", "image": "x"}, init=init) == expect


def test_container_stop_and_exit_times() -> None:
    img = RegistryImage("docker.io/library/x:1", 1, 1.0)
    c = Container("id", "web", img, Behavior(run_seconds=10.0, stop_seconds=3.0), 0.0)
    c.start(1.0, 1.0)
    assert c.exit_at == 11.0
    assert c.stop(5.0, 30.0, 1.0) == 8.0  # SIGTERM handled in 3 s
    assert not c.observe(7.9) and c.observe(8.0)
    assert (c.state, c.exit_code, c.finished_at, c.reason) == ("terminated", 0, 8.0, "Completed")
    c2 = Container("id2", "web", img, Behavior(run_seconds=10.0, stop_seconds=30.0), 0.0)
    c2.start(1.0, 1.0)
    assert c2.stop(9.0, 5.0, 1.0) == 11.0  # exits by itself before the SIGKILL at 14
    assert c2.observe(11.0) and c2.exit_code == 0


@pytest.mark.parametrize("seconds,text", [
    (0, "0s"), (0.0004, "0s"), (0.25, "250ms"), (1.2, "1.2s"), (2, "2s"), (62.5, "1m2.5s"),
    (3605, "1h0m5s"), (1.23456, "1.234s"),
])
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


@pytest.mark.parametrize("text,seconds", [
    ("10s", 10.0), ("500ms", 0.5), ("5m", 300.0), ("1h30m", 5400.0), (3, 3.0), ("2.5", 2.5),
])
def test_parse_duration(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_backoff_doubles_caps_and_resets() -> None:
    b = Backoff()
    assert not b.in_backoff_since_update(0.0)
    b.next(0.0, 0.0, 10.0, 300.0, 600.0)
    assert b.duration == 10.0 and b.in_backoff_since_update(9.9)
    assert not b.in_backoff_since_update(10.0)
    for _ in range(10):
        b.next(20.0, 20.0, 10.0, 300.0, 600.0)
    assert b.duration == 300.0
    b.next(1000.0, 1000.0, 10.0, 300.0, 600.0)  # stable for > 2 x max: start over
    assert b.duration == 10.0
