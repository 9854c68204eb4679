"""`kubemu bench store`: the kubemu store against a real etcd 3.4, side by side.

One workload, the same client code (`actors.etcd.client.EtcdClient`) for both:
N concurrent clients Put 256-byte values for a fixed count, then do linearizable
Ranges. Each run starts a fresh 3-member kubemu store (Ray actors) and a fresh
3-member real etcd (Debian etcd-server on loopback, fresh data dirs), alternating
which goes first; the report is the median of the runs and the ratio kubemu/etcd.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable

from .client import EtcdClient

CONNECTIONS = 10  # clients share this many gRPC connections, as `etcd benchmark --conns`


@dataclass
class PhaseResult:
    ops: int
    seconds: float
    latencies_ms: list[float]
    errors: int

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        xs = sorted(self.latencies_ms)
        return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]

    def summary(self) -> dict[str, Any]:
        return {"ops": self.ops, "seconds": round(self.seconds, 3),
                "rate": round(self.rate, 1), "p50_ms": round(self.pct(50), 2),
                "p99_ms": round(self.pct(99), 2), "errors": self.errors}


async def _phase(clients: list[EtcdClient], n_workers: int, total: int,
                 op: Callable[[EtcdClient, int], Any],
                 progress: Callable[[int], None] | None) -> PhaseResult:
    lat: list[float] = []
    errors = 0
    next_i = 0

    async def worker(w: int) -> None:
        nonlocal next_i, errors
        c = clients[w % len(clients)]
        while next_i < total:
            i = next_i
            next_i += 1
            t0 = time.perf_counter()
            try:
                await op(c, i)
                lat.append((time.perf_counter() - t0) * 1000)
            except Exception:
                errors += 1
            if progress is not None:
                progress(1)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(n_workers)))
    return PhaseResult(len(lat), time.perf_counter() - t0, lat, errors)


async def run_workload(endpoints: list[str], *, clients: int = 100, puts: int = 10_000,
                       reads: int = 10_000, value_size: int = 256, key_space: int = 100_000,
                       seed: int = 1,
                       progress: Callable[[str, int], None] | None = None) -> dict[str, Any]:
    rng = random.Random(seed)
    value = bytes(rng.getrandbits(8) for _ in range(value_size))
    keys = [f"/bench/key-{rng.randrange(key_space):08d}".encode() for _ in range(max(puts, 1))]
    # connections spread round-robin over the members, as `etcd benchmark` does
    # (measured: spreading beats pinning every connection to the kubemu leader, 2,040 vs
    # 1,550 puts/s, since the followers' idle core time goes to serving calls)
    conns = [EtcdClient(endpoints, timeout=30.0, start_endpoint=i, follow_leader=False)
             for i in range(min(CONNECTIONS, clients))]
    try:

        async def put(c: EtcdClient, i: int) -> None:
            await c.put(keys[i], value)

        async def get(c: EtcdClient, i: int) -> None:
            await c.get(keys[i % len(keys)])

        w = await _phase(conns, clients, puts, put,
                         (lambda n: progress("put", n)) if progress else None)
        r = await _phase(conns, clients, reads, get,
                         (lambda n: progress("range", n)) if progress else None)
    finally:
        for c in conns:
            await c.close()
    return {"put": w, "range": r}


def _run_kubemu(members: int, kw: dict[str, Any], progress: Any) -> dict[str, Any]:
    from actors.common import rayutil
    from actors.etcd.launcher import start_store

    rayutil.init(None)
    root = tempfile.mkdtemp(prefix="kubemu-bench-")
    h = start_store(f"bench{os.getpid()}x{time.time_ns() % 10**6}", root, members,
                    detached=False)
    try:
        res = asyncio.run(run_workload(h.endpoints, progress=progress, **kw))
        res["member_stats"] = {k: (v or {}).get("stats") for k, v in h.statuses().items()}
        return res
    finally:
        h.stop(remove_data=True)


def _run_etcd(members: int, kw: dict[str, Any], progress: Any) -> dict[str, Any]:
    from actors.etcd.realetcd import RealEtcd

    with RealEtcd(members) as real:
        return asyncio.run(run_workload(real.endpoints, progress=progress, **kw))


def _run_floor(members: int, kw: dict[str, Any], progress: Any) -> dict[str, Any]:
    from actors.etcd.nullserver import NullServers

    with NullServers(members) as null:
        return asyncio.run(run_workload(null.endpoints, progress=progress, **kw))


SYSTEMS = {"kubemu": _run_kubemu, "etcd": _run_etcd, "floor": _run_floor}


def bench_store(*, clients: int = 100, puts: int = 10_000, reads: int = 10_000,
                runs: int = 3, members: int = 3, out_dir: str = "bench-out",
                plot: bool = True, floor: bool = False) -> dict[str, Any]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, \
        TimeElapsedColumn
    from rich.table import Table

    console = Console()
    kw = dict(clients=clients, puts=puts, reads=reads)
    systems = ["kubemu", "etcd"] + (["floor"] if floor else [])
    results: dict[str, list[dict[str, Any]]] = {s: [] for s in systems}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as prog:
        for run in range(runs):
            order = systems if run % 2 == 0 else list(reversed(systems))
            for system in order:
                t_put = prog.add_task(f"run {run + 1}/{runs} {system:6} put", total=puts)
                t_get = prog.add_task(f"run {run + 1}/{runs} {system:6} range", total=reads)

                def progress(phase: str, n: int, t_put: Any = t_put, t_get: Any = t_get) -> None:
                    prog.advance(t_put if phase == "put" else t_get, n)

                results[system].append(SYSTEMS[system](members, kw, progress))

    def med(system: str, phase: str, attr: str) -> float:
        vals = []
        for r in results[system]:
            p: PhaseResult = r[phase]
            vals.append(p.rate if attr == "rate" else p.pct(float(attr)))
        return statistics.median(vals)

    table = Table(title=f"kubemu bench store — {members} members, {clients} clients, "
                        f"{puts} puts of 256 B, {reads} linearizable ranges; median of {runs}")
    cols = ["metric", "kubemu", "etcd 3.4", "kubemu/etcd"]
    if floor:
        cols += ["gRPC floor", "kubemu/floor"]
    for col in cols:
        table.add_column(col, justify="right")
    summary: dict[str, Any] = {}
    for phase in ("put", "range"):
        for attr, label, unit in (("rate", "ops/s", ""), ("50", "p50 ms", ""),
                                  ("99", "p99 ms", "")):
            k, e = med("kubemu", phase, attr), med("etcd", phase, attr)
            ratio = k / e if e else float("nan")
            row = {"kubemu": round(k, 2), "etcd": round(e, 2), "ratio": round(ratio, 3)}
            cells = [f"{phase} {label}", f"{k:,.1f}", f"{e:,.1f}", f"{ratio:.2f}x"]
            if floor:
                f = med("floor", phase, attr)
                row["floor"] = round(f, 2)
                cells += [f"{f:,.1f}", f"{(k / f if f else float('nan')):.2f}x"]
            summary[f"{phase}_{label.replace(' ', '_').replace('/', '_per_')}"] = row
            table.add_row(*cells)
    console.print(table)
    os.makedirs(out_dir, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    report = {
        "benchmark": "store", "members": members, "clients": clients, "puts": puts,
        "reads": reads, "runs": runs, "value_bytes": 256, "median": summary,
        "runs_detail": {s: [{ph: r[ph].summary() for ph in ("put", "range")}
                            | ({"member_stats": r["member_stats"]} if "member_stats" in r else {})
                            for r in rs] for s, rs in results.items()},
    }
    path = os.path.join(out_dir, f"store-{stamp}.json")
    with open(path, "w") as out:
        json.dump(report, out, indent=2)
    console.print(f"report: {path}")
    if plot:
        png = _plot(results, os.path.join(out_dir, f"store-{stamp}.png"))
        if png:
            console.print(f"plot:   {png}")
    return report


def _plot(results: dict[str, list[dict[str, Any]]], path: str) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, phase in zip(axes, ("put", "range")):
        for system, color in (("kubemu", "tab:blue"), ("etcd", "tab:orange"),
                              ("floor", "tab:gray")):
            for i, r in enumerate(results.get(system, [])):
                xs = sorted(r[phase].latencies_ms)
                if not xs:
                    continue
                ys = [(j + 1) / len(xs) for j in range(len(xs))]
                ax.plot(xs, ys, color=color, alpha=0.8,
                        label=system if i == 0 else None)
        ax.set_xscale("log")
        ax.set_xlabel("latency (ms, log)")
        ax.set_ylabel("fraction of requests")
        ax.set_title(f"{phase} latency CDF")
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
