"""kube-scheduler's scheduling framework, made pure: statuses, cycle state, plugin
protocols, NodeInfo/Snapshot and the runner of one profile's plugins.

A plugin implements any of the extension points below and is enabled at each of them
(upstream's `multiPoint`). Plugins never raise: they return a `Status`

    Success                       the node (or the pod) passes
    Unschedulable                 rejected; preemption might help
    UnschedulableAndUnresolvable  rejected; preemption cannot help
    Error                         an internal error: the whole cycle fails
    Skip                          (PreFilter/PreScore) "nothing to do for this pod": the
                                  plugin's Filter/Score is skipped for the cycle

and the reasons of a rejection are the strings that end up, counted, in the FitError
message (`framework.Status.Reasons()`).

Extension points (run in registration order):

    PreFilter(state, pod, nodes) -> (PreFilterResult | None, Status)
    Filter(state, pod, node_info) -> Status           first failing plugin wins for a node
    PreScore(state, pod, feasible_nodes) -> Status
    Score(state, pod, node_info) -> (int, Status)     then NormalizeScore over all nodes,
                                                      then x weight; totals are summed

`NodeInfo` is the aggregated view of one node (requested / non-zero requested
resources of its pods, used host ports, allocatable) and `Snapshot` the list of them a
scheduling cycle works on; `cache.Cache` keeps them up to date incrementally.
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping, Protocol, Sequence, runtime_checkable

from . import helpers
from .resources import Resource, node_allocatable, non_zero_requests, pod_resource

MAX_NODE_SCORE = 100
MIN_NODE_SCORE = 0

Pod = Mapping[str, Any]
Node = Mapping[str, Any]


class Code(enum.IntEnum):
    SUCCESS = 0
    ERROR = 1
    UNSCHEDULABLE = 2
    UNSCHEDULABLE_AND_UNRESOLVABLE = 3
    WAIT = 4
    SKIP = 5
    PENDING = 6


CODE_NAMES = {Code.SUCCESS: "Success", Code.ERROR: "Error", Code.UNSCHEDULABLE: "Unschedulable",
              Code.UNSCHEDULABLE_AND_UNRESOLVABLE: "UnschedulableAndUnresolvable",
              Code.WAIT: "Wait", Code.SKIP: "Skip", Code.PENDING: "Pending"}


@dataclass(frozen=True)
class Status:
    code: Code = Code.SUCCESS
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    def is_success(self) -> bool:
        return self.code == Code.SUCCESS

    def is_skip(self) -> bool:
        return self.code == Code.SKIP

    def is_rejected(self) -> bool:
        """Unschedulable, UnschedulableAndUnresolvable or Pending (not an error)."""
        return self.code in (Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE, Code.PENDING)

    def message(self) -> str:
        return ", ".join(self.reasons)

    def with_plugin(self, plugin: str) -> "Status":
        return replace(self, plugin=plugin)

    def __str__(self) -> str:
        return f"{CODE_NAMES[self.code]}: {self.message()}" if self.reasons else CODE_NAMES[self.code]


SUCCESS = Status()
SKIP = Status(Code.SKIP)


def new_status(code: Code, *reasons: str) -> Status:
    return Status(code, tuple(reasons))


def as_status(err: Exception | str) -> Status:
    return Status(Code.ERROR, (str(err),))


class CycleState:
    """Per-cycle scratch space shared by the plugins (keys are plugin-private)."""

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}
        self.skip_filter_plugins: set[str] = set()
        self.skip_score_plugins: set[str] = set()

    def write(self, key: str, value: Any) -> None:
        self._data[key] = value

    def read(self, key: str) -> Any:
        """The stored value; KeyError when the key was never written."""
        return self._data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)


# ---- NodeInfo -------------------------------------------------------------------------

DEFAULT_BIND_ALL_HOST_IP = "0.0.0.0"


class HostPortInfo:
    """framework.HostPortInfo: ip -> {(protocol, port)}; "" ip is 0.0.0.0, "" protocol TCP."""

    def __init__(self) -> None:
        self.ports: dict[str, set[tuple[str, int]]] = {}

    @staticmethod
    def _sanitize(ip: str, protocol: str) -> tuple[str, str]:
        return ip or DEFAULT_BIND_ALL_HOST_IP, protocol or "TCP"

    def add(self, ip: str, protocol: str, port: int) -> None:
        if port <= 0:
            return
        ip, protocol = self._sanitize(ip, protocol)
        self.ports.setdefault(ip, set()).add((protocol, port))

    def remove(self, ip: str, protocol: str, port: int) -> None:
        if port <= 0:
            return
        ip, protocol = self._sanitize(ip, protocol)
        s = self.ports.get(ip)
        if s is not None:
            s.discard((protocol, port))
            if not s:
                del self.ports[ip]

    def check_conflict(self, ip: str, protocol: str, port: int) -> bool:
        if port <= 0:
            return False
        ip, protocol = self._sanitize(ip, protocol)
        pp = (protocol, port)
        if ip == DEFAULT_BIND_ALL_HOST_IP:  # 0.0.0.0 conflicts with the pair on any ip
            return any(pp in s for s in self.ports.values())
        return any(pp in self.ports.get(k, ()) for k in (DEFAULT_BIND_ALL_HOST_IP, ip))

    def __len__(self) -> int:
        return sum(len(s) for s in self.ports.values())

    def clone(self) -> "HostPortInfo":
        h = HostPortInfo()
        h.ports = {k: set(v) for k, v in self.ports.items()}
        return h


@dataclass(frozen=True)
class HostPort:
    ip: str
    protocol: str
    port: int


def pod_host_ports(pod: Pod) -> list[HostPort]:
    """schedutil.GetHostPorts: the container (and sidecar) ports with a hostPort > 0."""
    spec = helpers.spec(pod)
    containers = list(spec.get("containers") or [])
    containers += [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    out: list[HostPort] = []
    for c in containers:
        for p in c.get("ports") or []:
            hp = p.get("hostPort") or 0
            if isinstance(hp, int) and hp > 0:
                out.append(HostPort(str(p.get("hostIP") or ""), str(p.get("protocol") or ""), hp))
    return out


def pod_uid_key(pod: Pod) -> str:
    """The cache's key for a pod: its UID (namespace/name for objects without one)."""
    uid = helpers.meta(pod).get("uid")
    return str(uid) if uid else helpers.pod_key(pod)


@dataclass
class PodInfo:
    """A pod plus what the scheduler derives from it once (framework.PodInfo)."""

    pod: Pod
    key: str
    requests: Resource
    non0_cpu: int
    non0_mem: int
    host_ports: list[HostPort]

    @classmethod
    def of(cls, pod: Pod) -> "PodInfo":
        cpu, mem = non_zero_requests(pod)
        return cls(pod, pod_uid_key(pod), pod_resource(pod), cpu, mem, pod_host_ports(pod))


_generation = itertools.count(1)


def next_generation() -> int:
    return next(_generation)


class NodeInfo:
    """framework.NodeInfo: a node with the aggregated state of the pods on it."""

    def __init__(self, node: Node | None = None, pods: Iterable[Pod] = ()) -> None:
        self.node: Node | None = None
        self.pods: list[PodInfo] = []
        self.requested = Resource()
        self.non_zero_requested = Resource()
        self.used_ports = HostPortInfo()
        self.allocatable = Resource()
        self.generation = next_generation()
        if node is not None:
            self.set_node(node)
        for p in pods:
            self.add_pod(p)

    @property
    def name(self) -> str:
        return helpers.name_of(self.node) if self.node is not None else ""

    def set_node(self, node: Node) -> None:
        self.node = node
        self.allocatable = node_allocatable(node)
        self.generation = next_generation()

    def remove_node(self) -> None:
        self.node = None
        self.generation = next_generation()

    def _update(self, pi: PodInfo, sign: int) -> None:
        self.requested.add(pi.requests, sign)
        self.non_zero_requested.milli_cpu += sign * pi.non0_cpu
        self.non_zero_requested.memory += sign * pi.non0_mem
        for hp in pi.host_ports:
            if sign > 0:
                self.used_ports.add(hp.ip, hp.protocol, hp.port)
            else:
                self.used_ports.remove(hp.ip, hp.protocol, hp.port)
        self.generation = next_generation()

    def add_pod(self, pod: Pod | PodInfo) -> None:
        pi = pod if isinstance(pod, PodInfo) else PodInfo.of(pod)
        self.pods.append(pi)
        self._update(pi, +1)

    def remove_pod(self, pod: Pod) -> bool:
        """Remove the pod with this pod's key; False when it was not on this node."""
        key = pod_uid_key(pod)
        for i, pi in enumerate(self.pods):
            if pi.key == key:
                del self.pods[i]
                self._update(pi, -1)
                return True
        return False

    def clone(self) -> "NodeInfo":
        c = NodeInfo.__new__(NodeInfo)
        c.node = self.node
        c.pods = list(self.pods)
        c.requested = self.requested.clone()
        c.non_zero_requested = self.non_zero_requested.clone()
        c.used_ports = self.used_ports.clone()
        c.allocatable = self.allocatable.clone()
        c.generation = self.generation
        return c

    def __repr__(self) -> str:
        return (f"NodeInfo({self.name!r}, pods={len(self.pods)}, requested=({self.requested.milli_cpu}m,"
                f" {self.requested.memory}), allocatable=({self.allocatable.milli_cpu}m,"
                f" {self.allocatable.memory}, pods={self.allocatable.allowed_pod_number}))")


class Snapshot:
    """The NodeInfos one scheduling cycle sees, in the cache's node order."""

    def __init__(self, node_infos: Sequence[NodeInfo] = ()) -> None:
        self.node_info_list: list[NodeInfo] = [n for n in node_infos if n.node is not None]
        self.node_info_map: dict[str, NodeInfo] = {n.name: n for n in self.node_info_list}

    @classmethod
    def of(cls, nodes: Sequence[Node], pods: Sequence[Pod] = ()) -> "Snapshot":
        """A snapshot from plain objects (the pods placed by spec.nodeName), for tests and tools."""
        infos = {helpers.name_of(n): NodeInfo(n) for n in nodes}
        for p in pods:
            ni = infos.get(helpers.pod_node_name(p))
            if ni is not None:
                ni.add_pod(p)
        return cls(list(infos.values()))

    def get(self, name: str) -> NodeInfo | None:
        return self.node_info_map.get(name)

    def num_nodes(self) -> int:
        return len(self.node_info_list)


# ---- plugin protocols ---------------------------------------------------------------


@dataclass(frozen=True)
class PreFilterResult:
    """The nodes a PreFilter plugin narrowed the cycle to; None means all nodes."""

    node_names: frozenset[str] | None = None

    def all_nodes(self) -> bool:
        return self.node_names is None

    def merge(self, other: "PreFilterResult | None") -> "PreFilterResult":
        if other is None or other.all_nodes():
            return self
        if self.all_nodes():
            return other
        assert self.node_names is not None and other.node_names is not None
        return PreFilterResult(self.node_names & other.node_names)


@dataclass
class NodeScore:
    name: str
    score: int


@dataclass
class NodePluginScores:
    name: str
    scores: list[tuple[str, int]] = field(default_factory=list)  # (plugin, weighted score)
    total_score: int = 0


@runtime_checkable
class Plugin(Protocol):
    name: str


@runtime_checkable
class PreFilterPlugin(Protocol):
    name: str

    def pre_filter(self, state: CycleState, pod: Pod,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status]: ...


@runtime_checkable
class FilterPlugin(Protocol):
    name: str

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status: ...


@runtime_checkable
class PreScorePlugin(Protocol):
    name: str

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status: ...


@runtime_checkable
class ScorePlugin(Protocol):
    name: str

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> tuple[int, Status]: ...


@runtime_checkable
class ScoreExtensions(Protocol):
    def normalize_score(self, state: CycleState, pod: Pod, scores: list[NodeScore]) -> Status: ...


def default_normalize_score(max_priority: int, reverse: bool, scores: list[NodeScore]) -> Status:
    """helper.DefaultNormalizeScore: scale to [0, max_priority] by the max; optionally reversed."""
    max_count = max((s.score for s in scores), default=0)
    if max_count <= 0:
        if reverse:
            for s in scores:
                s.score = max_priority
        return SUCCESS
    for s in scores:
        v = max_priority * s.score // max_count
        s.score = max_priority - v if reverse else v
    return SUCCESS


# ---- the framework of one profile --------------------------------------------------------


class Framework:
    """One scheduling profile: its plugins at every extension point they implement."""

    def __init__(self, profile_name: str, plugins: Sequence[tuple[Plugin, int]]) -> None:
        self.profile_name = profile_name
        self.plugins = [p for p, _ in plugins]
        self.pre_filter_plugins = [p for p, _ in plugins if isinstance(p, PreFilterPlugin)]
        self.filter_plugins = [p for p, _ in plugins if isinstance(p, FilterPlugin)]
        self.pre_score_plugins = [p for p, _ in plugins if isinstance(p, PreScorePlugin)]
        # a score plugin enabled without a weight gets 1, as upstream
        self.score_plugins = [(p, w or 1) for p, w in plugins if isinstance(p, ScorePlugin)]

    def plugin(self, name: str) -> Plugin | None:
        return next((p for p in self.plugins if p.name == name), None)

    def has_score_plugins(self) -> bool:
        return bool(self.score_plugins)

    def run_pre_filter_plugins(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]
                               ) -> tuple[PreFilterResult | None, Status, set[str]]:
        """frameworkImpl.RunPreFilterPlugins: (merged result, status, plugins that narrowed nodes)."""
        result: PreFilterResult | None = None
        plugins_with_nodes: list[str] = []
        return_status = SUCCESS
        for pl in self.pre_filter_plugins:
            r, s = pl.pre_filter(state, pod, nodes)
            if s.is_skip():
                state.skip_filter_plugins.add(pl.name)
                continue
            if not s.is_success():
                s = s.with_plugin(pl.name)
                if s.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                    return None, s, set()
                if s.code == Code.UNSCHEDULABLE:
                    return_status = s  # keep running: preemption needs every PreFilter's state
                    continue
                return None, as_status(f'running PreFilter plugin "{pl.name}": {s.message()}'
                                       ).with_plugin(pl.name), set()
            if r is not None and not r.all_nodes():
                plugins_with_nodes.append(pl.name)
            result = r if result is None else result.merge(r)
            if result is not None and not result.all_nodes() and not result.node_names:
                if len(plugins_with_nodes) == 1:
                    msg = f"node(s) didn't satisfy plugin {plugins_with_nodes[0]}"
                else:
                    msg = f"node(s) didn't satisfy plugin(s) {_go_list(plugins_with_nodes)} simultaneously"
                return result, new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, msg), set(plugins_with_nodes)
        return result, return_status, set(plugins_with_nodes)

    def run_filter_plugins(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        """frameworkImpl.RunFilterPlugins: the first non-success status, tagged with its plugin."""
        for pl in self.filter_plugins:
            if pl.name in state.skip_filter_plugins:
                continue
            s = pl.filter(state, pod, node_info)
            if not s.is_success():
                if not s.is_rejected():
                    s = as_status(f'running "{pl.name}" filter plugin: {s.message()}')
                return s.with_plugin(pl.name)
        return SUCCESS

    def run_pre_score_plugins(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        for pl in self.pre_score_plugins:
            s = pl.pre_score(state, pod, nodes)
            if s.is_skip():
                state.skip_score_plugins.add(pl.name)
                continue
            if not s.is_success():
                return as_status(f'running PreScore plugin "{pl.name}": {s.message()}').with_plugin(pl.name)
        return SUCCESS

    def run_score_plugins(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]
                          ) -> tuple[list[NodePluginScores], Status]:
        """Score, NormalizeScore, then weight; totals per node in `nodes` order."""
        all_scores = [NodePluginScores(n.name) for n in nodes]
        plugins = [(pl, w) for pl, w in self.score_plugins if pl.name not in state.skip_score_plugins]
        for pl, weight in plugins:
            scores: list[NodeScore] = []
            for ni in nodes:
                v, s = pl.score(state, pod, ni)
                if not s.is_success():
                    return [], as_status(f'plugin "{pl.name}" failed with: {s.message()}').with_plugin(pl.name)
                scores.append(NodeScore(ni.name, v))
            if isinstance(pl, ScoreExtensions):
                s = pl.normalize_score(state, pod, scores)
                if not s.is_success():
                    return [], as_status(f'plugin "{pl.name}" failed with: {s.message()}').with_plugin(pl.name)
            for ns, ps in zip(scores, all_scores):
                if ns.score > MAX_NODE_SCORE or ns.score < MIN_NODE_SCORE:
                    return [], as_status(
                        f'plugin "{pl.name}" returns an invalid score {ns.score}, it should in the range of '
                        f"[{MIN_NODE_SCORE}, {MAX_NODE_SCORE}] after normalizing").with_plugin(pl.name)
                weighted = ns.score * weight
                ps.scores.append((pl.name, weighted))
                ps.total_score += weighted
        return all_scores, SUCCESS



def _go_list(items: Sequence[str]) -> str:
    """fmt's %v of a []string: [a b c]."""
    return "[" + " ".join(items) + "]"
