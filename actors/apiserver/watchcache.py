"""The watch cache (k8s.io/apiserver/pkg/storage/cacher, reduced).

One `WatchCache` per resource type holds one store watch on `/registry/<plural>/`
and feeds

- a cache of the current objects (key → object), and
- a sliding window of the most recent events (default 1000),

from which it serves any number of watchers:

- resourceVersion "" — the current state (after making sure the cache has caught up
  with the store's current revision: a consistent start) as ADDED events, then changes;
- resourceVersion "0" — the cache's current state as ADDED events, then changes;
- resourceVersion N — the window's events after N; N older than the window →
  one ERROR event carrying a 410 Expired Status (`too old resource version: N (M)`);
  N newer than the cache → wait up to 3 s for the cache to catch up, else 504.

Each watcher filters by namespace, labels and fields; an update that makes an object
start (stop) matching is sent as ADDED (DELETED), as upstream's cacheWatcher does.
Watchers that asked for bookmarks get a BOOKMARK (an object with only
metadata.resourceVersion) every `bookmark_interval` seconds. A watcher that falls too
far behind (its queue is full) is closed; its client re-watches from the last
resourceVersion it saw.

The cache knows it is fresh through the store watch's progress notifications (etcd's
WatchProgressRequest): the store's revision counter is global, so a resource whose
objects did not change has no event to learn the current revision from.

`list()` serves resourceVersion "0" (and "N") lists from the cache, like upstream;
consistent lists ("") go to the store through the registry.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable

from actors.api.resources import ResourceInfo
from actors.common.clock import Clock, RealClock

from . import strategy
from .apierrors import too_large_rv, too_old_rv
from .filters import make_filter
from .storage import DELETE, KV, PROGRESS, PUT, CompactedError, KVWatch, WatchEvent

log = logging.getLogger("kubemu.apiserver.watchcache")

JSON = dict[str, Any]

ADDED, MODIFIED, DELETED, BOOKMARK, ERROR = "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"

DEFAULT_WINDOW = 1000
DEFAULT_WATCHER_QUEUE = 10_000
FRESH_TIMEOUT = 3.0  # upstream's blockTimeout in waitUntilFreshAndBlock


@dataclass(frozen=True)
class CacheEvent:
    type: str            # ADDED | MODIFIED | DELETED
    key: str
    obj: JSON            # the new object (DELETED: the last state, with the deletion's RV)
    prev: JSON | None    # the object before the change
    rv: int


def with_rv(obj: JSON, rv: int) -> JSON:
    out = dict(obj)
    out["metadata"] = dict(obj.get("metadata") or {})
    out["metadata"]["resourceVersion"] = str(rv)
    return out


def convert(ev: CacheEvent, match: Callable[[JSON], bool]) -> tuple[str, JSON] | None:
    """What one watcher sees of `ev` (cacheWatcher.convertToWatchEvent)."""
    if ev.type == DELETED:
        return (DELETED, ev.obj) if match(ev.obj) else None
    cur = match(ev.obj)
    prev = ev.prev is not None and match(ev.prev)
    if ev.type == ADDED:
        return (ADDED, ev.obj) if cur else None
    if cur and prev:
        return (MODIFIED, ev.obj)
    if cur:
        return (ADDED, ev.obj)
    if prev:
        assert ev.prev is not None
        return (DELETED, with_rv(ev.prev, ev.rv))
    return None


class CacheWatcher:
    """One client's watch: an async iterator of (type, object) pairs."""

    def __init__(self, cache: "WatchCache", match: Callable[[JSON], bool],
                 allow_bookmarks: bool, next_bookmark: float, max_queue: int) -> None:
        self.cache = cache
        self.match = match
        self.allow_bookmarks = allow_bookmarks
        self.next_bookmark = next_bookmark
        self.max_queue = max_queue
        self.queue: asyncio.Queue[tuple[str, JSON] | None] = asyncio.Queue()
        self.closed = False
        self.overflowed = False

    def offer(self, item: tuple[str, JSON]) -> None:
        if self.closed:
            return
        if self.queue.qsize() >= self.max_queue:
            self.overflowed = True
            log.warning("watcher of %s fell %d events behind: closing it",
                        self.cache.info.plural, self.max_queue)
            self.close()
            return
        self.queue.put_nowait(item)

    def dispatch(self, ev: CacheEvent) -> None:
        out = convert(ev, self.match)
        if out is not None:
            self.offer(out)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)
            self.cache._watchers.discard(self)

    def __aiter__(self) -> AsyncIterator[tuple[str, JSON]]:
        return self._gen()

    async def _gen(self) -> AsyncIterator[tuple[str, JSON]]:
        try:
            while True:
                item = await self.queue.get()
                if item is None:
                    return
                yield item
        finally:
            self.close()

    def pending(self) -> list[tuple[str, JSON]]:
        """Everything queued now (tests)."""
        out = []
        while not self.queue.empty():
            item = self.queue.get_nowait()
            if item is None:
                self.queue.put_nowait(None)
                break
            out.append(item)
        return out


class WatchCache:
    def __init__(self, kv: KV, info: ResourceInfo, *, window: int = DEFAULT_WINDOW,
                 clock: Clock | None = None, bookmark_interval: float = 60.0,
                 fresh_timeout: float = FRESH_TIMEOUT,
                 max_watcher_queue: int = DEFAULT_WATCHER_QUEUE) -> None:
        self.kv = kv
        self.info = info
        self.prefix = strategy.prefix(info)
        self.window_size = max(1, window)
        self.clock = clock or RealClock()
        self.bookmark_interval = bookmark_interval
        self.fresh_timeout = fresh_timeout
        self.max_watcher_queue = max_watcher_queue
        self.objects: dict[str, JSON] = {}
        self.events: collections.deque[CacheEvent] = collections.deque()
        self.rv = 0             # everything up to here is in the cache
        self.list_rv = 0        # the revision of the last (re)list
        self.evicted = False    # an event has left the window since the last list
        self._watchers: set[CacheWatcher] = set()
        self._changed = asyncio.Event()
        self._kvwatch: KVWatch | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self.relists = 0

    # ---- feeding ----------------------------------------------------------------------

    async def start(self) -> None:
        """List, then follow the store in a background task."""
        await self._relist()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _relist(self) -> None:
        res = await self.kv.list(self.prefix)
        self.objects = {kv.key: strategy.decode(kv.value, kv.mod_revision) for kv in res.kvs}
        self.events.clear()
        self.rv = self.list_rv = res.revision
        self.evicted = False
        self._kvwatch = self.kv.watch(self.prefix, res.revision + 1)
        self._ready.set()
        self._notify()

    async def _run(self) -> None:
        backoff = 0.05
        while True:
            assert self._kvwatch is not None
            try:
                async for ev in self._kvwatch:
                    self.process(ev)
                    backoff = 0.05
                return  # closed
            except asyncio.CancelledError:
                raise
            except CompactedError as e:
                log.warning("%s watch compacted at %d: relisting", self.info.plural,
                            e.compact_revision)
            except Exception as e:  # the store failed; start over
                log.warning("%s watch failed (%s): relisting", self.info.plural, e)
            self._terminate_watchers()
            while True:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                try:
                    await self._relist()
                    self.relists += 1
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as e:
                    log.warning("%s relist failed: %s", self.info.plural, e)

    def _terminate_watchers(self) -> None:
        for w in list(self._watchers):
            w.close()

    async def stop(self) -> None:
        if self._kvwatch is not None:
            self._kvwatch.close()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        self._terminate_watchers()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def process(self, ev: WatchEvent) -> None:
        """Apply one store event to the cache, the window and every watcher."""
        # the writes of one Txn share a revision (the apiserver's store client batches
        # writes into one Txn): only events from *before* the cache's revision are old
        if ev.revision < self.rv and ev.type != PROGRESS:
            return  # already seen (a resumed watch)
        if ev.type == PROGRESS:
            if ev.revision > self.rv:
                self.rv = ev.revision
                self._notify()
            return
        prev = self.objects.get(ev.key)
        if ev.type == PUT:
            assert ev.value is not None
            obj = strategy.decode(ev.value, ev.revision)
            self.objects[ev.key] = obj
            cev = CacheEvent(ADDED if prev is None else MODIFIED, ev.key, obj, prev, ev.revision)
        elif ev.type == DELETE:
            self.objects.pop(ev.key, None)
            if prev is None:
                if ev.prev_value is None:
                    self.rv = ev.revision
                    self._notify()
                    return
                prev = strategy.decode(ev.prev_value, ev.revision)
            cev = CacheEvent(DELETED, ev.key, with_rv(prev, ev.revision), prev, ev.revision)
        else:
            return
        self.events.append(cev)
        if len(self.events) > self.window_size:
            self.events.popleft()
            self.evicted = True
        self.rv = ev.revision
        for w in list(self._watchers):
            w.dispatch(cev)
        self._notify()

    # ---- freshness --------------------------------------------------------------------

    def request_progress(self) -> None:
        if self._kvwatch is not None:
            self._kvwatch.request_progress()

    async def wait_fresh(self, rv: int, timeout: float | None = None) -> bool:
        """Wait until the cache has everything up to revision `rv`."""
        timeout = self.fresh_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        await self._ready.wait()
        while self.rv < rv:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self.request_progress()
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), min(remaining, 0.1))
            except asyncio.TimeoutError:
                pass
        return True

    async def _consistent_rv(self) -> int:
        """Catch up with the store's current revision (a consistent read from the cache)."""
        target = await self.kv.current_revision()
        if not await self.wait_fresh(target):
            raise too_large_rv(target, self.rv)
        return target

    def oldest(self) -> int:
        """The oldest event revision the window can still deliver (upstream's `oldest`)."""
        if not self.evicted:
            return self.list_rv + 1
        return self.events[0].rv if self.events else self.rv + 1

    # ---- serving ----------------------------------------------------------------------

    async def watch(self, namespace: str = "", label_selector: str = "",
                    field_selector: str = "", resource_version: str = "",
                    allow_bookmarks: bool = False) -> CacheWatcher:
        """A new watcher; raises APIError 410 / 504 / 400 before any event."""
        match = make_filter(self.info, namespace, label_selector, field_selector)
        await self._ready.wait()
        initial: list[tuple[str, JSON]]
        if resource_version in ("", "0"):
            if resource_version == "":
                await self._consistent_rv()
            # current state as ADDED (synchronously with the registration below)
            initial = [(ADDED, o) for _, o in sorted(self.objects.items()) if match(o)]
        else:
            n = strategy.parse_rv(resource_version)
            if n > self.rv and not await self.wait_fresh(n):
                raise too_large_rv(n, self.rv)
            oldest = self.oldest()
            if n < oldest - 1:
                raise too_old_rv(n, oldest - 1)
            initial = []
            for ev in self.events:
                if ev.rv > n:
                    out = convert(ev, match)
                    if out is not None:
                        initial.append(out)
        w = CacheWatcher(self, match, allow_bookmarks,
                         self.clock.now() + self.bookmark_interval, self.max_watcher_queue)
        for item in initial:
            w.offer(item)
        self._watchers.add(w)
        return w

    async def list(self, namespace: str = "", label_selector: str = "",
                   field_selector: str = "", resource_version: str = "0") -> JSON:
        """A List from the cache (resourceVersion "0": whatever it has; "N": at least N;
        "": consistent, after catching up with the store)."""
        match = make_filter(self.info, namespace, label_selector, field_selector)
        await self._ready.wait()
        if resource_version == "":
            await self._consistent_rv()
        elif resource_version != "0":
            n = strategy.parse_rv(resource_version)
            if n > self.rv and not await self.wait_fresh(n):
                raise too_large_rv(n, self.rv)
        items = [o for _, o in sorted(self.objects.items()) if match(o)]
        return {"kind": f"{self.info.kind}List", "apiVersion": self.info.api_version,
                "metadata": {"resourceVersion": str(self.rv)}, "items": items}

    def bookmark(self) -> JSON:
        return {"kind": self.info.kind, "apiVersion": self.info.api_version,
                "metadata": {"resourceVersion": str(self.rv)}}

    def dispatch_bookmarks(self) -> int:
        """Send a BOOKMARK to every bookmark-enabled watcher that is due; returns how many."""
        now = self.clock.now()
        n = 0
        for w in list(self._watchers):
            if w.allow_bookmarks and now >= w.next_bookmark:
                w.offer((BOOKMARK, self.bookmark()))
                w.next_bookmark = now + self.bookmark_interval
                n += 1
        return n

    @property
    def watcher_count(self) -> int:
        return len(self._watchers)


class WatchCaches:
    """The caches of every resource type, started together; bookmarks on a timer."""

    def __init__(self, kv: KV, *, window: int = DEFAULT_WINDOW, clock: Clock | None = None,
                 bookmark_interval: float = 60.0, max_watcher_queue: int = DEFAULT_WATCHER_QUEUE
                 ) -> None:
        self.kv = kv
        self.window = window
        self.clock = clock or RealClock()
        self.bookmark_interval = bookmark_interval
        self.max_watcher_queue = max_watcher_queue
        self.caches: dict[str, WatchCache] = {}
        self._starting: dict[str, asyncio.Future[WatchCache]] = {}
        self._bookmark_task: asyncio.Task[None] | None = None

    async def get(self, info: ResourceInfo) -> WatchCache:
        c = self.caches.get(info.plural)
        if c is not None:
            return c
        fut = self._starting.get(info.plural)
        if fut is not None:
            return await asyncio.shield(fut)
        fut = asyncio.get_running_loop().create_future()
        self._starting[info.plural] = fut
        try:
            c = WatchCache(self.kv, info, window=self.window, clock=self.clock,
                           bookmark_interval=self.bookmark_interval,
                           max_watcher_queue=self.max_watcher_queue)
            await c.start()
        except BaseException as e:
            del self._starting[info.plural]
            fut.set_exception(e)
            fut.exception()  # retrieved: no "never retrieved" warning
            raise
        self.caches[info.plural] = c
        del self._starting[info.plural]
        fut.set_result(c)
        return c

    async def start(self, infos: list[ResourceInfo], bookmarks: bool = True) -> None:
        await asyncio.gather(*(self.get(i) for i in infos))
        if bookmarks and self._bookmark_task is None:
            self._bookmark_task = asyncio.get_running_loop().create_task(self._bookmarks())

    async def _bookmarks(self) -> None:
        period = max(0.05, min(1.0, self.bookmark_interval / 4))
        while True:
            await asyncio.sleep(period)
            for c in list(self.caches.values()):
                if any(w.allow_bookmarks and self.clock.now() >= w.next_bookmark - period
                       for w in c._watchers):
                    c.request_progress()  # so the bookmark carries the current revision
            await asyncio.sleep(0.02)
            for c in list(self.caches.values()):
                c.dispatch_bookmarks()

    async def stop(self) -> None:
        if self._bookmark_task is not None:
            self._bookmark_task.cancel()
            try:
                await self._bookmark_task
            except (asyncio.CancelledError, Exception):
                pass
        for c in list(self.caches.values()):
            await c.stop()

    def objects(self, plural: str) -> list[JSON] | None:
        """Every cached object of a resource (the cache's own; None: not cached)."""
        c = self.caches.get(plural)
        return list(c.objects.values()) if c is not None else None

    def lookup(self, key: str) -> tuple[JSON, int] | None:
        """The cached object stored at etcd key `key` and its mod revision (None when
        not cached). The object is the cache's own: callers copy before changing it."""
        parts = key.split("/", 3)  # "", "registry", plural, rest
        c = self.caches.get(parts[2]) if len(parts) > 3 else None
        obj = c.objects.get(key) if c is not None else None
        if obj is None:
            return None
        try:
            rv = int((obj.get("metadata") or {}).get("resourceVersion") or 0)
        except ValueError:
            return None
        return obj, rv

    def stats(self) -> dict[str, Any]:
        return {p: {"rv": c.rv, "objects": len(c.objects), "window": len(c.events),
                    "watchers": c.watcher_count, "relists": c.relists}
                for p, c in self.caches.items()}
