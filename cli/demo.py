"""`make demo` / `kubemu demo`: the store's failure story, told as it happens.

A 3-member kubemu store starts as Ray actors; we write through it, read it back
(with the real etcdctl too, when it is installed), SIGKILL the leader in the middle
of a stream of writes, watch a new leader get elected, check that every acknowledged
write survived, and watch Ray restart the killed member from its WAL and catch up.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time

from rich.console import Console
from rich.table import Table

console = Console(width=max(120, Console().width))


def _say(msg: str) -> None:
    console.print(f"[bold cyan]==>[/] {msg}")


def _members_table(h, title: str) -> None:  # type: ignore[no-untyped-def]
    t = Table(title=title)
    for c in ("member", "etcd ID", "client address", "pid", "role", "term", "applied index"):
        t.add_column(c)
    for mid, st in sorted(h.statuses().items()):
        if st is None:
            t.add_row(f"etcd-{mid}", "-", "-", "-", "[red]down[/]", "-", "-")
            continue
        role = "[green]leader[/]" if st["role"] == "leader" else st["role"]
        t.add_row(st["name"], st["etcd_id"], st["client_addr"], str(st["pid"]), role,
                  str(st["term"]), str(st["applied"]))
    console.print(t)


def _etcdctl(endpoints: list[str], *args: str) -> None:
    cmd = ["etcdctl", "--endpoints=" + ",".join(endpoints), *args]
    console.print(f"[dim]$ ETCDCTL_API=3 {' '.join(cmd)}[/]")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                         env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin:/usr/local/bin"})
    print(out.stdout.rstrip() or out.stderr.rstrip(), flush=True)


def run_demo(members: int = 3) -> int:
    from actors.common import rayutil
    from actors.etcd.client import SyncEtcdClient
    from actors.etcd.launcher import start_store

    root = tempfile.mkdtemp(prefix="kubemu-demo-")
    _say("starting a local Ray runtime")
    rayutil.init(None)
    _say(f"launching a {members}-member kubemu store (one Ray actor per member, data in {root})")
    t0 = time.monotonic()
    h = start_store("demo", root, members, detached=False)
    console.print(f"    leader elected {time.monotonic() - t0:.1f} s after launch")
    _members_table(h, "the store")
    c = SyncEtcdClient(h.endpoints)
    try:
        _say("writing through the store (etcdctl-style output)")
        for i, name in enumerate(["web", "db", "cache"]):
            key = f"/registry/deployments/default/{name}"
            console.print(f"[dim]$ put {key} replicas={i + 1}[/]")
            c.put(key, f"replicas={i + 1}")
            console.print("OK")
        console.print("[dim]$ get --prefix /registry/deployments/[/]")
        for kv in c.get("/registry/deployments/", prefix=True).kvs:
            console.print(kv.key.decode(), markup=False)
            console.print(kv.value.decode(), markup=False)
        if shutil.which("etcdctl"):
            _say("the real etcdctl (etcd-client 3.4) talks to it too")
            _etcdctl(h.endpoints, "get", "--prefix", "/registry/")
            _etcdctl(h.endpoints, "member", "list", "-w", "table")

        _say("a client streams writes; we SIGKILL the leader in the middle of it")
        acked: list[str] = []
        failed = [0]
        stop = threading.Event()

        def writer() -> None:
            w = SyncEtcdClient(h.endpoints, timeout=10)
            i = 0
            while not stop.is_set():
                key = f"/stream/{i:05d}"
                try:
                    w.put(key, str(i))
                    acked.append(key)
                except Exception:
                    failed[0] += 1
                i += 1
            w.close()

        th = threading.Thread(target=writer)
        th.start()
        time.sleep(1.5)
        old = h.leader()
        before = len(acked)
        pid = h.kill(old)
        t_kill = time.monotonic()
        console.print(f"    killed etcd-{old} (pid {pid}, the leader) after {before} acknowledged writes")
        new = None
        while time.monotonic() - t_kill < 15:
            sts = [s for mid, s in h.statuses(1.0).items() if s and mid != old]
            leaders = [s["id"] for s in sts if s["role"] == "leader"]
            if leaders:
                new = leaders[0]
                break
            time.sleep(0.02)
        t_new = time.monotonic() - t_kill
        console.print(f"    new leader: etcd-{new}, elected {t_new:.2f} s after the kill "
                      f"(election timeout 1.0 s)")
        at_new = len(acked)
        deadline = time.monotonic() + 15
        while len(acked) < at_new + 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        th.join()
        console.print(f"    writes acknowledged: {len(acked)} ({len(acked) - before} after the kill); "
                      f"failed (client saw an error, may retry): {failed[0]}")

        _say("every acknowledged write is readable")
        got = {kv.key.decode() for kv in c.get("/stream/", prefix=True).kvs}
        missing = [k for k in acked if k not in got]
        console.print(f"    read back {len(got)} keys; acknowledged but missing: {len(missing)}")
        extra = len(got) - (len(acked) - len(missing))
        if extra:
            console.print(f"    {extra} write(s) the client saw fail landed anyway: an error after "
                          "the request reached a server means 'outcome unknown', not 'not written'")

        _say(f"Ray restarts etcd-{old}; it recovers from its WAL and catches up")
        deadline = time.monotonic() + 60
        caught = False
        while time.monotonic() < deadline:
            all_st = h.statuses(2.0)
            st = all_st.get(old)
            lead = all_st.get(new) if new else None
            if st and lead and st["pid"] != pid and st["applied"] >= lead["applied"] > 0:
                caught = True
                break
            time.sleep(0.3)
        _members_table(h, "after the failure")
        if shutil.which("etcdctl"):
            _etcdctl(h.endpoints, "endpoint", "status", "-w", "table")
        ok = caught and not missing and new is not None
        console.print(("[bold green]data survived the leader's death; the restarted member caught up[/]"
                       if ok else "[bold red]something went wrong (see above)[/]"))
        return 0 if ok else 1
    finally:
        c.close()
        _say("stopping the store")
        h.stop(remove_data=True)
        shutil.rmtree(root, ignore_errors=True)
        rayutil.shutdown()


# ---- the cluster story ------------------------------------------------------------------

DEMO_DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{
                              "name": "web", "image": "nginx:1.25",
                              "ports": [{"containerPort": 80}],
                              "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}}]}}},
}


def _show(api, resource: str, *, wide: bool = False, selector: str = "") -> None:  # type: ignore[no-untyped-def]
    from actors.api import printers, resources

    info = resources.lookup(resource)
    kw = {"namespace": "default"} if info.namespaced else {}
    items = api.list(resource, label_selector=selector, **kw)["items"]
    headers, rows = printers.table(info, items, wide=wide, now=time.time())
    cmd = f"kubemu get {resource}" + (" -o wide" if wide else "") + (f" -l {selector}" if selector else "")
    console.print(f"[dim]$ {cmd}[/]")
    print(printers.render(headers, rows), flush=True)


def _wait(pred, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.3)
    raise TimeoutError(f"timed out waiting for {what}")


def run_cluster_demo(config: str = "cluster.yaml", time_scale: float = 0.2) -> int:
    """`make demo`: up, a Deployment of 3 spread over 3 nodes, a pod deleted and replaced,
    the etcd leader SIGKILLed while scaling to 5 (nothing lost), down."""
    import os

    from actors import cluster as cl
    from actors.apiserver.client import SyncAPIClient
    from actors.common.config import load

    cfg = load(config)
    cfg.name = "demo"
    cfg.time_scale = time_scale
    try:
        cl.teardown(cl.ClusterState.load(cfg.name))  # a leftover from an interrupted demo
    except FileNotFoundError:
        pass
    _say(f"kubemu up: {len(cfg.nodes)} nodes, {cfg.etcd_members} etcd members, every component "
         f"a Ray actor speaking gRPC (timeScale {time_scale})")
    t0 = time.monotonic()
    state = cl.launch(cfg, progress=lambda m: console.print(f"    {m}"))
    console.print(f"    cluster up, every node Ready, in {time.monotonic() - t0:.1f} s")
    api = SyncAPIClient(state.apiserver)
    ok = True
    try:
        _show(api, "nodes", wide=True)
        _say("kubemu apply -f web.yaml  (a Deployment of 3 nginx replicas)")
        api.create("deployments", DEMO_DEPLOYMENT, namespace="default")
        console.print("deployment.apps/web created")

        def running(n: int):  # type: ignore[no-untyped-def]
            pods = api.list("pods", namespace="default", label_selector="app=web")["items"]
            live = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"
                    and not p["metadata"].get("deletionTimestamp")]
            return live if len(live) == n and len(pods) == n else None

        pods = _wait(lambda: running(3), 90, "3 Running pods")
        _show(api, "pods", wide=True, selector="app=web")
        nodes = sorted({p["spec"]["nodeName"] for p in pods})
        console.print(f"    3 pods on {len(nodes)} nodes: {', '.join(nodes)}")
        _show(api, "deployments")
        _show(api, "replicasets")

        victim = pods[0]["metadata"]["name"]
        _say(f"kubemu delete pod {victim}: its ReplicaSet replaces it")
        api.delete("pods", victim, namespace="default")
        console.print(f'pod "{victim}" deleted')
        pods = _wait(lambda: (lambda r: r if r and victim not in
                              {p["metadata"]["name"] for p in r} else None)(running(3)),
                     90, "a replacement")
        _show(api, "pods", wide=True, selector="app=web")

        from actors.common import rayutil

        _say("kubemu scale deployment web --replicas=5 — and SIGKILL the etcd leader meanwhile")
        api.patch("deployments", "web", {"spec": {"replicas": 5}}, namespace="default")
        console.print("deployment.apps/web scaled")
        leader = None
        for name, role in state.actors.items():
            if role != "etcd":
                continue
            st = rayutil.call(rayutil.get_actor(name, state.namespace), "status", timeout=10)
            if st["role"] == "leader":
                leader = (name, st["pid"])
        if leader:
            os.kill(leader[1], 9)
            console.print(f"    killed {leader[0]} (pid {leader[1]}), the raft leader; Ray "
                          "restarts it from its WAL")
        _wait(lambda: running(5), 120, "5 Running pods")
        _show(api, "pods", wide=True, selector="app=web")
        _show(api, "deployments")
        console.print("    the control plane rode through the store's leader change: "
                      "5/5 replicas Running")
    except Exception as e:
        ok = False
        console.print(f"[bold red]demo failed:[/] {e}")
    finally:
        api.close()
        _say("kubemu down")
        cl.teardown(state)
        left = cl.session_processes(state.ray_session_pid) if state.ray_session_pid else []
        if left:
            ok = False
            console.print(f"[red]{len(left)} processes of the cluster are still alive[/]")
        else:
            console.print("cluster demo stopped; none of its processes is left")
    return 0 if ok else 1


def run_node_failure_demo(time_scale: float = 0.1) -> int:
    """`make demo`: the node-failure story (scenarios/node-failure.yaml), compressed.

    A Deployment of 3 on 3 nodes; the node running one of its pods is SIGKILLed; NotReady
    after the grace period; its pod evicted when tolerationSeconds run out; a replacement
    Running elsewhere; the node started again: Ready, taints gone. The scenario runner
    prints the live timeline, then what happened when, then the expectations."""
    import os

    from actors.scenario.runner import RunError, run_file

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "scenarios", "node-failure.yaml")
    _say(f"the node-failure story, at timeScale {time_scale:g} (every upstream duration x "
         f"{time_scale:g}: the 50 s grace takes {50 * time_scale:g} s, the 300 s toleration "
         f"{300 * time_scale:g} s)")
    try:
        rc, _ = run_file(path, time_scale=time_scale, console=console)
    except RunError as e:
        console.print(f"[bold red]demo failed:[/] {e}")
        return 1
    return rc
