"""Network faults inside one process: gRPC client interceptors and their `FaultState`.

Each kubemu component is its own process (a Ray actor), so "the network of a
component" is the set of gRPC channels its process opens. `install()` (called by the
actor shells from `__init__`, before any client exists) registers the four aio client
interceptors with `grpcutil.aio_channel`, so every channel the process opens from
then on — the apiserver client (`APIClient`) of the kubelet, kube-proxy, scheduler
and controller-manager, the etcd client and watch channels of the apiserver — goes
through them. They consult the process-wide `STATE`, which the actor's
`set_fault(partitioned, delay, drop_rate)` flips:

- **partitioned**: a new call fails at once with UNAVAILABLE and never reaches the
  server; an open response stream (a watch) is broken — its reader gets an
  UNAVAILABLE `AioRpcError`, not a cancellation — and cannot be reopened while the
  partition lasts.
- **delay** (seconds): a new call waits that long before it is sent. The wait counts
  against the call's deadline: a call whose timeout is shorter than the delay fails
  with DEADLINE_EXCEEDED when the timeout elapses. Messages on an already open stream
  are not delayed (the stream's opening was).
- **drop_rate** (0..1): that fraction of new calls fails with UNAVAILABLE without
  reaching the server (drawn from `STATE.rng`, seedable).

With no fault set the interceptors only check a flag and pass the call through.
The injected errors' details start with "kubemu fault:" so logs say what happened;
they carry none of the "connection refused" hints, so the clients treat a dropped
write as one of uncertain outcome (as they would a real network failure).
"""

from __future__ import annotations

import asyncio
import random
import threading
from typing import Any, AsyncIterator, Callable

import grpc
from grpc.aio import (AioRpcError, ClientCallDetails, Metadata, StreamStreamClientInterceptor,
                      StreamUnaryClientInterceptor, UnaryStreamClientInterceptor,
                      UnaryUnaryClientInterceptor)

PREFIX = "kubemu fault:"


def injected_error(code: grpc.StatusCode, what: str) -> AioRpcError:
    return AioRpcError(code, Metadata(), Metadata(), details=f"{PREFIX} {what}")


def is_injected(e: BaseException) -> bool:
    return isinstance(e, AioRpcError) and (e.details() or "").startswith(PREFIX)


class _Stream:
    """An open response stream the partition switch can break."""

    __slots__ = ("loop", "call", "broken")

    def __init__(self, loop: asyncio.AbstractEventLoop, call: Any) -> None:
        self.loop = loop
        self.call = call
        self.broken = False

    def break_(self) -> None:
        self.broken = True
        try:
            self.loop.call_soon_threadsafe(self.call.cancel)
        except RuntimeError:  # the loop is closed: nothing left to break
            pass


class FaultState:
    """What the network does to this process's outgoing RPCs (thread-safe)."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self.partitioned = False
        self.delay = 0.0
        self.drop_rate = 0.0
        self.rng = random.Random(seed)
        self._streams: set[_Stream] = set()
        # calls = calls started while a fault was set (the others are not counted)
        self.stats = {"calls": 0, "rejected": 0, "dropped": 0, "delayed": 0,
                      "streams_broken": 0}

    @property
    def active(self) -> bool:
        return self.partitioned or self.delay > 0 or self.drop_rate > 0

    def set(self, partitioned: bool = False, delay: float = 0.0, drop_rate: float = 0.0,
            seed: int | None = None) -> dict[str, Any]:
        """Replace the fault; returns the new `snapshot()`. Raises ValueError."""
        delay, drop_rate = float(delay), float(drop_rate)
        if delay < 0:
            raise ValueError(f"delay: must be >= 0, got {delay}")
        if not 0.0 <= drop_rate <= 1.0:
            raise ValueError(f"drop rate: must be between 0 and 1, got {drop_rate}")
        with self._lock:
            newly = bool(partitioned) and not self.partitioned
            self.partitioned = bool(partitioned)
            self.delay = delay
            self.drop_rate = drop_rate
            if seed is not None:
                self.rng.seed(seed)
            doomed = list(self._streams) if newly else []
        for s in doomed:
            s.break_()
        with self._lock:
            self.stats["streams_broken"] += len(doomed)
        return self.snapshot()

    def clear(self) -> dict[str, Any]:
        return self.set(False, 0.0, 0.0)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"partitioned": self.partitioned, "delay": self.delay,
                    "drop_rate": self.drop_rate, "open_streams": len(self._streams),
                    "stats": dict(self.stats)}

    # ---- used by the interceptors -----------------------------------------------------

    def _count(self, key: str) -> None:
        with self._lock:
            self.stats[key] += 1

    async def admit(self, details: ClientCallDetails) -> ClientCallDetails:
        """Apply the fault to a call about to start: raise, wait, or let it through
        (with its timeout reduced by the time spent waiting)."""
        self._count("calls")
        if self.partitioned:
            self._count("rejected")
            raise injected_error(grpc.StatusCode.UNAVAILABLE, "network partition")
        delay = self.delay
        if delay > 0:
            self._count("delayed")
            timeout = details.timeout
            if timeout is not None and timeout <= delay:
                await asyncio.sleep(timeout)
                raise injected_error(grpc.StatusCode.DEADLINE_EXCEEDED,
                                     f"deadline exceeded during an injected {delay:g} s delay")
            await asyncio.sleep(delay)
            if self.partitioned:  # partitioned while it waited
                self._count("rejected")
                raise injected_error(grpc.StatusCode.UNAVAILABLE, "network partition")
            if timeout is not None:
                details = ClientCallDetails(details.method, timeout - delay, details.metadata,
                                            details.credentials, details.wait_for_ready)
        rate = self.drop_rate
        if rate > 0:
            with self._lock:
                drop = self.rng.random() < rate
            if drop:
                self._count("dropped")
                raise injected_error(grpc.StatusCode.UNAVAILABLE, "RPC dropped")
        return details

    def _register(self, call: Any) -> _Stream:
        s = _Stream(asyncio.get_running_loop(), call)
        with self._lock:
            self._streams.add(s)
            broken_meanwhile = self.partitioned
        if broken_meanwhile:
            s.break_()
        return s

    def _unregister(self, s: _Stream) -> None:
        with self._lock:
            self._streams.discard(s)

    async def guard(self, call: Any) -> AsyncIterator[Any]:
        """The responses of `call`, until a partition breaks it (then UNAVAILABLE)."""
        s = self._register(call)
        try:
            async for r in call:
                yield r
            if s.broken:
                raise injected_error(grpc.StatusCode.UNAVAILABLE,
                                     "network partition: stream broken")
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if s.broken and not (task is not None and task.cancelling()):
                raise injected_error(grpc.StatusCode.UNAVAILABLE,
                                     "network partition: stream broken") from None
            raise
        except AioRpcError as e:
            if s.broken and e.code() == grpc.StatusCode.CANCELLED:
                raise injected_error(grpc.StatusCode.UNAVAILABLE,
                                     "network partition: stream broken") from None
            raise
        finally:
            self._unregister(s)


STATE = FaultState()
"""This process's fault (one per process: each component is its own process)."""


class _Base:
    def __init__(self, state: FaultState | None = None) -> None:
        self._state = state

    @property
    def state(self) -> FaultState:
        return self._state if self._state is not None else STATE


class FaultUnaryUnary(_Base, UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation: Callable[..., Any],
                                    client_call_details: ClientCallDetails,
                                    request: Any) -> Any:
        st = self.state
        if st.active:
            client_call_details = await st.admit(client_call_details)
        return await continuation(client_call_details, request)


class FaultUnaryStream(_Base, UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation: Callable[..., Any],
                                     client_call_details: ClientCallDetails,
                                     request: Any) -> Any:
        st = self.state
        if st.active:
            client_call_details = await st.admit(client_call_details)
        call = await continuation(client_call_details, request)
        return st.guard(call)


class FaultStreamUnary(_Base, StreamUnaryClientInterceptor):
    """Checked when the call starts; an established client stream is not broken."""

    async def intercept_stream_unary(self, continuation: Callable[..., Any],
                                     client_call_details: ClientCallDetails,
                                     request_iterator: Any) -> Any:
        st = self.state
        if st.active:
            client_call_details = await st.admit(client_call_details)
        return await continuation(client_call_details, request_iterator)


class FaultStreamStream(_Base, StreamStreamClientInterceptor):
    async def intercept_stream_stream(self, continuation: Callable[..., Any],
                                      client_call_details: ClientCallDetails,
                                      request_iterator: Any) -> Any:
        st = self.state
        if st.active:
            client_call_details = await st.admit(client_call_details)
        call = await continuation(client_call_details, request_iterator)
        return st.guard(call)


def interceptors(state: FaultState | None = None) -> list[Any]:
    """The four interceptors over `state` (default: the process-wide `STATE`)."""
    return [FaultUnaryUnary(state), FaultUnaryStream(state), FaultStreamUnary(state),
            FaultStreamStream(state)]


def install() -> None:
    """Route every channel this process opens from now on through the interceptors."""
    from actors.common import grpcutil

    grpcutil.set_default_interceptors(interceptors())


def set_fault(partitioned: bool = False, delay: float = 0.0,
              drop_rate: float = 0.0) -> dict[str, Any]:
    """What the actor shells' `set_fault` does: replace this process's fault."""
    return STATE.set(partitioned, delay, drop_rate)


class FaultHooks:
    """What every actor shell that talks to the apiserver exposes to `kubemu fault`:
    its pid (for SIGKILL) and this process's fault switch. Mixed into the apiserver,
    scheduler, controller-manager, kubelet and kube-proxy actors (etcd members have
    their own: partition only)."""

    def pid(self) -> int:
        import os

        return os.getpid()

    def set_fault(self, partitioned: bool = False, delay: float = 0.0,
                  drop_rate: float = 0.0) -> dict[str, Any]:
        """`kubemu fault`: what the network does to this process's outgoing RPCs."""
        return set_fault(partitioned, delay, drop_rate)

    def fault_state(self) -> dict[str, Any]:
        return STATE.snapshot()
