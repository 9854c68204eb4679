"""Test-suite options (here, at the root of tests/, so `pytest --rewrite` works from anywhere)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--rewrite",
        action="store_true",
        default=False,
        help="regenerate the expected output of data-driven transcript tests "
        "(tests/testdata/raft/*.txt) instead of comparing against it",
    )
    parser.addoption(
        "--lin-seeds",
        type=int,
        default=20,
        help="number of seeds (0..N-1) of the randomized raft linearizability fault runs "
        "(tests/unit/test_linearizability.py)",
    )
    parser.addoption(
        "--lin-seed",
        type=int,
        default=None,
        help="rerun only this seed of the raft linearizability fault runs",
    )
