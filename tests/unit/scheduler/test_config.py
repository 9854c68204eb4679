"""KubeSchedulerConfiguration: defaults, upstream's plugin-set merge semantics,
validation errors with field paths, and several profiles served by one scheduler."""

from __future__ import annotations

import random
from typing import Any

import pytest

from actors.common.clock import FakeClock
from actors.scheduler.config import ConfigError, load, parse_config
from actors.scheduler.framework import Framework
from actors.scheduler.registry import DEFAULT_PLUGINS
from actors.scheduler.scheduler import Scheduler

from .builders import make_node, make_pod

DEFAULT_SCORE = [(n, w) for n, w in DEFAULT_PLUGINS if w]
DEFAULT_FILTERS = ["NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity", "NodePorts",
                   "NodeResourcesFit", "PodTopologySpread", "InterPodAffinity"]


def only(fwk: Framework) -> tuple[list[str], list[tuple[str, int]]]:
    return [p.name for p in fwk.filter_plugins], [(p.name, w) for p, w in fwk.score_plugins]


def profile(plugins: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    return {"profiles": [{"schedulerName": "default-scheduler", "plugins": plugins or {}, **kw}]}


def test_defaults() -> None:
    cfg, fwks = load(None)
    assert (cfg.percentage_of_nodes_to_score, cfg.pod_initial_backoff_seconds, cfg.pod_max_backoff_seconds) == \
        (0, 1.0, 10.0)
    assert list(fwks) == ["default-scheduler"]
    assert only(fwks["default-scheduler"]) == (DEFAULT_FILTERS, DEFAULT_SCORE)
    assert fwks["default-scheduler"].percentage_of_nodes_to_score is None


def with_weight(changes: dict[str, int | None]) -> list[tuple[str, int]]:
    """DEFAULT_SCORE with some weights changed (None: removed)."""
    return [(n, changes.get(n, w)) for n, w in DEFAULT_SCORE if changes.get(n, w) is not None]  # type: ignore[misc]


@pytest.mark.parametrize("plugins,filters,scores", [
    pytest.param({"multiPoint": {"enabled": [{"name": "TaintToleration", "weight": 5}]}},
                 DEFAULT_FILTERS, with_weight({"TaintToleration": 5}), id="re-enabled-default-keeps-its-place"),
    pytest.param({"multiPoint": {"enabled": [{"name": "ImageLocality", "weight": 0}]}},
                 DEFAULT_FILTERS, DEFAULT_SCORE, id="weight-0-means-1"),
    pytest.param({"multiPoint": {"disabled": [{"name": "*"}], "enabled": [{"name": "NodeResourcesFit"}]}},
                 ["NodeResourcesFit"], [("NodeResourcesFit", 1)], id="disable-all-then-enable-one"),
    pytest.param({"multiPoint": {"disabled": [{"name": "ImageLocality"}, {"name": "TaintToleration"}]}},
                 [f for f in DEFAULT_FILTERS if f != "TaintToleration"],
                 with_weight({"ImageLocality": None, "TaintToleration": None}), id="multipoint-disabled"),
    pytest.param({"score": {"disabled": [{"name": "*"}], "enabled": [{"name": "ImageLocality", "weight": 7}]}},
                 DEFAULT_FILTERS, [("ImageLocality", 7)], id="score-only-image-locality"),
    pytest.param({"filter": {"disabled": [{"name": "TaintToleration"}]}},
                 [f for f in DEFAULT_FILTERS if f != "TaintToleration"], DEFAULT_SCORE,
                 id="disabled-at-one-point-only"),
    pytest.param({"score": {"enabled": [{"name": "NodeResourcesFit", "weight": 4}]}},
                 DEFAULT_FILTERS,
                 [("NodeResourcesFit", 4)] + [(n, w) for n, w in DEFAULT_SCORE if n != "NodeResourcesFit"],
                 id="explicit-override-goes-first-with-its-weight"),
    pytest.param({"filter": {"enabled": [{"name": "NodePorts"}]}},
                 ["NodePorts"] + [f for f in DEFAULT_FILTERS if f != "NodePorts"], DEFAULT_SCORE,
                 id="explicit-filter-override-goes-first"),
    pytest.param({"multiPoint": {"disabled": [{"name": "*"}]},
                  "filter": {"enabled": [{"name": "NodeName"}]}, "score": {"enabled": [{"name": "ImageLocality"}]}},
                 ["NodeName"], [("ImageLocality", 1)], id="only-explicit-points"),
    pytest.param({"queueSort": {"enabled": [{"name": "PrioritySort"}]}, "bind": {"enabled": [{"name": "DefaultBinder"}]}},
                 DEFAULT_FILTERS, DEFAULT_SCORE, id="built-in-points-accepted"),
])
def test_plugin_merge(plugins: dict[str, Any], filters: list[str], scores: list[tuple[str, int]]) -> None:
    _, fwks = load(profile(plugins))
    assert only(fwks["default-scheduler"]) == (filters, scores)


@pytest.mark.parametrize("raw,errors", [
    pytest.param(profile({"score": {"enabled": [{"name": "ImageLocality"}, {"name": "Foo"}]}}),
                 ['profiles[0].plugins.score.enabled[1].name: Invalid value: "Foo": plugin not registered'],
                 id="unknown-plugin"),
    pytest.param(profile({"filter": {"enabled": [{"name": "ImageLocality"}]}}),
                 ['profiles[0].plugins.filter.enabled[0].name: Invalid value: "ImageLocality": '
                  "plugin does not implement filter"], id="wrong-extension-point"),
    pytest.param(profile({"multiPoint": {"disabled": [{"name": "*"}],
                                         "enabled": [{"name": "NodeName"}, {"name": "NodeName"}]}}),
                 ['profiles[0].plugins.multiPoint.enabled[1].name: Duplicate value: "NodeName"'],
                 id="multipoint-twice"),
    pytest.param(profile({"score": {"enabled": [{"name": "ImageLocality", "weight": -1}]}}),
                 ["profiles[0].plugins.score.enabled[0].weight: Invalid value: -1: must be a non-negative integer"],
                 id="negative-weight"),
    pytest.param({"percentageOfNodesToScore": 101, "podInitialBackoffSeconds": 0, "podMaxBackoffSeconds": -1},
                 ["percentageOfNodesToScore: Invalid value: 101: not in valid range [0-100]",
                  "podInitialBackoffSeconds: Invalid value: 0: must be greater than 0",
                  "podMaxBackoffSeconds: Invalid value: -1: must be greater than or equal to PodInitialBackoffSeconds"],
                 id="global-values-all-reported"),
    pytest.param({"podInitialBackoffSeconds": 5, "podMaxBackoffSeconds": 2},
                 ["podMaxBackoffSeconds: Invalid value: 2: must be greater than or equal to PodInitialBackoffSeconds"],
                 id="max-backoff-below-initial"),
    pytest.param({"profiles": [{"schedulerName": "a", "percentageOfNodesToScore": -5}, {}]},
                 ["profiles[0].percentageOfNodesToScore: Invalid value: -5: not in valid range [0-100]",
                  "profiles[1].schedulerName: Required value"], id="profile-values"),
    pytest.param({"profiles": [{"schedulerName": "a"}, {"schedulerName": "a"}]},
                 ["profiles[1].schedulerName: Duplicate value: profiles[0].schedulerName"], id="duplicate-profile"),
    pytest.param(profile(pluginConfig=[{"name": "NodeResourcesFit", "args": {}},
                                       {"name": "NodeResourcesFit", "args": {}}]),
                 ['profiles[0].pluginConfig[1]: Duplicate value: "NodeResourcesFit"'], id="plugin-config-twice"),
    pytest.param(profile(pluginConfig=[{"name": "NodeResourcesFit",
                                        "args": {"scoringStrategy": {"type": "Nope"}}}]),
                 ['profiles[0].pluginConfig[0].args: Invalid value: {"scoringStrategy":{"type":"Nope"}}: '
                  "scoring strategy Nope is not supported"], id="bad-plugin-args"),
    pytest.param({"percentageOfNodeToScore": 10},
                 ['percentageOfNodeToScore: Invalid value: "percentageOfNodeToScore": unknown field'],
                 id="typo-in-a-field"),
])
def test_invalid(raw: dict[str, Any], errors: list[str]) -> None:
    with pytest.raises(ConfigError) as e:
        parse_config(raw)
    assert isinstance(e.value, ValueError)
    assert e.value.messages() == errors


def node(name: str, cpu: str = "2") -> dict[str, Any]:
    return make_node().name(name).cap(cpu=cpu, memory="4Gi", pods=110).obj()


def test_plugin_args_reach_the_plugin() -> None:
    raw = profile(pluginConfig=[{"name": "NodeResourcesFit", "args": {"ignoredResources": ["example.com/foo"]}}])
    _, fwks = load(raw)
    sched = Scheduler(FakeClock(), random.Random(0), profiles=fwks)
    sched.on_node_add(node("n1"))
    sched.on_pod_add(make_pod().name("p").req(**{"example.com/foo": "1"}).obj())
    cycle = sched.schedule_next()
    assert cycle is not None and cycle.bind is not None and cycle.bind.node == "n1"


def test_several_profiles_one_scheduler() -> None:
    cfg, fwks = load({"percentageOfNodesToScore": 60, "profiles": [
        {"schedulerName": "default-scheduler"},
        {"schedulerName": "packer", "percentageOfNodesToScore": 100,
         "plugins": {"score": {"disabled": [{"name": "*"}], "enabled": [{"name": "ImageLocality"}]}}}]})
    sched = Scheduler(FakeClock(), random.Random(0), profiles=fwks,
                      percentage_of_nodes_to_score=cfg.percentage_of_nodes_to_score)
    for i in range(200):
        sched.on_node_add(node(f"n{i:03d}"))
    sched.on_pod_add(make_pod().name("a").obj())
    sched.on_pod_add(make_pod().name("b").scheduler("packer").obj())
    sched.on_pod_add(make_pod().name("c").scheduler("someone-else").obj())
    assert sched.queue.lengths()["active"] == 2  # "c" is not ours
    got = {}
    while (cycle := sched.schedule_next()) is not None:
        assert cycle.bind is not None and cycle.decision is not None
        got[cycle.bind.name] = (cycle.decision["profile"], cycle.bind.result.evaluated_nodes,
                                cycle.decision["scorePlugins"])
    assert got["a"][:2] == ("default-scheduler", 120)
    assert got["b"] == ("packer", 200, ["ImageLocality"])
    assert set(sched.status()["framework_metrics"]) == {"default-scheduler", "packer"}
