"""ImageLocality: image sizes scaled by spread, the 23 MiB / 1000 MiB-per-container
thresholds, normalized names, and the index kept across cycles."""

from __future__ import annotations

import random
from typing import Any, Sequence

import pytest

from actors.scheduler.framework import Snapshot
from actors.scheduler.plugins import image_locality
from actors.scheduler.registry import new_framework
from actors.scheduler.schedule import schedule_one

from . import plugin_harness as harness
from .builders import make_node, make_pod

MB = 1024 * 1024
NGINX = "docker.io/library/nginx:1.25"
NGINX_ID = "docker.io/library/nginx@sha256:" + "a" * 64
REDIS = "docker.io/library/redis:7"


def node(name: str, *images: tuple[int, str]) -> Any:
    b = make_node().name(name).cap(cpu="4", memory="8Gi", pods=110)
    for size, ref in images:
        b.image(size, ref)
    return b


def scores(pod: dict[str, Any], nodes: Sequence[dict[str, Any]],
           plugin: image_locality.ImageLocality | None = None) -> dict[str, int] | None:
    return harness.run_scores(plugin or image_locality.new(), pod, (), nodes)


@pytest.mark.parametrize("pod,nodes,want", [
    # 500 MiB on one node of two: int(500 MiB * 1/2) = 250 MiB -> 100 * 227 // 977 = 23
    pytest.param(make_pod().image("nginx:1.25").obj(),
                 [node("n1", (500 * MB, NGINX)).obj(), node("n2").obj()], {"n1": 23, "n2": 0},
                 id="spread-halves-the-size"),
    # on both nodes: 500 MiB -> 100 * 477 // 977 = 48
    pytest.param(make_pod().image("nginx:1.25").obj(),
                 [node("n1", (500 * MB, NGINX)).obj(), node("n2", (500 * MB, NGINX)).obj()],
                 {"n1": 48, "n2": 48}, id="on-every-node"),
    pytest.param(make_pod().image("nginx:1.25").obj(),
                 [node("n1", (3000 * MB, NGINX)).obj()], {"n1": 100}, id="above-max-threshold-is-100"),
    pytest.param(make_pod().image("nginx:1.25").obj(),
                 [node("n1", (20 * MB, NGINX)).obj()], {"n1": 0}, id="below-23MiB-is-0"),
    pytest.param(make_pod().image("nginx").obj(),
                 [node("n1", (500 * MB, "docker.io/library/nginx:latest")).obj()], {"n1": 48},
                 id="untagged-is-latest-and-docker-hub"),
    pytest.param(make_pod().image("docker.io/library/nginx:1.25").obj(),
                 [node("n1", (500 * MB, "nginx:1.25")).obj()], {"n1": 48}, id="node-name-normalized-too"),
    pytest.param(make_pod().image("nginx@sha256:" + "a" * 64).obj(),
                 [node("n1", (500 * MB, NGINX_ID)).obj()], {"n1": 48}, id="by-digest"),
    pytest.param(make_pod().image("nginx:1.27").obj(),
                 [node("n1", (500 * MB, NGINX)).obj()], {"n1": 0}, id="other-tag-does-not-count"),
    pytest.param(make_pod().image("localhost:5000/app").obj(),
                 [node("n1", (500 * MB, "localhost:5000/app:latest")).obj()], {"n1": 48},
                 id="registry-with-port"),
    # two containers: max threshold 2000 MiB; 500 + 700 = 1200 MiB -> 100 * 1177 // 1977 = 59
    pytest.param(make_pod().image("nginx:1.25").container().image("redis:7", 1).obj(),
                 [node("n1", (500 * MB, NGINX), (700 * MB, REDIS)).obj()], {"n1": 59},
                 id="two-containers-sum-and-double-threshold"),
    # the init container counts too (and raises the threshold): 700 MiB of 2000 -> 34
    pytest.param(make_pod().image("nginx:1.27").init_container().obj(),
                 [node("n1", (700 * MB, "docker.io/library/busybox:latest")).obj()], {"n1": 34},
                 id="init-container-counts"),
])
def test_score(pod: dict[str, Any], nodes: list[dict[str, Any]], want: dict[str, int]) -> None:
    assert scores(pod, nodes) == want


def test_index_follows_node_changes_across_cycles() -> None:
    pl = image_locality.new()
    pod = make_pod().image("nginx:1.25").obj()
    n1, n2 = node("n1", (500 * MB, NGINX)).obj(), node("n2").obj()
    assert scores(pod, [n1, n2], pl) == {"n1": 23, "n2": 0}
    # n2 pulls the image (a new Node object): the spread doubles
    n2_with = node("n2", (500 * MB, NGINX)).obj()
    assert scores(pod, [n1, n2_with], pl) == {"n1": 48, "n2": 48}
    # n2 is gone: n1 alone holds it, 1 of 1 node
    assert scores(pod, [n1], pl) == {"n1": 48}
    # a third node without it joins: 1 of 2 again
    assert scores(pod, [n1, node("n3").obj()], pl) == {"n1": 23, "n3": 0}
    assert pl.index.num_nodes == {NGINX: 1}


def test_prefers_the_node_with_the_image() -> None:
    nodes = [node(f"n{i}").obj() for i in range(4)] + [node("cached", (800 * MB, NGINX)).obj()]
    fwk = new_framework(plugins=[("NodeResourcesFit", 1), ("ImageLocality", 1)])
    r = schedule_one(make_pod().image("nginx:1.25").req(cpu="1").obj(), Snapshot.of(nodes), fwk,
                     random.Random(0))
    assert r.suggested_host == "cached"
    per_node = {s.name: dict(s.scores)["ImageLocality"] for s in r.scores}
    # 800 MiB on 1 of 5 nodes: int(160 MiB) -> 100 * 137 // 977 = 14
    assert per_node == {"n0": 0, "n1": 0, "n2": 0, "n3": 0, "cached": 14}


def test_in_the_default_profile_last_with_weight_one() -> None:
    fwk = new_framework()
    assert [(p.name, w) for p, w in fwk.score_plugins][-1] == ("ImageLocality", 1)
