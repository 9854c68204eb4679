"""The pure cores stay mypy --strict clean (DESIGN.md: type hints everywhere)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE_CORES = ["actors/etcd/rafttypes.py", "actors/etcd/raft.py", "actors/etcd/mvcc.py",
              "actors/etcd/lease.py", "actors/etcd/apply.py", "actors/etcd/wal.py"]


def test_pure_cores_are_mypy_strict_clean() -> None:
    pytest.importorskip("mypy")
    p = subprocess.run([sys.executable, "-m", "mypy", "--strict", *PURE_CORES], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr


def test_pure_cores_import_no_io_frameworks() -> None:
    """Pure = no ray, grpc or asyncio (the shells own I/O)."""
    for path in PURE_CORES:
        text = (ROOT / path).read_text()
        for banned in ("import ray", "import grpc", "import asyncio", "from ray", "from grpc",
                       "from asyncio"):
            assert banned not in text, f"{path} has '{banned}'"
