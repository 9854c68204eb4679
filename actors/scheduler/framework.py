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
    PostFilter(state, pod, node_to_status)            when no node fits (preemption):
        -> (PostFilterResult | None, Status)          the first success wins

A PreFilter plugin whose state depends on the pods of a node implements
PreFilterExtensions (`add_pod` / `remove_pod`) so preemption's dry runs and the
nominated pods keep it right. Filtering a node takes the pods nominated to it into
account (`run_filter_plugins` = RunFilterPluginsWithNominatedPods when the queue's
nominator has some there).

`NodeInfo` is the aggregated view of one node (requested / non-zero requested
resources of its pods, used host ports, allocatable, the pods with pod affinity /
required anti-affinity, whose terms `PodInfo` parses once) and `Snapshot` the list of them a
scheduling cycle works on; `cache.Cache` keeps them up to date incrementally.

A plugin may implement EnqueueExtensions (`events_to_register() -> [ClusterEvent]`):
the cluster events (resource + ActionType bits) that can make a pod it rejected
schedulable; the queue moves an unschedulable pod only on an event one of its rejecting
plugins registered, and a plugin without it registers the wildcard (every event).

The Framework times its extension points every cycle and, in a sampled 10 % of the
cycles, every plugin call (summed per cycle and plugin), into Prometheus-style
histograms with upstream's buckets; `Framework.metrics()` returns them as JSON.
"""

from __future__ import annotations

import bisect
import enum
import itertools
import random
from dataclasses import dataclass, field, replace
from time import perf_counter
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence, TypeVar, runtime_checkable

from actors.api.selectors import IN, NOT_IN, Requirement, Selector, selector_from_dict

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
        # the cycle's snapshot (upstream's handle.SnapshotSharedLister()), set by schedule_one
        self.snapshot: Snapshot | None = None
        # sampled cycles time every plugin call; (plugin, extension point) -> seconds this cycle
        self.record_plugin_metrics = False
        self.plugin_durations: dict[tuple[str, str], float] = {}

    def add_plugin_duration(self, plugin: str, point: str, seconds: float) -> None:
        key = (plugin, point)
        self.plugin_durations[key] = self.plugin_durations.get(key, 0.0) + seconds

    def write(self, key: str, value: Any) -> None:
        self._data[key] = value

    def read(self, key: str) -> Any:
        """The stored value; KeyError when the key was never written."""
        return self._data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def clone(self) -> "CycleState":
        """CycleState.Clone: a value with a `clone()` method is cloned, others are shared
        (preemption's dry runs change a copy, never the cycle's own state)."""
        c = CycleState()
        c._data = {k: (v.clone() if callable(getattr(v, "clone", None)) else v) for k, v in self._data.items()}
        c.skip_filter_plugins = set(self.skip_filter_plugins)
        c.skip_score_plugins = set(self.skip_score_plugins)
        c.snapshot = self.snapshot
        c.record_plugin_metrics = self.record_plugin_metrics
        c.plugin_durations = self.plugin_durations
        return c


_S = TypeVar("_S")


def read_state(state: CycleState, key: str, cls: type[_S],
               reading: str = "error reading") -> tuple[_S | None, Status]:
    """A plugin's getPreFilterState / getPreScoreState: (the `cls` value stored under `key`,
    SUCCESS), or (None, the Error status `<reading> "<key>" from cycleState: not found`) when
    the PreFilter / PreScore that writes it did not run. `reading` is the plugin's own wording
    (upstream's PodTopologySpread says just "reading" for its PreFilter state)."""
    value = state.get(key)
    if isinstance(value, cls):
        return value, SUCCESS
    return None, as_status(f'{reading} "{key}" from cycleState: not found')


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


NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class AffinityTerm:
    """framework.AffinityTerm: a parsed PodAffinityTerm. A pod matches when its namespace
    is in `namespaces` or matches `namespace_selector`, and its labels match `selector`.
    The scheduler has no namespace lister: a namespace's labels are taken to be the one
    the apiserver always sets (kubernetes.io/metadata.name=<name>)."""

    namespaces: frozenset[str]
    selector: Selector
    topology_key: str
    namespace_selector: Selector

    def matches(self, pod: Pod) -> bool:
        m = pod.get("metadata") or {}  # (no isinstance check: this runs for every pod of the cluster)
        ns = m.get("namespace") or ""
        if ns not in self.namespaces and (self.namespace_selector.is_nothing or
                                          not self.namespace_selector.matches({NAMESPACE_NAME_LABEL: ns})):
            return False
        return self.selector.matches(m.get("labels") or {})


@dataclass(frozen=True)
class WeightedAffinityTerm:
    term: AffinityTerm
    weight: int


@dataclass(frozen=True)
class PodAffinityInfo:
    """A pod's parsed pod affinity / anti-affinity (framework.PodInfo's term lists)."""

    required_affinity_terms: tuple[AffinityTerm, ...] = ()
    required_anti_affinity_terms: tuple[AffinityTerm, ...] = ()
    preferred_affinity_terms: tuple[WeightedAffinityTerm, ...] = ()
    preferred_anti_affinity_terms: tuple[WeightedAffinityTerm, ...] = ()
    parse_errors: tuple[str, ...] = ()


def affinity_term(pod: Pod, term: Mapping[str, Any]) -> AffinityTerm:
    """newAffinityTerm; no namespaces and no namespaceSelector mean the pod's own namespace.
    matchLabelKeys / mismatchLabelKeys are merged into the selector as `key in (v)` /
    `key notin (v)` with the pod's label values, as kube-apiserver does at pod creation
    (idempotent when already merged). Raises ValueError for an invalid selector."""
    raw = term.get("labelSelector")
    selector = selector_from_dict(raw)
    if raw is not None and (term.get("matchLabelKeys") or term.get("mismatchLabelKeys")):
        labels = helpers.meta(pod).get("labels") or {}
        extra = [Requirement.new(str(k), IN, [str(labels[k])])
                 for k in term.get("matchLabelKeys") or [] if k in labels]
        extra += [Requirement.new(str(k), NOT_IN, [str(labels[k])])
                  for k in term.get("mismatchLabelKeys") or [] if k in labels]
        selector = selector.add(*extra)
    ns_raw = term.get("namespaceSelector")
    names = [str(n) for n in term.get("namespaces") or []]
    namespaces = frozenset(names) if names or ns_raw is not None else frozenset({helpers.namespace_of(pod)})
    return AffinityTerm(namespaces, selector, str(term.get("topologyKey") or ""), selector_from_dict(ns_raw))


def pod_affinity_info(pod: Pod) -> PodAffinityInfo | None:
    """The parsed terms; None when the pod has neither podAffinity nor podAntiAffinity.
    A category whose terms do not parse is empty, its error in `parse_errors`."""
    aff = helpers.spec(pod).get("affinity")
    if not aff:
        return None
    pa, paa = aff.get("podAffinity"), aff.get("podAntiAffinity")
    if pa is None and paa is None:
        return None
    errors: list[str] = []

    def required(src: Any, what: str) -> tuple[AffinityTerm, ...]:
        try:
            terms = (src or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or []
            return tuple(affinity_term(pod, t) for t in terms)
        except ValueError as e:
            errors.append(f"{what}: {e}")
            return ()

    def preferred(src: Any, what: str) -> tuple[WeightedAffinityTerm, ...]:
        try:
            terms = (src or {}).get("preferredDuringSchedulingIgnoredDuringExecution") or []
            return tuple(WeightedAffinityTerm(affinity_term(pod, t.get("podAffinityTerm") or {}),
                                              int(t.get("weight") or 0)) for t in terms)
        except ValueError as e:
            errors.append(f"{what}: {e}")
            return ()

    return PodAffinityInfo(required(pa, "requiredAffinityTerms"), required(paa, "requiredAntiAffinityTerms"),
                           preferred(pa, "preferredAffinityTerms"), preferred(paa, "preferredAntiAffinityTerms"),
                           tuple(errors))


@dataclass
class PodInfo:
    """A pod plus what the scheduler derives from it once (framework.PodInfo)."""

    pod: Pod
    key: str
    requests: Resource
    non0_cpu: int
    non0_mem: int
    host_ports: list[HostPort]
    affinity: PodAffinityInfo | None = None  # None: no pod (anti-)affinity at all

    @classmethod
    def of(cls, pod: Pod) -> "PodInfo":
        cpu, mem = non_zero_requests(pod)
        return cls(pod, pod_uid_key(pod), pod_resource(pod), cpu, mem, pod_host_ports(pod),
                   pod_affinity_info(pod))


_generation = itertools.count(1)


def next_generation() -> int:
    return next(_generation)


class NodeInfo:
    """framework.NodeInfo: a node with the aggregated state of the pods on it."""

    def __init__(self, node: Node | None = None, pods: Iterable[Pod] = ()) -> None:
        self.node: Node | None = None
        self._name = ""
        self.pods: list[PodInfo] = []
        self.pods_with_affinity: list[PodInfo] = []  # pods with pod affinity or anti-affinity
        self.pods_with_required_anti_affinity: list[PodInfo] = []
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
        return self._name

    def set_node(self, node: Node) -> None:
        self.node = node
        self._name = helpers.name_of(node)
        self.allocatable = node_allocatable(node)
        self.generation = next_generation()

    def remove_node(self) -> None:
        self.node = None
        self._name = ""
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
        if pi.affinity is not None:
            if sign > 0:
                self.pods_with_affinity.append(pi)
                if pi.affinity.required_anti_affinity_terms:
                    self.pods_with_required_anti_affinity.append(pi)
            else:
                self.pods_with_affinity = [p for p in self.pods_with_affinity if p is not pi]
                self.pods_with_required_anti_affinity = [p for p in self.pods_with_required_anti_affinity
                                                         if p is not pi]
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
        c._name = self._name
        c.pods = list(self.pods)
        c.pods_with_affinity = list(self.pods_with_affinity)
        c.pods_with_required_anti_affinity = list(self.pods_with_required_anti_affinity)
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
        # the cache's count of Node object changes when it made this snapshot (None:
        # unknown): lets per-node indexes over Node objects skip an unchanged cluster
        self.nodes_version: int | None = None

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


@runtime_checkable
class PreFilterExtensions(Protocol):
    """PreFilterExtensions: keep a PreFilter plugin's cycle state right when preemption
    removes a victim from a NodeInfo, or nominated pods are added to one."""

    def add_pod(self, state: CycleState, pod_to_schedule: Pod, pod_to_add: PodInfo,
                node_info: NodeInfo) -> Status: ...

    def remove_pod(self, state: CycleState, pod_to_schedule: Pod, pod_to_remove: PodInfo,
                   node_info: NodeInfo) -> Status: ...


class NodeToStatus:
    """framework.NodeToStatus: the statuses of the nodes that were filtered one by one,
    and one status for every other node of the snapshot."""

    def __init__(self, statuses: Mapping[str, Status] | None = None,
                 absent: Status = Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE)) -> None:
        self.statuses: dict[str, Status] = dict(statuses or {})
        self.absent = absent

    def get(self, name: str) -> Status:
        return self.statuses.get(name, self.absent)

    def nodes_for_status_code(self, snapshot: Snapshot, code: Code) -> list[NodeInfo]:
        """NodesForStatusCode, in snapshot order."""
        return [ni for ni in snapshot.node_info_list if self.get(ni.name).code == code]


@dataclass(frozen=True)
class PostFilterResult:
    """What a PostFilter plugin did for the pod: the node to nominate it to ("" clears its
    nomination), and, for preemption, the pods to evict from that node and the
    lower-priority pods whose nomination there must be cleared -- the scheduler turns
    them into API calls (the plugins do no I/O)."""

    nominated_node_name: str
    victims: tuple[Pod, ...] = ()
    clear_nominations: tuple[Pod, ...] = ()


@runtime_checkable
class PostFilterPlugin(Protocol):
    name: str

    def post_filter(self, state: CycleState, pod: Pod, filtered_node_status_map: NodeToStatus
                    ) -> tuple[PostFilterResult | None, Status]: ...


class PodNominator(Protocol):
    """The queue's record of the pods nominated to a node (by preemption)."""

    def nominated_pods_for_node(self, node_name: str) -> list[PodInfo]: ...

    def __len__(self) -> int: ...  # how many pods are nominated anywhere


@runtime_checkable
class FrameworkAware(Protocol):
    """A plugin that uses the framework handle (upstream passes it to the plugin factory)."""

    def set_framework(self, framework: "Framework") -> None: ...


class ActionType(enum.IntFlag):
    """framework.ActionType: what happened to an object (a bit set, matched with `&`)."""

    ADD = 1
    DELETE = 2
    UPDATE_NODE_ALLOCATABLE = 4
    UPDATE_NODE_LABEL = 8
    UPDATE_NODE_TAINT = 16
    UPDATE_NODE_CONDITION = 32
    UPDATE_NODE_ANNOTATION = 64
    UPDATE_POD_LABEL = 128
    UPDATE_POD_SCALE_DOWN = 256
    UPDATE_POD_TOLERATIONS = 512
    UPDATE_POD_SCHEDULING_GATES_ELIMINATED = 1024
    UPDATE_POD_OTHER = 2048
    UPDATE = 4092  # every UPDATE_* bit
    ALL = 4095


# framework.EventResource values
NODE = "Node"
POD = "Pod"  # assigned pods (upstream's scheduling-relevant pod events)
WILDCARD = "*"


@dataclass(frozen=True)
class ClusterEvent:
    """framework.ClusterEvent: a kind of change to a kind of object.

    A plugin registers the events that may make a pod it rejected schedulable
    (`EnqueueExtensions.events_to_register`); an incoming event matches a registered one
    when the resources agree (or either is `*`) and their action types share a bit.
    """

    resource: str
    action_type: ActionType
    label: str = ""

    def is_wildcard(self) -> bool:
        return self.resource == WILDCARD and self.action_type == ActionType.ALL

    def match(self, incoming: "ClusterEvent") -> bool:
        """ClusterEvent.Match: `self` is the registered event, `incoming` the one that happened."""
        if self.is_wildcard():
            return True
        return (self.resource == WILDCARD or incoming.resource == WILDCARD or self.resource == incoming.resource) \
            and bool(self.action_type & incoming.action_type)

    def __str__(self) -> str:
        return self.label or f"{self.resource}{self.action_type.name or int(self.action_type)}"


WILDCARD_EVENT = ClusterEvent(WILDCARD, ActionType.ALL, "WildCard")


@runtime_checkable
class EnqueueExtensions(Protocol):
    """framework.EnqueueExtensions: the cluster events after which a pod this plugin
    rejected is worth retrying. A plugin without it is assumed to care about every event
    (upstream registers the wildcard event for it)."""

    def events_to_register(self) -> list[ClusterEvent]: ...


def plugin_events(plugin: object) -> list[ClusterEvent]:
    """The events `plugin` registers; [WILDCARD_EVENT] for a plugin without EnqueueExtensions."""
    if isinstance(plugin, EnqueueExtensions):
        return list(plugin.events_to_register())
    return [WILDCARD_EVENT]


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


def exponential_buckets(start: float, factor: float, count: int) -> tuple[float, ...]:
    """prometheus.ExponentialBuckets."""
    return tuple(start * factor ** i for i in range(count))


# upstream's buckets: framework_extension_point_duration_seconds (0.1 ms .. ~200 ms),
# plugin_execution_duration_seconds (10 us .. ~22 ms), scheduling_attempt_duration_seconds
EXTENSION_POINT_BUCKETS = exponential_buckets(0.0001, 2, 12)
PLUGIN_BUCKETS = exponential_buckets(0.00001, 1.5, 20)
ATTEMPT_BUCKETS = exponential_buckets(0.001, 2, 15)
PLUGIN_METRICS_SAMPLE_PERCENT = 10  # upstream pluginMetricsSamplePercent


class Histogram:
    """A Prometheus histogram: counts per upper bound (`le`, inclusive), sum and count."""

    __slots__ = ("buckets", "counts", "sum", "count")

    def __init__(self, buckets: Sequence[float]) -> None:
        self.buckets = tuple(buckets)
        self.counts = [0] * (len(self.buckets) + 1)  # the last one is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, v: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, v)] += 1
        self.sum += v
        self.count += 1

    def to_dict(self) -> dict[str, Any]:
        """{"count", "sum", "buckets": {le: cumulative count}} (JSON-able)."""
        cumulative: dict[str, int] = {}
        acc = 0
        for le, n in zip([f"{b:.6g}" for b in self.buckets] + ["+Inf"], self.counts):
            acc += n
            cumulative[le] = acc
        return {"count": self.count, "sum": self.sum, "buckets": cumulative}


class Framework:
    """One scheduling profile: its plugins at every extension point they implement.

    It times its extension points every cycle (framework_extension_point_duration_seconds,
    by extension point and status code) and, in a sampled `plugin_metrics_sample_percent`
    of the cycles, every plugin call, summed per cycle and plugin (so Filter is the time
    a plugin spent over all the nodes of the cycle); `metrics()` returns both. `timer`
    is the clock for that (time.perf_counter by default; tests inject a fake one).
    """

    def __init__(self, profile_name: str, plugins: Sequence[tuple[Plugin, int]], *,
                 timer: Callable[[], float] = perf_counter) -> None:
        self.profile_name = profile_name
        self.timer = timer
        self.percentage_of_nodes_to_score: int | None = None  # None: the scheduler's global one
        self.plugin_metrics_sample_percent = PLUGIN_METRICS_SAMPLE_PERCENT
        self._sample_acc = 100 - PLUGIN_METRICS_SAMPLE_PERCENT  # the first cycle is sampled
        self._extension_point_hist: dict[tuple[str, str], Histogram] = {}
        self._plugin_hist: dict[tuple[str, str], Histogram] = {}
        self._attempt_hist: dict[str, Histogram] = {}
        self.plugins = [p for p, _ in plugins]
        self.pre_filter_plugins = [p for p, _ in plugins if isinstance(p, PreFilterPlugin)]
        self.filter_plugins = [p for p, _ in plugins if isinstance(p, FilterPlugin)]
        self.pre_score_plugins = [p for p, _ in plugins if isinstance(p, PreScorePlugin)]
        # a score plugin enabled without a weight gets 1, as upstream
        self.score_plugins = [(p, w or 1) for p, w in plugins if isinstance(p, ScorePlugin)]
        # runtime_checkable Protocol checks are slow: decided once, not per cycle
        self._normalizes = {p.name for p, _ in plugins if isinstance(p, ScoreExtensions)}
        self._pre_filter_ext = {p.name for p, _ in plugins if isinstance(p, PreFilterExtensions)}
        self.post_filter_plugins = [p for p, _ in plugins if isinstance(p, PostFilterPlugin)]
        # the handle's parts the scheduler provides: the queue's nominator, the rng
        self.nominator: PodNominator | None = None
        self.rng: random.Random = random.Random(0)
        for p, _ in plugins:
            if isinstance(p, FrameworkAware):
                p.set_framework(self)

    def plugin(self, name: str) -> Plugin | None:
        return next((p for p in self.plugins if p.name == name), None)

    def has_score_plugins(self) -> bool:
        return bool(self.score_plugins)

    # ---- metrics ------------------------------------------------------------------------

    def should_record_plugin_metrics(self) -> bool:
        """Whether this cycle times every plugin call: `plugin_metrics_sample_percent` of the
        cycles, spread evenly (deterministic, so tests and the rng are unaffected)."""
        self._sample_acc += self.plugin_metrics_sample_percent
        if self._sample_acc >= 100:
            self._sample_acc -= 100
            return True
        return False

    def observe_extension_point(self, point: str, status: Status, seconds: float) -> None:
        key = (point, CODE_NAMES[status.code])
        h = self._extension_point_hist.get(key)
        if h is None:
            h = self._extension_point_hist[key] = Histogram(EXTENSION_POINT_BUCKETS)
        h.observe(seconds)

    def observe_attempt(self, result: str, seconds: float) -> None:
        """scheduling_attempt_duration_seconds by result (scheduled / unschedulable / error)."""
        h = self._attempt_hist.get(result)
        if h is None:
            h = self._attempt_hist[result] = Histogram(ATTEMPT_BUCKETS)
        h.observe(seconds)

    def record_plugin_durations(self, state: CycleState) -> None:
        """One observation per (plugin, extension point) with the cycle's summed time."""
        for key, seconds in state.plugin_durations.items():
            h = self._plugin_hist.get(key)
            if h is None:
                h = self._plugin_hist[key] = Histogram(PLUGIN_BUCKETS)
            h.observe(seconds)
        state.plugin_durations.clear()

    def metrics(self) -> dict[str, Any]:
        """JSON-able: {extension_point_duration_seconds: {point: {status: histogram}},
        plugin_execution_duration_seconds: {plugin: {point: histogram}},
        scheduling_attempt_duration_seconds: {result: histogram}}."""
        ext: dict[str, dict[str, Any]] = {}
        for (point, code), h in sorted(self._extension_point_hist.items()):
            ext.setdefault(point, {})[code] = h.to_dict()
        plugins: dict[str, dict[str, Any]] = {}
        for (plugin, point), h in sorted(self._plugin_hist.items()):
            plugins.setdefault(plugin, {})[point] = h.to_dict()
        return {"profile": self.profile_name, "extension_point_duration_seconds": ext,
                "plugin_execution_duration_seconds": plugins,
                "scheduling_attempt_duration_seconds": {r: h.to_dict()
                                                        for r, h in sorted(self._attempt_hist.items())}}

    # ---- extension points -----------------------------------------------------------------

    def run_pre_filter_plugins(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]
                               ) -> tuple[PreFilterResult | None, Status, set[str]]:
        start = self.timer()
        out = self._run_pre_filter_plugins(state, pod, nodes)
        self.observe_extension_point("PreFilter", out[1], self.timer() - start)
        return out

    def _run_pre_filter_plugins(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]
                                ) -> tuple[PreFilterResult | None, Status, set[str]]:
        """frameworkImpl.RunPreFilterPlugins: (merged result, status, plugins that narrowed nodes)."""
        result: PreFilterResult | None = None
        plugins_with_nodes: list[str] = []
        return_status = SUCCESS
        record = state.record_plugin_metrics
        for pl in self.pre_filter_plugins:
            t = self.timer() if record else 0.0
            r, s = pl.pre_filter(state, pod, nodes)
            if record:
                state.add_plugin_duration(pl.name, "PreFilter", self.timer() - t)
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
        """What the scheduler filters a node with: RunFilterPluginsWithNominatedPods when the
        nominator has pods nominated to the node, else RunFilterPlugins."""
        nominator = self.nominator
        if nominator is not None and len(nominator) and nominator.nominated_pods_for_node(node_info.name):
            return self.run_filter_plugins_with_nominated_pods(state, pod, node_info)
        return self.run_filter_plugins_only(state, pod, node_info)

    def run_filter_plugins_only(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        """frameworkImpl.RunFilterPlugins: the first non-success status, tagged with its plugin."""
        if state.record_plugin_metrics:
            return self._run_filter_plugins_timed(state, pod, node_info)
        for pl in self.filter_plugins:
            if pl.name in state.skip_filter_plugins:
                continue
            s = pl.filter(state, pod, node_info)
            if not s.is_success():
                if not s.is_rejected():
                    s = as_status(f'running "{pl.name}" filter plugin: {s.message()}')
                return s.with_plugin(pl.name)
        return SUCCESS

    def _run_filter_plugins_timed(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        """run_filter_plugins of a sampled cycle: each call's time added to the plugin's sum."""
        timer = self.timer
        for pl in self.filter_plugins:
            if pl.name in state.skip_filter_plugins:
                continue
            t = timer()
            s = pl.filter(state, pod, node_info)
            state.add_plugin_duration(pl.name, "Filter", timer() - t)
            if not s.is_success():
                if not s.is_rejected():
                    s = as_status(f'running "{pl.name}" filter plugin: {s.message()}')
                return s.with_plugin(pl.name)
        return SUCCESS

    def run_pre_score_plugins(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        start = self.timer()
        s = self._run_pre_score_plugins(state, pod, nodes)
        self.observe_extension_point("PreScore", s, self.timer() - start)
        return s

    def _run_pre_score_plugins(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        record = state.record_plugin_metrics
        for pl in self.pre_score_plugins:
            t = self.timer() if record else 0.0
            s = pl.pre_score(state, pod, nodes)
            if record:
                state.add_plugin_duration(pl.name, "PreScore", self.timer() - t)
            if s.is_skip():
                state.skip_score_plugins.add(pl.name)
                continue
            if not s.is_success():
                return as_status(f'running PreScore plugin "{pl.name}": {s.message()}').with_plugin(pl.name)
        return SUCCESS

    def run_score_plugins(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]
                          ) -> tuple[list[NodePluginScores], Status]:
        start = self.timer()
        out = self._run_score_plugins(state, pod, nodes)
        self.observe_extension_point("Score", out[1], self.timer() - start)
        return out

    def _run_score_plugins(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]
                           ) -> tuple[list[NodePluginScores], Status]:
        """Score, NormalizeScore, then weight; totals per node in `nodes` order."""
        all_scores = [NodePluginScores(n.name) for n in nodes]
        plugins = [(pl, w) for pl, w in self.score_plugins if pl.name not in state.skip_score_plugins]
        record = state.record_plugin_metrics
        for pl, weight in plugins:
            scores: list[NodeScore] = []
            t = self.timer() if record else 0.0
            for ni in nodes:
                v, s = pl.score(state, pod, ni)
                if not s.is_success():
                    return [], as_status(f'plugin "{pl.name}" failed with: {s.message()}').with_plugin(pl.name)
                scores.append(NodeScore(ni.name, v))
            if record:
                state.add_plugin_duration(pl.name, "Score", self.timer() - t)
            if pl.name in self._normalizes:
                t = self.timer() if record else 0.0
                s = pl.normalize_score(state, pod, scores)  # type: ignore[attr-defined]
                if record:
                    state.add_plugin_duration(pl.name, "ScoreExtensionNormalize", self.timer() - t)
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

    # ---- PostFilter, PreFilter extensions, nominated pods ---------------------------------

    def has_post_filter_plugins(self) -> bool:
        return bool(self.post_filter_plugins)

    def run_post_filter_plugins(self, state: CycleState, pod: Pod, filtered_node_status_map: NodeToStatus
                                ) -> tuple[PostFilterResult | None, Status]:
        """RunPostFilterPlugins: the first success (or UnschedulableAndUnresolvable) wins;
        otherwise Unschedulable with every plugin's reasons and the last result given."""
        start = self.timer()
        out = self._run_post_filter_plugins(state, pod, filtered_node_status_map)
        self.observe_extension_point("PostFilter", out[1], self.timer() - start)
        return out

    def _run_post_filter_plugins(self, state: CycleState, pod: Pod, m: NodeToStatus
                                 ) -> tuple[PostFilterResult | None, Status]:
        result: PostFilterResult | None = None
        reasons: list[str] = []
        rejector = ""
        for pl in self.post_filter_plugins:
            r, s = pl.post_filter(state, pod, m)
            if s.is_success():
                return r, s
            if s.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                return r, s.with_plugin(pl.name)
            if not s.is_rejected():
                return None, as_status(s.message()).with_plugin(pl.name)
            if r is not None:
                result = r
            reasons.extend(s.reasons)
            rejector = rejector or pl.name
        return result, Status(Code.UNSCHEDULABLE, tuple(reasons), rejector)

    def run_pre_filter_extension_add_pod(self, state: CycleState, pod_to_schedule: Pod, pod_to_add: PodInfo,
                                         node_info: NodeInfo) -> Status:
        for pl in self.pre_filter_plugins:
            if pl.name in state.skip_filter_plugins or pl.name not in self._pre_filter_ext:
                continue
            s = pl.add_pod(state, pod_to_schedule, pod_to_add, node_info)  # type: ignore[attr-defined]
            if not s.is_success():
                return as_status(f'running AddPod on PreFilter plugin "{pl.name}": {s.message()}')
        return SUCCESS

    def run_pre_filter_extension_remove_pod(self, state: CycleState, pod_to_schedule: Pod,
                                            pod_to_remove: PodInfo, node_info: NodeInfo) -> Status:
        for pl in self.pre_filter_plugins:
            if pl.name in state.skip_filter_plugins or pl.name not in self._pre_filter_ext:
                continue
            s = pl.remove_pod(state, pod_to_schedule, pod_to_remove, node_info)  # type: ignore[attr-defined]
            if not s.is_success():
                return as_status(f'running RemovePod on PreFilter plugin "{pl.name}": {s.message()}')
        return SUCCESS

    def run_filter_plugins_with_nominated_pods(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        """RunFilterPluginsWithNominatedPods: filter once with the pods nominated to the node
        whose priority is >= the pod's added to a copy of it (the pod must not take the room
        preemption made for them), then, if that passed and some were added, once more
        without them (filters like pod affinity may need them absent)."""
        status = SUCCESS
        pods_added = False
        for i in range(2):
            state_to_use, info_to_use = state, node_info
            if i == 0:
                pods_added, state_to_use, info_to_use, err = self._add_ge_nominated_pods(state, pod, node_info)
                if err is not None:
                    return err
            elif not pods_added or not status.is_success():
                break
            status = self.run_filter_plugins_only(state_to_use, pod, info_to_use)
            if not status.is_success() and not status.is_rejected():
                return status
        return status

    def _add_ge_nominated_pods(self, state: CycleState, pod: Pod, node_info: NodeInfo
                               ) -> tuple[bool, CycleState, NodeInfo, Status | None]:
        nominated = self.nominator.nominated_pods_for_node(node_info.name) if self.nominator is not None else []
        if not nominated:
            return False, state, node_info, None
        info_out, state_out = node_info.clone(), state.clone()
        priority, key = helpers.pod_priority(pod), pod_uid_key(pod)
        added = False
        for pi in nominated:
            if helpers.pod_priority(pi.pod) >= priority and pi.key != key:
                info_out.add_pod(pi)
                s = self.run_pre_filter_extension_add_pod(state_out, pod, pi, info_out)
                if not s.is_success():
                    return False, state, node_info, s
                added = True
        return added, state_out, info_out, None


def _go_list(items: Sequence[str]) -> str:
    """fmt's %v of a []string: [a b c]."""
    return "[" + " ".join(items) + "]"
