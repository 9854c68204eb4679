"""`kubemu fault ...`: inject faults into a running cluster (actors/faults.py).

    kubemu fault kill TARGET [--restart-after DURATION]
    kubemu fault stop NODE | start NODE
    kubemu fault partition TARGET | heal [TARGET]
    kubemu fault delay COMPONENT DURATION | drop COMPONENT RATE
    kubemu fault log [-o json] | targets [-o json]

Every command takes --name (default: the current cluster). A fault that could not be
applied, an unknown target or a bad value prints `error: ...` and exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Callable


def _err(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 1


def _state(args: argparse.Namespace) -> Any:
    from actors.cluster import ClusterState, current_name

    name = getattr(args, "name", None) or current_name()
    if not name:
        raise LookupError("no cluster: start one with `kubemu up`")
    try:
        return ClusterState.load(name)
    except FileNotFoundError as e:
        raise LookupError(str(e)) from None


def _duration(s: str, what: str) -> float:
    from actors.common.config import parse_duration

    try:
        return parse_duration(s)
    except ValueError as e:
        raise ValueError(f'{what}: invalid value "{s}": {e}') from None


def _rate(s: str) -> float:
    try:
        v = float(s[:-1]) / 100 if s.endswith("%") else float(s)
    except ValueError:
        raise ValueError(f'rate: invalid value "{s}": must be a number between 0 and 1 '
                         "(or a percentage such as 10%)") from None
    if not 0.0 <= v <= 1.0:
        raise ValueError(f'rate: invalid value "{s}": must be between 0 and 1')
    return v


def _run(args: argparse.Namespace, act: Callable[[Any], Any]) -> int:
    """Load the cluster, run `act(faults)`; a FaultRecord result is printed (exit 1 if
    it failed), anything else is returned as the exit code. Ray is joined on first
    use, so a bad target or value is reported without waiting for it."""
    from actors.common import rayutil
    from actors.faults import FaultRecord, Faults

    try:
        state = _state(args)
    except LookupError as e:
        return _err(str(e))
    f = None
    try:
        f = Faults(state, connect=False)
        try:
            out = act(f)
        except (ValueError, ConnectionError) as e:
            return _err(str(e))
        except Exception as e:
            return _err(f"{type(e).__name__}: {e}")
        if isinstance(out, FaultRecord):
            if not out.ok:
                return _err(out.message)
            print(out.message)
            return 0
        return int(out or 0)
    finally:
        if f is not None:
            f.close()
        rayutil.shutdown()


def cmd_kill(args: argparse.Namespace) -> int:
    try:
        after = (None if args.restart_after is None
                 else _duration(args.restart_after, "--restart-after"))
    except ValueError as e:
        return _err(str(e))
    return _run(args, lambda f: f.kill(args.target, restart_after=after))


def cmd_stop(args: argparse.Namespace) -> int:
    return _run(args, lambda f: f.stop(args.node))


def cmd_start(args: argparse.Namespace) -> int:
    return _run(args, lambda f: f.start(args.node))


def cmd_partition(args: argparse.Namespace) -> int:
    return _run(args, lambda f: f.partition(args.target))


def cmd_heal(args: argparse.Namespace) -> int:
    return _run(args, lambda f: f.heal(args.target))


def cmd_delay(args: argparse.Namespace) -> int:
    try:
        seconds = _duration(args.duration, "delay")
    except ValueError as e:
        return _err(str(e))
    return _run(args, lambda f: f.delay(args.component, seconds))


def cmd_drop(args: argparse.Namespace) -> int:
    try:
        rate = _rate(args.rate)
    except ValueError as e:
        return _err(str(e))
    return _run(args, lambda f: f.drop(args.component, rate))


def _fmt_time(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def cmd_log(args: argparse.Namespace) -> int:
    def show(f: Any) -> int:
        recs = f.log()
        if args.output == "json":
            print(json.dumps([r.to_dict() for r in recs], indent=2))
            return 0
        if not recs:
            print("No faults recorded.", file=sys.stderr)
            return 0
        from actors.api.printers import render

        sys.stdout.write(render(("TIME", "ACTION", "TARGET", "RESULT", "MESSAGE"),
                                [(_fmt_time(r.time), r.action, r.target,
                                  "ok" if r.ok else "failed", r.message) for r in recs]))
        return 0
    return _run(args, show)


def cmd_targets(args: argparse.Namespace) -> int:
    def show(f: Any) -> int:
        targets = f.targets()
        if args.output == "json":
            print(json.dumps(targets, indent=2))
            return 0
        from actors.api.printers import render

        sys.stdout.write(render(("NAME", "ROLE"), sorted(targets.items())))
        return 0
    return _run(args, show)


def register(sub: Any) -> None:
    f = sub.add_parser("fault", help="inject faults: kill, stop/start, partition, delay, "
                       "drop, heal; the fault log")
    fsub = f.add_subparsers(dest="fault", required=True, metavar="ACTION")

    def add(name: str, help: str, func: Callable[[argparse.Namespace], int]
            ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = fsub.add_parser(name, help=help)
        p.add_argument("--name", help="cluster name (default: the current cluster)")
        p.set_defaults(func=func)
        return p

    k = add("kill", "SIGKILL a node's kubelet and kube-proxy (they stay down), or a "
            "control-plane component (Ray restarts it)", cmd_kill)
    k.add_argument("target", help="a node, kubelet-<node>, kube-proxy-<node>, apiserver, "
                   "scheduler, controller-manager, etcd-N or etcd-leader")
    k.add_argument("--restart-after", metavar="DURATION",
                   help="start the node again after this long (e.g. 60s; real time)")

    s = add("stop", "clean shutdown of a node's kubelet and kube-proxy", cmd_stop)
    s.add_argument("node")
    s = add("start", "start a stopped or killed node's kubelet and kube-proxy again", cmd_start)
    s.add_argument("node")

    p = add("partition", "cut a node (or component) off from the control plane; etcd-N: "
            "from the other members", cmd_partition)
    p.add_argument("target")
    h = add("heal", "undo partitions, delays and drops (of TARGET, or all)", cmd_heal)
    h.add_argument("target", nargs="?", default=None)

    d = add("delay", "delay every RPC a component makes (0s removes it)", cmd_delay)
    d.add_argument("component")
    d.add_argument("duration", help="e.g. 500ms, 2s")
    dr = add("drop", "fail a fraction of a component's RPCs with UNAVAILABLE (0 removes it)",
             cmd_drop)
    dr.add_argument("component")
    dr.add_argument("rate", help="0..1 or a percentage, e.g. 0.2 or 20%%")

    lg = add("log", "the faults injected so far", cmd_log)
    lg.add_argument("-o", "--output", choices=("table", "json"), default="table")
    tg = add("targets", "what can be targeted", cmd_targets)
    tg.add_argument("-o", "--output", choices=("table", "json"), default="table")
