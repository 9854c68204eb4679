"""The apiserver's decision modules stay pure: no I/O frameworks, no clock or randomness
of their own (time and rng come in as arguments)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PURE = ["actors/apiserver/strategy.py", "actors/apiserver/admission.py",
        "actors/apiserver/filters.py", "actors/apiserver/apierrors.py",
        "actors/apiserver/discovery.py", "actors/apiserver/tables.py"]
BANNED = ("import ray", "from ray", "import grpc", "from grpc", "import asyncio",
          "from asyncio", "import time", "time.time(", "random.random(", "RealClock")


@pytest.mark.parametrize("path", PURE)
def test_pure_module(path: str) -> None:
    text = (ROOT / path).read_text()
    for banned in BANNED:
        assert banned not in text, f"{path} has {banned!r}"


def test_rest_cores_are_mypy_strict_clean() -> None:
    """The REST API's pure parts (discovery, Tables, OpenAPI) are type-checked strictly."""
    import subprocess
    import sys

    pytest.importorskip("mypy")
    paths = ["actors/apiserver/discovery.py", "actors/apiserver/tables.py",
             "actors/apiserver/openapi.py"]
    p = subprocess.run([sys.executable, "-m", "mypy", "--strict", *paths], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
