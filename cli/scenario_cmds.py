"""`kubemu scenario run FILE.yaml` and `kubemu scenario validate FILE.yaml...`.

    kubemu scenario run scenarios/node-failure.yaml            # launch, run, tear down
    kubemu scenario run FILE --name mycluster                  # against a running cluster
    kubemu scenario run FILE --time-scale 0.05 --keep --report out.json
    kubemu scenario validate scenarios/*.yaml

The file format is described in actors/scenario/spec.py; the conditions in
actors/scenario/conditions.py.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def cmd_validate(args: argparse.Namespace) -> int:
    from actors.scenario.spec import ScenarioError, load

    rc = 0
    for path in args.files:
        try:
            scn = load(path)
        except ScenarioError as e:
            print(f"error: {e}", file=sys.stderr)
            rc = 1
            continue
        exp = len(scn.expectations)
        where = "no cluster section (runs on the repo's cluster.yaml or --name)"
        if scn.cluster is not None:
            c = scn.cluster
            where = (f"cluster of {len(c.nodes)} nodes, {c.etcd_members} etcd members, "
                     f"timeScale {c.time_scale:g}")
        print(f"{path}: valid — scenario {scn.name}: {len(scn.steps)} steps, {exp} "
              f"expectation{'s' if exp != 1 else ''}; {where}")
        if args.verbose:
            for s in scn.steps:
                print(f"  {s.number:>2}. {s.kind:<7} {s.label()}")
    return rc


def cmd_run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from actors.scenario.runner import RunError, run_file
    from actors.scenario.spec import ScenarioError

    console = Console(highlight=False)
    console = Console(highlight=False, width=max(120, console.width))
    try:
        code, _report = run_file(args.file, name=args.name, time_scale=args.time_scale,
                                 keep=args.keep, report_path=args.report, address=args.address,
                                 console=console, verbose=args.verbose)
    except ScenarioError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except RunError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        from actors.common import rayutil

        rayutil.shutdown()
    return code


def register(sub: Any) -> None:
    sc = sub.add_parser("scenario", help="run failure scenarios: a timeline of steps and "
                                         "expectations against a cluster")
    ssub = sc.add_subparsers(dest="scenario_cmd", required=True)

    r = ssub.add_parser("run", help="run a scenario file (launching its cluster unless --name)")
    r.add_argument("file", metavar="FILE.yaml")
    r.add_argument("--name", help="run against this running cluster instead of launching "
                                  "the file's cluster")
    r.add_argument("--time-scale", type=float, default=None,
                   help="override the launched cluster's timeScale (0.1 = ten times faster)")
    r.add_argument("--keep", action="store_true",
                   help="leave the launched cluster running at the end")
    r.add_argument("--report", default=None,
                   help="the JSON report (default bench-out/scenario-<name>-<stamp>.json)")
    r.add_argument("--address", default=None,
                   help="launch the cluster on this Ray runtime instead of starting one")
    r.add_argument("-v", "--verbose", action="store_true",
                   help="also show pod creations, scheduling and minor events")
    r.set_defaults(func=cmd_run)

    v = ssub.add_parser("validate", help="check scenario files without running them")
    v.add_argument("files", nargs="+", metavar="FILE.yaml")
    v.add_argument("-v", "--verbose", action="store_true", help="list the steps")
    v.set_defaults(func=cmd_validate)
