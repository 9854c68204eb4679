"""cluster.yaml: the shipped file loads; bad files name the field and the value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from actors.common.config import ConfigError, load, parse, parse_duration

ROOT = Path(__file__).resolve().parents[3]


def test_shipped_cluster_yaml_loads_with_upstream_defaults() -> None:
    cfg = load(str(ROOT / "cluster.yaml"))
    assert cfg.name == "kubemu" and cfg.etcd_members == 3 and len(cfg.nodes) == 3
    assert cfg.timings["nodeMonitorGracePeriod"] == 50 and cfg.timings["nodeMonitorPeriod"] == 5
    assert cfg.timings["nodeLeaseDurationSeconds"] == 40
    assert cfg.timings["defaultTolerationSeconds"] == 300
    assert cfg.images["nginx:1.25"].pull_seconds == 2.0
    assert cfg.nodes[0].capacity["cpu"] == "4"


def test_time_scale_compresses_every_duration() -> None:
    cfg = parse({"nodes": [{"name": "n1"}], "timeScale": 0.1})
    assert cfg.timing("nodeMonitorGracePeriod") == pytest.approx(5.0)
    assert cfg.timing("defaultTolerationSeconds") == pytest.approx(30.0)


def _base(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": "c", "nodes": [{"name": "n1"}]}
    doc.update(over)
    return doc


@pytest.mark.parametrize("doc,expected", [
    pytest.param(_base(nodes=[{"name": "n1", "capacity": {"cpu": "lots"}}]),
                 'nodes[0].capacity.cpu: Invalid value: "lots"', id="bad-quantity"),
    pytest.param(_base(nodes=[{"name": "n1"}, {"name": "n1"}]),
                 'nodes[1].name: Duplicate value: "n1"', id="duplicate-node"),
    pytest.param(_base(nodes=[{"name": "Node_1"}]),
                 'nodes[0].name: Invalid value: "Node_1": must be a DNS-1123 subdomain',
                 id="bad-node-name"),
    pytest.param(_base(etcd={"members": 2}),
                 "etcd.members: Unsupported value: 2: supported values: 1, 3, 5", id="even-etcd"),
    pytest.param(_base(timeScale=0), "timeScale: Invalid value: 0: must be a number greater than 0",
                 id="zero-timescale"),
    pytest.param(_base(timings={"nodeMonitorGracePeriod": "fifty"}),
                 'timings.nodeMonitorGracePeriod: Invalid value: "fifty"', id="bad-duration"),
    pytest.param(_base(timings={"nodeGrace": "5s"}), 'timings.nodeGrace: Unsupported value',
                 id="unknown-timing"),
    pytest.param(_base(nodes=[{"name": "n1", "taints": [{"key": "k", "effect": "Never"}]}]),
                 'nodes[0].taints[0].effect: Unsupported value: "Never"', id="bad-taint"),
    pytest.param(_base(nodes=[]), "nodes: Required value", id="no-nodes"),
    pytest.param(_base(extra=1), 'extra: Unsupported value: "extra"', id="unknown-field"),
    pytest.param(_base(name="Bad Name"), 'name: Invalid value: "Bad Name"', id="bad-name"),
    pytest.param(_base(nodePools=[{"name": "hollow", "count": 0}]),
                 'nodePools[0].count: Invalid value: 0', id="pool-count"),
    pytest.param(_base(nodePools=[{"name": "n", "count": 2}], nodes=[{"name": "n-1"}]),
                 'nodePools[0].name: Duplicate value: "n": node n-1 already exists',
                 id="pool-node-name-clash"),
    pytest.param(_base(scheduler={"profiles": [{"plugins": {"score": {"enabled": [{"name": "Foo"}]}}}]}),
                 'scheduler.profiles[0].plugins.score.enabled[0].name: Invalid value: "Foo": '
                 'plugin not registered', id="scheduler-unknown-plugin"),
    pytest.param(_base(apiserver={"bindAddress": "localhost"}),
                 'apiserver.bindAddress: Invalid value: "localhost": must be an IP address',
                 id="bind-address-not-ip"),
    pytest.param(_base(apiserver={"securePort": 70000}),
                 "apiserver.securePort: Invalid value: 70000: must be between 0 and 65535",
                 id="secure-port-range"),
    pytest.param(_base(apiserver={"port": 6443}), 'apiserver.port: Unsupported value: "port"',
                 id="apiserver-unknown-field"),
])
def test_bad_config_names_field_and_value(doc: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as ei:
        parse(doc)
    assert any(e.startswith(expected) for e in ei.value.errors), ei.value.errors


def test_every_error_reported_at_once() -> None:
    with pytest.raises(ConfigError) as ei:
        parse(_base(timeScale=-1, etcd={"members": 4}))
    assert len(ei.value.errors) == 2


def test_unparseable_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("nodes: [\n")
    with pytest.raises(ConfigError, match="<yaml>"):
        load(str(bad))
    with pytest.raises(ConfigError, match="Not found"):
        load(str(tmp_path / "missing.yaml"))


@pytest.mark.parametrize("text,seconds", [
    ("10s", 10), ("500ms", 0.5), ("5m", 300), ("1h30m", 5400), (7, 7), (0.25, 0.25)])
def test_durations(text: Any, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "10", "5 s", "1d", "-3s", True])
def test_bad_durations(text: Any) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_round_trip_of_shipped_file_is_valid_yaml() -> None:
    assert isinstance(yaml.safe_load((ROOT / "cluster.yaml").read_text()), dict)


def test_rest_api_listens_on_loopback_unless_told() -> None:
    cfg = parse(_base())
    assert (cfg.apiserver_bind_address, cfg.apiserver_secure_port) == ("127.0.0.1", 0)
    cfg = parse(_base(apiserver={"bindAddress": "0.0.0.0", "securePort": 6443}))
    assert (cfg.apiserver_bind_address, cfg.apiserver_secure_port) == ("0.0.0.0", 6443)


def test_node_pools_name_zone_and_split_hollow_nodes() -> None:
    cfg = parse(_base(nodes=None, nodePools=[{"name": "hollow", "count": 5, "nodesPerActor": 2,
                                              "zones": ["a", "b"],
                                              "capacity": {"cpu": "8"}}]))
    pool = cfg.node_pools[0]
    assert pool.node_names() == [f"hollow-{i}" for i in range(5)]
    assert [(a, list(r)) for a, r in pool.actors()] == [
        ("pool-hollow-0", [0, 1]), ("pool-hollow-1", [2, 3]), ("pool-hollow-2", [4])]
    n3 = pool.node(3)
    assert n3.labels["topology.kubernetes.io/zone"] == "b"
    assert n3.capacity["cpu"] == "8" and n3.capacity["pods"] == "110"


def test_scheduler_section_is_kept_for_the_scheduler() -> None:
    cfg = parse(_base(scheduler={"percentageOfNodesToScore": 20}))
    assert cfg.scheduler == {"percentageOfNodesToScore": 20}
