"""The scheduler's configuration (pure): a KubeSchedulerConfiguration-shaped dict (the
`scheduler:` section of cluster.yaml) parsed, defaulted and validated, then built
into one Framework per profile.

    percentageOfNodesToScore: 0          # 0..100; 0 = adaptive (see schedule.py)
    podInitialBackoffSeconds: 1          # > 0
    podMaxBackoffSeconds: 10             # >= podInitialBackoffSeconds
    profiles:                            # default: one "default-scheduler" profile
    - schedulerName: default-scheduler   # required when there are several; unique
      percentageOfNodesToScore: 50       # overrides the global one for this profile
      plugins:
        multiPoint: {enabled: [{name: ..., weight: ...}], disabled: [{name: ...}]}
        preFilter / filter / postFilter / preScore / score / queueSort / bind / ...: (same)
      pluginConfig: [{name: NodeResourcesFit, args: {...}}]

Upstream's semantics (apis/config/v1 default_plugins.go mergePlugins, then the
framework's expandMultiPointPlugins and getScoreWeights):

1. each extension point's set is merged with the defaults (which only enable
   `multiPoint`: registry.DEFAULT_PLUGINS): the defaults, minus those disabled (`*`
   disables them all), a default re-enabled by the user taking the user's entry in
   place (so `multiPoint: {enabled: [{name: TaintToleration, weight: 5}]}` only
   changes the weight), then the user's other plugins appended;
2. each extension point then gets, in order: the plugins enabled for it explicitly
   that are also in multiPoint (an explicit override), the multiPoint plugins that
   implement it and are not disabled there, then its other explicit plugins; `*`
   disabled at a point keeps multiPoint out of it entirely;
3. a score plugin's weight is its `score` entry's, else its `multiPoint` entry's, and
   0 means 1.

`queueSort` (PrioritySort), `preEnqueue` (SchedulingGates) and `bind` (DefaultBinder)
are built into the queue and the actor: those names are accepted and change nothing;
so are extension points kubemu does not model (reserve, permit, preBind, postBind).

Errors are collected, not raised one by one: `ConfigError` (a ValueError) carries
the list, each rendered like field.Error
(`profiles[0].plugins.score.enabled[1].name: Invalid value: "Foo": plugin not registered`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from actors.api.errors import FieldError, GoRepr

from . import framework as fw
from .framework import Framework, Plugin
from .registry import DEFAULT_PLUGINS, DEFAULT_SCHEDULER_NAME, REGISTRY, new_framework

DEFAULT_POD_INITIAL_BACKOFF_SECONDS = 1
DEFAULT_POD_MAX_BACKOFF_SECONDS = 10

# extension points kubemu models: config name -> (Framework list attribute, protocol name)
MODELLED_POINTS: dict[str, tuple[str, str]] = {
    "preFilter": ("pre_filter_plugins", "PreFilterPlugin"),
    "filter": ("filter_plugins", "FilterPlugin"),
    "postFilter": ("post_filter_plugins", "PostFilterPlugin"),
    "preScore": ("pre_score_plugins", "PreScorePlugin"),
    "score": ("score_plugins", "ScorePlugin"),
}
OTHER_POINTS = ("preEnqueue", "queueSort", "reserve", "permit", "preBind", "bind", "postBind")
POINTS = ("multiPoint",) + tuple(MODELLED_POINTS) + OTHER_POINTS
# plugins built into the queue / the actor, and the points they serve
BUILTIN_PLUGINS: dict[str, tuple[str, ...]] = {
    "PrioritySort": ("queueSort",),
    "SchedulingGates": ("preEnqueue",),
    "DefaultBinder": ("bind",),
    "DefaultPreemption": ("postFilter",),
}
# fields of KubeSchedulerConfiguration kubemu accepts and ignores
IGNORED_FIELDS = ("apiVersion", "kind", "parallelism", "leaderElection", "clientConnection",
                  "healthzBindAddress", "metricsBindAddress", "enableProfiling",
                  "enableContentionProfiling", "extenders", "delayCacheUntilActive")
TOP_FIELDS = IGNORED_FIELDS + ("percentageOfNodesToScore", "podInitialBackoffSeconds",
                               "podMaxBackoffSeconds", "profiles")
PROFILE_FIELDS = ("schedulerName", "percentageOfNodesToScore", "plugins", "pluginConfig")


class ConfigError(ValueError):
    """An invalid scheduler configuration; `errors` are the field errors, all of them."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))

    def messages(self) -> list[str]:
        return [str(e) for e in self.errors]


@dataclass(frozen=True)
class PluginRef:
    """One `{name, weight}` entry and where it came from (for error paths)."""

    name: str
    weight: int = 0
    path: str = ""  # "" for a default


@dataclass
class ProfileConfig:
    scheduler_name: str
    percentage_of_nodes_to_score: int | None = None
    points: dict[str, list[str]] = field(default_factory=dict)  # modelled point -> plugins, in order
    weights: dict[str, int] = field(default_factory=dict)  # score plugin -> weight
    plugin_args: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    plugin_args_paths: dict[str, str] = field(default_factory=dict)

    def needed(self) -> list[str]:
        """The registry plugins this profile instantiates, in first-use order."""
        out: list[str] = []
        for names in self.points.values():
            for n in names:
                if n in REGISTRY and n not in out:
                    out.append(n)
        return out


@dataclass
class SchedulerConfig:
    percentage_of_nodes_to_score: int = 0
    pod_initial_backoff_seconds: float = DEFAULT_POD_INITIAL_BACKOFF_SECONDS
    pod_max_backoff_seconds: float = DEFAULT_POD_MAX_BACKOFF_SECONDS
    profiles: list[ProfileConfig] = field(default_factory=list)

    def scheduler_names(self) -> list[str]:
        return [p.scheduler_name for p in self.profiles]


# ---- parsing ----------------------------------------------------------------------------


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _percentage(errs: list[FieldError], path: str, v: Any) -> int | None:
    if v is None:
        return None
    if not _is_int(v):
        errs.append(FieldError.invalid(path, v, "must be an integer"))
        return None
    if v < 0 or v > 100:
        errs.append(FieldError.invalid(path, v, "not in valid range [0-100]"))
        return None
    return int(v)


def _unknown_fields(errs: list[FieldError], path: str, obj: Mapping[str, Any], known: Sequence[str]) -> None:
    for k in obj:
        if k not in known:
            errs.append(FieldError.invalid(f"{path}.{k}" if path else str(k), str(k), "unknown field"))


def _plugin_list(errs: list[FieldError], path: str, v: Any, with_weight: bool) -> list[PluginRef]:
    if v is None:
        return []
    if not isinstance(v, list):
        errs.append(FieldError.invalid(path, v, "must be a list"))
        return []
    out: list[PluginRef] = []
    for i, item in enumerate(v):
        p = f"{path}[{i}]"
        if not isinstance(item, Mapping):
            errs.append(FieldError.invalid(p, item, "must be an object with a name"))
            continue
        name = item.get("name")
        if not isinstance(name, str) or not name:
            errs.append(FieldError.required(f"{p}.name", ""))
            continue
        weight = item.get("weight", 0)
        if weight is None:
            weight = 0
        if with_weight and (not _is_int(weight) or weight < 0):
            errs.append(FieldError.invalid(f"{p}.weight", weight, "must be a non-negative integer"))
            continue
        out.append(PluginRef(name, int(weight) if with_weight else 0, f"{p}.name"))
    return out


@dataclass
class _PluginSet:
    enabled: list[PluginRef] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)


def merge_plugin_set(default: _PluginSet, custom: _PluginSet) -> _PluginSet:
    """mergePluginSet: the defaults minus the disabled ones, re-enabled defaults replaced
    in place by the user's entry, then the user's other plugins (duplicates kept: the
    framework reports them)."""
    disabled = list(custom.disabled) + list(default.disabled)
    disabled_set = set(disabled)
    custom_index: dict[str, int] = {}
    for i, p in enumerate(custom.enabled):
        custom_index[p.name] = i  # a name listed twice: the last entry replaces the default
    replaced: set[int] = set()
    enabled: list[PluginRef] = []
    if "*" not in disabled_set:
        for d in default.enabled:
            if d.name in disabled_set:
                continue
            if d.name in custom_index:
                i = custom_index[d.name]
                d = custom.enabled[i]
                replaced.add(i)
            enabled.append(d)
    enabled += [p for i, p in enumerate(custom.enabled) if i not in replaced]
    return _PluginSet(enabled, disabled)


def _known(name: str) -> bool:
    return name in REGISTRY or name in BUILTIN_PLUGINS


def _parse_profile(errs: list[FieldError], path: str, raw: Any, single: bool) -> ProfileConfig | None:
    if not isinstance(raw, Mapping):
        errs.append(FieldError.invalid(path, raw, "must be an object"))
        return None
    _unknown_fields(errs, path, raw, PROFILE_FIELDS)
    name = raw.get("schedulerName")
    if name is None and single:
        name = DEFAULT_SCHEDULER_NAME
    if not isinstance(name, str) or not name:
        errs.append(FieldError.required(f"{path}.schedulerName", ""))
        name = ""
    prof = ProfileConfig(name, _percentage(errs, f"{path}.percentageOfNodesToScore",
                                           raw.get("percentageOfNodesToScore")))

    # pluginConfig
    pc = raw.get("pluginConfig") or []
    if not isinstance(pc, list):
        errs.append(FieldError.invalid(f"{path}.pluginConfig", pc, "must be a list"))
        pc = []
    for i, item in enumerate(pc):
        p = f"{path}.pluginConfig[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item.get("name"):
            errs.append(FieldError.required(f"{p}.name", ""))
            continue
        pname = str(item["name"])
        if pname in prof.plugin_args:
            errs.append(FieldError.duplicate(p, pname))
            continue
        if not _known(pname):
            errs.append(FieldError.invalid(f"{p}.name", pname, "plugin not registered"))
            continue
        args = item.get("args") or {}
        if not isinstance(args, Mapping):
            errs.append(FieldError.invalid(f"{p}.args", args, "must be an object"))
            continue
        prof.plugin_args[pname] = args
        prof.plugin_args_paths[pname] = f"{p}.args"

    # plugins: parse every point's set, merge with the defaults
    plugins = raw.get("plugins") or {}
    if not isinstance(plugins, Mapping):
        errs.append(FieldError.invalid(f"{path}.plugins", plugins, "must be an object"))
        plugins = {}
    _unknown_fields(errs, f"{path}.plugins", plugins, POINTS)
    merged: dict[str, _PluginSet] = {}
    defaults = {"multiPoint": _PluginSet([PluginRef(n, w) for n, w in DEFAULT_PLUGINS])}
    for point in POINTS:
        p = f"{path}.plugins.{point}"
        raw_set = plugins.get(point) or {}
        if not isinstance(raw_set, Mapping):
            errs.append(FieldError.invalid(p, raw_set, "must be an object"))
            raw_set = {}
        _unknown_fields(errs, p, raw_set, ("enabled", "disabled"))
        custom = _PluginSet(_plugin_list(errs, f"{p}.enabled", raw_set.get("enabled"),
                                         with_weight=point in ("multiPoint", "score")),
                            [r.name for r in _plugin_list(errs, f"{p}.disabled", raw_set.get("disabled"),
                                                          with_weight=False)])
        for ref in custom.enabled:
            if not _known(ref.name):
                errs.append(FieldError.invalid(ref.path, ref.name, "plugin not registered"))
        custom.enabled = [r for r in custom.enabled if _known(r.name)]
        merged[point] = merge_plugin_set(defaults.get(point, _PluginSet()), custom)

    _expand(errs, prof, merged)
    return prof


def _protocol(point: str) -> Any:
    attr_proto = MODELLED_POINTS.get(point)
    return getattr(fw, attr_proto[1], None) if attr_proto is not None else None


def _implements(name: str, point: str, probe: Callable[[str], Plugin | None]) -> bool:
    if name in BUILTIN_PLUGINS and name not in REGISTRY:
        return point in BUILTIN_PLUGINS[name]
    proto = _protocol(point)
    inst = probe(name)
    return proto is not None and inst is not None and isinstance(inst, proto)


def _expand(errs: list[FieldError], prof: ProfileConfig, merged: Mapping[str, _PluginSet]) -> None:
    """expandMultiPointPlugins + updatePluginList for every point, then the score weights."""
    probes: dict[str, Plugin | None] = {}

    def probe(name: str) -> Plugin | None:  # an instance, to see which protocols it implements
        if name not in probes:
            try:
                probes[name] = REGISTRY[name](prof.plugin_args.get(name)) if name in REGISTRY else None
            except (ValueError, TypeError, KeyError) as e:
                probes[name] = None
                path = prof.plugin_args_paths.get(name, f"pluginConfig[{name}]")
                errs.append(FieldError.invalid(path, dict(prof.plugin_args.get(name) or {}), str(e)))
        return probes[name]

    multi = merged["multiPoint"].enabled
    seen_multi: set[str] = set()
    for ref in multi:
        if ref.name in seen_multi:
            errs.append(FieldError.duplicate(ref.path or "multiPoint", ref.name))
        seen_multi.add(ref.name)
    for point in tuple(MODELLED_POINTS) + OTHER_POINTS:
        pset = merged[point]
        explicit: list[str] = []
        for ref in pset.enabled:
            if ref.name in explicit:
                errs.append(FieldError.duplicate(ref.path, ref.name))
                continue
            if not _implements(ref.name, point, probe):
                if probes.get(ref.name, True) is not None:  # not an args error already reported
                    errs.append(FieldError.invalid(ref.path, ref.name, f"plugin does not implement {point}"))
                continue
            explicit.append(ref.name)
        if point not in MODELLED_POINTS:
            continue
        disabled = set(pset.disabled)
        overrides: list[str] = []
        from_multi: list[str] = []
        if "*" not in disabled:
            for ref in multi:
                if ref.name not in REGISTRY or not _implements(ref.name, point, probe):
                    continue
                if ref.name in disabled or ref.name in from_multi:
                    continue
                if ref.name in explicit:
                    overrides.append(ref.name)
                    continue
                from_multi.append(ref.name)
        ordered = [n for n in explicit if n in overrides] + from_multi + \
            [n for n in explicit if n not in overrides]
        prof.points[point] = [n for n in ordered if n in REGISTRY]
    # getScoreWeights: the score entry's weight first, then multiPoint's; 0 means 1
    for ref in list(merged["score"].enabled) + list(multi):
        if ref.name in prof.points.get("score", []) and ref.name not in prof.weights:
            prof.weights[ref.name] = ref.weight or 1


def parse_config(raw: Mapping[str, Any] | None) -> SchedulerConfig:
    """Parse, default and validate; raises ConfigError listing every problem."""
    errs: list[FieldError] = []
    raw = raw or {}
    if not isinstance(raw, Mapping):
        raise ConfigError([FieldError.invalid("", raw, "must be an object")])
    _unknown_fields(errs, "", raw, TOP_FIELDS)
    cfg = SchedulerConfig()
    pct = _percentage(errs, "percentageOfNodesToScore", raw.get("percentageOfNodesToScore"))
    cfg.percentage_of_nodes_to_score = pct or 0
    init = raw.get("podInitialBackoffSeconds", DEFAULT_POD_INITIAL_BACKOFF_SECONDS)
    mx = raw.get("podMaxBackoffSeconds", DEFAULT_POD_MAX_BACKOFF_SECONDS)
    ok = True
    for name, v in (("podInitialBackoffSeconds", init), ("podMaxBackoffSeconds", mx)):
        if not _is_int(v):
            errs.append(FieldError.invalid(name, v, "must be an integer"))
            ok = False
    if ok:
        if init <= 0:
            errs.append(FieldError.invalid("podInitialBackoffSeconds", init, "must be greater than 0"))
        if mx < init:
            errs.append(FieldError.invalid("podMaxBackoffSeconds", mx,
                                           "must be greater than or equal to PodInitialBackoffSeconds"))
        cfg.pod_initial_backoff_seconds, cfg.pod_max_backoff_seconds = float(init), float(mx)
    profiles = raw.get("profiles")
    if profiles is None or profiles == []:
        profiles = [{}]
    if not isinstance(profiles, list):
        errs.append(FieldError.invalid("profiles", profiles, "must be a list"))
        profiles = []
    seen: dict[str, int] = {}
    for i, rp in enumerate(profiles):
        prof = _parse_profile(errs, f"profiles[{i}]", rp, single=len(profiles) == 1)
        if prof is None:
            continue
        if prof.scheduler_name:
            if prof.scheduler_name in seen:
                errs.append(FieldError.duplicate(f"profiles[{i}].schedulerName",
                                                 GoRepr(f"profiles[{seen[prof.scheduler_name]}].schedulerName")))
            else:
                seen[prof.scheduler_name] = i
        cfg.profiles.append(prof)
    if errs:
        raise ConfigError(errs)
    return cfg


# ---- building -----------------------------------------------------------------------------


def build_framework(prof: ProfileConfig, timer: Callable[[], float] | None = None) -> Framework:
    """registry.new_framework with the profile's plugins, then each modelled extension
    point narrowed and ordered as configured."""
    needed = prof.needed()
    fwk = new_framework(prof.scheduler_name, [(n, prof.weights.get(n, 0)) for n in needed],
                        {n: a for n, a in prof.plugin_args.items() if n in needed})
    by_name = {p.name: p for p in fwk.plugins}
    for point, (attr, _) in MODELLED_POINTS.items():
        if not hasattr(fwk, attr) or point not in prof.points:
            continue
        names = prof.points[point]
        if point == "score":
            setattr(fwk, attr, [(by_name[n], prof.weights.get(n, 1)) for n in names])
        else:
            setattr(fwk, attr, [by_name[n] for n in names])
    fwk.percentage_of_nodes_to_score = prof.percentage_of_nodes_to_score
    if timer is not None:
        fwk.timer = timer
    return fwk


def build_frameworks(cfg: SchedulerConfig, timer: Callable[[], float] | None = None) -> dict[str, Framework]:
    """schedulerName -> its Framework, in profile order."""
    return {p.scheduler_name: build_framework(p, timer) for p in cfg.profiles}


def load(raw: Mapping[str, Any] | None, timer: Callable[[], float] | None = None
         ) -> tuple[SchedulerConfig, dict[str, Framework]]:
    cfg = parse_config(raw)
    return cfg, build_frameworks(cfg, timer)
