"""The controllers' pure cores stay mypy --strict clean and free of I/O frameworks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PURE = ["actors/controllers/util.py", "actors/controllers/loop.py",
        "actors/controllers/replicaset.py", "actors/controllers/deployment.py",
        "actors/controllers/garbagecollector.py", "actors/controllers/nodeutil.py",
        "actors/controllers/nodelifecycle.py", "actors/controllers/tainteviction.py",
        "actors/controllers/podgc.py", "actors/controllers/endpoints.py",
        "actors/controllers/namespace.py"]


def test_pure_cores_are_mypy_strict_clean() -> None:
    pytest.importorskip("mypy")
    # --follow-imports=silent: judge these files, not the modules they import
    p = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent",
                        *PURE, "actors/controllers/actor.py"], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr


def test_pure_cores_import_no_io_frameworks() -> None:
    for path in PURE:
        text = (ROOT / path).read_text()
        for banned in ("import ray", "import grpc", "import asyncio", "from ray", "from grpc",
                       "from asyncio", "import time"):
            assert banned not in text, f"{path} has '{banned}'"
