"""The watch cache over MemoryKV: replay, 410, selectors, bookmarks, cache lists."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from actors.api.errors import APIError
from actors.api.resources import lookup
from actors.apiserver import strategy
from actors.apiserver.storage import MemoryKV
from actors.apiserver.watchcache import WatchCache, WatchCaches
from actors.common.clock import FakeClock

from .helpers import T0, configmap, pod, run

PODS = lookup("pods")


async def put(kv: MemoryKV, obj: dict[str, Any]) -> int:
    info = lookup(obj["kind"])
    m = obj["metadata"]
    key = strategy.key(info, m.get("namespace"), m["name"])
    cur = await kv.get(key)
    res = await (kv.update(key, strategy.encode(obj), cur.mod_revision) if cur
                 else kv.create(key, strategy.encode(obj)))
    assert res.ok
    return res.revision


async def remove(kv: MemoryKV, obj: dict[str, Any]) -> int:
    info = lookup(obj["kind"])
    m = obj["metadata"]
    key = strategy.key(info, m.get("namespace"), m["name"])
    cur = await kv.get(key)
    assert cur is not None
    res = await kv.delete(key, cur.mod_revision)
    return res.revision


async def started(kv: MemoryKV, **kw: Any) -> WatchCache:
    c = WatchCache(kv, PODS, clock=kw.pop("clock", FakeClock(T0)), **kw)
    await c.start()
    return c


async def settle(c: WatchCache) -> None:
    assert await c.wait_fresh(c.kv.revision, 2)  # type: ignore[attr-defined]


def seen(w: Any) -> list[tuple[str, str, str]]:
    return [(t, o["metadata"].get("name", ""), o["metadata"]["resourceVersion"])
            for t, o in w.pending()]


def test_rv0_sends_current_state_then_follows() -> None:
    async def body() -> None:
        kv = MemoryKV()
        r1 = await put(kv, pod("b"))
        r2 = await put(kv, pod("a"))
        c = await started(kv)
        w = await c.watch(resource_version="0")
        assert seen(w) == [("ADDED", "a", str(r2)), ("ADDED", "b", str(r1))]
        r3 = await put(kv, pod("a", labels={"x": "1"}))
        r4 = await remove(kv, pod("b"))
        await settle(c)
        assert seen(w) == [("MODIFIED", "a", str(r3)), ("DELETED", "b", str(r4))]
        await c.stop()
    run(body())


def test_watch_from_rv_replays_the_window() -> None:
    async def body() -> None:
        kv = MemoryKV()
        c = await started(kv)
        r1 = await put(kv, pod("a"))
        r2 = await put(kv, pod("b"))
        r3 = await put(kv, pod("a", labels={"v": "2"}))
        await settle(c)
        w = await c.watch(resource_version=str(r1))
        assert seen(w) == [("ADDED", "b", str(r2)), ("MODIFIED", "a", str(r3))]
        w2 = await c.watch(resource_version=str(r3))
        assert seen(w2) == []
        await c.stop()
    run(body())


def test_too_old_resource_version_is_410() -> None:
    async def body() -> None:
        kv = MemoryKV()
        c = await started(kv, window=3)
        first = await put(kv, pod("p0"))
        revs = [first] + [await put(kv, pod(f"p{i}")) for i in range(1, 6)]
        await settle(c)
        with pytest.raises(APIError) as ei:
            await c.watch(resource_version=str(first))
        oldest = revs[3]  # the window keeps the last 3 events
        assert ei.value.code == 410 and ei.value.reason == "Expired"
        assert ei.value.message == f"too old resource version: {first} ({oldest - 1})"
        w = await c.watch(resource_version=str(oldest - 1))  # still servable
        assert [n for _, n, _ in seen(w)] == ["p3", "p4", "p5"]
        await c.stop()
    run(body())


def test_list_rv_is_servable_until_the_window_slides() -> None:
    async def body() -> None:
        kv = MemoryKV()
        await put(kv, pod("a"))
        c = await started(kv, window=2)
        list_rv = c.rv
        assert seen(await c.watch(resource_version=str(list_rv))) == []
        await put(kv, pod("b"))
        await put(kv, pod("c"))
        await settle(c)
        assert len(seen(await c.watch(resource_version=str(list_rv)))) == 2
        await put(kv, pod("d"))
        await settle(c)
        with pytest.raises(APIError):
            await c.watch(resource_version=str(list_rv))
        await c.stop()
    run(body())


@pytest.mark.parametrize("kw,changes,expect", [
    pytest.param({"label_selector": "app=web"},
                 [("a", {"app": "web"}), ("a", {"app": "db"}), ("a", {"app": "web"})],
                 ["ADDED", "DELETED", "ADDED"], id="label-start-stop-matching"),
    pytest.param({"label_selector": "app=web"},
                 [("a", {"app": "web"}), ("a", {"app": "web", "v": "2"})],
                 ["ADDED", "MODIFIED"], id="label-still-matching"),
    pytest.param({"label_selector": "app=web"},
                 [("a", {"app": "db"}), ("a", {"app": "db", "v": "2"})],
                 [], id="label-never-matching"),
    pytest.param({"namespace": "team"},
                 [("a", {}), ("t", {})], ["ADDED"], id="namespace"),
])
def test_watch_filters(kw: dict[str, Any], changes: list[tuple[str, dict[str, str]]],
                       expect: list[str]) -> None:
    async def body() -> None:
        kv = MemoryKV()
        c = await started(kv)
        w = await c.watch(resource_version="0", **kw)
        for name, labels in changes:
            await put(kv, pod(name, ns="team" if name == "t" else "default", labels=labels))
        await settle(c)
        assert [t for t, _, _ in seen(w)] == expect
        await c.stop()
    run(body())


def test_deleted_on_selector_mismatch_carries_old_object_with_new_rv() -> None:
    async def body() -> None:
        kv = MemoryKV()
        c = await started(kv)
        w = await c.watch(resource_version="0", field_selector="spec.nodeName=n1")
        await put(kv, pod("a", node="n1"))
        rv = await put(kv, pod("a", node="n2"))
        await settle(c)
        evs = w.pending()
        assert [t for t, _ in evs] == ["ADDED", "DELETED"]
        gone = evs[1][1]
        assert gone["spec"]["nodeName"] == "n1" and gone["metadata"]["resourceVersion"] == str(rv)
        await c.stop()
    run(body())


def test_bad_selectors_are_400() -> None:
    async def body() -> None:
        c = await started(MemoryKV())
        bad: list[dict[str, Any]] = [{"field_selector": "spec.image=x"},
                                     {"label_selector": "a in (b"}]
        for kw in bad:
            with pytest.raises(APIError) as ei:
                await c.watch(resource_version="0", **kw)
            assert ei.value.code == 400
        await c.stop()
    run(body())


def test_bookmarks_with_fake_clock() -> None:
    async def body() -> None:
        kv = MemoryKV()
        clock = FakeClock(T0)
        c = await started(kv, clock=clock, bookmark_interval=60)
        wb = await c.watch(resource_version="0", allow_bookmarks=True)
        wn = await c.watch(resource_version="0")
        rv = await put(kv, configmap("elsewhere"))  # another resource
        assert c.dispatch_bookmarks() == 0
        clock.advance(59)
        assert c.dispatch_bookmarks() == 0
        clock.advance(1)
        await c.wait_fresh(rv, 1)  # the progress notification moves the cache's RV
        assert c.dispatch_bookmarks() == 1
        evs = wb.pending()
        assert evs == [("BOOKMARK", {"kind": "Pod", "apiVersion": "v1",
                                     "metadata": {"resourceVersion": str(rv)}})]
        assert wn.pending() == []
        assert c.dispatch_bookmarks() == 0  # next one in another 60 s
        clock.advance(60)
        assert c.dispatch_bookmarks() == 1
        await c.stop()
    run(body())


def test_too_large_resource_version_is_504_after_waiting() -> None:
    async def body() -> None:
        c = await started(MemoryKV(), fresh_timeout=0.05)
        with pytest.raises(APIError) as ei:
            await c.watch(resource_version=str(c.rv + 100))
        assert ei.value.code == 504 and "Too large resource version" in ei.value.message
        await c.stop()
    run(body())


def test_consistent_watch_and_list_catch_up_through_progress() -> None:
    async def body() -> None:
        kv = MemoryKV()
        c = await started(kv)
        await put(kv, pod("a"))
        rv = await put(kv, configmap("cm"))  # bumps the global revision, no pod event
        w = await c.watch(resource_version="")
        assert [n for _, n, _ in seen(w)] == ["a"] and c.rv >= rv
        lst = await c.list(resource_version="")
        assert lst["metadata"]["resourceVersion"] == str(rv)
        await c.stop()
    run(body())


def test_list_from_cache_filters_and_reports_cache_rv() -> None:
    async def body() -> None:
        kv = MemoryKV()
        await put(kv, pod("a", labels={"app": "web"}))
        await put(kv, pod("b", labels={"app": "db"}))
        await put(kv, pod("c", ns="other", labels={"app": "web"}))
        c = await started(kv)
        lst = await c.list(label_selector="app=web")
        assert lst["kind"] == "PodList" and lst["metadata"]["resourceVersion"] == str(c.rv)
        assert [p["metadata"]["name"] for p in lst["items"]] == ["a", "c"]
        lst2 = await c.list(namespace="other", resource_version="0")
        assert [p["metadata"]["name"] for p in lst2["items"]] == ["c"]
        await c.stop()
    run(body())


def test_slow_watcher_is_closed() -> None:
    async def body() -> None:
        kv = MemoryKV()
        c = await started(kv, max_watcher_queue=2)
        w = await c.watch(resource_version="0")
        for i in range(4):
            await put(kv, pod(f"p{i}"))
        await settle(c)
        got = [t async for t in w]
        assert len(got) == 2 and w.overflowed and c.watcher_count == 0
        await c.stop()
    run(body())


def test_many_watchers_get_the_same_stream() -> None:
    async def body() -> None:
        kv = MemoryKV()
        c = await started(kv)
        ws = [await c.watch(resource_version="0") for _ in range(20)]
        for i in range(5):
            await put(kv, pod(f"p{i}"))
        await settle(c)
        streams = {tuple(seen(w)) for w in ws}
        assert len(streams) == 1 and len(next(iter(streams))) == 5
        await c.stop()
    run(body())


def test_caches_start_once_per_resource() -> None:
    async def body() -> None:
        kv = MemoryKV()
        caches = WatchCaches(kv, clock=FakeClock(T0))
        a, b = await asyncio.gather(caches.get(PODS), caches.get(PODS))
        assert a is b and list(caches.caches) == ["pods"]
        await caches.stop()
    run(body())


def test_writes_of_one_txn_share_a_revision_and_all_reach_the_cache() -> None:
    """The store client batches writes into one Txn: its events share a revision, and
    every one of them must be cached and delivered, not only the first."""
    from actors.apiserver.storage import PUT, WatchEvent

    async def go() -> None:
        kv = MemoryKV()
        c = await started(kv)
        w = await c.watch("default")
        base = c.rv
        for name in ("a", "b", "c"):
            p = pod(name)
            key = strategy.key(PODS, "default", name)
            c.process(WatchEvent(PUT, key, strategy.encode(p), None, base + 1))
        assert sorted(c.objects) == [strategy.key(PODS, "default", n) for n in "abc"]
        assert seen(w) == [("ADDED", n, str(base + 1)) for n in "abc"]
        # a resumed stream re-sending an older revision is still ignored
        c.process(WatchEvent(PUT, strategy.key(PODS, "default", "z"), strategy.encode(pod("z")),
                             None, base))
        assert strategy.key(PODS, "default", "z") not in c.objects

    run(go())
