"""e2e fixtures: one real Ray runtime per test session, one kubemu store per module.

The runtime is a private `ray start --head` (in its own process session, killed whole at
the end), joined by address — the same way `kubemu up` runs clusters, so a test can
launch a whole cluster on it with `actors.cluster.launch(cfg, address=...)`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Iterator

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
