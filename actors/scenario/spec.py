"""The scenario file: its schema and validation (pure; file reads are injected).

    name: node-failure                 # a DNS-1123 label
    description: a node dies; its pods move
    onFailure: continue                # default for expect steps: continue | stop
    cluster:                           # optional: the cluster to launch
      file: ../cluster.yaml            #   a cluster.yaml (relative to this file) ...
      timeScale: 0.1                   #   ... with these keys laid over it
    steps:
      - apply: {file: web.yaml}        # or manifest: {...} | [{...}, ...] | "yaml text"
      - wait:
          deploymentAvailable: {name: web, replicas: 3}
          within: 120s
      - fault:
          kill: {nodeOf: {deployment: web}}
          as: victim                   # later steps say ${victim}
      - expect:
          nodeStatus: {node: "${victim}", status: Unknown}
          within: nodeMonitorGracePeriod + nodeMonitorPeriod + 15s
      - mark: the node is gone
      - sleep: 30s
      - heal: all                      # or a node
      - scale: {deployment: web, replicas: 5}
      - delete: {kind: Deployment, name: web}

Step kinds: apply, delete, scale, fault, heal, sleep, wait, expect, mark. A `wait`
blocks until its conditions all hold (failing to: the scenario stops); an `expect` is
the same but records its verdict and goes on or stops per `onFailure`; `for: D` also
makes the conditions hold for D once they do. Conditions are listed in
`actors.scenario.conditions.SCHEMAS`.

Durations are in SCENARIO time — upstream seconds — and are multiplied by the
cluster's timeScale when run. A duration is a number of seconds, a Go-style string
("30s", "1m30s"), or a sum of those and of the cluster's timings, optionally with a
factor: `nodeMonitorGracePeriod + 2*nodeMonitorPeriod + 10s` (resolved against the
timings of the cluster the scenario runs on).

Every problem is reported at once, each naming the path in Kubernetes' form:
`steps[3].expect.within: Invalid value: "soon": must be a duration ...`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

import yaml

from actors.common.config import (DEFAULT_TIMINGS, DNS1123_LABEL, ClusterConfig, ConfigError,
                                  parse_duration)
from actors.common.config import parse as parse_cluster

STEP_KINDS = ("apply", "delete", "scale", "fault", "heal", "sleep", "wait", "expect", "mark")
FAULT_ACTIONS = ("kill", "stop", "start", "partition", "heal", "delay", "drop")
NODE_ACTIONS = ("stop", "start")
COMPONENTS = ("etcd-leader", "apiserver", "scheduler", "controller-manager")
AGENTS = ("kubelet", "kube-proxy")  # kubelet-<node>, kube-proxy-<node>
ON_FAILURE = ("continue", "stop")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_-]*)\}")
_FACTOR = re.compile(r"^(\d+(?:\.\d+)?)\s*\*\s*(.+)$")
_ETCD_N = re.compile(r"^etcd-(\d+)$")

ReadText = Callable[[str], str]


class ScenarioError(Exception):
    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        lines = "\n".join(f"  {e}" for e in errors)
        super().__init__(f"{source} is invalid:\n{lines}")


def _q(v: Any) -> str:
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        s = str(yaml.safe_dump(v, default_flow_style=True, width=1 << 20)).strip()
        return s if len(s) <= 60 else s[:57] + "..."
    return repr(v)


# ---- durations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Duration:
    """A duration in scenario seconds: a sum of (factor, timing name | None, seconds)."""

    text: str
    terms: tuple[tuple[float, str | None, float], ...]

    @classmethod
    def of(cls, seconds: float) -> "Duration":
        return cls(f"{seconds:g}s", ((1.0, None, float(seconds)),))

    def seconds(self, timings: dict[str, float] | None = None) -> float:
        """Scenario seconds, timing names looked up in `timings` (default: upstream)."""
        t = timings or DEFAULT_TIMINGS
        return sum(f * (t.get(n, DEFAULT_TIMINGS[n]) if n else s) for f, n, s in self.terms)

    def __str__(self) -> str:
        return self.text


DURATION_HELP = ("must be a duration such as 10s, 500ms or 5m, or a sum of durations and "
                 "cluster timings such as nodeMonitorGracePeriod + 2*nodeMonitorPeriod + 10s")


def parse_scenario_duration(v: Any) -> Duration:
    """Duration from a number, "30s", or "timingName + 2*otherTiming + 10s"."""
    if isinstance(v, bool):
        raise ValueError(DURATION_HELP)
    if isinstance(v, (int, float)):
        return Duration(f"{v:g}s", ((1.0, None, parse_duration(v)),))
    if not isinstance(v, str) or not v.strip():
        raise ValueError(DURATION_HELP)
    terms: list[tuple[float, str | None, float]] = []
    for raw in v.split("+"):
        part = raw.strip()
        factor = 1.0
        m = _FACTOR.match(part)
        if m:
            factor, part = float(m.group(1)), m.group(2).strip()
        if part in DEFAULT_TIMINGS:
            terms.append((factor, part, 0.0))
            continue
        try:
            terms.append((factor, None, parse_duration(part)))
        except ValueError:
            if re.fullmatch(r"[A-Za-z]+", part) and (len(terms) > 0 or "+" in v
                                                      or not part.islower()):
                raise ValueError(f"unknown timing {part!r}; timings: "
                                 + ", ".join(DEFAULT_TIMINGS)) from None
            raise ValueError(DURATION_HELP) from None
    return Duration(v.strip(), tuple(terms))


# ---- the model ------------------------------------------------------------------------


@dataclass
class Condition:
    kind: str
    args: dict[str, Any]
    path: str = ""

    def describe(self) -> str:
        from actors.scenario.conditions import describe

        return describe(self.kind, self.args)


@dataclass
class Step:
    index: int
    kind: str
    args: dict[str, Any]
    description: str = ""
    path: str = ""

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def conditions(self) -> list[Condition]:
        return list(self.args.get("conditions") or [])

    def label(self) -> str:
        """One line: what this step does (variables not yet substituted)."""
        if self.description:
            return self.description
        a = self.args
        if self.kind == "apply":
            if a.get("file"):
                return f"apply {a['file_arg']}"
            objs = a.get("manifests") or []
            return "apply " + ", ".join(
                f"{str(o.get('kind', '?')).lower()}/{(o.get('metadata') or {}).get('name', '?')}"
                for o in objs)
        if self.kind == "delete":
            return f"delete {a['kind'].lower()}/{a['name']}"
        if self.kind == "scale":
            return f"scale deployment/{a['deployment']} --replicas={a['replicas']}"
        if self.kind == "fault":
            return fault_label(a)
        if self.kind == "heal":
            return f"heal {a['node'] or 'all'}"
        if self.kind == "sleep":
            return f"sleep {a['duration']}"
        if self.kind in ("wait", "expect"):
            conds = " and ".join(c.describe() for c in self.conditions)
            s = f"{self.kind} {conds} within {a['within']}"
            if a.get("for"):
                s += f", holding for {a['for']}"
            return s
        if self.kind == "mark":
            return str(a["text"])
        return self.kind


def target_text(t: Any) -> str:
    if isinstance(t, dict) and "nodeOf" in t:
        of = t["nodeOf"]
        what = ", ".join(f"{k}={v}" for k, v in of.items() if k != "namespace")
        return f"nodeOf({what})"
    return str(t)


def fault_label(a: dict[str, Any]) -> str:
    act = a["action"]
    s = f"fault {act} {target_text(a['target']) if a['target'] is not None else 'all'}"
    if a.get("restartAfter") is not None:
        s += f" (restart after {a['restartAfter']})"
    if a.get("seconds") is not None:
        s += f" by {a['seconds']}"
    if a.get("rate") is not None:
        s += f" at rate {a['rate']:g}"
    if a.get("as"):
        s += f" as ${{{a['as']}}}"
    return s


@dataclass
class Scenario:
    name: str
    description: str = ""
    steps: list[Step] = field(default_factory=list)
    on_failure: str = "continue"
    cluster: ClusterConfig | None = None     # when the file has a cluster: section
    cluster_name_set: bool = False           # the section named the cluster itself
    source: str = "<scenario>"
    base_dir: str = "."

    @property
    def expectations(self) -> list[Step]:
        return [s for s in self.steps if s.kind == "expect"]

    def needs_faults(self) -> bool:
        return any(s.kind in ("fault", "heal") for s in self.steps)


# ---- validation -----------------------------------------------------------------------


class _V:
    """Collects errors in Kubernetes' field-error form."""

    def __init__(self) -> None:
        self.errs: list[str] = []

    def invalid(self, path: str, value: Any, why: str) -> None:
        self.errs.append(f"{path}: Invalid value: {_q(value)}: {why}")

    def required(self, path: str, what: str = "") -> None:
        self.errs.append(f"{path}: Required value" + (f": {what}" if what else ""))

    def unsupported(self, path: str, value: Any, supported: tuple[str, ...] | list[str]) -> None:
        self.errs.append(f"{path}: Unsupported value: {_q(value)}: supported values: "
                         + ", ".join(f'"{s}"' for s in supported))

    def unknown_fields(self, path: str, d: dict[str, Any], known: tuple[str, ...]) -> None:
        for k in d:
            if k not in known:
                self.errs.append(f"{path}.{k}: Unsupported value: {_q(k)}: supported values: "
                                 + ", ".join(f'"{s}"' for s in known))

    # typed getters: return the value, or None after recording why it is bad
    def string(self, path: str, d: dict[str, Any], key: str, *, required: bool = False,
               default: str | None = None) -> str | None:
        if key not in d or d[key] is None:
            if required:
                self.required(f"{path}.{key}")
            return default
        v = d[key]
        if not isinstance(v, str) or not v:
            self.invalid(f"{path}.{key}", v, "must be a non-empty string")
            return None
        return v

    def duration(self, path: str, v: Any) -> Duration | None:
        try:
            return parse_scenario_duration(v)
        except ValueError as e:
            self.invalid(path, v, str(e))
            return None


def has_var(v: Any) -> bool:
    return isinstance(v, str) and bool(_VAR.search(v))


def variables_in(obj: Any) -> list[str]:
    """Names referenced as ${name} anywhere in obj (strings, lists, mappings)."""
    out: list[str] = []
    if isinstance(obj, str):
        out.extend(_VAR.findall(obj))
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out.extend(variables_in(v))
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            out.extend(variables_in(v))
    elif isinstance(obj, Condition):
        out.extend(variables_in(obj.args))
    elif isinstance(obj, Duration):
        pass
    return out


def substitute(obj: Any, env: dict[str, str]) -> Any:
    """obj with every ${name} replaced by env[name]; an unknown name raises KeyError."""
    if isinstance(obj, str):
        def rep(m: re.Match[str]) -> str:
            if m.group(1) not in env:
                raise KeyError(m.group(1))
            return env[m.group(1)]
        return _VAR.sub(rep, obj)
    if isinstance(obj, dict):
        return {k: substitute(v, env) for k, v in obj.items()}
    if isinstance(obj, list):
        return [substitute(v, env) for v in obj]
    if isinstance(obj, tuple):
        return tuple(substitute(v, env) for v in obj)
    if isinstance(obj, Condition):
        return Condition(obj.kind, substitute(obj.args, env), obj.path)
    return obj


def _manifest_docs(v: _V, path: str, value: Any) -> list[dict[str, Any]]:
    """The objects of an inline `manifest:` (a mapping, a list of them, or YAML text)."""
    if isinstance(value, str):
        try:
            docs = [d for d in yaml.safe_load_all(value) if d is not None]
        except yaml.YAMLError as e:
            v.invalid(path, "<yaml>", f"not valid YAML: {str(e).splitlines()[0]}")
            return []
    elif isinstance(value, dict):
        docs = [value]
    elif isinstance(value, list):
        docs = list(value)
    else:
        v.invalid(path, value, "must be a manifest (a mapping), a list of them or YAML text")
        return []
    out: list[dict[str, Any]] = []
    for i, d in enumerate(docs):
        p = f"{path}[{i}]" if len(docs) > 1 or isinstance(value, list) else path
        if not isinstance(d, dict):
            v.invalid(p, d, "must be a mapping (a Kubernetes object)")
            continue
        if d.get("kind") == "List" and isinstance(d.get("items"), list):
            out.extend(x for x in d["items"] if isinstance(x, dict))
            continue
        ok = True
        for k in ("apiVersion", "kind"):
            if not d.get(k):
                v.required(f"{p}.{k}")
                ok = False
        if not (d.get("metadata") or {}).get("name"):
            v.required(f"{p}.metadata.name")
            ok = False
        if ok:
            from actors.api import resources

            try:
                resources.for_object(d)
            except KeyError:
                v.invalid(f"{p}.kind", d.get("kind"),
                          f'no kind "{d.get("kind")}" is served in version "{d.get("apiVersion")}"')
                continue
            out.append(d)
    return out


def _join(base_dir: str, path: str) -> str:
    import posixpath

    return path if posixpath.isabs(path) else posixpath.normpath(posixpath.join(base_dir, path))


class _Parser:
    def __init__(self, source: str, base_dir: str, read_text: ReadText | None,
                 nodes: list[str] | None, etcd_members: int | None) -> None:
        self.v = _V()
        self.source = source
        self.base_dir = base_dir
        self.read_text = read_text
        self.nodes = nodes
        self.etcd_members = etcd_members
        self.bound: list[str] = []

    # -- the cluster section

    def cluster(self, doc: Any) -> tuple[ClusterConfig | None, bool]:
        v = self.v
        if doc is None:
            return None, False
        if not isinstance(doc, dict):
            v.invalid("cluster", doc, "must be a mapping: a cluster.yaml document, or "
                                      "file: plus overrides")
            return None, False
        body = dict(doc)
        base: dict[str, Any] = {}
        if "file" in body:
            f = body.pop("file")
            if not isinstance(f, str) or not f:
                v.invalid("cluster.file", f, "must be the path of a cluster.yaml")
                return None, False
            if self.read_text is None:
                base = {}
            else:
                path = _join(self.base_dir, f)
                try:
                    loaded = yaml.safe_load(self.read_text(path))
                except OSError as e:
                    v.errs.append(f"cluster.file: Not found: {_q(f)}: "
                                  f"{getattr(e, 'strerror', None) or e}")
                    return None, False
                except yaml.YAMLError as e:
                    v.invalid("cluster.file", f, f"not valid YAML: {str(e).splitlines()[0]}")
                    return None, False
                if not isinstance(loaded, dict):
                    v.invalid("cluster.file", f, "must hold a cluster.yaml mapping")
                    return None, False
                base = loaded
        merged = dict(base)
        for k, val in body.items():
            if k == "timings" and isinstance(val, dict) and isinstance(base.get("timings"), dict):
                merged["timings"] = {**base["timings"], **val}
            else:
                merged[k] = val
        if "nodes" not in merged and self.read_text is None and "file" in doc:
            # the file was not read (pure validation): only the overrides can be checked
            merged["nodes"] = [{"name": "node-1"}]
        try:
            cfg = parse_cluster(merged, source=f"{self.source} (cluster)")
        except ConfigError as e:
            for err in e.errors:
                v.errs.append(err.replace("<root>", "cluster") if err.startswith("<root>")
                              else f"cluster.{err}")
            return None, False
        return cfg, "name" in body

    # -- steps

    def steps(self, raw: Any) -> list[Step]:
        v = self.v
        if raw is None:
            v.required("steps", "at least one step")
            return []
        if not isinstance(raw, list) or not raw:
            v.invalid("steps", raw, "must be a non-empty list of steps")
            return []
        out = []
        for i, s in enumerate(raw):
            st = self.step(i, s)
            if st is not None:
                out.append(st)
        return out

    def step(self, i: int, s: Any) -> Step | None:
        v = self.v
        p = f"steps[{i}]"
        if isinstance(s, str) and s in ("heal",):
            s = {"heal": "all"}
        if not isinstance(s, dict):
            v.invalid(p, s, "must be a mapping with one of: " + ", ".join(STEP_KINDS))
            return None
        kinds = [k for k in s if k in STEP_KINDS]
        extra = [k for k in s if k not in STEP_KINDS and k != "description"]
        for k in extra:
            v.unsupported(f"{p}.{k}", k, STEP_KINDS + ("description",))
        if not kinds:
            if not extra:
                v.required(p, "one of " + ", ".join(STEP_KINDS))
            return None
        if len(kinds) > 1:
            v.invalid(p, kinds, "a step does exactly one thing: " + ", ".join(kinds))
            return None
        kind = kinds[0]
        desc = s.get("description") or ""
        if not isinstance(desc, str):
            v.invalid(f"{p}.description", desc, "must be a string")
            desc = ""
        n_errs = len(v.errs)
        args = getattr(self, f"_{kind}")(f"{p}.{kind}", s[kind])
        if args is None or len(v.errs) > n_errs:
            return None
        if kind in ("wait", "expect") and args.pop("description", ""):
            desc = desc or s[kind].get("description", "")
        self._check_vars(f"{p}.{kind}", s[kind])
        if kind == "fault" and args.get("as"):
            self.bound.append(args["as"])
        return Step(index=i, kind=kind, args=args, description=desc, path=p)

    def _check_vars(self, path: str, raw: Any) -> None:
        def walk(p: str, x: Any) -> None:
            if isinstance(x, str):
                for name in _VAR.findall(x):
                    if name not in self.bound:
                        self.v.invalid(p, x, f'refers to "{name}", which no earlier step binds '
                                             "(fault ... as: NAME)")
            elif isinstance(x, dict):
                for k, val in x.items():
                    walk(f"{p}.{k}", val)
            elif isinstance(x, list):
                for j, val in enumerate(x):
                    walk(f"{p}[{j}]", val)
        if isinstance(raw, dict) and "manifest" in raw:
            raw = {k: val for k, val in raw.items() if k != "manifest"}
        walk(path, raw)

    def _apply(self, p: str, a: Any) -> dict[str, Any] | None:
        v = self.v
        if isinstance(a, str):  # apply: web.yaml
            a = {"file": a}
        if not isinstance(a, dict):
            v.invalid(p, a, "must be a mapping with manifest: or file:")
            return None
        v.unknown_fields(p, a, ("manifest", "file", "namespace"))
        srcs = [k for k in ("manifest", "file") if k in a]
        if len(srcs) != 1:
            if not srcs:
                v.required(p, "one of manifest, file")
            else:
                v.invalid(p, srcs, "give either manifest or file, not both")
            return None
        ns = v.string(p, a, "namespace")
        if "manifest" in a:
            docs = _manifest_docs(v, f"{p}.manifest", a["manifest"])
            if not docs and not v.errs:
                v.required(f"{p}.manifest", "at least one object")
            return {"manifests": docs, "file": None, "namespace": ns}
        f = a["file"]
        if not isinstance(f, str) or not f:
            v.invalid(f"{p}.file", f, "must be a path")
            return None
        path = _join(self.base_dir, f)
        docs = []
        if self.read_text is not None:
            try:
                text = self.read_text(path)
            except OSError as e:
                v.errs.append(f"{p}.file: Not found: {_q(f)}: {getattr(e, 'strerror', None) or e}")
                return None
            docs = _manifest_docs(v, f"{p}.file", text)
        return {"manifests": docs, "file": path, "file_arg": f, "namespace": ns}

    def _delete(self, p: str, a: Any) -> dict[str, Any] | None:
        v = self.v
        if not isinstance(a, dict):
            v.invalid(p, a, "must be a mapping: {kind, name, namespace}")
            return None
        v.unknown_fields(p, a, ("kind", "name", "namespace", "ignoreNotFound"))
        kind = v.string(p, a, "kind", required=True)
        name = v.string(p, a, "name", required=True)
        ns = v.string(p, a, "namespace")
        if kind:
            from actors.api import resources

            try:
                info = resources.lookup(kind)
            except KeyError:
                v.invalid(f"{p}.kind", kind, "not a kind the apiserver serves")
                return None
            kind = info.kind
            if not info.namespaced:
                ns = None
            elif ns is None:
                ns = "default"
        inf = a.get("ignoreNotFound", False)
        if not isinstance(inf, bool):
            v.invalid(f"{p}.ignoreNotFound", inf, "must be true or false")
        return {"kind": kind, "name": name, "namespace": ns, "ignoreNotFound": bool(inf)}

    def _scale(self, p: str, a: Any) -> dict[str, Any] | None:
        v = self.v
        if not isinstance(a, dict):
            v.invalid(p, a, "must be a mapping: {deployment, replicas}")
            return None
        v.unknown_fields(p, a, ("deployment", "replicas", "namespace"))
        dep = v.string(p, a, "deployment", required=True)
        r = a.get("replicas")
        if r is None:
            v.required(f"{p}.replicas")
        elif isinstance(r, bool) or not isinstance(r, int) or r < 0:
            v.invalid(f"{p}.replicas", r, "must be an integer greater than or equal to 0")
        return {"deployment": dep, "replicas": r,
                "namespace": v.string(p, a, "namespace", default="default")}

    def _target(self, p: str, t: Any, *, nodes_only: bool) -> Any:
        v = self.v
        if isinstance(t, dict):
            if list(t) != ["nodeOf"] or not isinstance(t["nodeOf"], dict):
                v.invalid(p, t, "must be a name or {nodeOf: {deployment: NAME} | "
                                "{selector: LABELS} | {pod: NAME}}")
                return None
            of = t["nodeOf"]
            v.unknown_fields(f"{p}.nodeOf", of, ("deployment", "selector", "pod", "namespace"))
            which = [k for k in ("deployment", "selector", "pod") if k in of]
            if len(which) != 1:
                v.invalid(f"{p}.nodeOf", of, "give exactly one of deployment, selector, pod")
                return None
            val = of[which[0]]
            if not isinstance(val, str) or not val:
                v.invalid(f"{p}.nodeOf.{which[0]}", val, "must be a non-empty string")
                return None
            if which[0] == "selector" and not has_var(val):
                _check_selector(v, f"{p}.nodeOf.selector", val)
            ns = of.get("namespace", "default")
            if not isinstance(ns, str) or not ns:
                v.invalid(f"{p}.nodeOf.namespace", ns, "must be a namespace")
            return {"nodeOf": {which[0]: val, "namespace": ns}}
        if not isinstance(t, str) or not t:
            v.invalid(p, t, "must be a node or component name")
            return None
        if has_var(t):
            return t
        nodes = self.nodes
        agents = None if nodes is None else [f"{a}-{n}" for n in nodes for a in AGENTS]
        if nodes_only:
            if nodes is not None and agents is not None and t not in nodes and t not in agents:
                v.unsupported(p, t, nodes + agents)
        else:
            m = _ETCD_N.match(t)
            if m:
                n_members = self.etcd_members
                if int(m.group(1)) < 1 or (n_members is not None and int(m.group(1)) > n_members):
                    v.invalid(p, t, f"etcd members are etcd-1 .. etcd-{n_members or 'N'}")
            elif (t not in COMPONENTS and nodes is not None and agents is not None
                  and t not in nodes and t not in agents):
                v.unsupported(p, t, nodes + list(COMPONENTS) + ["etcd-N"] + agents)
        return t

    def _fault(self, p: str, a: Any) -> dict[str, Any] | None:
        v = self.v
        if not isinstance(a, dict):
            v.invalid(p, a, "must be a mapping with one of " + ", ".join(FAULT_ACTIONS))
            return None
        v.unknown_fields(p, a, FAULT_ACTIONS + ("restartAfter", "seconds", "rate", "as"))
        acts = [k for k in FAULT_ACTIONS if k in a]
        if len(acts) != 1:
            if not acts:
                v.required(p, "one of " + ", ".join(FAULT_ACTIONS))
            else:
                v.invalid(p, acts, "one fault per step")
            return None
        act = acts[0]
        ap = f"{p}.{act}"
        out: dict[str, Any] = {"action": act, "restartAfter": None, "seconds": None,
                               "rate": None, "as": None}
        raw_t = a[act]
        if act == "heal" and (raw_t in (None, "all")):
            out["target"] = None
        else:
            out["target"] = self._target(ap, raw_t, nodes_only=act in NODE_ACTIONS)
        if "restartAfter" in a:
            t = out.get("target")
            if act != "kill":
                v.invalid(f"{p}.restartAfter", a["restartAfter"], "only a kill restarts after")
            elif isinstance(t, str) and not has_var(t) and (
                    t in COMPONENTS or _ETCD_N.match(t)):
                v.invalid(f"{p}.restartAfter", a["restartAfter"],
                          f'applies to nodes and their agents; Ray restarts "{t}" by itself')
            elif a["restartAfter"] is not None:
                out["restartAfter"] = v.duration(f"{p}.restartAfter", a["restartAfter"])
        if act == "delay":
            if "seconds" not in a:
                v.required(f"{p}.seconds", "the added latency")
            else:
                out["seconds"] = v.duration(f"{p}.seconds", a["seconds"])
        elif "seconds" in a:
            v.invalid(f"{p}.seconds", a["seconds"], "only a delay takes seconds")
        if act == "drop":
            r = a.get("rate")
            if r is None:
                v.required(f"{p}.rate", "the fraction of calls dropped (0..1)")
            elif isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 <= r <= 1:
                v.invalid(f"{p}.rate", r, "must be a number between 0 and 1")
            else:
                out["rate"] = float(r)
        elif "rate" in a:
            v.invalid(f"{p}.rate", a["rate"], "only a drop takes a rate")
        if "as" in a:
            name = a["as"]
            if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name):
                v.invalid(f"{p}.as", name, "must be a variable name (letters, digits, _ and -)")
            elif out.get("target") is None:
                v.invalid(f"{p}.as", name, "there is no target to bind")
            else:
                out["as"] = name
        return out

    def _heal(self, p: str, a: Any) -> dict[str, Any] | None:
        if a in (None, "all"):
            return {"node": None}
        t = self._target(p, a, nodes_only=False)
        return None if t is None else {"node": t}

    def _sleep(self, p: str, a: Any) -> dict[str, Any] | None:
        d = self.v.duration(p, a)
        return None if d is None else {"duration": d}

    def _mark(self, p: str, a: Any) -> dict[str, Any] | None:
        if not isinstance(a, (str, int, float)) or isinstance(a, bool) or a == "":
            self.v.invalid(p, a, "must be a label (text)")
            return None
        return {"text": str(a)}

    def _wait(self, p: str, a: Any) -> dict[str, Any] | None:
        return self._conditional(p, a, expect=False)

    def _expect(self, p: str, a: Any) -> dict[str, Any] | None:
        return self._conditional(p, a, expect=True)

    def _conditional(self, p: str, a: Any, *, expect: bool) -> dict[str, Any] | None:
        from actors.scenario.conditions import SCHEMAS, validate_condition

        v = self.v
        if not isinstance(a, dict):
            v.invalid(p, a, "must be a mapping of conditions and within:")
            return None
        own = ("within", "for", "description") + (("onFailure",) if expect else ())
        conds: list[Condition] = []
        for k, val in a.items():
            if k in own:
                continue
            if k not in SCHEMAS:
                v.unsupported(f"{p}.{k}", k, tuple(SCHEMAS) + own)
                continue
            args = validate_condition(k, val, f"{p}.{k}", v, nodes=self.nodes)
            if args is not None:
                conds.append(Condition(k, args, f"{p}.{k}"))
        if not [k for k in a if k not in own]:
            v.required(p, "at least one condition: " + ", ".join(SCHEMAS))
        out: dict[str, Any] = {"conditions": conds, "within": Duration.of(0), "for": None,
                               "onFailure": None}
        if "within" in a:
            out["within"] = v.duration(f"{p}.within", a["within"])
        elif not expect or "for" not in a:
            v.required(f"{p}.within", "how long the conditions may take (scenario time)")
        if "for" in a:
            out["for"] = v.duration(f"{p}.for", a["for"])
        if "onFailure" in a:
            of = a["onFailure"]
            if of not in ON_FAILURE:
                v.unsupported(f"{p}.onFailure", of, ON_FAILURE)
            else:
                out["onFailure"] = of
        if "description" in a:
            out["description"] = str(a["description"])
        return out


def _check_selector(v: _V, path: str, sel: str) -> None:
    from actors.api.selectors import parse_label_selector

    try:
        parse_label_selector(sel)
    except ValueError as e:
        v.invalid(path, sel, str(e))


def parse(doc: Any, source: str = "<scenario>", *, base_dir: str = ".",
          read_text: ReadText | None = None, nodes: list[str] | None = None,
          etcd_members: int | None = None) -> Scenario:
    """Validate a parsed scenario document; raises ScenarioError listing every problem.

    `read_text(path)` reads the files the scenario names (cluster.file, apply.file),
    relative to `base_dir`; without it they are not checked. Literal node names are
    checked against `nodes` — default: those of the file's cluster section, if any."""
    p = _Parser(source, base_dir, read_text, nodes, etcd_members)
    v = p.v
    if not isinstance(doc, dict):
        raise ScenarioError(source, [f"<root>: Invalid value: {_q(doc)}: must be a mapping"])
    known = ("name", "description", "cluster", "steps", "onFailure")
    v.unknown_fields("<root>", doc, known)
    v.errs = [e.replace("<root>.", "") for e in v.errs]
    name = doc.get("name")
    if name is None:
        v.required("name")
    elif not isinstance(name, str) or not DNS1123_LABEL.match(name) or len(name) > 50:
        v.invalid("name", name, "must be a DNS-1123 label of at most 50 characters "
                                "(lowercase letters, digits and '-')")
    desc = doc.get("description") or ""
    if not isinstance(desc, str):
        v.invalid("description", desc, "must be a string")
        desc = ""
    of = doc.get("onFailure", "continue")
    if of not in ON_FAILURE:
        v.unsupported("onFailure", of, ON_FAILURE)
        of = "continue"
    cfg, named = p.cluster(doc.get("cluster"))
    if cfg is not None:
        if p.nodes is None:
            p.nodes = [n.name for n in cfg.nodes] if (read_text is not None
                                                       or "nodes" in doc["cluster"]) else None
        if p.etcd_members is None:
            p.etcd_members = cfg.etcd_members
    steps = p.steps(doc.get("steps"))
    if v.errs:
        raise ScenarioError(source, v.errs)
    for s in steps:
        if s.kind == "expect" and s.args.get("onFailure") is None:
            s.args["onFailure"] = of
    return Scenario(name=str(name), description=desc.strip(), steps=steps, on_failure=of,
                    cluster=cfg, cluster_name_set=named, source=source, base_dir=base_dir)


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def load(path: str, *, nodes: list[str] | None = None,
         etcd_members: int | None = None) -> Scenario:
    """Read and validate a scenario file (and the files it names)."""
    import os

    try:
        text = _read_text(path)
    except OSError as e:
        raise ScenarioError(path, [f"<file>: Not found: {_q(path)}: {e.strerror}"]) from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ScenarioError(path, [f"<yaml>: Invalid value: {str(e).splitlines()[0]}"]) from None
    return parse(doc, path, base_dir=os.path.dirname(os.path.abspath(path)),
                 read_text=_read_text, nodes=nodes, etcd_members=etcd_members)
