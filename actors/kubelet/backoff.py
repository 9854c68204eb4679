"""client-go's flowcontrol.Backoff for one key, and Go's duration format (pure).

The kubelet keys one backoff per pod and image (image pulls: 10 s doubling to 300 s)
and one per container (crash loops: crashLoopBackOff initial/max/reset). Times are
real seconds; callers pass durations already multiplied by `time_scale`.
"""

from __future__ import annotations


class Backoff:
    __slots__ = ("duration", "last_update")

    def __init__(self) -> None:
        self.duration = 0.0
        self.last_update: float | None = None

    def _expired(self, event_time: float, reset: float) -> bool:
        return self.last_update is None or event_time - self.last_update > reset

    def next(self, event_time: float, now: float, initial: float, maximum: float,
             reset: float) -> None:
        """Record a failure at `event_time`: initial delay, or double it up to `maximum`."""
        if self.last_update is None or self._expired(event_time, reset):
            self.duration = initial
        else:
            self.duration = min(self.duration * 2, maximum)
        self.last_update = now

    def in_backoff_since(self, event_time: float, now: float, reset: float) -> bool:
        """IsInBackOffSince: less than the current delay has passed since `event_time`."""
        if self.last_update is None or self._expired(event_time, reset):
            return False
        return now - event_time < self.duration

    def in_backoff_since_update(self, now: float) -> bool:
        """IsInBackOffSinceUpdate: less than the current delay since the last failure."""
        if self.last_update is None:
            return False
        return now - self.last_update < self.duration


def go_duration(seconds: float) -> str:
    """Go's time.Duration.String() of a duration truncated to milliseconds: 1.2s, 523ms,
    1m2.5s, 1h0m5s, 0s."""
    ms = int(seconds * 1000 + 1e-6) if seconds > 0 else 0
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, frac = divmod(rem, 1000)
    sec = f"{s}.{frac:03d}".rstrip("0") if frac else str(s)
    if h:
        return f"{h}h{m}m{sec}s"
    if m:
        return f"{m}m{sec}s"
    return f"{sec}s"
