"""The `kubemu` command.

Subcommands so far:
  kubemu up | status | down   a cluster's life cycle (cli/cluster_cmds.py)
  kubemu apply | get | describe | delete | scale | label | cordon | uncordon
                              kubectl's everyday commands (cli/kubectl.py)
  kubemu fault ...            inject faults: kill, stop/start, partition, delay, drop
                              (cli/fault_cmds.py)
  kubemu demo                 the store failure story (3 members, kill the leader)
  kubemu bench store [...]    kubemu store vs real etcd 3.4, side by side
  kubemu bench nodes [...]    hollow node pools: time to Ready, false NotReady, cost per node
  kubemu bench schedule [...] scheduling throughput and latency on hollow nodes
"""

from __future__ import annotations

import argparse
import sys


def _cmd_demo(args: argparse.Namespace) -> int:
    from cli import demo

    if args.story == "store":
        return demo.run_demo(members=args.members)
    if args.story == "cluster":
        return demo.run_cluster_demo(time_scale=args.time_scale or 0.2)
    return demo.run_node_failure_demo(time_scale=args.time_scale or 0.1)


def _cmd_bench_store(args: argparse.Namespace) -> int:
    from actors.etcd.bench import bench_store

    bench_store(clients=args.clients, puts=args.puts, reads=args.reads, runs=args.runs,
                members=args.members, out_dir=args.out, plot=not args.no_plot,
                floor=args.floor)
    return 0


def _cmd_bench_failover(args: argparse.Namespace) -> int:
    from actors.scenario.accuracy import bench_failover

    try:
        nodes = [int(x) for x in args.nodes.split(",") if x]
        scales = [float(x) for x in args.time_scale.split(",") if x]
    except ValueError:
        print("error: --nodes and --time-scale take comma-separated numbers", file=sys.stderr)
        return 1
    bench_failover(nodes, scales, args.runs, out_dir=args.out)
    return 0


def _cmd_bench_api(args: argparse.Namespace) -> int:
    from actors.bench_api import bench_api

    report = bench_api(ops=args.ops, concurrency=args.concurrency, runs=args.runs,
                       out_dir=args.out, plot=not args.no_plot)
    return 1 if any(m["errors"] for m in report["median"]) else 0


def _cmd_bench_nodes(args: argparse.Namespace) -> int:
    from actors.bench_nodes import bench_nodes

    if args.nodes < 1 or args.nodes_per_actor < 1 or args.duration < 0 or args.peer < 0 \
            or args.time_scale <= 0:
        print("error: --nodes and --nodes-per-actor must be at least 1, --duration and "
              "--peer at least 0, --time-scale greater than 0", file=sys.stderr)
        return 1
    bench_nodes(nodes=args.nodes, per_actor=args.nodes_per_actor, duration=args.duration,
                time_scale=args.time_scale, peer=args.peer, out_dir=args.out)
    return 0


def _cmd_bench_schedule(args: argparse.Namespace) -> int:
    from actors.bench_schedule import bench_schedule

    for flag, v, low in (("--nodes", args.nodes, 1), ("--pods", args.pods, 1), ("--runs", args.runs, 1),
                         ("--nodes-per-actor", args.nodes_per_actor or 1, 1)):
        if v < low:
            print(f"error: {flag} must be at least {low}", file=sys.stderr)
            return 1
    if (args.rate is not None and args.rate <= 0) or args.time_scale <= 0:
        print("error: --rate and --time-scale must be greater than 0", file=sys.stderr)
        return 1
    report = bench_schedule(nodes=args.nodes, pods=args.pods, workload=args.workload, rate=args.rate,
                            runs=args.runs, nodes_per_actor=args.nodes_per_actor, cluster=args.cluster,
                            time_scale=args.time_scale, out_dir=args.out, plot=not args.no_plot,
                            address=args.address)
    return 0 if all(r.get("bound") == r.get("pods") for r in report.get("runs_detail") or []) else 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubemu", description="A Kubernetes cluster emulator "
                                "whose components are Ray actors speaking gRPC.")
    sub = p.add_subparsers(dest="command", required=True)

    from cli import cluster_cmds

    cluster_cmds.register(sub)

    from cli import kubectl

    kubectl.register(sub)
    from cli import scenario_cmds  # noqa: E402 - `kubemu scenario run|validate`
    scenario_cmds.register(sub)

    from cli import fault_cmds

    fault_cmds.register(sub)

    d = sub.add_parser("demo", help="the failure stories: node-failure (default), cluster, store")
    d.add_argument("story", nargs="?", choices=("node-failure", "cluster", "store"),
                   default="node-failure")
    d.add_argument("--members", type=int, default=3, choices=(3, 5))
    d.add_argument("--time-scale", type=float, default=None,
                   help="default: 0.1 for node-failure, 0.2 for cluster")
    d.set_defaults(func=_cmd_demo)

    b = sub.add_parser("bench", help="benchmarks (figures and a ratio against a peer)")
    bsub = b.add_subparsers(dest="bench", required=True)
    bs = bsub.add_parser("store", help="kubemu store vs real etcd 3.4 (Debian etcd-server)")
    bs.add_argument("--clients", type=int, default=100)
    bs.add_argument("--puts", type=int, default=10_000)
    bs.add_argument("--reads", type=int, default=10_000)
    bs.add_argument("--runs", type=int, default=3)
    bs.add_argument("--members", type=int, default=3, choices=(1, 3, 5))
    bs.add_argument("--out", default="bench-out", help="directory for the JSON report and plot")
    bs.add_argument("--no-plot", action="store_true")
    bs.add_argument("--floor", action="store_true",
                    help="also run a do-nothing Python gRPC server: the floor of the stack")
    bs.set_defaults(func=_cmd_bench_store)
    bf = bsub.add_parser("failover", help="node-failure timeline accuracy against the "
                         "configured grace period and tolerationSeconds")
    bf.add_argument("--nodes", default="3,20", help="node counts, comma-separated")
    bf.add_argument("--time-scale", default="0.1,1", help="timeScales, comma-separated")
    bf.add_argument("--runs", type=int, default=1)
    bf.add_argument("--out", default="bench-out")
    bf.set_defaults(func=_cmd_bench_failover)
    bsc = bsub.add_parser("schedule", help="scheduling throughput and latency on hollow nodes, "
                          "against the scheduler core in-process and upstream's 680 pods/s")
    bsc.add_argument("--nodes", type=int, default=500, help="hollow nodes (cpu 4, memory 32Gi, pods 110)")
    bsc.add_argument("--pods", type=int, default=1000, help="measured pods per run")
    bsc.add_argument("--workload", default="basic",
                     choices=("basic", "spread", "affinity", "preemption", "churn"))
    bsc.add_argument("--rate", type=float, default=None,
                     help="create pods at this many per second (default: as fast as possible; churn: 20)")
    bsc.add_argument("--runs", type=int, default=3, help="runs; every headline figure is their median")
    bsc.add_argument("--nodes-per-actor", type=int, default=None, help="hollow nodes per pool actor")
    bsc.add_argument("--cluster", default=None, help="use this running cluster instead of launching one")
    bsc.add_argument("--address", default=None, help="launch on this Ray runtime (default: a private one)")
    bsc.add_argument("--time-scale", type=float, default=1.0)
    bsc.add_argument("--out", default="bench-out", help="directory for the JSON report and plot")
    bsc.add_argument("--no-plot", action="store_true")
    bsc.set_defaults(func=_cmd_bench_schedule)
    ba = bsub.add_parser("api", help="the apiserver's REST API (HTTPS/JSON, kubectl's) against "
                                     "its gRPC API (kubemu's components') over one registry")
    ba.add_argument("--ops", type=int, default=2000, help="objects per run and API")
    ba.add_argument("--concurrency", type=int, default=16, help="calls in flight")
    ba.add_argument("--runs", type=int, default=3, help="runs; headline figures are medians")
    ba.add_argument("--out", default="bench-out", help="directory for the JSON report and plot")
    ba.add_argument("--no-plot", action="store_true")
    ba.set_defaults(func=_cmd_bench_api)
    bn = bsub.add_parser("nodes", help="hollow nodes: launch to Ready, false NotReady while "
                                       "held, cost per node vs one kubelet actor per node")
    bn.add_argument("--nodes", type=int, default=5000)
    bn.add_argument("--nodes-per-actor", type=int, default=1000)
    bn.add_argument("--duration", type=float, default=600.0,
                    help="seconds to hold the nodes (default 600: ten minutes)")
    bn.add_argument("--time-scale", type=float, default=1.0)
    bn.add_argument("--peer", type=int, default=10,
                    help="per-node kubelet actors measured side by side (0: none)")
    bn.add_argument("--out", default="bench-out", help="directory for the JSON report and plot")
    bn.set_defaults(func=_cmd_bench_nodes)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
