"""cluster.yaml: its schema, defaults and validation (pure).

A bad file gets every problem at once, each naming the field path and the value in
Kubernetes' own form (`nodes[1].capacity.cpu: Invalid value: "lots": ...`). Durations
are Go-style strings ("10s", "500ms", "5m", "1h30m") or plain numbers of seconds;
every duration is an upstream default unless set, and `timeScale` multiplies them all
(`ClusterConfig.scaled(seconds)`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

# upstream defaults, in seconds
DEFAULT_TIMINGS: dict[str, float] = {
    "nodeLeaseDurationSeconds": 40.0,
    "nodeStatusUpdateFrequency": 10.0,
    "nodeStatusReportFrequency": 300.0,
    "nodeMonitorPeriod": 5.0,
    "nodeMonitorGracePeriod": 50.0,
    "defaultTolerationSeconds": 300.0,
    "crashLoopBackOffInitial": 10.0,
    "crashLoopBackOffMax": 300.0,
    "crashLoopBackOffReset": 600.0,
}


class ConfigError(Exception):
    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        lines = "\n".join(f"  {e}" for e in errors)
        super().__init__(f"{source} is invalid:\n{lines}")


def parse_duration(v: Any) -> float:
    """Seconds from "10s", "500ms", "1h30m" or a number of seconds."""
    if isinstance(v, bool):
        raise ValueError("must be a duration such as 10s, 500ms or 5m")
    if isinstance(v, (int, float)):
        if v < 0:
            raise ValueError("must be greater than or equal to 0")
        return float(v)
    if not isinstance(v, str) or not v:
        raise ValueError("must be a duration such as 10s, 500ms or 5m")
    pos, total = 0, 0.0
    for m in _DURATION.finditer(v):
        if m.start() != pos:
            break
        n, unit = float(m.group(1)), m.group(2)
        total += n * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
        pos = m.end()
    if pos != len(v):
        raise ValueError("must be a duration such as 10s, 500ms or 5m")
    return total


@dataclass
class NodeSpec:
    name: str
    capacity: dict[str, str]
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, str]] = field(default_factory=list)


DEFAULT_NODES_PER_ACTOR = 1000


@dataclass
class NodePoolSpec:
    """`count` hollow nodes named `<name>-<i>`, `nodes_per_actor` per pool actor;
    `zones` are assigned round robin as topology.kubernetes.io/zone labels."""
    name: str
    count: int
    nodes_per_actor: int = DEFAULT_NODES_PER_ACTOR
    capacity: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, str]] = field(default_factory=list)
    zones: list[str] = field(default_factory=list)

    def node_names(self) -> list[str]:
        return [f"{self.name}-{i}" for i in range(self.count)]

    def node(self, i: int) -> NodeSpec:
        labels = dict(self.labels)
        if self.zones:
            labels["topology.kubernetes.io/zone"] = self.zones[i % len(self.zones)]
        labels["kubemu.io/node-pool"] = self.name
        return NodeSpec(name=f"{self.name}-{i}", capacity=dict(self.capacity), labels=labels,
                        taints=[dict(t) for t in self.taints])

    def actors(self) -> list[tuple[str, range]]:
        """(actor name, node indexes) per pool actor: pool-<name>-<k>."""
        return [(f"pool-{self.name}-{k}", range(lo, min(lo + self.nodes_per_actor, self.count)))
                for k, lo in enumerate(range(0, self.count, self.nodes_per_actor))]


@dataclass
class ImageSpec:
    size_bytes: int
    pull_seconds: float


@dataclass
class ClusterConfig:
    name: str = "kubemu"
    time_scale: float = 1.0
    etcd_members: int = 3
    etcd_snapshot_count: int = 10_000
    apiserver_replicas: int = 1
    # the REST API: kube-apiserver's --bind-address (kubemu: loopback) and --secure-port
    # (0: a free port, so clusters side by side never collide)
    apiserver_bind_address: str = "127.0.0.1"
    apiserver_secure_port: int = 0
    nodes: list[NodeSpec] = field(default_factory=list)
    node_pools: list[NodePoolSpec] = field(default_factory=list)
    scheduler: dict[str, Any] = field(default_factory=dict)
    images: dict[str, ImageSpec] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIMINGS))
    source: str = "cluster.yaml"

    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale

    def timing(self, name: str) -> float:
        """A configured duration in real (scaled) seconds."""
        return self.scaled(self.timings[name])


def _q(v: Any) -> str:
    return f'"{v}"' if isinstance(v, str) else repr(v)


def parse(doc: Any, source: str = "cluster.yaml") -> ClusterConfig:
    """Validate a parsed YAML document; raises ConfigError listing every problem."""
    from actors.api.quantity import parse_quantity

    errs: list[str] = []

    def bad(path: str, value: Any, why: str) -> None:
        errs.append(f"{path}: Invalid value: {_q(value)}: {why}")

    if not isinstance(doc, dict):
        raise ConfigError(source, [f"<root>: Invalid value: {_q(doc)}: must be a mapping"])
    known = {"name", "timeScale", "etcd", "apiserver", "nodes", "nodePools", "registry",
             "timings", "scheduler"}
    for k in doc:
        if k not in known:
            errs.append(f"{k}: Unsupported value: {_q(k)}: supported values: "
                        + ", ".join(f'"{x}"' for x in sorted(known)))
    cfg = ClusterConfig(source=source)
    name = doc.get("name", "kubemu")
    if not isinstance(name, str) or not DNS1123_LABEL.match(name) or len(name) > 63:
        bad("name", name, "must be a DNS-1123 label (lowercase letters, digits and '-')")
    else:
        cfg.name = name
    ts = doc.get("timeScale", 1.0)
    if isinstance(ts, bool) or not isinstance(ts, (int, float)) or ts <= 0:
        bad("timeScale", ts, "must be a number greater than 0")
    else:
        cfg.time_scale = float(ts)

    etcd = doc.get("etcd") or {}
    if not isinstance(etcd, dict):
        bad("etcd", etcd, "must be a mapping")
        etcd = {}
    members = etcd.get("members", 3)
    if members not in (1, 3, 5) or isinstance(members, bool):
        errs.append(f"etcd.members: Unsupported value: {_q(members)}: supported values: 1, 3, 5")
    else:
        cfg.etcd_members = members
    sc = etcd.get("snapshotCount", 10_000)
    if isinstance(sc, bool) or not isinstance(sc, int) or sc < 10:
        bad("etcd.snapshotCount", sc, "must be an integer of at least 10")
    else:
        cfg.etcd_snapshot_count = sc

    api = doc.get("apiserver") or {}
    if not isinstance(api, dict):
        bad("apiserver", api, "must be a mapping")
        api = {}
    for k in api:
        if k not in ("replicas", "bindAddress", "securePort"):
            errs.append(f'apiserver.{k}: Unsupported value: {_q(k)}: supported values: '
                        '"bindAddress", "replicas", "securePort"')
    reps = api.get("replicas", 1)
    if reps != 1:
        errs.append(f"apiserver.replicas: Unsupported value: {_q(reps)}: supported values: 1")
    bind = api.get("bindAddress", "127.0.0.1")
    try:
        import ipaddress

        ipaddress.ip_address(bind)
        cfg.apiserver_bind_address = str(bind)
    except ValueError:
        bad("apiserver.bindAddress", bind, "must be an IP address")
    port = api.get("securePort", 0)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        bad("apiserver.securePort", port, "must be between 0 and 65535, inclusive")
    else:
        cfg.apiserver_secure_port = port

    def node_fields(p: str, n: dict[str, Any]) -> tuple[dict[str, str], dict[str, str],
                                                        list[dict[str, str]]]:
        cap = n.get("capacity") or {}
        if not isinstance(cap, dict):
            bad(f"{p}.capacity", cap, "must be a mapping")
            cap = {}
        capacity = {"cpu": "2", "memory": "4Gi", "pods": "110"}
        for k, v in cap.items():
            if k not in ("cpu", "memory", "pods", "ephemeral-storage"):
                errs.append(f'{p}.capacity.{k}: Unsupported value: {_q(k)}: supported values: '
                            '"cpu", "memory", "pods", "ephemeral-storage"')
                continue
            try:
                q = parse_quantity(v)
                if q <= 0:
                    raise ValueError("must be greater than 0")
            except (ValueError, TypeError) as e:
                bad(f"{p}.capacity.{k}", v, str(e))
                continue
            capacity[k] = str(v)
        labels = n.get("labels") or {}
        if not isinstance(labels, dict) or not all(isinstance(k, str) for k in labels):
            bad(f"{p}.labels", labels, "must be a map of strings")
            labels = {}
        taints = n.get("taints") or []
        clean_taints = []
        for j, t in enumerate(taints if isinstance(taints, list) else []):
            tp = f"{p}.taints[{j}]"
            if not isinstance(t, dict) or not t.get("key"):
                errs.append(f"{tp}.key: Required value")
                continue
            eff = t.get("effect")
            if eff not in TAINT_EFFECTS:
                errs.append(f"{tp}.effect: Unsupported value: {_q(eff)}: supported values: "
                            + ", ".join(f'"{x}"' for x in TAINT_EFFECTS))
                continue
            clean = {"key": str(t["key"]), "effect": eff}
            if t.get("value") is not None:
                clean["value"] = str(t["value"])
            clean_taints.append(clean)
        return capacity, {str(k): str(v) for k, v in labels.items()}, clean_taints

    nodes = doc.get("nodes")
    pools = doc.get("nodePools")
    if nodes is None and pools:
        nodes = []
    if not isinstance(nodes, list) or (not nodes and not pools):
        errs.append("nodes: Required value: at least one node (or a nodePool)")
        nodes = []
    seen: set[str] = set()
    for i, n in enumerate(nodes):
        p = f"nodes[{i}]"
        if not isinstance(n, dict):
            bad(p, n, "must be a mapping")
            continue
        nname = n.get("name")
        if not isinstance(nname, str) or not DNS1123_SUBDOMAIN.match(nname):
            if nname is None:
                errs.append(f"{p}.name: Required value")
            else:
                bad(f"{p}.name", nname, "must be a DNS-1123 subdomain")
            continue
        if nname in seen:
            errs.append(f"{p}.name: Duplicate value: {_q(nname)}")
        seen.add(nname)
        capacity, labels, taints = node_fields(p, n)
        cfg.nodes.append(NodeSpec(name=nname, capacity=capacity, labels=labels, taints=taints))

    for i, pl in enumerate(pools if isinstance(pools, list) else []):
        p = f"nodePools[{i}]"
        if not isinstance(pl, dict):
            bad(p, pl, "must be a mapping")
            continue
        pname = pl.get("name")
        if not isinstance(pname, str) or not DNS1123_LABEL.match(pname) or len(pname) > 40:
            if pname is None:
                errs.append(f"{p}.name: Required value")
            else:
                bad(f"{p}.name", pname, "must be a DNS-1123 label of at most 40 characters")
            continue
        count = pl.get("count")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 20000:
            if count is None:
                errs.append(f"{p}.count: Required value")
            else:
                bad(f"{p}.count", count, "must be an integer between 1 and 20000")
            continue
        per = pl.get("nodesPerActor", DEFAULT_NODES_PER_ACTOR)
        if isinstance(per, bool) or not isinstance(per, int) or per < 1:
            bad(f"{p}.nodesPerActor", per, "must be an integer of at least 1")
            per = DEFAULT_NODES_PER_ACTOR
        zones = pl.get("zones") or []
        if not isinstance(zones, list) or not all(isinstance(z, str) and z for z in zones):
            bad(f"{p}.zones", zones, "must be a list of zone names")
            zones = []
        capacity, labels, taints = node_fields(p, pl)
        spec = NodePoolSpec(name=pname, count=count, nodes_per_actor=per, capacity=capacity,
                            labels=labels, taints=taints, zones=[str(z) for z in zones])
        for nname in spec.node_names():
            if nname in seen:
                errs.append(f"{p}.name: Duplicate value: {_q(pname)}: node {nname} already exists")
                break
            seen.add(nname)
        cfg.node_pools.append(spec)

    sched = doc.get("scheduler")
    if sched is not None:
        if not isinstance(sched, dict):
            bad("scheduler", sched, "must be a mapping (a KubeSchedulerConfiguration)")
        else:
            from actors.scheduler.config import ConfigError as SchedulerConfigError
            from actors.scheduler.config import build_frameworks, parse_config

            try:
                build_frameworks(parse_config(sched))
                cfg.scheduler = sched
            except SchedulerConfigError as e:
                errs.extend(f"scheduler.{m}" if not m.startswith(":") else f"scheduler{m}"
                            for m in e.messages())

    reg = (doc.get("registry") or {}).get("images") if isinstance(doc.get("registry"), dict) \
        else None
    for img, spec in (reg or {}).items():
        p = f"registry.images[{img}]"
        if not isinstance(spec, dict):
            bad(p, spec, "must be a mapping with size and pullTime")
            continue
        try:
            size = int(parse_quantity(spec.get("size", "10Mi")))
        except (ValueError, TypeError) as e:
            bad(f"{p}.size", spec.get("size"), str(e))
            continue
        try:
            pull = parse_duration(spec.get("pullTime", "1s"))
        except ValueError as e:
            bad(f"{p}.pullTime", spec.get("pullTime"), str(e))
            continue
        cfg.images[str(img)] = ImageSpec(size_bytes=size, pull_seconds=pull)

    timings = doc.get("timings") or {}
    if not isinstance(timings, dict):
        bad("timings", timings, "must be a mapping")
        timings = {}
    for k, v in timings.items():
        if k not in DEFAULT_TIMINGS:
            errs.append(f"timings.{k}: Unsupported value: {_q(k)}: supported values: "
                        + ", ".join(f'"{x}"' for x in DEFAULT_TIMINGS))
            continue
        try:
            cfg.timings[k] = parse_duration(v)
        except ValueError as e:
            bad(f"timings.{k}", v, str(e))
    if errs:
        raise ConfigError(source, errs)
    return cfg


def load(path: str) -> ClusterConfig:
    try:
        with open(path) as f:
            doc = yaml.safe_load(f)
    except OSError as e:
        raise ConfigError(path, [f"<file>: Not found: {_q(path)}: {e.strerror}"]) from None
    except yaml.YAMLError as e:
        raise ConfigError(path, [f"<yaml>: Invalid value: {str(e).splitlines()[0]}"]) from None
    return parse(doc, path)
