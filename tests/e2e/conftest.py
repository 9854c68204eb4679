"""e2e fixtures: one real Ray runtime per test session, one kubemu store per module."""

from __future__ import annotations

import shutil
import tempfile
from typing import Iterator

import pytest

from actors.common import rayutil


@pytest.fixture(scope="session")
def ray_runtime() -> Iterator[None]:
    rayutil.init(None, num_cpus=2)
    yield
    rayutil.shutdown()


@pytest.fixture(scope="module")
def store(ray_runtime: None) -> Iterator["object"]:
    from actors.etcd.launcher import start_store

    root = tempfile.mkdtemp(prefix="kubemu-e2e-store-")
    h = start_store(f"e2e{abs(hash(root)) % 100000}", root, 3, detached=False)
    yield h
    h.stop(remove_data=True)
    shutil.rmtree(root, ignore_errors=True)
