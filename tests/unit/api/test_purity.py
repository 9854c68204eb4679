"""actors/api stays pure (no ray/grpc/asyncio) and mypy --strict clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
MODULES = ["errors", "resources", "naming", "quantity", "selectors", "meta", "validation",
           "defaults", "patch"]
PATHS = [f"actors/api/{m}.py" for m in MODULES]


@pytest.mark.parametrize("path", PATHS)
def test_no_io_frameworks(path: str) -> None:
    text = (ROOT / path).read_text()
    for banned in ("import ray", "import grpc", "import asyncio", "from ray", "from grpc",
                   "from asyncio"):
        assert banned not in text, f"{path} has '{banned}'"


def test_mypy_strict() -> None:
    pytest.importorskip("mypy")
    p = subprocess.run([sys.executable, "-m", "mypy", "--strict", *PATHS], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
