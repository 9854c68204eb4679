"""MemoryKV: etcd's semantics the registry and the watch cache rely on."""

from __future__ import annotations

import asyncio

import pytest

from actors.apiserver.storage import (DELETE, PROGRESS, PUT, CompactedError, MemoryKV,
                                      WatchEvent, prefix_end)

from .helpers import run


def test_prefix_end() -> None:
    assert prefix_end("/registry/pods/") == "/registry/pods0"


def test_guarded_writes_and_revisions() -> None:
    async def body() -> None:
        kv = MemoryKV()
        r1 = await kv.create("/a", b"1")
        assert r1.ok and r1.revision == 2
        dup = await kv.create("/a", b"x")
        assert not dup.ok and dup.current is not None and dup.current.value == b"1"
        stale = await kv.update("/a", b"2", mod_revision=1)
        assert not stale.ok and stale.current is not None and stale.current.mod_revision == 2
        r2 = await kv.update("/a", b"2", mod_revision=2)
        assert r2.ok and r2.revision == 3
        got = await kv.get("/a")
        assert got is not None and (got.value, got.create_revision, got.mod_revision) == (b"2", 2, 3)
        assert not (await kv.delete("/a", 2)).ok
        assert (await kv.delete("/a", 3)).ok
        assert await kv.get("/a") is None
        assert (await kv.update("/a", b"3", 3)).current is None
        assert await kv.current_revision() == 4
    run(body())


def test_list_prefix_limit_start_and_history() -> None:
    async def body() -> None:
        kv = MemoryKV()
        for k in ("/r/p/a", "/r/p/b", "/r/p/c", "/r/q/a"):
            await kv.create(k, k.encode())
        res = await kv.list("/r/p/", limit=2)
        assert [x.key for x in res.kvs] == ["/r/p/a", "/r/p/b"] and res.more and res.count == 3
        res2 = await kv.list("/r/p/", start="/r/p/b\x00", revision=res.revision)
        assert [x.key for x in res2.kvs] == ["/r/p/c"] and not res2.more
        b = await kv.get("/r/p/b")
        assert b is not None
        await kv.delete("/r/p/b", b.mod_revision)
        old = await kv.list("/r/p/", revision=res.revision)
        assert [x.key for x in old.kvs] == ["/r/p/a", "/r/p/b", "/r/p/c"]
        assert len((await kv.list("/r/p/")).kvs) == 2
        await kv.compact(await kv.current_revision())
        with pytest.raises(CompactedError):
            await kv.list("/r/p/", revision=res.revision)
    run(body())


def test_watch_replays_then_follows_with_prev_values_and_progress() -> None:
    async def body() -> None:
        kv = MemoryKV()
        await kv.create("/r/x", b"1")
        start = await kv.current_revision()
        await kv.update("/r/x", b"2", start)
        w = kv.watch("/r/", start)
        it = w.__aiter__()
        e1 = await it.__anext__()
        assert e1 == WatchEvent(PUT, "/r/x", b"1", None, 2)
        e2 = await it.__anext__()
        assert e2 == WatchEvent(PUT, "/r/x", b"2", b"1", 3)
        await kv.create("/other", b"o")
        await kv.delete("/r/x", 3)
        e3 = await it.__anext__()
        assert e3 == WatchEvent(DELETE, "/r/x", None, b"2", 5)
        w.request_progress()
        e4 = await asyncio.wait_for(it.__anext__(), 1)
        assert e4.type == PROGRESS and e4.revision == 5
        w.close()
        with pytest.raises(StopAsyncIteration):
            await it.__anext__()
    run(body())


def test_watch_from_compacted_revision_fails() -> None:
    async def body() -> None:
        kv = MemoryKV()
        for i in range(5):
            await kv.create(f"/r/{i}", b"v")
        await kv.compact(4)
        with pytest.raises(CompactedError):
            await kv.watch("/r/", 3).__aiter__().__anext__()
        ev = await kv.watch("/r/", 5).__aiter__().__anext__()
        assert ev.revision == 5
    run(body())
