"""The kubelet and kube-proxy cores stay pure and mypy --strict clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PURE = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "actors" / "kubelet").rglob("*.py")
              if p.name not in ("actor.py", "pool.py")) + ["actors/proxy/rules.py"]
SHELLS = ["actors/kubelet/actor.py", "actors/kubelet/pool.py", "actors/proxy/actor.py"]


def test_pure_cores_import_no_io_frameworks() -> None:
    for path in PURE:
        text = (ROOT / path).read_text()
        for banned in ("import ray", "import grpc", "import asyncio", "from ray", "from grpc",
                       "from asyncio"):
            assert banned not in text, f"{path} has '{banned}'"


def test_every_module_has_a_docstring() -> None:
    for path in PURE + SHELLS:
        text = (ROOT / path).read_text().lstrip()
        assert text.startswith('"""'), f"{path} has no module docstring"


def test_mypy_strict() -> None:
    pytest.importorskip("mypy")
    p = subprocess.run([sys.executable, "-m", "mypy", "--strict", *PURE], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    # the shells import other components' modules: check ours, not theirs
    p = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent",
                        *SHELLS], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
