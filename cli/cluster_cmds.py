"""`kubemu up`, `kubemu status`, `kubemu down`: a cluster's life cycle."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from rich.console import Console
from rich.table import Table

DEFAULT_CONFIG = "cluster.yaml"


def _err(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 1


def _resolve_name(args: argparse.Namespace) -> str | None:
    from actors.cluster import current_name

    return getattr(args, "name", None) or current_name()


def cmd_up(args: argparse.Namespace) -> int:
    from actors import cluster
    from actors.common.config import ConfigError, load

    path = args.file
    if path == DEFAULT_CONFIG and not os.path.exists(path):
        here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            DEFAULT_CONFIG)
        path = here if os.path.exists(here) else path
    try:
        cfg = load(path)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.name:
        cfg.name = args.name
    if args.time_scale is not None:
        cfg.time_scale = args.time_scale
    try:
        existing = cluster.ClusterState.load(cfg.name)
    except FileNotFoundError:
        existing = None
    if existing is not None:
        return _err(f'cluster "{cfg.name}" is already up (state in '
                    f"{cluster.state_dir(cfg.name)}); `kubemu down --name {cfg.name}` first")
    console = Console(stderr=True)
    t0 = time.monotonic()
    state = None
    try:
        with console.status(f"launching cluster {cfg.name}") as st:
            def progress(msg: str) -> None:
                st.update(f"[bold]{cfg.name}[/]: {msg}  ({time.monotonic() - t0:.0f}s)")
                console.log(msg)
            state = cluster.launch(cfg, address=args.address, config_file=os.path.abspath(path),
                                   progress=progress)
    except KeyboardInterrupt:
        console.print("interrupted: tearing down")
        _teardown_quietly(cfg.name)
        return 130
    except Exception as e:  # report, tear down what was started, exit 1
        console.print(f"[red]launch failed:[/] {e}")
        _teardown_quietly(cfg.name)
        return 1
    console.print(f"cluster [bold]{cfg.name}[/] is up in {time.monotonic() - t0:.1f} s; "
                  f"for kubectl: kubemu kubeconfig --name {cfg.name}")
    rc = _print_status(state, "table")
    if args.foreground:
        return _foreground(state)
    from actors.common import rayutil

    rayutil.shutdown()
    return rc


def _teardown_quietly(name: str) -> None:
    from actors import cluster

    try:
        cluster.teardown(cluster.ClusterState.load(name))
    except Exception:
        pass


def _foreground(state: Any) -> int:
    from rich.live import Live

    from actors import cluster

    try:
        with Live(_status_tables(state), refresh_per_second=1, screen=False) as live:
            while True:
                time.sleep(2)
                live.update(_status_tables(state))
    except KeyboardInterrupt:
        pass
    cluster.teardown(state)
    print(f"cluster {state.name} stopped")
    return 0


def _collect(state: Any) -> dict[str, Any]:
    from actors import cluster
    from actors.apiserver.client import SyncAPIClient

    cluster.connect(state.ray_address, state.namespace, timeout=20)
    sts = cluster.actor_statuses(state)
    comps = []
    for name, role in state.actors.items():
        st = sts.get(name) or {}
        comps.append({
            "name": name, "role": role, "healthy": bool(sts.get(name)),
            "pid": st.get("pid"), "address": st.get("client_addr") or st.get("address") or "",
            "leader": st.get("role") == "leader" if role == "etcd" else None,
        })
    nodes = []
    try:
        c = SyncAPIClient(state.apiserver)
        try:
            for n in c.list_all("nodes").get("items", []):
                nodes.append({"name": n["metadata"]["name"],
                              "ready": cluster.node_ready(n),
                              "unschedulable": bool((n.get("spec") or {}).get("unschedulable"))})
        finally:
            c.close()
    except Exception as e:
        nodes.append({"name": "?", "error": str(e)})
    return {"name": state.name, "ray": state.ray_address, "apiserver": state.apiserver,
            "rest_server": getattr(state, "rest_server", ""),
            "etcd": state.etcd_endpoints, "components": comps, "nodes": nodes}


def _status_tables(state: Any) -> Any:
    from rich.console import Group

    data = _collect(state)
    rest = f", kubectl {data['rest_server']}" if data.get("rest_server") else ""
    t = Table(title=f"cluster {data['name']} — apiserver {data['apiserver']}{rest}, "
                    f"Ray {data['ray']}")
    for c in ("COMPONENT", "ROLE", "PID", "ADDRESS", "HEALTHY"):
        t.add_column(c)
    for c in data["components"]:
        role = c["role"] + (" (leader)" if c["leader"] else "")
        t.add_row(c["name"], role, str(c["pid"] or "-"), c["address"] or "- (client only)",
                  "[green]yes[/]" if c["healthy"] else "[red]no[/]")
    nt = Table(title="nodes")
    for c in ("NAME", "STATUS"):
        nt.add_column(c)
    in_pool = {n: actor for actor, names in (getattr(state, "pools", None) or {}).items()
               for n in names}
    pools: dict[str, dict[str, int]] = {}
    for n in data["nodes"]:
        if "error" in n:
            nt.add_row("?", f"[red]{n['error']}[/]")
            continue
        s = "Ready" if n["ready"] else "NotReady"
        if n["unschedulable"]:
            s += ",SchedulingDisabled"
        actor = in_pool.get(n["name"])
        if actor is not None:  # hollow nodes: one row per pool actor
            counts = pools.setdefault(actor, {})
            counts[s] = counts.get(s, 0) + 1
            continue
        nt.add_row(n["name"], s)
    for actor, names in sorted((getattr(state, "pools", None) or {}).items()):
        counts = pools.get(actor, {})
        seen = sum(counts.values())
        parts = [f"{v} {k}" for k, v in sorted(counts.items())]
        if seen < len(names):
            parts.append(f"{len(names) - seen} not registered")
        nt.add_row(f"{actor} ({len(names)} hollow nodes: {names[0]}..{names[-1]})",
                   ", ".join(parts))
    return Group(t, nt)


def _print_status(state: Any, output: str) -> int:
    if output == "json":
        print(json.dumps(_collect(state), indent=2))
        return 0
    Console(width=max(120, Console().width)).print(_status_tables(state))
    return 0


def _running_state(args: argparse.Namespace) -> Any:
    """The ClusterState of the cluster `--name` / the current one; None after printing
    why there is none."""
    from actors import cluster

    name = _resolve_name(args)
    if not name:
        _err("no cluster: start one with `kubemu up`")
        return None
    try:
        return cluster.ClusterState.load(name)
    except FileNotFoundError as e:
        _err(str(e))
        return None


def cmd_status(args: argparse.Namespace) -> int:
    from actors.common import rayutil

    state = _running_state(args)
    if state is None:
        return 1
    name = state.name
    try:
        return _print_status(state, args.output)
    except Exception as e:
        return _err(f"cluster {name} is not reachable: {e}")
    finally:
        rayutil.shutdown()


def cmd_down(args: argparse.Namespace) -> int:
    from actors import cluster

    name = _resolve_name(args)
    if not name:
        return _err("no cluster: nothing to stop")
    try:
        state = cluster.ClusterState.load(name)
    except FileNotFoundError as e:
        return _err(str(e))
    cluster.teardown(state, keep_data=args.keep_data)
    print(f"cluster {name} stopped")
    return 0


def kubeconfig_doc(name: str, server: str, ca_pem: bytes, token: str) -> dict[str, Any]:
    """A kubeconfig with one cluster, user and context, each named after the cluster."""
    import base64

    server = server.replace("://0.0.0.0:", "://127.0.0.1:")
    return {"apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": name, "cluster": {
                "server": server,
                "certificate-authority-data": base64.b64encode(ca_pem).decode()}}],
            "users": [{"name": f"{name}-admin", "user": {"token": token}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": f"{name}-admin"}}],
            "current-context": name}


def cmd_kubeconfig(args: argparse.Namespace) -> int:
    import yaml

    from actors import cluster
    from actors.common.certs import load_credentials

    state = _running_state(args)
    if state is None:
        return 1
    name = state.name
    creds = load_credentials(cluster.state_dir(name) / "pki")
    if not state.rest_server or creds is None:
        return _err(f"cluster {name} has no REST API (it was started by an older kubemu); "
                    f"`kubemu down --name {name}` and `kubemu up` again")
    doc = kubeconfig_doc(name, state.rest_server, creds.ca_cert.read_bytes(), creds.token)
    text = yaml.safe_dump(doc, sort_keys=False)
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    out = args.output or str(cluster.state_dir(name) / "kubeconfig")
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the token
    with os.fdopen(fd, "w") as f:
        f.write(text)
    print(f"wrote {out} (context {name!r}, server {doc['clusters'][0]['cluster']['server']})")
    print(f"use it with:\n  export KUBECONFIG={out}\n  kubectl get nodes")
    return 0


def register(sub: Any) -> None:
    up = sub.add_parser("up", help="launch a cluster from cluster.yaml")
    up.add_argument("-f", "--file", default=DEFAULT_CONFIG)
    up.add_argument("--name", help="cluster name (default: from the file)")
    up.add_argument("--address", help="join this Ray cluster instead of starting one")
    up.add_argument("--time-scale", type=float, default=None,
                    help="override timeScale (0.1 = ten times faster)")
    up.add_argument("--foreground", action="store_true",
                    help="keep a live view until Ctrl-C, then tear down")
    up.set_defaults(func=cmd_up)

    st = sub.add_parser("status", help="components and nodes of a cluster")
    st.add_argument("--name")
    st.add_argument("-o", "--output", choices=("table", "json"), default="table")
    st.set_defaults(func=cmd_status)

    dn = sub.add_parser("down", help="stop a cluster and everything it started")
    dn.add_argument("--name")
    dn.add_argument("--keep-data", action="store_true", help="keep the etcd data directories")
    dn.set_defaults(func=cmd_down)

    kc = sub.add_parser("kubeconfig", help="write a kubeconfig for kubectl and client "
                                           "libraries (server, CA, token, a context named "
                                           "after the cluster)")
    kc.add_argument("--name")
    kc.add_argument("-o", "--output", default="",
                    help="file to write (default: $KUBEMU_HOME/NAME/kubeconfig; - for stdout)")
    kc.set_defaults(func=cmd_kubeconfig)
