"""Which cluster a command talks to, and where its apiserver listens.

A placeholder the cluster life cycle (`kubemu up/status/down`) will take over: the
state of cluster <name> lives in `$KUBEMU_HOME/<name>/cluster.json` (KUBEMU_HOME
defaults to ~/.kubemu) with the apiserver's address under the key "apiserver"; the
cluster used when none is named is $KUBEMU_CLUSTER, else the one named in
`$KUBEMU_HOME/current`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


class ClusterNotFound(Exception):
    """No cluster to talk to; the message says why and what to do (exit code 1)."""


def kubemu_home() -> Path:
    return Path(os.environ.get("KUBEMU_HOME") or "~/.kubemu").expanduser()


def current_cluster(name: str | None = None) -> str | None:
    """The cluster a command means: --name, else $KUBEMU_CLUSTER, else $KUBEMU_HOME/current."""
    if name:
        return name
    env = os.environ.get("KUBEMU_CLUSTER")
    if env:
        return env
    try:
        cur = (kubemu_home() / "current").read_text().strip()
    except OSError:
        return None
    return cur or None


def resolve_apiserver(name: str | None) -> str:
    """The apiserver address ("host:port") of the cluster `name` (see current_cluster).
    Raises ClusterNotFound with a message fit for the user."""
    cluster = current_cluster(name)
    home = kubemu_home()
    if cluster is None:
        raise ClusterNotFound(f"no kubemu cluster found (no --name, no $KUBEMU_CLUSTER, no "
                              f"{home / 'current'}): start one with `kubemu up`")
    path = home / cluster / "cluster.json"
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        raise ClusterNotFound(f'cluster "{cluster}" not found ({path} does not exist): '
                              f"start it with `kubemu up --name {cluster}`") from None
    except (OSError, ValueError) as e:
        raise ClusterNotFound(f'cluster "{cluster}": cannot read {path}: {e}') from None
    address = state.get("apiserver") if isinstance(state, dict) else None
    if not address:
        raise ClusterNotFound(f'cluster "{cluster}" has no apiserver address in {path}')
    return str(address)
