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
