"""`kubemu bench api`: the apiserver's two front doors side by side — the Kubernetes
REST API (HTTPS + JSON, what kubectl and client libraries use) and the gRPC API (what
kubemu's own components use) — over the same registry, in the same server process.

The apiserver runs in a child process (MemoryKV store, so the figures are the front
doors' and the registry's, not the store's); the driver, in this process, runs each
phase through both APIs, alternating which goes first from run to run:

    create   N ConfigMaps (POST / Create), `--concurrency` calls in flight
    get      N reads of them (GET / Get)
    patch    N merge patches (PATCH application/merge-patch+json / Patch)
    list     N/50 consistent lists of the N objects (GET ?labelSelector / List)
    watch    W sequential updates, each timed from the call to its event arriving on a
             watch opened beforehand (chunked HTTP stream / gRPC server stream)
    delete   N deletes

Per phase and API: calls per second, p50/p99 latency, errors, and the server's CPU
time per call (from /proc, user+system of the child). Headline figures are medians of
`--runs`; the ratio column is REST over gRPC (rate) — the cost of speaking
Kubernetes' wire format instead of kubemu's own. A JSON report and a PNG of the
latency CDFs go to `--out`.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import ssl
import statistics
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from actors.etcd.bench import PhaseResult

PHASES = ("create", "get", "patch", "list", "watch", "delete")
APIS = ("grpc", "rest")
NAMESPACE = "default"
Obj = dict[str, Any]


# ============================================================================ the server


def _serve(conn: Any, tmp: str) -> None:  # pragma: no cover - runs in the child process
    import logging
    from pathlib import Path

    from actors.apiserver.actor import ApiServer
    from actors.common.certs import make_credentials

    logging.basicConfig(level=logging.WARNING)

    async def main() -> None:
        creds = make_credentials(Path(tmp) / "pki", [])
        srv = ApiServer({"storage": "memory", "port": 0, "rest_port": 0,
                         "rest_token": creds.token, "rest_tls_cert": str(creds.cert),
                         "rest_tls_key": str(creds.key), "watch_window": 100_000,
                         "etcd_compaction_interval": 0})
        await srv.start()
        from actors.apiserver import openapi

        # the schemas are built off the loop after start: done before anything is timed
        await asyncio.get_running_loop().run_in_executor(None, openapi.v2_protobuf)
        conn.send({"grpc": srv.address, "rest": srv.rest_address, "token": creds.token,
                   "ca": str(creds.ca_cert), "pid": os.getpid()})
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, conn.recv)  # "stop"
        await srv.stop()

    asyncio.run(main())


def cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of a process (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ============================================================================ figures


@dataclass
class Phase(PhaseResult):
    """The store benchmark's PhaseResult (calls, seconds, latencies, errors; rate, pct)
    of one API and phase, plus the server's CPU seconds over it."""
    api: str = ""
    phase: str = ""
    server_cpu: float = 0.0

    @classmethod
    def start(cls, api: str, phase: str) -> "Phase":
        return cls(0, 0.0, [], 0, api=api, phase=phase)

    def summary(self) -> Obj:
        return {"api": self.api, "phase": self.phase, "calls": self.ops,
                "seconds": round(self.seconds, 3), "rate": round(self.rate, 1),
                "p50_ms": round(self.pct(50), 3), "p99_ms": round(self.pct(99), 3),
                "errors": self.errors,
                "server_cpu_us_per_call": round(1e6 * self.server_cpu / max(1, self.ops), 1)}


def medians(runs: list[list[Obj]]) -> list[Obj]:
    """Per (phase, api): the median of each figure over the runs."""
    out = []
    for phase in PHASES:
        for api in APIS:
            rows = [r for run in runs for r in run if r["phase"] == phase and r["api"] == api]
            if not rows:
                continue
            m: Obj = {"phase": phase, "api": api}
            for k in ("rate", "p50_ms", "p99_ms", "server_cpu_us_per_call", "errors"):
                m[k] = statistics.median(r[k] for r in rows)
            out.append(m)
    return out


def ratios(med: list[Obj]) -> dict[str, Obj]:
    """REST over gRPC, per phase: rate, p50 and server CPU per call."""
    by = {(m["phase"], m["api"]): m for m in med}
    out: dict[str, Obj] = {}
    for phase in PHASES:
        g, r = by.get((phase, "grpc")), by.get((phase, "rest"))
        if g is None or r is None:
            continue

        def ratio(k: str) -> float:
            return round(r[k] / g[k], 3) if g[k] else float("nan")
        out[phase] = {"rate": ratio("rate"), "p50": ratio("p50_ms"),
                      "server_cpu": ratio("server_cpu_us_per_call")}
    return out


# ============================================================================ the two clients


def configmap(name: str, label: str, i: int) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"bench": label}},
            "data": {"i": str(i), "payload": "x" * 256}}


class GrpcAPI:
    name = "grpc"

    def __init__(self, address: str) -> None:
        from actors.apiserver.client import APIClient

        self.c = APIClient(address, max_inflight=1024)

    async def create(self, obj: Obj) -> Any:
        return await self.c.create("configmaps", obj)

    async def get(self, name: str) -> Any:
        return await self.c.get("configmaps", name, NAMESPACE)

    async def patch(self, name: str, patch: Obj) -> Any:
        return await self.c.patch("configmaps", name, patch, NAMESPACE)

    async def list(self, label: str) -> int:
        out = await self.c.list("configmaps", namespace=NAMESPACE, label_selector=f"bench={label}")
        return len(out["items"])

    async def delete(self, name: str) -> Any:
        return await self.c.delete("configmaps", name, NAMESPACE)

    async def watch(self, label: str, rv: str) -> Any:
        async for typ, obj in self.c.watch("configmaps", namespace=NAMESPACE,
                                           label_selector=f"bench={label}",
                                           resource_version=rv):
            yield typ, obj

    async def close(self) -> None:
        await self.c.close()


class RestAPI:
    name = "rest"

    def __init__(self, url: str, token: str, ca: str, limit: int) -> None:
        import aiohttp

        ctx = ssl.create_default_context(cafile=ca)
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=ctx, limit=limit + 2),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        self.base = f"{url}/api/v1/namespaces/{NAMESPACE}/configmaps"

    async def _call(self, method: str, url: str, body: Any = None,
                    content_type: str = "application/json") -> Any:
        data = json.dumps(body).encode() if body is not None else None
        async with self.session.request(method, url, data=data,
                                        headers={"Content-Type": content_type}) as r:
            out = await r.json(content_type=None)
            if r.status >= 300:
                raise RuntimeError(f"{r.status}: {out.get('message')}")
            return out

    async def create(self, obj: Obj) -> Any:
        return await self._call("POST", self.base, obj)

    async def get(self, name: str) -> Any:
        return await self._call("GET", f"{self.base}/{name}")

    async def patch(self, name: str, patch: Obj) -> Any:
        return await self._call("PATCH", f"{self.base}/{name}", patch,
                                "application/merge-patch+json")

    async def list(self, label: str) -> int:
        out = await self._call("GET", f"{self.base}?labelSelector=bench%3D{label}")
        return len(out["items"])

    async def delete(self, name: str) -> Any:
        return await self._call("DELETE", f"{self.base}/{name}")

    async def watch(self, label: str, rv: str) -> Any:
        url = f"{self.base}?watch=true&labelSelector=bench%3D{label}&resourceVersion={rv}"
        async with self.session.get(url, timeout=None) as r:
            async for line in r.content:
                if line.strip():
                    ev = json.loads(line)
                    yield ev["type"], ev["object"]

    async def close(self) -> None:
        await self.session.close()


# ============================================================================ phases


async def _calls(api: Any, phase: str, n: int, concurrency: int,
                 op: Callable[[int], Awaitable[Any]], pid: int,
                 tick: Callable[[], None]) -> Phase:
    res = Phase.start(api.name, phase)
    next_i = 0

    async def worker() -> None:
        nonlocal next_i
        while next_i < n:
            i = next_i
            next_i += 1
            t0 = time.perf_counter()
            try:
                await op(i)
                res.latencies_ms.append((time.perf_counter() - t0) * 1000)
            except Exception:
                res.errors += 1
            res.ops += 1
            tick()

    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, n))))
    res.seconds, res.server_cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    return res


async def _watch_phase(api: Any, label: str, names: list[str], w: int, pid: int,
                       tick: Callable[[], None]) -> Phase:
    """W sequential updates, each timed until its MODIFIED event arrives."""
    res = Phase.start(api.name, "watch")
    first = await api.get(names[0])
    rv = first["metadata"]["resourceVersion"]
    arrived: asyncio.Queue[tuple[str, float]] = asyncio.Queue()

    async def consume() -> None:
        async for typ, obj in api.watch(label, rv):
            if typ == "MODIFIED":
                arrived.put_nowait(((obj.get("data") or {}).get("w", ""), time.perf_counter()))

    task = asyncio.get_running_loop().create_task(consume())
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    try:
        for i in range(w):
            token = f"{api.name}-{i}"
            start = time.perf_counter()
            try:
                await api.patch(names[i % len(names)], {"data": {"w": token}})
                while True:
                    got, at = await asyncio.wait_for(arrived.get(), 10)
                    if got == token:
                        res.latencies_ms.append((at - start) * 1000)
                        break
            except Exception:
                res.errors += 1
            res.ops += 1
            tick()
    finally:
        res.seconds, res.server_cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
    return res


async def run_api(api: Any, run: int, n: int, concurrency: int, pid: int,
                  tick: Callable[[str], None]) -> list[Phase]:
    label = f"{api.name}-{run + 1}"  # run -1 (warm-up) -> label "...-0"
    names = [f"{label}-{i}" for i in range(n)]
    out = [await _calls(api, "create", n, concurrency,
                        lambda i: api.create(configmap(names[i], label, i)), pid,
                        lambda: tick("create"))]
    out.append(await _calls(api, "get", n, concurrency, lambda i: api.get(names[(i * 7) % n]),
                            pid, lambda: tick("get")))
    out.append(await _calls(api, "patch", n, concurrency,
                            lambda i: api.patch(names[i], {"data": {"p": str(i)}}), pid,
                            lambda: tick("patch")))
    lists = max(2, n // 50)

    async def list_all(i: int) -> None:
        got = await api.list(label)
        if got != n:
            raise RuntimeError(f"list saw {got} of {n}")
    out.append(await _calls(api, "list", lists, min(concurrency, 4), list_all, pid,
                            lambda: tick("list")))
    out.append(await _watch_phase(api, label, names, max(20, n // 10), pid,
                                  lambda: tick("watch")))
    out.append(await _calls(api, "delete", n, concurrency, lambda i: api.delete(names[i]),
                            pid, lambda: tick("delete")))
    return out


# ============================================================================ driver


def bench_api(*, ops: int = 2000, concurrency: int = 16, runs: int = 3,
              out_dir: str = "bench-out", plot: bool = True, quiet: bool = False) -> Obj:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(quiet=quiet)
    tmp = tempfile.mkdtemp(prefix="kubemu-bench-api-")
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child, tmp), daemon=True)
    proc.start()
    if not parent.poll(120):
        proc.kill()
        raise RuntimeError("the apiserver did not start in 120 s")
    info = parent.recv()
    per_api = ops * 3 + max(2, ops // 50) + max(20, ops // 10) + ops
    all_runs: list[list[Obj]] = []
    raw: dict[str, dict[str, list[float]]] = {a: {p: [] for p in PHASES} for a in APIS}
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      console=console, transient=True) as prog:
            for run in range(-1, runs):  # run -1: a short warm-up of both, not reported
                order = APIS if run % 2 == 0 else tuple(reversed(APIS))
                n = ops if run >= 0 else min(ops, 200)
                results: list[Phase] = []
                for name in order:
                    label = f"run {run + 1}/{runs}" if run >= 0 else "warm-up"
                    task = prog.add_task(f"{label} {name}", total=per_api)

                    def tick(_phase: str, task: Any = task) -> None:
                        prog.advance(task)

                    async def go(name: str = name, tick: Any = tick, n: int = n) -> list[Phase]:
                        api: Any = GrpcAPI(info["grpc"]) if name == "grpc" else \
                            RestAPI(info["rest"], info["token"], info["ca"], concurrency)
                        try:
                            return await run_api(api, run, n, concurrency, info["pid"],
                                                 tick)
                        finally:
                            await api.close()
                    results += asyncio.run(go())
                    prog.remove_task(task)
                if run < 0:
                    continue
                for r in results:
                    raw[r.api][r.phase] += r.latencies_ms
                all_runs.append([r.summary() for r in results])
    finally:
        parent.send("stop")
        proc.join(10)
        if proc.is_alive():
            proc.kill()
    med = medians(all_runs)
    report = {"ops": ops, "concurrency": concurrency, "runs": all_runs, "median": med,
              "ratio_rest_over_grpc": ratios(med), "cpus": os.cpu_count(),
              "store": "memory"}
    os.makedirs(out_dir, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = os.path.join(out_dir, f"api-{stamp}.json")
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
    _print(console, report)
    console.print(f"report: {path}")
    if plot:
        png = _plot(raw, os.path.join(out_dir, f"api-{stamp}.png"))
        if png:
            console.print(f"plot:   {png}")
            report["plot"] = png
    report["path"] = path
    return report


def _print(console: Any, report: Obj) -> None:
    from rich.table import Table

    t = Table(title=f"apiserver front doors: {report['ops']} objects, concurrency "
                    f"{report['concurrency']}, median of {len(report['runs'])} run(s)")
    for c in ("phase", "gRPC calls/s", "REST calls/s", "REST/gRPC", "gRPC p50 / p99 ms",
              "REST p50 / p99 ms", "server CPU µs/call gRPC / REST"):
        t.add_column(c, justify="right" if c != "phase" else "left")
    by = {(m["phase"], m["api"]): m for m in report["median"]}
    for phase in PHASES:
        g, r = by.get((phase, "grpc")), by.get((phase, "rest"))
        if g is None or r is None:
            continue
        ratio = report["ratio_rest_over_grpc"][phase]["rate"]
        t.add_row(phase, f"{g['rate']:,.0f}", f"{r['rate']:,.0f}", f"{ratio:.2f}x",
                  f"{g['p50_ms']:.2f} / {g['p99_ms']:.2f}",
                  f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}",
                  f"{g['server_cpu_us_per_call']:,.0f} / {r['server_cpu_us_per_call']:,.0f}")
    console.print(t)
    errs = sum(m["errors"] for m in report["median"])
    if errs:
        console.print(f"[red]errors (median sum): {errs}[/]")


def _plot(raw: dict[str, dict[str, list[float]]], path: str) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        return None
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    for ax, phase in zip(axes.flat, PHASES):
        for api, color in (("grpc", "tab:blue"), ("rest", "tab:orange")):
            xs = sorted(raw[api][phase])
            if xs:
                ax.plot(xs, [(i + 1) / len(xs) for i in range(len(xs))], color=color,
                        label="gRPC" if api == "grpc" else "REST (HTTPS/JSON)")
        ax.set_title(phase)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("latency (ms)")
        ax.set_ylabel("fraction of calls")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("kubemu apiserver: REST vs gRPC latency CDFs")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
