"""An asyncio event loop running in a daemon thread.

Ray actors here are plain (threaded) actors: their gRPC servers, raft loops and
watch streams live in one asyncio loop owned by the actor and started from
`__init__`, so a Ray restart of the actor (which re-runs `__init__`) brings the
whole component back without anybody calling a start method.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Callable, Coroutine, TypeVar

T = TypeVar("T")


class LoopThread:
    def __init__(self, name: str = "kubemu-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coro` on the loop and wait for its result from another thread."""
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)

    def start_bound(self, make: Callable[[], T],
                    start: Callable[[T], Coroutine[Any, Any, Any]], *,
                    cleanup: Callable[[T], Coroutine[Any, Any, Any]] | None = None,
                    timeout: float = 30.0, attempts: int = 50) -> T:
        """Build a server with `make()` and run `start(it)` on the loop; while that fails
        with OSError (the port a restarted actor reuses is still held by its dead
        predecessor for a moment), clean up, wait 0.1 s and try again with a fresh one."""
        last: OSError | None = None
        for _ in range(attempts):
            obj = make()
            try:
                self.run(start(obj), timeout)
                return obj
            except OSError as e:
                last = e
                if cleanup is not None:
                    try:
                        self.run(cleanup(obj), 10)
                    except Exception:
                        pass
                time.sleep(0.1)
        assert last is not None
        raise last

    def submit(self, coro: Coroutine[Any, Any, T]) -> "asyncio.Future[T]":
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


class BlockingFacade:
    """Blocking access to an async client living on its own LoopThread (for the CLI,
    demos and tests): every coroutine method of `_c` becomes a blocking call; other
    attributes pass through. Subclasses set `_lt` and `_c`."""

    _lt: LoopThread
    _c: Any

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._c, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kw: Any) -> Any:
            return self._lt.run(attr(*args, **kw))
        return call

    def close(self) -> None:
        try:
            self._lt.run(self._c.close(), timeout=5)
        finally:
            self._lt.stop()
