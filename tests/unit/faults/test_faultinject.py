"""The fault-injection interceptors against a tiny in-process grpc.aio server.

One generic service with the four arities (raw bytes, no protos) counts the calls
that reach it, so "failed without reaching the server" is checked, not assumed.
Each test gets its own `FaultState` (the process-wide STATE is left alone).
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any, AsyncIterator, Awaitable, Callable

import grpc
import pytest

from actors.common import faultinject, grpcutil
from actors.common.faultinject import FaultState


class Server:
    def __init__(self) -> None:
        self.calls: dict[str, int] = {"Echo": 0, "Ticks": 0, "Sum": 0, "Chat": 0}

    async def echo(self, req: bytes, ctx: Any) -> bytes:
        self.calls["Echo"] += 1
        return req

    async def ticks(self, req: bytes, ctx: Any) -> AsyncIterator[bytes]:
        self.calls["Ticks"] += 1
        for i in range(100_000):
            yield str(i).encode()
            await asyncio.sleep(0.02)

    async def sum(self, it: AsyncIterator[bytes], ctx: Any) -> bytes:
        self.calls["Sum"] += 1
        n = 0
        async for b in it:
            n += int(b)
        return str(n).encode()

    async def chat(self, it: AsyncIterator[bytes], ctx: Any) -> AsyncIterator[bytes]:
        self.calls["Chat"] += 1
        async for b in it:
            yield b"re:" + b

    async def start(self) -> int:
        self.server = grpc.aio.server()
        h = grpc.method_handlers_generic_handler("t.T", {
            "Echo": grpc.unary_unary_rpc_method_handler(self.echo),
            "Ticks": grpc.unary_stream_rpc_method_handler(self.ticks),
            "Sum": grpc.stream_unary_rpc_method_handler(self.sum),
            "Chat": grpc.stream_stream_rpc_method_handler(self.chat)})
        self.server.add_generic_rpc_handlers((h,))
        port = self.server.add_insecure_port("127.0.0.1:0")
        await self.server.start()
        return port


Body = Callable[[Server, grpc.aio.Channel, FaultState], Awaitable[None]]


def run(body: Body, seed: int | None = 1) -> None:
    async def main() -> None:
        srv = Server()
        port = await srv.start()
        st = FaultState(seed=seed)
        ch = grpcutil.aio_channel(f"127.0.0.1:{port}", interceptors=faultinject.interceptors(st))
        try:
            await body(srv, ch, st)
        finally:
            await ch.close()
            await srv.server.stop(0)
    asyncio.run(main())


def echo(ch: grpc.aio.Channel) -> Any:
    return ch.unary_unary("/t.T/Echo")


async def gen(*items: bytes) -> AsyncIterator[bytes]:
    for i in items:
        yield i


def test_no_fault_passes_every_arity_through() -> None:
    async def body(srv: Server, ch: grpc.aio.Channel, st: FaultState) -> None:
        assert await echo(ch)(b"hi", timeout=5) == b"hi"
        got = []
        async for m in ch.unary_stream("/t.T/Ticks")(b"", timeout=5):
            got.append(m)
            if len(got) == 3:
                break
        assert got == [b"0", b"1", b"2"]
        assert await ch.stream_unary("/t.T/Sum")(gen(b"1", b"2", b"3"), timeout=5) == b"6"
        out = [m async for m in ch.stream_stream("/t.T/Chat")(gen(b"a", b"b"), timeout=5)]
        assert out == [b"re:a", b"re:b"]
        assert srv.calls == {"Echo": 1, "Ticks": 1, "Sum": 1, "Chat": 1}
        assert st.snapshot()["stats"]["calls"] == 0  # nothing went through the fault path
    run(body)


def test_partition_fails_new_calls_without_reaching_the_server() -> None:
    async def body(srv: Server, ch: grpc.aio.Channel, st: FaultState) -> None:
        st.set(partitioned=True)
        with pytest.raises(grpc.aio.AioRpcError) as ei:
            await echo(ch)(b"x", timeout=5)
        assert ei.value.code() == grpc.StatusCode.UNAVAILABLE
        assert ei.value.details() == "kubemu fault: network partition"
        assert faultinject.is_injected(ei.value)
        with pytest.raises(grpc.aio.AioRpcError) as ei:
            async for _ in ch.unary_stream("/t.T/Ticks")(b""):
                pass
        assert ei.value.code() == grpc.StatusCode.UNAVAILABLE
        with pytest.raises(grpc.aio.AioRpcError) as ei:
            await ch.stream_unary("/t.T/Sum")(gen(b"1"))
        assert ei.value.code() == grpc.StatusCode.UNAVAILABLE
        with pytest.raises(grpc.aio.AioRpcError) as ei:
            async for _ in ch.stream_stream("/t.T/Chat")(gen(b"a")):
                pass
        assert ei.value.code() == grpc.StatusCode.UNAVAILABLE
        assert srv.calls == {"Echo": 0, "Ticks": 0, "Sum": 0, "Chat": 0}
        assert st.snapshot()["stats"]["rejected"] == 4
        st.clear()  # heal: calls go through again
        assert await echo(ch)(b"back", timeout=5) == b"back"
        assert srv.calls["Echo"] == 1
    run(body)


def test_partition_breaks_an_open_watch_with_unavailable_and_it_cannot_reopen() -> None:
    async def body(srv: Server, ch: grpc.aio.Channel, st: FaultState) -> None:
        call = ch.unary_stream("/t.T/Ticks")(b"")
        got: list[bytes] = []

        async def reader() -> BaseException | None:
            try:
                async for m in call:
                    got.append(m)
            except BaseException as e:  # noqa: BLE001 - the test inspects it
                return e
            return None

        task = asyncio.create_task(reader())
        while len(got) < 3:
            await asyncio.sleep(0.01)
        assert st.snapshot()["open_streams"] == 1
        # flipped from another thread, as the actor's set_fault does
        await asyncio.get_running_loop().run_in_executor(None, lambda: st.set(partitioned=True))
        err = await asyncio.wait_for(task, 5)
        assert isinstance(err, grpc.aio.AioRpcError), err  # not a CancelledError
        assert err.code() == grpc.StatusCode.UNAVAILABLE
        assert "stream broken" in (err.details() or "")
        n = len(got)
        await asyncio.sleep(0.1)
        assert len(got) == n  # nothing more arrives
        assert st.snapshot() | {"stats": None} == {
            "partitioned": True, "delay": 0.0, "drop_rate": 0.0, "open_streams": 0,
            "stats": None}
        assert st.snapshot()["stats"]["streams_broken"] == 1
        with pytest.raises(grpc.aio.AioRpcError):  # the reconnect fails
            async for _ in ch.unary_stream("/t.T/Ticks")(b""):
                pass
        assert srv.calls["Ticks"] == 1
        st.clear()
        again = ch.unary_stream("/t.T/Ticks")(b"")
        async for m in again:
            assert m == b"0"
            break
        again.cancel()
        assert srv.calls["Ticks"] == 2
    run(body)


def test_partition_breaks_a_bidi_stream_too() -> None:
    async def body(srv: Server, ch: grpc.aio.Channel, st: FaultState) -> None:
        q: asyncio.Queue[bytes | None] = asyncio.Queue()

        async def requests() -> AsyncIterator[bytes]:
            while (item := await q.get()) is not None:
                yield item

        call = ch.stream_stream("/t.T/Chat")(requests())
        it = call.__aiter__()
        await q.put(b"a")
        assert await asyncio.wait_for(it.__anext__(), 5) == b"re:a"
        st.set(partitioned=True)
        with pytest.raises(grpc.aio.AioRpcError) as ei:
            await asyncio.wait_for(it.__anext__(), 5)
        assert ei.value.code() == grpc.StatusCode.UNAVAILABLE
        await q.put(None)
    run(body)


def test_an_outer_cancellation_stays_a_cancellation() -> None:
    async def body(srv: Server, ch: grpc.aio.Channel, st: FaultState) -> None:
        st.set(delay=0.001)  # make the stream go through the fault path
        call = ch.unary_stream("/t.T/Ticks")(b"")

        async def reader() -> None:
            async for _ in call:
                pass

        task = asyncio.create_task(reader())
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert st.snapshot()["open_streams"] == 0
    run(body)


def test_delay_holds_each_call_and_counts_against_its_deadline() -> None:
    async def body(srv: Server, ch: grpc.aio.Channel, st: FaultState) -> None:
        st.set(delay=0.2)
        t0 = time.monotonic()
        assert await echo(ch)(b"x", timeout=5) == b"x"
        assert time.monotonic() - t0 >= 0.2
        t0 = time.monotonic()
        await asyncio.gather(*(echo(ch)(b"x", timeout=5) for _ in range(5)))
        assert 0.2 <= time.monotonic() - t0 < 1.0  # delayed concurrently, not serialized
        t0 = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as ei:
            await echo(ch)(b"x", timeout=0.05)
        assert ei.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert 0.05 <= time.monotonic() - t0 < 0.2
        assert srv.calls["Echo"] == 6  # the one that timed out never reached the server
        t0 = time.monotonic()
        async for m in ch.unary_stream("/t.T/Ticks")(b""):
            assert m == b"0"
            break
        assert time.monotonic() - t0 >= 0.2
        st.set(delay=0.0)
        t0 = time.monotonic()
        await echo(ch)(b"x", timeout=5)
        assert time.monotonic() - t0 < 0.2
    run(body)


def test_drop_rate_follows_the_seeded_rng() -> None:
    n, rate, seed = 300, 0.3, 42
    rng = random.Random(seed)
    expected = [rng.random() < rate for _ in range(n)]

    async def body(srv: Server, ch: grpc.aio.Channel, st: FaultState) -> None:
        st.set(drop_rate=rate, seed=seed)
        dropped = []
        for _ in range(n):
            try:
                await echo(ch)(b"x", timeout=5)
                dropped.append(False)
            except grpc.aio.AioRpcError as e:
                assert e.code() == grpc.StatusCode.UNAVAILABLE
                assert e.details() == "kubemu fault: RPC dropped"
                dropped.append(True)
        assert dropped == expected
        assert srv.calls["Echo"] == n - sum(expected)
        assert 0.2 < sum(expected) / n < 0.4
        st.set(drop_rate=1.0)
        for _ in range(10):
            with pytest.raises(grpc.aio.AioRpcError):
                await echo(ch)(b"x")
        st.set(drop_rate=0.0)
        for _ in range(10):
            await echo(ch)(b"x")
    run(body)


def test_fault_state_validates_and_reports() -> None:
    st = FaultState()
    assert not st.active
    with pytest.raises(ValueError, match="drop rate"):
        st.set(drop_rate=1.5)
    with pytest.raises(ValueError, match="delay"):
        st.set(delay=-1)
    snap = st.set(partitioned=True, delay=0.5, drop_rate=0.25)
    assert st.active
    assert (snap["partitioned"], snap["delay"], snap["drop_rate"]) == (True, 0.5, 0.25)
    assert st.clear()["partitioned"] is False and not st.active


def test_install_routes_later_channels_through_the_process_state() -> None:
    """What the actor shells do: install(), then every grpcutil channel obeys STATE."""
    async def main() -> None:
        srv = Server()
        port = await srv.start()
        try:
            faultinject.install()
            ch = grpcutil.aio_channel(f"127.0.0.1:{port}")
            faultinject.set_fault(partitioned=True)
            with pytest.raises(grpc.aio.AioRpcError):
                await echo(ch)(b"x", timeout=5)
            faultinject.set_fault()
            assert await echo(ch)(b"x", timeout=5) == b"x"
            await ch.close()
        finally:
            faultinject.STATE.clear()
            grpcutil.set_default_interceptors([])
            await srv.server.stop(0)
    asyncio.run(main())


def test_apiclient_and_informer_under_partition() -> None:
    """A partitioned component's APIClient: writes fail with 503 at once, reads after the
    client's timeout; its informer's watch breaks and the informer keeps retrying
    (a relist fails too) until the heal, then catches up with what it missed."""
    from actors.api.errors import APIError
    from actors.apiserver.actor import ApiServer
    from actors.apiserver.client import APIClient
    from actors.common.informer import Informer
    from tests.unit.apiserver.helpers import configmap

    async def main() -> None:
        srv = ApiServer({"port": 0, "storage": "memory", "bookmark_interval": 60})
        await srv.start()
        other = APIClient(srv.address, timeout=5)
        await other.list("configmaps", "default")  # its channel predates the interceptors
        st = FaultState()
        grpcutil.set_default_interceptors(faultinject.interceptors(st))
        victim = APIClient(srv.address, timeout=0.5)
        seen: list[str] = []
        inf = Informer(victim, "configmaps", namespace="default", backoff_max=0.2,
                       on_add=lambda o: seen.append(o["metadata"]["name"]))
        try:
            inf.start()
            assert await inf.wait_for_sync(5)
            await other.create("configmaps", configmap("a"))
            for _ in range(100):
                if "a" in seen:
                    break
                await asyncio.sleep(0.02)
            assert seen == ["a"]
            st.set(partitioned=True)
            with pytest.raises(APIError) as ei:
                await victim.create("configmaps", configmap("x"))
            assert ei.value.code == 503 and "kubemu fault" in ei.value.message
            with pytest.raises(APIError) as ei:
                await victim.get("configmaps", "a", "default")
            assert ei.value.code == 503
            await other.create("configmaps", configmap("b"))
            await asyncio.sleep(0.5)
            assert seen == ["a"] and inf.stats["errors"] >= 1  # cut off: b is not seen
            st.clear()
            for _ in range(200):
                if "b" in seen:
                    break
                await asyncio.sleep(0.02)
            assert seen == ["a", "b"]
        finally:
            grpcutil.set_default_interceptors([])
            inf.stop()
            await victim.close()
            await other.close()
            await srv.stop()
    asyncio.run(main())
