"""e2e fixtures: one real Ray runtime per test session, one kubemu store per module.

The runtime is a private `ray start --head` (in its own process session, killed whole at
the end), joined by address — the same way `kubemu up` runs clusters, so a test can
launch a whole cluster on it with `actors.cluster.launch(cfg, address=...)`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Any, Callable, Iterator

import pytest

from actors.common import rayutil


@pytest.fixture(scope="session")
def ray_address() -> Iterator[str]:
    from actors.cluster import connect, kill_session, start_ray_head

    log = tempfile.mktemp(prefix="kubemu-e2e-ray-", suffix=".log")
    address, sid = start_ray_head(f"e2e-{os.getpid()}", num_cpus=2, log_path=log)
    try:
        connect(address, "kubemu-e2e")
        yield address
    finally:
        rayutil.shutdown()
        kill_session(sid)
        shutil.rmtree(f"/tmp/kubemu-ray-e2e-{os.getpid()}", ignore_errors=True)


@pytest.fixture(scope="session")
def ray_runtime(ray_address: str) -> None:
    return None


@pytest.fixture(scope="module")
def store(ray_runtime: None) -> Iterator["object"]:
    from actors.etcd.launcher import start_store

    root = tempfile.mkdtemp(prefix="kubemu-e2e-store-")
    h = start_store(f"e2e{abs(hash(root)) % 100000}", root, 3, detached=False)
    yield h
    h.stop(remove_data=True)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def api(cluster: Any) -> Iterator[Any]:
    """A client of the module's `cluster` (a module that launches one defines `cluster`)."""
    from actors.apiserver.client import SyncAPIClient

    c = SyncAPIClient(cluster.apiserver)
    yield c
    c.close()


def wait_for(pred: "Callable[[], Any]", timeout: float, what: str, period: float = 0.1) -> Any:
    """Poll `pred` until it returns something truthy (returned), or fail after `timeout`.

    An exception from `pred` counts as "not yet" (the component asked may be restarting)
    and is reported if the wait times out."""
    import time

    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = pred()
        except Exception as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(period)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


@contextlib.contextmanager
def launched_cluster(ray_address: str, home: str, name: str, time_scale: float,
                     configure: "Callable[[Any], None] | None" = None) -> Iterator[Any]:
    """The repo's cluster.yaml, renamed and compressed (and changed by `configure`),
    launched on the session runtime with its state in `home` ($KUBEMU_HOME while it
    runs); torn down afterwards."""
    from actors import cluster as cl
    from actors.common.config import load

    old = os.environ.get("KUBEMU_HOME")
    os.environ["KUBEMU_HOME"] = home
    cfg = load(os.path.join(os.path.dirname(__file__), "..", "..", "cluster.yaml"))
    cfg.name = name
    cfg.time_scale = time_scale
    if configure is not None:
        configure(cfg)
    state = cl.launch(cfg, address=ray_address)
    try:
        yield state
    finally:
        cl.teardown(state)
        cl.connect(ray_address, "kubemu-e2e")
        if old is None:
            os.environ.pop("KUBEMU_HOME", None)
        else:
            os.environ["KUBEMU_HOME"] = old
