"""Containers of the simulated runtime: created, running, exited (pure).

A container is created (API state *waiting*), started (*running*) and ends
(*terminated*) either by itself, per its `Behavior`, or when stopped: SIGTERM, then
SIGKILL when the grace period runs out (exit code 137). `exit_at` is the one pending
change; `observe(now)` applies it once it is due, stamping the time it happened, so a
container that exited while nobody looked still reports its real finish time. Its log
(runtime.logs) runs from `started_at` to `log_end(now)`.
"""

from __future__ import annotations

from .behavior import Behavior
from .images import RegistryImage

SIGKILL_EXIT_CODE = 137


def exit_reason(code: int) -> str:
    """containerd's reason for an exit: Completed for 0, Error otherwise."""
    return "Completed" if code == 0 else "Error"


class Container:
    __slots__ = ("id", "name", "image", "behavior", "state", "created_at", "started_at",
                 "finished_at", "exit_code", "reason", "exit_at", "_pending_code",
                 "stopping")

    def __init__(self, cid: str, name: str, image: RegistryImage, behavior: Behavior,
                 now: float) -> None:
        self.id = cid
        self.name = name
        self.image = image
        self.behavior = behavior
        self.state = "waiting"  # waiting (created) | running | terminated
        self.created_at = now
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.exit_code: int | None = None
        self.reason = ""
        self.exit_at: float | None = None
        self._pending_code = 0
        self.stopping = False

    def start(self, now: float, time_scale: float) -> None:
        self.state = "running"
        self.started_at = now
        run = self.behavior.run_seconds
        if run is not None:
            self.exit_at = now + run * time_scale
            self._pending_code = self.behavior.exit_code

    def stop(self, now: float, grace: float, time_scale: float) -> float:
        """SIGTERM now, SIGKILL after `grace` real seconds; returns when it will be gone."""
        if self.state == "waiting":
            self._finish(now, SIGKILL_EXIT_CODE)
            return now
        if self.state != "running":
            return self.finished_at if self.finished_at is not None else now
        self.stopping = True
        stop = self.behavior.stop_seconds * time_scale
        if stop <= grace:
            at, code = now + stop, self.behavior.stop_exit_code
        else:
            at, code = now + grace, SIGKILL_EXIT_CODE
        if self.exit_at is None or at < self.exit_at:
            self.exit_at, self._pending_code = at, code
        return self.exit_at

    def observe(self, now: float) -> bool:
        """Apply a due exit; True when the container has just terminated."""
        if self.state == "running" and self.exit_at is not None and self.exit_at <= now:
            self._finish(self.exit_at, self._pending_code)
            return True
        return False

    def log_end(self, now: float) -> float:
        """Its log holds the lines written by this time: now, or when it exited."""
        if self.state == "terminated" and self.finished_at is not None:
            return self.finished_at
        if self.state == "running" and self.exit_at is not None and self.exit_at <= now:
            return self.exit_at
        return now

    def exited_by(self, now: float) -> bool:
        """It has exited by `now` (observed or not): its log will not grow."""
        return self.state == "terminated" or (
            self.state == "running" and self.exit_at is not None and self.exit_at <= now)

    def _finish(self, at: float, code: int) -> None:
        self.state = "terminated"
        self.finished_at = at
        self.exit_code = code
        self.reason = exit_reason(code)
        self.exit_at = None
