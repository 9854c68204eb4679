"""The scenario package stays mypy --strict clean; its spec and conditions stay pure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
MODULES = ["actors/scenario/spec.py", "actors/scenario/conditions.py",
           "actors/scenario/observer.py", "actors/scenario/runner.py", "cli/scenario_cmds.py"]
PURE = ["actors/scenario/spec.py", "actors/scenario/conditions.py"]


def test_mypy_strict_clean() -> None:
    pytest.importorskip("mypy")
    p = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent",
                        *MODULES], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("path", PURE)
def test_pure_modules_do_no_io(path: str) -> None:
    text = (ROOT / path).read_text()
    for banned in ("import ray", "import grpc", "import asyncio", "from ray", "from grpc",
                   "from asyncio", "open(", "import time", "subprocess"):
        if path.endswith("spec.py") and banned == "open(":
            # load() is the one reader, outside parse(); parse gets read_text injected
            assert text.count("open(") == 1
            continue
        assert banned not in text, f"{path} has '{banned}'"
