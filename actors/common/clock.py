"""Injected time. Pure cores take a `Clock` (or a plain `now: float`) and never call
`time` themselves, so tests move time by hand (controller-runtime's fake clock).

`timeScale` (cluster.yaml) compresses every configured duration: the components keep
using real seconds but multiply each configured duration by the scale, so a 40 s
lease grace with timeScale 0.1 lasts 4 s of real time.
"""

from __future__ import annotations

import datetime as _dt
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (wall clock, for timestamps and expiries)."""
        ...


class RealClock:
    def now(self) -> float:
        return time.time()


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def rfc3339(t: float) -> str:
    """Kubernetes timestamp format: 2026-11-22T00:04:02Z (second precision)."""
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_micro(t: float) -> str:
    """MicroTime format used by Lease.spec.renewTime: 2026-11-22T00:04:02.123456Z."""
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(s: str) -> float:
    """Parse an RFC 3339 timestamp (with or without fraction) to epoch seconds."""
    s = s.replace("Z", "+00:00")
    return _dt.datetime.fromisoformat(s).timestamp()
