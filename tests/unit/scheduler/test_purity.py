"""The scheduler's pure core imports no I/O framework (only actor.py does)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3] / "actors" / "scheduler"
BANNED = ("import ray", "import grpc", "import asyncio", "from ray", "from grpc", "from asyncio",
          "import time\n", "actors.apiserver")


def test_pure_modules_import_no_io() -> None:
    files = [p for p in ROOT.rglob("*.py") if p.name != "actor.py"]
    assert len(files) >= 20
    for p in files:
        text = p.read_text()
        for banned in BANNED:
            assert banned not in text, f"{p.relative_to(ROOT)} has {banned!r}"
        assert text.lstrip().startswith('"""'), f"{p.relative_to(ROOT)} lacks a module docstring"
