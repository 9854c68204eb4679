"""What the process inside a simulated container does (pure).

Nothing runs inside a kubemu container; its life is read from the pod:

- annotations (pod-wide, or for one container with a `.<container name>` suffix,
  e.g. `kubemu.io/exit-after.web`), durations as "5s"/"1m" or seconds:
    kubemu.io/exit-after       the process exits by itself after running this long
    kubemu.io/exit-code        ... with this code (default 0)
    kubemu.io/stop-after       after SIGTERM it takes this long to exit (default 0)
    kubemu.io/stop-exit-code   ... and exits with this code (default 0)
    kubemu.io/log              lines the process writes to stdout when it starts
- otherwise its command, when it is one we can read (actors.kubelet.runtime.shell):
  `sleep N`, `true`, `false`, `echo hi`, `sh -c "echo start; sleep 5; exit 3"`, loops;
  after the kubelet's `$(VAR)` expansion of command and args with the container's env;
- otherwise: a regular container runs until it is stopped; an init container exits 0
  at once (it stands for a setup step).

What the process writes (`Behavior.output`: its `echo` lines at the time they run,
the `kubemu.io/log` lines first) is the container's log (runtime.logs). It is left
out of Behavior's equality: two behaviours are the same timing.

Durations are simulated seconds; the runtime multiplies them by `time_scale`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .shell import (NO_OUTPUT, STDOUT, Line, Output, container_env, interpret, kube_expand,
                    seconds)

PREFIX = "kubemu.io/"


@dataclass(frozen=True, slots=True)
class Behavior:
    run_seconds: float | None = None  # None: runs until stopped
    exit_code: int = 0
    stop_seconds: float = 0.0  # SIGTERM to exit
    stop_exit_code: int = 0
    # what the process writes (its log); not part of the comparison
    output: Output = field(default=NO_OUTPUT, compare=False)


FOREVER = Behavior()
EXIT_AT_ONCE = Behavior(run_seconds=0.0)


def _seconds(v: str) -> float:
    return seconds(v)


def _annotation(ann: Mapping[str, str], key: str, container: str) -> str | None:
    v = ann.get(f"{PREFIX}{key}.{container}")
    return v if v is not None else ann.get(PREFIX + key)


def parse_command(argv: list[str], env: Mapping[str, str] | None = None) -> Behavior | None:
    """The behaviour of a command we understand, else None (unknown: a server, or an
    endless loop, which the caller's default covers)."""
    sc = interpret(tuple(argv), tuple((env or {}).items()))
    if not sc.known:
        return None
    return Behavior(run_seconds=sc.run_seconds, exit_code=sc.exit_code, output=sc.output)


def _with_log(out: Output, text: str | None) -> Output:
    """The `kubemu.io/log` annotation's lines, written when the container starts."""
    if not text:
        return out
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    first: tuple[Line, ...] = tuple((0.0, STDOUT, (ln,) if ln else ()) for ln in lines)
    return Output(lines=first + out.lines, loop=out.loop)


def behavior_for(pod: Mapping[str, Any], container: Mapping[str, Any], *,
                 init: bool = False) -> Behavior:
    """The scripted behaviour of one container of `pod`."""
    ann: Mapping[str, str] = (pod.get("metadata") or {}).get("annotations") or {}
    name = str(container.get("name", ""))
    env = container_env(container)
    argv = tuple(kube_expand(str(x), env) for x in
                 list(container.get("command") or []) + list(container.get("args") or []))
    sc = interpret(argv, tuple(env.items()))
    if sc.known:
        base = Behavior(run_seconds=sc.run_seconds, exit_code=sc.exit_code)
    else:
        base = EXIT_AT_ONCE if init and not _is_sidecar(container) else FOREVER
    output = _with_log(sc.output, _annotation(ann, "log", name)) if ann else sc.output
    run, code = base.run_seconds, base.exit_code
    stop, stop_code = base.stop_seconds, base.stop_exit_code
    if any(k.startswith(PREFIX) for k in ann):
        v = _annotation(ann, "exit-after", name)
        if v is not None:
            try:
                run = _seconds(v)
            except OverflowError:
                run = None
            except ValueError:
                pass
            code = 0
        v = _annotation(ann, "exit-code", name)
        if v is not None and v.strip().lstrip("-").isdigit():
            code = int(v) & 0xFF
        v = _annotation(ann, "stop-after", name)
        if v is not None:
            try:
                stop = _seconds(v)
            except (ValueError, OverflowError):
                stop = float("inf")
        v = _annotation(ann, "stop-exit-code", name)
        if v is not None and v.strip().lstrip("-").isdigit():
            stop_code = int(v) & 0xFF
    return Behavior(run_seconds=run, exit_code=code, stop_seconds=stop, stop_exit_code=stop_code,
                    output=output)


def _is_sidecar(container: Mapping[str, Any]) -> bool:
    return container.get("restartPolicy") == "Always"
