"""Launch and stop a whole kubemu cluster on Ray, and remember where it is.

`launch(cfg)` starts, in order: the etcd members (actors.etcd.launcher), the
apiserver, the scheduler, the controller-manager, then one kubelet and one
kube-proxy per node — every one a named, detached Ray actor in the Ray namespace
`kubemu-<name>`, so two clusters never collide even on one Ray runtime. Ports are
chosen here, once, and passed in each actor's config: an actor that Ray restarts
after a crash binds the same port and its peers find it where they left it.

Per-cluster state lives in `$KUBEMU_HOME/<name>/` (default `~/.kubemu`):
`cluster.json` (Ray address, whether we started that Ray runtime and its session id,
actor names, the apiserver and etcd addresses), `etcd/` (the members' data dirs),
`agents/` (each node agent's launch spec, see `start_agent`) and, once `kubemu fault`
has been used, `faults.jsonl` / `faults-active.json` (actors/faults.py).
`$KUBEMU_HOME/current` names the cluster that later commands use by default.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from actors.common import grpcutil
from actors.common.config import ClusterConfig, NodePoolSpec, NodeSpec

KUBELET_VERSION = "v1.30.0-kubemu"


def home() -> Path:
    return Path(os.environ.get("KUBEMU_HOME") or Path.home() / ".kubemu")


def state_dir(name: str) -> Path:
    return home() / name


def current_name() -> str | None:
    env = os.environ.get("KUBEMU_CLUSTER")
    if env:
        return env
    p = home() / "current"
    return p.read_text().strip() if p.exists() else None


@dataclass
class ClusterState:
    name: str
    namespace: str
    ray_address: str
    ray_started: bool
    ray_session_pid: int  # the `ray start --block` process (session leader) if we started Ray
    apiserver: str
    etcd_endpoints: list[str]
    actors: dict[str, str] = field(default_factory=dict)  # actor name -> role
    nodes: list[str] = field(default_factory=list)
    proxies: dict[str, str] = field(default_factory=dict)  # node -> kube-proxy address
    pools: dict[str, list[str]] = field(default_factory=dict)  # pool actor -> its nodes
    config_file: str = ""
    time_scale: float = 1.0
    started_at: float = 0.0
    rest_server: str = ""  # the Kubernetes REST API: https://127.0.0.1:PORT

    def all_pool_nodes(self) -> list[str]:
        return [n for names in self.pools.values() for n in names]

    def save(self) -> None:
        d = state_dir(self.name)
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / "cluster.json.tmp"
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(d / "cluster.json")
        (home() / "current").write_text(self.name)

    @classmethod
    def load(cls, name: str) -> "ClusterState":
        p = state_dir(name) / "cluster.json"
        if not p.exists():
            raise FileNotFoundError(f'cluster "{name}" not found (no {p}); start it with '
                                    f"`kubemu up`")
        return cls(**json.loads(p.read_text()))


# ---- the Ray runtime ------------------------------------------------------------------


def start_ray_head(name: str, num_cpus: int | None = None,
                   log_path: str | None = None) -> tuple[str, int]:
    """Start a private Ray runtime (`ray start --head --block` in its own session).

    Returns (address, session id); `kill_session(sid)` stops every process of it."""
    port = grpcutil.free_ports(1)[0]
    temp = f"/tmp/kubemu-ray-{name}"
    shutil.rmtree(temp, ignore_errors=True)
    ray_bin = str(Path(sys.executable).with_name("ray"))
    env = dict(os.environ, RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    log = open(log_path or state_dir(name) / "ray.log", "wb")
    p = subprocess.Popen(
        [ray_bin, "start", "--head", "--block", f"--port={port}",
         f"--num-cpus={num_cpus or os.cpu_count() or 2}", "--include-dashboard=false",
         "--disable-usage-stats", f"--object-store-memory={100 * 1024 * 1024}",
         f"--temp-dir={temp}", "--node-ip-address=127.0.0.1"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
        start_new_session=True)
    return f"127.0.0.1:{port}", p.pid


def session_processes(sid: int) -> list[int]:
    """Live (non-zombie) processes of session `sid`."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if os.getsid(int(d)) != sid:
                continue
            with open(f"/proc/{d}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (ProcessLookupError, PermissionError, FileNotFoundError, OSError):
            continue
        if state != "Z":  # a zombie is already dead; only its parent can reap it
            pids.append(int(d))
    return pids


def kill_session(sid: int) -> int:
    """SIGKILL every process of the session `sid` (Ray's daemons and workers)."""
    killed = 0
    for _ in range(10):
        pids = [p for p in session_processes(sid) if p != os.getpid()]
        if not pids:
            break
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        time.sleep(0.2)
    try:  # reap our own child, if it is one
        os.waitpid(sid, os.WNOHANG)
    except ChildProcessError:
        pass
    return killed


def connect(address: str, namespace: str, timeout: float = 60.0) -> None:
    from actors.common import rayutil

    deadline = time.monotonic() + timeout
    while True:
        try:
            rayutil.init(address, namespace=namespace)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


# ---- launch ---------------------------------------------------------------------------


def node_network(i: int) -> tuple[str, str]:
    """(podCIDR, node IP) of the i-th node (0-based): 10.244.<i>.0/24 for the first 256
    (the usual 10.244.0.0/16 cluster CIDR), then /24s of 100.64.0.0/10 (room for 16384
    more hollow nodes); node IPs count up from 10.0.0.2."""
    if i < 256:
        cidr = f"10.244.{i}.0/24"
    else:
        j = i - 256
        cidr = f"100.{64 + j // 256}.{j % 256}.0/24"
    return cidr, str(ipaddress.ip_address("10.0.0.2") + i)


def kubelet_config(cfg: ClusterConfig, i: int, apiserver: str,
                   node: NodeSpec | None = None) -> dict[str, Any]:
    """The kubelet config of the i-th node (global index: per-node actors first, then
    the pools' nodes); `node` when it is not cfg.nodes[i] (a pool's node)."""
    n = node if node is not None else cfg.nodes[i]
    cidr, ip = node_network(i)
    return {
        "apiserver": apiserver,
        "node_name": n.name,
        "capacity": dict(n.capacity),
        "labels": dict(n.labels),
        "taints": [dict(t) for t in n.taints],
        "pod_cidr": cidr,
        "node_ip": ip,
        "kubelet_version": KUBELET_VERSION,
        "images": {k: {"size_bytes": v.size_bytes, "pull_seconds": v.pull_seconds}
                   for k, v in cfg.images.items()},
        "node_lease_duration_seconds": cfg.timings["nodeLeaseDurationSeconds"],
        "node_status_update_frequency": cfg.timings["nodeStatusUpdateFrequency"],
        "node_status_report_frequency": cfg.timings["nodeStatusReportFrequency"],
        "crash_loop_backoff_initial": cfg.timings["crashLoopBackOffInitial"],
        "crash_loop_backoff_max": cfg.timings["crashLoopBackOffMax"],
        "crash_loop_backoff_reset": cfg.timings["crashLoopBackOffReset"],
        "time_scale": cfg.time_scale,
    }


# The node agents are the one kind of actor Ray does not restart (max_restarts=0): a
# killed node stays down, as a crashed machine would, until `kubemu fault start` (or a
# kill's --restart-after) starts it again from the spec saved here at launch —
# `$KUBEMU_HOME/<name>/agents/<actor>.json`: its class, role and config (same ports).
AGENT_CLASSES = {"kubelet": "actors.kubelet.actor:KubeletActor",
                 "kube-proxy": "actors.proxy.actor:KubeProxyActor",
                 "node-pool": "actors.kubelet.pool:NodePoolActor"}


def agent_spec_path(sdir: Path, actor: str) -> Path:
    return sdir / "agents" / f"{actor}.json"


def load_agent_spec(sdir: Path, actor: str) -> dict[str, Any]:
    p = agent_spec_path(sdir, actor)
    if not p.exists():
        raise FileNotFoundError(f"no saved config for {actor} ({p})")
    return json.loads(p.read_text())  # type: ignore[no-any-return]


def start_agent(sdir: Path, namespace: str, actor: str, role: str | None = None,
                config: dict[str, Any] | None = None) -> Any:
    """Start a node agent (kubelet / kube-proxy) as a named, non-restarting actor.

    With `role` and `config` the spec is saved first; without, the saved one is used."""
    import importlib

    from actors.common import rayutil

    if role is None or config is None:
        spec = load_agent_spec(sdir, actor)
    else:
        spec = {"actor": actor, "role": role, "class": AGENT_CLASSES[role], "config": config}
        p = agent_spec_path(sdir, actor)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.with_suffix(".tmp").write_text(json.dumps(spec, indent=2))
        p.with_suffix(".tmp").replace(p)
    mod, _, cls = spec["class"].partition(":")
    return rayutil.start_actor(getattr(importlib.import_module(mod), cls), actor,
                               spec["config"], namespace=namespace, max_restarts=0)


def launch(cfg: ClusterConfig, *, address: str | None = None, config_file: str = "",
           progress: Callable[[str], None] = lambda s: None,
           ready_timeout: float = 180.0) -> ClusterState:
    """Start everything and wait until every node is Ready. Raises on failure."""
    from actors.apiserver.actor import ApiServerActor
    from actors.common import rayutil
    from actors.controllers.actor import ControllerManagerActor
    from actors.etcd.launcher import start_store
    from actors.scheduler.actor import SchedulerActor

    sd = state_dir(cfg.name)
    sd.mkdir(parents=True, exist_ok=True)
    ns = f"kubemu-{cfg.name}"
    ray_started, session = False, 0
    if address is None:
        progress("starting a local Ray runtime")
        address, session = start_ray_head(cfg.name)
        ray_started = True
    state = ClusterState(name=cfg.name, namespace=ns, ray_address=address,
                         ray_started=ray_started, ray_session_pid=session, apiserver="",
                         etcd_endpoints=[], config_file=config_file,
                         time_scale=cfg.time_scale, started_at=time.time())
    state.save()  # so `kubemu down` can clean up even if the launch fails half-way
    connect(address, ns)

    progress(f"etcd: {cfg.etcd_members} members")
    store = start_store(cfg.name, str(sd / "etcd"), cfg.etcd_members, namespace=ns,
                        snapshot_count=cfg.etcd_snapshot_count, wait=False)
    state.etcd_endpoints = store.endpoints
    for mid in store.actors:
        state.actors[store.actor_name(mid)] = "etcd"
    state.save()
    store.wait_ready(timeout=60)

    progress("apiserver")
    from actors.common.certs import make_credentials

    creds = make_credentials(sd / "pki", [cfg.apiserver_bind_address])
    api_port, rest_port = grpcutil.free_ports(2)
    api = rayutil.start_actor(ApiServerActor, "apiserver", {
        "port": api_port, "etcd_endpoints": store.endpoints,
        "default_toleration_seconds": int(cfg.timings["defaultTolerationSeconds"]),
        "bookmark_interval": cfg.scaled(60.0), "watch_window": 1000,
        "time_scale": cfg.time_scale,
        # the REST API; its port fixed here so a restarted apiserver comes back on it
        "rest_port": cfg.apiserver_secure_port or rest_port,
        "rest_bind_address": cfg.apiserver_bind_address, "rest_token": creds.token,
        "rest_tls_cert": str(creds.cert), "rest_tls_key": str(creds.key)}, namespace=ns)
    state.actors["apiserver"] = "apiserver"
    state.apiserver = str(rayutil.call(api, "address", timeout=60))
    state.rest_server = str(rayutil.call(api, "rest_address", timeout=60))
    state.save()

    progress("scheduler, controller-manager")
    rayutil.start_actor(SchedulerActor, "scheduler", {
        "apiserver": state.apiserver, "scheduler_name": "default-scheduler",
        "scheduler_config": cfg.scheduler or None, "time_scale": cfg.time_scale}, namespace=ns)
    state.actors["scheduler"] = "scheduler"
    rayutil.start_actor(ControllerManagerActor, "controller-manager", {
        "apiserver": state.apiserver, "seed": int(time.time()),
        "time_scale": cfg.time_scale,
        "node_monitor_period": cfg.timings["nodeMonitorPeriod"],
        "node_monitor_grace_period": cfg.timings["nodeMonitorGracePeriod"]}, namespace=ns)
    state.actors["controller-manager"] = "controller-manager"
    state.save()

    if cfg.nodes:
        progress(f"{len(cfg.nodes)} nodes: kubelet + kube-proxy each")
    proxy_ports = grpcutil.free_ports(len(cfg.nodes))
    for i, n in enumerate(cfg.nodes):
        start_agent(sd, ns, f"kubelet-{n.name}", "kubelet",
                    kubelet_config(cfg, i, state.apiserver))
        state.actors[f"kubelet-{n.name}"] = "kubelet"
        start_agent(sd, ns, f"kube-proxy-{n.name}", "kube-proxy", {
            "apiserver": state.apiserver, "node_name": n.name, "port": proxy_ports[i]})
        state.actors[f"kube-proxy-{n.name}"] = "kube-proxy"
        state.proxies[n.name] = f"127.0.0.1:{proxy_ports[i]}"
        state.nodes.append(n.name)
    state.save()

    launch_pools(cfg, state, sd, progress)
    progress("waiting for every node to be Ready")
    last = [-1]

    def ready_progress(ready: int, total: int) -> None:
        if ready != last[0] and total > 10:
            last[0] = ready
            progress(f"{ready}/{total} nodes Ready")

    wait_nodes_ready(state.apiserver, state.nodes + state.all_pool_nodes(), ready_timeout,
                     ready_progress)
    return state


def pool_actor_config(cfg: ClusterConfig, pool: NodePoolSpec, indexes: range, first: int,
                      apiserver: str, actor: str) -> dict[str, Any]:
    """A pool actor's config: one kubelet config per node it hosts. `first` is the
    global index of the pool's node 0 (for pod CIDRs and node IPs)."""
    return {"apiserver": apiserver, "name": actor,
            "nodes": [kubelet_config(cfg, first + i, apiserver, pool.node(i)) for i in indexes]}


def launch_pools(cfg: ClusterConfig, state: ClusterState, sd: Path,
                 progress: Callable[[str], None] = lambda s: None) -> None:
    """Start the hollow node pools' actors (non-restarting, like the node agents)."""
    first = len(cfg.nodes)
    for pool in cfg.node_pools:
        actors = pool.actors()
        progress(f"node pool {pool.name}: {pool.count} hollow nodes in {len(actors)} "
                 f"actor{'s' if len(actors) != 1 else ''}")
        for actor, idx in actors:
            start_agent(sd, state.namespace, actor, "node-pool",
                        pool_actor_config(cfg, pool, idx, first, state.apiserver, actor))
            state.actors[actor] = "node-pool"
            state.pools[actor] = [f"{pool.name}-{i}" for i in idx]
        first += pool.count
        state.save()


def node_ready(node: dict[str, Any]) -> bool:
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def wait_nodes_ready(apiserver: str, names: list[str], timeout: float,
                     progress: Callable[[int, int], None] = lambda ready, total: None) -> None:
    from actors.apiserver.client import SyncAPIClient

    c = SyncAPIClient(apiserver)
    want = set(names)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                items = c.list_all("nodes").get("items", [])
            except Exception:
                items = []
            ready = {n["metadata"]["name"] for n in items if node_ready(n)}
            progress(len(want & ready), len(want))
            if want <= ready:
                return
            if time.monotonic() > deadline:
                missing = sorted(want - ready)
                more = f" and {len(missing) - 20} more" if len(missing) > 20 else ""
                raise TimeoutError(f"nodes not Ready after {timeout:.0f} s: "
                                   f"{', '.join(missing[:20])}{more}")
            time.sleep(0.2 if len(want) < 100 else 1.0)
    finally:
        c.close()


# ---- status and teardown --------------------------------------------------------------


def actor_statuses(state: ClusterState, timeout: float = 5.0) -> dict[str, dict[str, Any] | None]:
    from actors.common import rayutil

    refs: dict[str, tuple[Any, Any]] = {}
    out: dict[str, dict[str, Any] | None] = {}
    for name in state.actors:
        try:
            h = rayutil.get_actor(name, state.namespace)
            refs[name] = (rayutil.call_async(h, "status"), rayutil.call_async(h, "pid"))
        except Exception:
            out[name] = None
    deadline = time.monotonic() + timeout
    for name, (ref, pid_ref) in refs.items():
        try:
            st = dict(rayutil.get(ref, timeout=max(0.1, deadline - time.monotonic())) or {})
            st.setdefault("pid", rayutil.get(pid_ref, timeout=max(0.1, deadline - time.monotonic())))
            out[name] = st
        except Exception:
            out[name] = None
    return out


def teardown(state: ClusterState, *, keep_data: bool = False) -> None:
    """Stop every actor of the cluster, the Ray runtime if `up` started it, and the state."""
    from actors.common import rayutil

    if state.ray_started and state.ray_session_pid:
        rayutil.shutdown()
        kill_session(state.ray_session_pid)
        shutil.rmtree(f"/tmp/kubemu-ray-{state.name}", ignore_errors=True)
    else:
        try:
            connect(state.ray_address, state.namespace, timeout=10)
            for name in state.actors:
                try:
                    rayutil.kill(rayutil.get_actor(name, state.namespace))
                except Exception:
                    pass
        finally:
            rayutil.shutdown()
    if not keep_data:
        shutil.rmtree(state_dir(state.name), ignore_errors=True)
    cur = home() / "current"
    if cur.exists() and cur.read_text().strip() == state.name:
        cur.unlink()
