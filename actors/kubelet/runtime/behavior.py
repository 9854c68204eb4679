"""What the process inside a simulated container does (pure).

Nothing runs inside a kubemu container; its life is read from the pod:

- annotations (pod-wide, or for one container with a `.<container name>` suffix,
  e.g. `kubemu.io/exit-after.web`), durations as "5s"/"1m" or seconds:
    kubemu.io/exit-after       the process exits by itself after running this long
    kubemu.io/exit-code        ... with this code (default 0)
    kubemu.io/stop-after       after SIGTERM it takes this long to exit (default 0)
    kubemu.io/stop-exit-code   ... and exits with this code (default 0)
- otherwise its command, when it is one we can read: `sleep N`, `true`, `false`,
  `sh -c "sleep 5; exit 3"` (statements sleep / exit / true / false / echo / :);
- otherwise: a regular container runs until it is stopped; an init container exits 0
  at once (it stands for a setup step).

Durations are simulated seconds; the runtime multiplies them by `time_scale`.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any, Mapping

from ..durations import parse_duration

PREFIX = "kubemu.io/"
_SHELLS = {"sh", "bash", "ash", "dash", "/bin/sh", "/bin/bash", "/bin/ash", "/bin/dash",
           "/usr/bin/sh", "/usr/bin/bash"}
_SPLIT = re.compile(r"\s*(?:;|&&|\n)\s*")


@dataclass(frozen=True, slots=True)
class Behavior:
    run_seconds: float | None = None  # None: runs until stopped
    exit_code: int = 0
    stop_seconds: float = 0.0  # SIGTERM to exit
    stop_exit_code: int = 0


FOREVER = Behavior()
EXIT_AT_ONCE = Behavior(run_seconds=0.0)


def _seconds(v: str) -> float:
    v = v.strip()
    if v in ("infinity", "inf"):
        raise OverflowError
    try:
        return float(v)
    except ValueError:
        return parse_duration(v)


def _annotation(ann: Mapping[str, str], key: str, container: str) -> str | None:
    v = ann.get(f"{PREFIX}{key}.{container}")
    return v if v is not None else ann.get(PREFIX + key)


def parse_command(argv: list[str]) -> Behavior | None:
    """The behaviour of a command we understand, else None (unknown: a server)."""
    if not argv:
        return None
    prog = argv[0].rsplit("/", 1)[-1]
    if argv[0] in _SHELLS and len(argv) >= 3 and argv[1] in ("-c", "-ec", "-ce", "-xc"):
        return _parse_script(argv[2])
    return _parse_script(shlex.join(argv)) if prog in ("sleep", "true", "false") else None


def _parse_script(script: str) -> Behavior | None:
    total = 0.0
    for stmt in _SPLIT.split(script.strip()):
        if not stmt:
            continue
        try:
            words = shlex.split(stmt)
        except ValueError:
            return None
        if not words:
            continue
        prog = words[0].rsplit("/", 1)[-1]
        if prog == "sleep" and len(words) == 2:
            try:
                total += _seconds(words[1])
            except OverflowError:
                return FOREVER
            except ValueError:
                return None
        elif prog == "exit":
            code = int(words[1]) if len(words) > 1 and words[1].lstrip("-").isdigit() else 0
            return Behavior(run_seconds=total, exit_code=code & 0xFF)
        elif prog == "false":
            return Behavior(run_seconds=total, exit_code=1)
        elif prog in ("true", ":", "echo", "printf", "date", "hostname", "env"):
            continue
        else:
            return None
    return Behavior(run_seconds=total, exit_code=0)


def behavior_for(pod: Mapping[str, Any], container: Mapping[str, Any], *,
                 init: bool = False) -> Behavior:
    """The scripted behaviour of one container of `pod`."""
    ann: Mapping[str, str] = (pod.get("metadata") or {}).get("annotations") or {}
    name = str(container.get("name", ""))
    argv = [str(x) for x in (container.get("command") or [])] + \
        [str(x) for x in (container.get("args") or [])]
    base = parse_command(argv)
    if base is None:
        base = EXIT_AT_ONCE if init and not _is_sidecar(container) else FOREVER
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
    return Behavior(run_seconds=run, exit_code=code, stop_seconds=stop, stop_exit_code=stop_code)


def _is_sidecar(container: Mapping[str, Any]) -> bool:
    return container.get("restartPolicy") == "Always"
