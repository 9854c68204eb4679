"""Run a scenario: its steps in order against a cluster, a live timeline on the console,
then a "what happened when" table, the expectations' verdicts and a JSON report.

`Runner` runs the steps of a parsed `Scenario` against a synchronous API client (the
methods of `SyncAPIClient`), a `Faults` (actors/faults.py) and an `Observer`; the
clock and the sleep are injected so unit tests drive it with fakes. Durations of the
file are scenario seconds: the runner multiplies them by the cluster's timeScale.

`run_file(path, ...)` is what `kubemu scenario run` calls: it loads the file, launches
the cluster of its `cluster:` section (torn down at the end unless `keep`) or joins an
existing cluster (`name`), runs, prints the summary and writes the report.
Exit code: 0 when every wait and expect held and every step could be carried out, 1
otherwise (130 when interrupted).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import yaml

from actors.common.config import DEFAULT_TIMINGS
from actors.scenario import spec as spec_mod
from actors.scenario.conditions import NEEDS, World, detect, node_of
from actors.scenario.observer import Entry, LocalObserver, Observer, Transitions
from actors.scenario.spec import Duration, Scenario, Step, substitute, target_text

Obj = dict[str, Any]

STYLES = {
    "node-notready": "bold red", "node-condition": "red", "node-ready": "bold green",
    "taint-added": "yellow", "taint-removed": "green", "node-cordoned": "yellow",
    "node-uncordoned": "green", "node-added": "green", "node-deleted": "red",
    "pod-evicted": "magenta", "pod-deleting": "magenta", "pod-gone": "dim magenta",
    "pod-running": "green", "pod-finished": "blue", "event": "dim",
    "step": "bold cyan", "fault": "bold red", "heal": "bold green", "mark": "bold blue",
}
TABLE_SKIPS = ("step-wait", "step-expect", "step-fault", "step-heal", "step-mark")
ICONS = {"step": "▶", "fault": "⚡", "heal": "✚", "mark": "◆", "expect": "?", "event": "·"}


class WorldError(Exception):
    """The objects a condition needs could not be listed (e.g. the apiserver is down)."""


@dataclass
class StepResult:
    number: int
    kind: str
    label: str
    ok: bool = True
    detail: str = ""
    t_start: float = 0.0
    t_end: float = 0.0
    start_real: float = 0.0
    start_scenario: float = 0.0
    end_real: float = 0.0
    end_scenario: float = 0.0
    fatal: bool = False
    conditions: list[dict[str, Any]] = field(default_factory=list)
    within: str | None = None
    within_scenario: float | None = None
    within_real: float | None = None
    hold: str | None = None
    met_real: float | None = None         # when the conditions held (since the start)
    met_scenario: float | None = None
    took_scenario: float | None = None    # since the step began, scenario seconds
    fault: dict[str, Any] | None = None
    what: str = ""                        # wait/expect: the conditions, or the description

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for k in ("start_real", "end_real", "met_real", "within_real"):
            if d.get(k) is not None:
                d[k] = round(d[k], 3)
        for k in ("start_scenario", "end_scenario", "met_scenario", "took_scenario",
                  "within_scenario"):
            if d.get(k) is not None:
                d[k] = round(d[k], 2)
        return d


def fault_record_dict(r: Any) -> dict[str, Any]:
    if r is None:
        return {}
    if dataclasses.is_dataclass(r) and not isinstance(r, type):
        return dataclasses.asdict(r)
    if isinstance(r, dict):
        return dict(r)
    return {k: getattr(r, k, None) for k in ("id", "time", "action", "target", "detail", "ok",
                                             "message")}


class Printer:
    """The live timeline: one line per entry, scenario and real seconds since the start."""

    def __init__(self, console: Any = None, verbose: bool = False) -> None:
        if console is None:
            from rich.console import Console

            console = Console(highlight=False)
        self.console = console
        self.verbose = verbose

    def header(self, text: str) -> None:
        self.console.print(text)
        self.console.print(f"[dim]{'t(scn)':>9} {'t(real)':>8}[/]")

    def entry(self, e: Entry) -> None:
        if e.level == "debug" and not self.verbose:
            return
        style = STYLES.get("step" if e.kind.startswith("step") else e.kind, "")
        if e.kind == "expect":
            style = "bold green" if e.ok else "bold red"
            icon = "✔" if e.ok else "✘"
        elif e.kind == "step-failed":
            style, icon = "bold red", "✘"
        else:
            icon = ICONS.get(e.source if e.source != "observed" else e.kind, "●")
        from rich.markup import escape

        text = escape(e.text)
        self.console.print(f"{e.t_scenario:8.1f}s {e.t_real:7.2f}s  "
                           + (f"[{style}]{icon} {text}[/]" if style else f"{icon} {text}"))

    def note(self, text: str) -> None:
        from rich.markup import escape

        self.console.print(f"{'':18}  [dim]{escape(text)}[/]")


class Runner:
    def __init__(self, scenario: Scenario, api: Any, *, time_scale: float = 1.0,
                 timings: dict[str, float] | None = None, faults: Any = None,
                 observer: Observer | None = None, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, printer: Printer | None = None,
                 poll: float = 0.25, apiserver: str = "", cluster_info: dict[str, Any] | None
                 = None) -> None:
        self.scn = scenario
        self.api = api
        self.time_scale = time_scale
        self.timings = dict(timings or DEFAULT_TIMINGS)
        self._faults = faults
        self.clock = clock
        self.sleep = sleep
        self.printer = printer or Printer()
        self.poll = poll
        self.apiserver = apiserver
        self.cluster_info = dict(cluster_info or {})
        self.local = observer is None or isinstance(observer, LocalObserver)
        self.observer = observer or LocalObserver(Transitions(clock(), time_scale), clock)
        self.observer.tr.time_scale = time_scale
        self.vars: dict[str, str] = {}
        self.results: list[StepResult] = []
        self.fault_records: list[dict[str, Any]] = []
        self.t0 = 0.0
        self.step_started = 0.0
        self.stopped: str | None = None
        self.interrupted = False

    # ---- time -------------------------------------------------------------------------

    def real(self, d: Duration | None) -> float:
        """Real seconds of a scenario duration."""
        return 0.0 if d is None else d.seconds(self.timings) * self.time_scale

    def scn_seconds(self, d: Duration | None) -> float:
        return 0.0 if d is None else d.seconds(self.timings)

    def since(self, t: float) -> tuple[float, float]:
        r = max(0.0, t - self.t0)
        return r, r / self.time_scale

    def _emit(self) -> None:
        for e in self.observer.drain():
            self.printer.entry(e)

    def _add(self, kind: str, subject: str, text: str, *, source: str,
             ok: bool | None = None) -> None:
        self.observer.add(kind, subject, text, source=source, ok=ok)
        self._emit()

    def _pause(self, seconds: float) -> None:
        """Sleep, printing what the observer sees meanwhile."""
        end = self.clock() + seconds
        while True:
            if self.local:
                self._refresh()
            self._emit()
            left = end - self.clock()
            if left <= 0:
                return
            self.sleep(min(self.poll, left))

    def _refresh(self) -> None:
        for res in ("nodes", "pods", "events"):
            try:
                items = self.api.list(res).get("items") or []
            except Exception:
                continue
            self.observer.sync(res, items)

    # ---- the world --------------------------------------------------------------------

    def world(self, needs: set[str]) -> World:
        lists: dict[str, list[Obj]] = {}
        for res in sorted(needs):
            try:
                lists[res] = list(self.api.list(res).get("items") or [])
            except Exception as e:  # noqa: BLE001 - an unreachable apiserver is a state
                raise WorldError(f"cannot list {res}: {getattr(e, 'message', None) or e}") \
                    from None
            if res in ("nodes", "pods", "events"):
                self.observer.sync(res, lists[res])
        return World(now=self.clock(), nodes=lists.get("nodes", []), pods=lists.get("pods", []),
                     deployments=lists.get("deployments", []), events=lists.get("events", []),
                     started=self.t0, step_started=self.step_started,
                     pod_history=self.observer.history())

    # ---- running ----------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self.t0 = self.clock()
        self.observer.tr.start = self.t0
        if self.local:
            for res in ("nodes", "pods", "events"):
                try:
                    self.observer.seed(res, self.api.list(res).get("items") or [])
                except Exception:
                    pass
        ts = self.time_scale
        self.printer.header(
            f"[bold]scenario {self.scn.name}[/]"
            + (f" on cluster {self.cluster_info['name']}" if self.cluster_info.get("name") else "")
            + f" — timeScale {ts:g} (1 s of scenario time = {ts:g} s real)")
        try:
            for step in self.scn.steps:
                result = self.run_step(step)
                self.results.append(result)
                if result.fatal:
                    self.stopped = f"step {step.number} ({step.kind}) failed: {result.detail}"
                    break
        except KeyboardInterrupt:
            self.interrupted = True
            self.stopped = "interrupted"
        self._emit()
        return self.report()

    def run_step(self, step: Step) -> StepResult:
        self.step_started = now = self.clock()
        try:
            args = substitute(step.args, self.vars)
        except KeyError as e:  # validated statically; a fault that failed to bind
            label = step.label()
            r = StepResult(step.number, step.kind, label, ok=False, fatal=True,
                           detail=f"variable ${{{e.args[0]}}} is not set")
            self._stamp(r, now, self.clock())
            return r
        label = dataclasses.replace(step, args=args).label()
        r = StepResult(step.number, step.kind, label)
        if step.kind == "mark":
            self._add("mark", f"step {step.number}", args["text"], source="mark")
        elif step.kind not in ("wait", "expect"):
            self._add(f"step-{step.kind}", f"step {step.number}",
                      f"step {step.number}: {label}", source="step")
        try:
            handler = getattr(self, f"_do_{step.kind}")
            handler(step, args, r)
        except KeyboardInterrupt:
            raise
        except Exception as e:  # noqa: BLE001 - a step that cannot be carried out
            r.ok = False
            r.fatal = True
            r.detail = f"{type(e).__name__}: {getattr(e, 'message', None) or e}"
        if not r.ok and step.kind not in ("wait", "expect"):
            self._add("step-failed", f"step {step.number}",
                      f"step {step.number} failed: {r.detail}", source="step", ok=False)
        self._stamp(r, now, self.clock())
        return r

    def _stamp(self, r: StepResult, start: float, end: float) -> None:
        r.t_start, r.t_end = start, end
        r.start_real, r.start_scenario = self.since(start)
        r.end_real, r.end_scenario = self.since(end)

    # ---- step kinds -------------------------------------------------------------------

    def _do_mark(self, step: Step, a: dict[str, Any], r: StepResult) -> None:
        r.detail = a["text"]

    def _do_sleep(self, step: Step, a: dict[str, Any], r: StepResult) -> None:
        secs = self.real(a["duration"])
        r.detail = f"slept {self.scn_seconds(a['duration']):g} s ({secs:.2f} s real)"
        self._pause(secs)

    def _do_apply(self, step: Step, a: dict[str, Any], r: StepResult) -> None:
        if a.get("file"):
            rc, out, err = self._kubectl_apply([a["file"]], a.get("namespace"))
        else:
            with tempfile.TemporaryDirectory(prefix="kubemu-scenario-") as d:
                path = os.path.join(d, f"step{step.number}-manifest.yaml")
                with open(path, "w", encoding="utf-8") as f:
                    yaml.safe_dump_all(a["manifests"], f, sort_keys=False)
                rc, out, err = self._kubectl_apply([path], a.get("namespace"))
        lines = [ln for ln in out.splitlines() if ln.strip()]
        for ln in lines:
            self.printer.note(ln)
        r.detail = "; ".join(lines)
        if rc != 0:
            r.ok, r.fatal = False, True
            r.detail = (r.detail + "; " if r.detail else "") + err.strip()

    def _kubectl_apply(self, paths: list[str], namespace: str | None) -> tuple[int, str, str]:
        """`kubemu apply -f PATH` (cli.kubectl.cmd_apply) with our client: rc, stdout, stderr."""
        from actors.api.errors import APIError
        from cli import kubectl

        args = argparse.Namespace(filename=paths, recursive=False, dry_run="none",
                                  namespace=namespace, name=None)
        ctx = kubectl.Ctx(args)
        ctx._client = self.api
        ctx.address = self.apiserver
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = int(kubectl.cmd_apply(args, ctx) or 0)
            except kubectl.CLIError as e:
                print(e.text, file=sys.stderr)
                rc = e.code
            except APIError as e:
                print(kubectl.format_api_error(e), file=sys.stderr)
                rc = 1
        return rc, out.getvalue(), err.getvalue()

    def _do_delete(self, step: Step, a: dict[str, Any], r: StepResult) -> None:
        from actors.api import resources
        from actors.api.errors import APIError

        info = resources.lookup(a["kind"])
        try:
            self.api.delete(info.plural, a["name"], namespace=a.get("namespace"))
            r.detail = f'{info.kind.lower()} "{a["name"]}" deleted'
        except APIError as e:
            if e.code == 404 and a.get("ignoreNotFound"):
                r.detail = f'{info.kind.lower()} "{a["name"]}" not found (ignored)'
            else:
                raise
        self.printer.note(r.detail)

    def _do_scale(self, step: Step, a: dict[str, Any], r: StepResult) -> None:
        self.api.patch("deployments", a["deployment"], {"spec": {"replicas": a["replicas"]}},
                       namespace=a.get("namespace") or "default")
        r.detail = f"deployment.apps/{a['deployment']} scaled to {a['replicas']}"
        self.printer.note(r.detail)

    def faults(self) -> Any:
        if callable(self._faults) and not hasattr(self._faults, "kill"):
            self._faults = self._faults()
        if self._faults is None:
            raise RuntimeError("this scenario injects faults, but no fault API is available "
                               "(actors/faults.py)")
        return self._faults

    def _resolve_target(self, t: Any) -> tuple[str, str]:
        if isinstance(t, dict) and "nodeOf" in t:
            needs = {"pods", "deployments"}
            w = self.world(needs)
            node, why = node_of(t["nodeOf"], w)
            if node is None:
                raise RuntimeError(f"cannot resolve {target_text(t)}: {why}")
            return node, why
        return str(t), ""

    def _do_fault(self, step: Step, a: dict[str, Any], r: StepResult) -> None:
        act = a["action"]
        target, why = (None, "") if a["target"] is None else self._resolve_target(a["target"])
        if why:
            self.printer.note(f"{target_text(a['target'])} = {target} ({why})")
        if a.get("as") and target is not None:
            self.vars[a["as"]] = target
        f = self.faults()
        if act == "kill":
            ra = self.real(a["restartAfter"]) if a.get("restartAfter") is not None else None
            rec = f.kill(target, restart_after=ra)
        elif act in ("stop", "start", "partition"):
            rec = getattr(f, act)(target)
        elif act == "heal":
            rec = f.heal(target)
        elif act == "delay":
            rec = f.delay(target, self.real(a["seconds"]))
        elif act == "drop":
            rec = f.drop(target, a["rate"])
        else:  # pragma: no cover - validated
            raise ValueError(act)
        self._fault_done(r, rec, f"{act} {target or 'all'}")

    def _do_heal(self, step: Step, a: dict[str, Any], r: StepResult) -> None:
        node = a.get("node")
        if node is not None:
            node, _ = self._resolve_target(node)
        rec = self.faults().heal(node)
        self._fault_done(r, rec, f"heal {node or 'all'}")

    def _fault_done(self, r: StepResult, rec: Any, what: str) -> None:
        d = fault_record_dict(rec)
        self.fault_records.append(d)
        r.fault = d
        ok = d.get("ok", True) is not False
        msg = d.get("message") or d.get("detail") or ""
        r.detail = f"{what}: {'done' if ok else 'failed'}" + (f" ({msg})" if msg else "")
        kind = "heal" if what.startswith("heal") or what.startswith("start") else "fault"
        self._add(kind, what.split(" ", 1)[-1], r.detail, source="fault", ok=ok)
        if not ok:
            r.ok, r.fatal = False, True

    def _do_wait(self, step: Step, a: dict[str, Any], r: StepResult) -> None:
        self._conditional(step, a, r, expect=False)

    def _do_expect(self, step: Step, a: dict[str, Any], r: StepResult) -> None:
        self._conditional(step, a, r, expect=True)

    def _conditional(self, step: Step, a: dict[str, Any], r: StepResult, *, expect: bool) -> None:
        conds = a["conditions"]
        needs: set[str] = set()
        for c in conds:
            needs.update(NEEDS[c.kind])
        within_s = self.scn_seconds(a["within"])
        within = self.real(a["within"])
        hold = self.real(a["for"]) if a.get("for") else None
        r.within, r.within_scenario, r.within_real = str(a["within"]), within_s, within
        r.hold = str(a["for"]) if a.get("for") else None
        descs = [c.describe() for c in conds]
        what = " and ".join(descs)
        hold_s = self.scn_seconds(a["for"]) if a.get("for") else 0.0
        if hold is not None and within <= 0:
            when = f"holding for {hold_s:g} s ({hold:.2f} s real)"
        else:
            when = f"within {within_s:g} s ({within:.2f} s real)"
            if hold is not None:
                when += f", then holding for {hold_s:g} s"
        text = f"step {step.number}: {step.kind} {step.description or what} {when}"
        if step.description:
            text += f" — {what}"
        self._add(f"step-{step.kind}", f"step {step.number}", text, source="step")
        r.what = step.description or what
        start = self.clock()
        deadline = start + within
        held_since: float | None = None
        results: list[tuple[bool, str]] | None = None
        last_err = ""
        verdict: bool | None = None
        why = ""
        status = self._status()
        try:
            while verdict is None:
                try:
                    w = self.world(needs)
                    results = [detect(c.kind, c.args, w) for c in conds]
                    last_err = ""
                except WorldError as e:
                    results, last_err = None, str(e)
                now = self.clock()
                ok = results is not None and all(x[0] for x in results)
                if status is not None:
                    shown = last_err or "; ".join(d for _, d in results or [])
                    status.update(f"step {step.number}: {now - start:5.1f}s real — {shown}")
                if hold is None:
                    if ok:
                        verdict, r.met_real, r.met_scenario = True, *self.since(now)
                    elif now >= deadline:
                        verdict, why = False, f"not within {within_s:g} s"
                else:
                    if ok:
                        if held_since is None:
                            held_since = now
                        if now - held_since >= hold:
                            verdict = True
                            r.met_real, r.met_scenario = self.since(held_since)
                    elif results is not None and held_since is not None:
                        verdict = False
                        why = (f"held for {(now - held_since) / self.time_scale:.1f} s of "
                               f"{self.scn_seconds(a['for']):g} s, then broke")
                    elif held_since is None and now >= deadline:
                        verdict, why = False, f"not true within {within_s:g} s"
                if verdict is None:
                    if hold is not None and held_since is not None:
                        left = held_since + hold - now
                    else:
                        left = deadline - now
                    self._pause(max(0.001, min(self.poll, left)) if left > 0 else self.poll)
        finally:
            if status is not None:
                status.stop()
        end = self.clock()
        r.took_scenario = (end - start) / self.time_scale if verdict else None
        if r.met_real is not None:
            r.took_scenario = (self.t0 + r.met_real - start) / self.time_scale
        outcome: list[tuple[bool, str] | None] = list(results or []) or [None] * len(conds)
        r.conditions = [{"condition": f"{c.kind}", "description": d, "args": c.args,
                         "ok": bool(res[0]) if res else False,
                         "detail": res[1] if res else last_err}
                        for c, d, res in zip(conds, descs, outcome)]
        details = "; ".join(c["detail"] for c in r.conditions)
        r.ok = bool(verdict)
        if r.ok and hold is not None:
            r.detail = f"held for {hold_s:g} s: {details}"
        elif r.ok:
            took = r.took_scenario or 0.0
            r.detail = f"met after {took:.1f} s: {details}"
        else:
            r.detail = f"{why}: {details}"
            if expect:
                r.fatal = a.get("onFailure") == "stop"
            else:
                r.fatal = True
        if r.ok and hold is not None:
            text = (f"{step.kind} {what}: held for {hold_s:g} s (from "
                    f"t={r.met_scenario or 0.0:.1f} s) — {details}")
        elif r.ok:
            text = f"{step.kind} {what}: met after {r.took_scenario or 0.0:.1f} s — {details}"
        else:
            text = f"{step.kind} {what}: FAILED, {r.detail}"
        self._add("expect", f"step {step.number}", text, source="expect", ok=r.ok)

    def _status(self) -> Any:
        con = getattr(self.printer, "console", None)
        if con is None or not getattr(con, "is_terminal", False):
            return None
        try:
            st = con.status("waiting")
            st.start()
            return st
        except Exception:
            return None

    # ---- the report -------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        end = self.clock()
        real = end - self.t0
        exps = [r for r in self.results if r.kind == "expect"]
        waits = [r for r in self.results if r.kind == "wait"]
        failed_steps = [r for r in self.results if not r.ok]
        passed = not failed_steps and not self.interrupted and \
            len(self.results) == len(self.scn.steps)
        exit_code = 130 if self.interrupted else (0 if passed else 1)
        if self._faults is not None and hasattr(self._faults, "log"):
            try:  # the cluster's whole fault log: this run's part (restart-after ones too)
                logged = [fault_record_dict(x) for x in self._faults.log()]
                mine = [x for x in logged if float(x.get("time") or 0) >= self.t0 - 1.0]
                if mine or not self.fault_records:
                    self.fault_records = mine
            except Exception:
                pass
        return {
            "scenario": self.scn.name,
            "description": self.scn.description,
            "file": self.scn.source,
            "cluster": {**self.cluster_info, "timeScale": self.time_scale},
            "startedAt": self.t0,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.t0)),
            "duration": {"real": round(real, 3), "scenario": round(real / self.time_scale, 2)},
            "passed": passed,
            "exitCode": exit_code,
            "stopped": self.stopped,
            "variables": dict(self.vars),
            "summary": {"steps": len(self.scn.steps), "run": len(self.results),
                        "expectations": len(exps),
                        "expectationsPassed": sum(1 for r in exps if r.ok),
                        "expectationsFailed": sum(1 for r in exps if not r.ok),
                        "waitsFailed": sum(1 for r in waits if not r.ok),
                        "stepsFailed": len(failed_steps)},
            "steps": [r.to_dict() for r in self.results],
            "expectations": [_expectation(r) for r in self.results if r.kind in ("wait", "expect")],
            "timeline": [e.to_dict() for e in self.observer.entries()],
            "faults": self.fault_records,
        }


def _expectation(r: StepResult) -> dict[str, Any]:
    return {"step": r.number, "kind": r.kind, "description": r.label, "what": r.what,
            "ok": r.ok,
            "within": r.within, "withinScenario": r.within_scenario,
            "withinReal": None if r.within_real is None else round(r.within_real, 3),
            "for": r.hold,
            "metAtScenario": None if r.met_scenario is None else round(r.met_scenario, 2),
            "metAtReal": None if r.met_real is None else round(r.met_real, 3),
            "tookScenario": None if r.took_scenario is None else round(r.took_scenario, 2),
            "conditions": [{k: c[k] for k in ("condition", "description", "ok", "detail")}
                           for c in r.conditions],
            "detail": r.detail}


# ---- the summary ------------------------------------------------------------------------


def print_summary(report: dict[str, Any], console: Any, *, verbose: bool = False) -> None:
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=f"what happened when — scenario {report['scenario']} "
                    f"(timeScale {report['cluster'].get('timeScale', 1):g})",
              title_justify="left")
    t.add_column("t (scenario)", justify="right")
    t.add_column("t (real)", justify="right")
    t.add_column("what")
    for e in report["timeline"]:
        if e["level"] == "debug" and not verbose:
            continue
        if e["kind"] in TABLE_SKIPS:
            continue  # these steps show as their outcome (fault, expect, mark)
        style = STYLES.get("step" if e["kind"].startswith("step") else e["kind"], "")
        if e["kind"] in ("expect", "step-failed"):
            style = "green" if e["ok"] else "red"
        text = escape(e["text"])
        t.add_row(f"{e['t_scenario']:.1f} s", f"{e['t_real']:.2f} s",
                  f"[{style}]{text}[/]" if style else text)
    console.print(t)
    ex = Table(title="expectations", title_justify="left")
    for c in ("STEP", "EXPECTATION", "WITHIN", "RESULT", "AT t (scn)", "TOOK (scn)", "DETAIL"):
        ex.add_column(c)
    for x in report["expectations"]:
        details = "; ".join(c["detail"] for c in x["conditions"]) or x["detail"]
        if not x["ok"]:
            details = x["detail"]
        ex.add_row(str(x["step"]), escape(f"{x['kind']} {x['what']}"),
                   _within(x),
                   "[green]passed[/]" if x["ok"] else "[red]FAILED[/]",
                   "-" if x["metAtScenario"] is None else f"{x['metAtScenario']:.1f} s",
                   "-" if x["tookScenario"] is None else f"{x['tookScenario']:.1f} s",
                   escape(_clip(details, 160)))
    console.print(ex)
    s = report["summary"]
    if report["stopped"]:
        console.print(f"[red]stopped:[/] {escape(report['stopped'])}")
    verdict = "[bold green]PASSED[/]" if report["passed"] else "[bold red]FAILED[/]"
    console.print(f"scenario {report['scenario']}: {verdict} — {s['expectationsPassed']}/"
                  f"{s['expectations']} expectations met, {s['run']}/{s['steps']} steps run, "
                  f"{report['duration']['scenario']:.1f} s scenario time "
                  f"({report['duration']['real']:.1f} s real)")


def _within(x: dict[str, Any]) -> str:
    w = str(x.get("within") or "")
    try:
        plain = float(w.rstrip("s")) == x.get("withinScenario")
    except ValueError:
        plain = False
    if w and not plain and x.get("withinScenario") is not None:
        w += f" = {x['withinScenario']:g}s"
    if x.get("for"):
        return f"hold {x['for']}" if not x.get("withinScenario") else f"{w}, then hold {x['for']}"
    return w


def _clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def write_report(report: dict[str, Any], path: str) -> str:
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2, default=str)
        f.write("\n")
    os.replace(tmp, path)
    return path


def default_report_path(name: str, now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now or time.time()))
    return os.path.join("bench-out", f"scenario-{name}-{stamp}.json")


# ---- run a file against a cluster ---------------------------------------------------------


class RunError(Exception):
    """The scenario could not start (bad file, no cluster...): the message says why."""


def _repo_cluster_yaml() -> str:
    return os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "cluster.yaml")


def launch_config(scn: Scenario, time_scale: float | None = None) -> Any:
    """The ClusterConfig a scenario launches: its cluster section, else the repo's
    cluster.yaml; named after the scenario unless the section names it."""
    from actors.common.config import ConfigError, load

    cfg = scn.cluster
    if cfg is None:
        try:
            cfg = load(_repo_cluster_yaml())
        except ConfigError as e:
            raise RunError(str(e)) from None
    cfg = dataclasses.replace(cfg, timings=dict(cfg.timings), nodes=list(cfg.nodes))
    if not scn.cluster_name_set:
        cfg.name = f"scenario-{scn.name}"[:63].rstrip("-")
    if time_scale is not None:
        cfg.time_scale = time_scale
    return cfg


def _make_faults(state: Any) -> Any:
    try:
        from actors.faults import Faults  # type: ignore[import-not-found,unused-ignore]
    except ImportError as e:
        raise RunError(f"this scenario injects faults, but the fault API is not available "
                       f"(actors/faults.py: {e})") from None
    return Faults(state)


def run_file(path: str, *, name: str | None = None, time_scale: float | None = None,
             keep: bool = False, report_path: str | None = None, address: str | None = None,
             console: Any = None, verbose: bool = False,
             faults_factory: Callable[[Any], Any] | None = None) -> tuple[int, dict[str, Any]]:
    """Load, launch (or join `name`), run, summarize, report. Returns (exit code, report).
    Raises RunError (or spec.ScenarioError) when the scenario cannot start."""
    from rich.console import Console

    from actors import cluster
    from actors.apiserver.client import SyncAPIClient
    from actors.common.config import ConfigError, load

    console = console or Console(highlight=False)
    scn = spec_mod.load(path)
    launched = False
    if name:
        try:
            state = cluster.ClusterState.load(name)
        except FileNotFoundError as e:
            raise RunError(str(e)) from None
        if time_scale is not None and abs(time_scale - state.time_scale) > 1e-12:
            raise RunError(f"cluster {name} runs at timeScale {state.time_scale:g}; "
                           f"--time-scale applies only when the scenario launches its cluster")
        etcd_n = sum(1 for r in state.actors.values() if r == "etcd") or None
        scn = spec_mod.load(path, nodes=list(state.nodes), etcd_members=etcd_n)
        timings = dict(DEFAULT_TIMINGS)
        if state.config_file and os.path.exists(state.config_file):
            try:
                timings = load(state.config_file).timings
            except ConfigError:
                pass
        cluster.connect(state.ray_address, state.namespace, timeout=30)
    else:
        cfg = launch_config(scn, time_scale)
        try:
            cluster.ClusterState.load(cfg.name)
            raise RunError(f'cluster "{cfg.name}" already exists (state in '
                           f"{cluster.state_dir(cfg.name)}): `kubemu down --name {cfg.name}` "
                           f"first, or run against it with --name {cfg.name}")
        except FileNotFoundError:
            pass
        timings = dict(cfg.timings)
        console.print(f"launching cluster [bold]{cfg.name}[/]: {len(cfg.nodes)} nodes, "
                      f"{cfg.etcd_members} etcd members, timeScale {cfg.time_scale:g}")
        t0 = time.monotonic()
        try:
            state = cluster.launch(cfg, address=address, config_file="",
                                   progress=lambda m: console.print(f"  [dim]{m}[/]"))
        except BaseException as e:
            try:
                cluster.teardown(cluster.ClusterState.load(cfg.name))
            except Exception:
                pass
            if isinstance(e, KeyboardInterrupt):
                raise
            raise RunError(f"launching cluster {cfg.name} failed: {e}") from None
        launched = True
        console.print(f"cluster {cfg.name} is up in {time.monotonic() - t0:.1f} s")
    info = {"name": state.name, "launched": launched, "apiserver": state.apiserver,
            "nodes": list(state.nodes), "timings": timings}
    api = SyncAPIClient(state.apiserver)
    observer = Observer(state.apiserver, Transitions(time.time(), state.time_scale))
    report: dict[str, Any] = {}
    faults: Any = None
    try:
        if not observer.start(timeout=30):
            console.print("[yellow]the observer did not sync in 30 s; the timeline may "
                          "miss early transitions[/]")
        if scn.needs_faults():
            factory = faults_factory or _make_faults
            faults = factory(state)
        runner = Runner(scn, api, time_scale=state.time_scale, timings=timings, faults=faults,
                        observer=observer, printer=Printer(console, verbose),
                        apiserver=state.apiserver, cluster_info=info)
        report = runner.run()
    finally:
        observer.stop()
        for c in (api, faults):
            try:
                if c is not None and hasattr(c, "close"):
                    c.close()
            except Exception:
                pass
        if launched and not keep:
            console.print(f"tearing down cluster {state.name}")
            try:
                cluster.teardown(state)
            except Exception as e:  # noqa: BLE001
                console.print(f"[red]teardown failed:[/] {e}")
        elif launched:
            console.print(f"cluster {state.name} kept: `kubemu down --name {state.name}` "
                          f"stops it")
    print_summary(report, console, verbose=verbose)
    out = report_path or default_report_path(scn.name)
    write_report(report, out)
    console.print(f"report: {out}")
    return int(report["exitCode"]), report
