"""Container logs of the simulated runtime, and the kubelet's reading of them (pure).

A container's log is never stored: it is a function of what its process writes
(`shell.Output`: lines at simulated offsets, maybe an endless `Loop`), the time the
container started, the time scale and, for `$(hostname)`, the pod's hostname. A
`LogView` gives line i's time, stream and text in O(1) and counts the lines written
by a given time in O(log n), so a thousand hollow nodes' containers cost nothing
until someone reads a log, and a counter that has ticked for a year is read from its
end as fast as from its start. A container's log ends when it terminates
(`Container.log_end`).

`LogReader` is the kubelet's ReadLogs over a view: `tailLines` from the end,
`sinceSeconds` / `sinceTime` (lines older are skipped), `limitBytes` (the last line
is cut), `timestamps` (each line prefixed with its RFC 3339 time, nanoseconds fixed:
`2024-01-02T03:04:05.000000000Z`), reading in chunks, and following: it knows when
the next line is due. Like the kubelet's log rotation (containerLogMaxSize, 10 MiB),
only the last `cap` bytes of a log are still there to read (exactly for short logs,
estimated from the last lines' sizes for the long ones endless loops write: rotation
is coarse upstream too).

`container_log_id(status, pod, container, previous)` is the kubelet's
validateContainerLogStatus: which container instance (current or last terminated) a
request reads, from the pod status, or the error the user sees (`container "web" in
pod "p" is waiting to start: ContainerCreating`).
"""

from __future__ import annotations

import time as _time
from typing import Any, Mapping

from .shell import STDERR, STDOUT, Output, Template, int0

DEFAULT_CAP_BYTES = 10 * 1024 * 1024  # kubelet containerLogMaxSize
CAP_EXACT_LINES = 20_000  # windows longer than this find the cap's start by estimate
CAP_SAMPLE_LINES = 256
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
           "Dec")

__all__ = ["DEFAULT_CAP_BYTES", "LogError", "LogReader", "LogView", "STDERR", "STDOUT",
           "container_log_id", "date_text", "format_timestamp"]


class LogError(Exception):
    """A log request the kubelet refuses: `not_found` (its 404s) or a 400."""

    def __init__(self, message: str, not_found: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.not_found = not_found


# ---- formatting ------------------------------------------------------------------------

def _split(t: float) -> tuple[int, int]:
    sec = int(t // 1)
    ns = int(round((t - sec) * 1e9))
    if ns >= 1_000_000_000:
        sec, ns = sec + 1, ns - 1_000_000_000
    return sec, ns


def format_timestamp(t: float) -> str:
    """The kubelet's timestamp prefix (RFC3339NanoFixed, UTC)."""
    sec, ns = _split(t)
    return _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(sec)) + f".{ns:09d}Z"


def date_text(t: float, fmt: str = "") -> str:
    """What `date` prints at time t (UTC): `Mon Jan  2 15:04:05 UTC 2006` by default,
    or `date +FMT` (strftime codes, %s, %N, %Z = UTC)."""
    sec, ns = _split(t)
    g = _time.gmtime(sec)
    if not fmt:
        return (f"{_WEEKDAYS[g.tm_wday]} {_MONTHS[g.tm_mon - 1]} {g.tm_mday:2d} "
                f"{g.tm_hour:02d}:{g.tm_min:02d}:{g.tm_sec:02d} UTC {g.tm_year}")
    out, i = [], 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%" and i + 1 < len(fmt):
            c = fmt[i + 1]
            i += 2
            if c == "s":
                out.append(str(sec))
            elif c == "N":
                out.append(f"{ns:09d}")
            elif c == "Z":
                out.append("UTC")
            elif c == "z":
                out.append("+0000")
            elif c == "e":
                out.append(f"{g.tm_mday:2d}")
            elif c == "%":
                out.append("%")
            else:
                try:
                    out.append(_time.strftime("%" + c, g))
                except ValueError:
                    out.append("%" + c)
            continue
        out.append(ch)
        i += 1
    return "".join(out)


# ---- the view --------------------------------------------------------------------------

class LogView:
    """The lines of one container instance: index i -> time, stream, text."""

    __slots__ = ("start", "scale", "host", "_lines", "_n", "_loop", "_len", "_init",
                 "_step")

    def __init__(self, out: Output, started_at: float | None, scale: float,
                 hostname: str = "") -> None:
        self.start = started_at
        self.scale = scale
        self.host = hostname
        self._lines = out.lines
        self._n = len(out.lines)
        loop = out.loop
        if loop is not None and (not loop.body or loop.period * scale <= 0):
            loop = None  # nothing written, or everything at once: not modelled
        self._loop = loop
        self._len = len(loop.body) if loop is not None else 0
        self._init = dict(loop.init) if loop is not None else {}
        self._step = {name: (kind, v) for name, kind, v in loop.step} if loop is not None \
            else {}

    @property
    def endless(self) -> bool:
        return self._loop is not None

    def exists(self, i: int) -> bool:
        """Line i is written at some point (if the process lives long enough)."""
        return self.start is not None and (i < self._n or self._loop is not None)

    def _at(self, i: int) -> tuple[float, int, Template, int]:
        """(offset, stream, template, iteration) of line i."""
        if i < self._n:
            off, stream, tpl = self._lines[i]
            return off, stream, tpl, 0
        loop = self._loop
        assert loop is not None
        n, j = divmod(i - self._n, self._len)
        off, stream, tpl = loop.body[j]
        return loop.at + n * loop.period + off, stream, tpl, n

    def time(self, i: int) -> float:
        assert self.start is not None
        return self.start + self._at(i)[0] * self.scale

    def stream(self, i: int) -> int:
        return self._at(i)[1]

    def text(self, i: int) -> str:
        off, _, tpl, n = self._at(i)
        out: list[str] = []
        for p in tpl:
            if isinstance(p, str):
                out.append(p)
            elif p[0] == "date":
                s = date_text((self.start or 0.0) + off * self.scale, p[1])
                out.append(" ".join(s.split()) if p[2] else s)
            elif p[0] == "host":
                out.append(self.host)
            elif p[0] == "var":
                base = self._value(p[1], n)
                out.append(str(int0(base) + p[2]) if p[3] else base)
        return "".join(out)

    def _value(self, name: str, n: int) -> str:
        init = self._init.get(name, "")
        st = self._step.get(name)
        if n == 0 or st is None:
            return init
        kind, v = st
        return v if kind == "set" else str(int0(init) + n * int(v))

    def count(self, end: float) -> int:
        """How many lines are written by `end`."""
        if self.start is None or end < self.start:
            return 0
        hi = self._n
        loop = self._loop
        if loop is not None:
            elapsed = (end - self.start) / self.scale - loop.at
            if elapsed >= 0:
                hi += (int(elapsed // loop.period) + 2) * self._len
        return self.first_after(end, hi)

    def first_after(self, t: float, hi: int) -> int:
        """The first index in [0, hi) whose time is > t (hi when none)."""
        lo = 0
        while lo < hi:
            mid = (lo + hi) // 2
            if self.time(mid) <= t:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def first_at_or_after(self, t: float, hi: int) -> int:
        """The first index in [0, hi) whose time is >= t (hi when none)."""
        lo = 0
        while lo < hi:
            mid = (lo + hi) // 2
            if self.time(mid) < t:
                lo = mid + 1
            else:
                hi = mid
        return lo


# ---- the kubelet's ReadLogs ------------------------------------------------------------

class LogReader:
    """One log request: where it starts (tail / since / the size cap), then chunks."""

    __slots__ = ("view", "pos", "since", "remain", "timestamps", "limited")

    def __init__(self, view: LogView, end: float, *, tail: int | None = None,
                 since: float | None = None, limit_bytes: int | None = None,
                 timestamps: bool = False, cap: int = DEFAULT_CAP_BYTES) -> None:
        self.view = view
        self.since = since
        self.remain = limit_bytes
        self.timestamps = timestamps
        self.limited = limit_bytes is not None and limit_bytes <= 0
        total = view.count(end)
        start = 0
        if tail is not None:
            start = max(0, total - tail)
        if since is not None:
            start = max(start, view.first_at_or_after(since, total))
        if cap > 0:  # rotated away: only the last `cap` bytes are left
            start = max(start, self._cap_start(total, start, cap))
        self.pos = start

    def _cap_start(self, total: int, start: int, cap: int) -> int:
        """The first line of the last `cap` bytes: counted exactly over a short window;
        over a long one (an endless loop's), estimated from the last lines' sizes, so
        finding where to start never costs more than a few hundred lines."""
        view = self.view
        if total - start > CAP_EXACT_LINES:
            sample = range(total - CAP_SAMPLE_LINES, total)
            avg = sum(len(view.text(k).encode()) + 1 for k in sample) / len(sample)
            return max(start, total - int(cap / avg))
        size, k = 0, total
        while k > start:
            size += len(view.text(k - 1).encode()) + 1
            if size > cap:
                break
            k -= 1
        return k

    def read(self, end: float, max_bytes: int = 64 * 1024) -> bytes:
        """The formatted lines written by `end` not read yet (about max_bytes at most)."""
        view = self.view
        total = view.count(end)
        out = bytearray()
        while self.pos < total and len(out) < max_bytes and not self.limited:
            i = self.pos
            self.pos += 1
            if self.since is not None and view.time(i) < self.since:
                continue
            line = view.text(i) + "\n"
            if self.timestamps:
                line = format_timestamp(view.time(i)) + " " + line
            b = line.encode()
            if self.remain is not None:
                if len(b) >= self.remain:
                    b = b[:self.remain]
                    self.limited = True
                self.remain -= len(b)
            out += b
        return bytes(out)

    def caught_up(self, end: float) -> bool:
        return self.limited or self.pos >= self.view.count(end)

    def next_time(self) -> float | None:
        """When the next unread line is written (None: never)."""
        if self.limited or not self.view.exists(self.pos):
            return None
        return self.view.time(self.pos)


# ---- which container a request reads ---------------------------------------------------

def _find_status(status: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for cs in status.get(key) or []:
            if isinstance(cs, Mapping) and cs.get("name") == name:
                return cs
    return None


def container_log_id(status: Mapping[str, Any], pod: str, container: str,
                     previous: bool) -> str:
    """kubelet validateContainerLogStatus: the containerID whose log to read."""
    cs = _find_status(status, container)
    if cs is None:
        raise LogError(f'container "{container}" in pod "{pod}" is not available')
    state = cs.get("state") or {}
    last = (cs.get("lastState") or {}).get("terminated")
    waiting, running, terminated = state.get("waiting"), state.get("running"), \
        state.get("terminated")
    if previous:
        if not last or not last.get("containerID"):
            raise LogError(f'previous terminated container "{container}" in pod "{pod}" '
                           "not found")
        return str(last["containerID"])
    if running is not None:
        return str(cs.get("containerID") or "")
    if terminated is not None:
        if not terminated.get("containerID"):
            if last and last.get("containerID"):
                return str(last["containerID"])
            raise LogError(f'container "{container}" in pod "{pod}" is terminated')
        return str(terminated["containerID"])
    if last is not None:
        if not last.get("containerID"):
            raise LogError(f'container "{container}" in pod "{pod}" is terminated')
        return str(last["containerID"])
    if waiting is not None:
        reason = str(waiting.get("reason") or "")
        if reason == "ErrImagePull":
            why = "image can't be pulled"
        elif reason == "ImagePullBackOff":
            why = "trying and failing to pull image"
        else:
            why = reason
        raise LogError(f'container "{container}" in pod "{pod}" is waiting to start: {why}')
    raise LogError(f'container "{container}" in pod "{pod}" is waiting to start - no logs yet')
