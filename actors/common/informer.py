"""A shared informer (client-go's reflector + indexer + handlers, reduced).

    inf = Informer(client, "pods", field_selector="spec.nodeName=node-1")
    inf.add_event_handler(on_add=..., on_update=..., on_delete=...)
    inf.start()                      # a task in the running loop
    await inf.wait_for_sync()
    inf.get("default", "web-1"); inf.list()
    inf.stop()

The reflector lists (a consistent, paginated list), replaces the cache, then watches
from the list's resourceVersion with bookmarks, applying each event to the cache
*before* calling the handlers, as client-go does. It relists when the watch says the
resourceVersion is too old (410 Expired / Gone), and when a stream breaks it
re-watches from the last resourceVersion it saw, with exponential backoff (100 ms
doubling to 5 s) while the apiserver is unreachable.

On a relist the replacement is reported as differences: on_add for new objects,
on_update(old, new) for objects whose resourceVersion changed, on_delete(last known
state) for objects that are gone (client-go's DeletedFinalStateUnknown, unwrapped).

`keep(obj) -> bool` filters on the client side what no server-side selector can
express (a node pool keeps the pods of its own nodes): objects it rejects are neither
cached nor reported, and an object that stops matching is reported deleted.

Handlers are plain synchronous callables; an exception in one is logged and does not
stop the informer. The client is anything with APIClient's `list` and `watch`
(tests use a fake).
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import random
from typing import Any, Awaitable, Callable

log = logging.getLogger("kubemu.informer")

JSON = dict[str, Any]
AddFn = Callable[[JSON], None]
UpdateFn = Callable[[JSON, JSON], None]
DeleteFn = Callable[[JSON], None]

LIST_PAGE = 500


def object_key(obj: JSON) -> str:
    """client-go's MetaNamespaceKeyFunc: "namespace/name", or "name" when cluster-scoped."""
    m = obj.get("metadata") or {}
    ns = m.get("namespace")
    return f"{ns}/{m.get('name', '')}" if ns else str(m.get("name", ""))


def _rv(obj: JSON) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def _is_expired(e: BaseException) -> bool:
    code = getattr(e, "code", None)
    return code == 410 or getattr(e, "reason", "") in ("Expired", "Gone")


class Informer:
    def __init__(self, client: Any, resource: str, namespace: str | None = None,
                 label_selector: str = "", field_selector: str = "", *,
                 on_add: AddFn | None = None, on_update: UpdateFn | None = None,
                 on_delete: DeleteFn | None = None, backoff_initial: float = 0.1,
                 backoff_max: float = 5.0, page_size: int = LIST_PAGE,
                 sleep: Callable[[float], Awaitable[Any]] | None = None,
                 rng: random.Random | None = None,
                 keep: Callable[[JSON], bool] | None = None) -> None:
        self.client = client
        self.keep = keep
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.cache: dict[str, JSON] = {}
        self.resource_version = ""
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.page_size = page_size
        self._sleep = sleep or asyncio.sleep
        self._rng = rng or random.Random()
        self._handlers: list[tuple[AddFn | None, UpdateFn | None, DeleteFn | None]] = []
        if on_add or on_update or on_delete:
            self._handlers.append((on_add, on_update, on_delete))
        self._synced = False
        self._sync_waiters: list[asyncio.Future[None]] = []
        self._stopped = False
        self._task: asyncio.Task[None] | None = None
        self.stats = {"lists": 0, "watches": 0, "events": 0, "errors": 0, "expired": 0}

    # ---- handlers and reads -----------------------------------------------------------

    def add_event_handler(self, on_add: AddFn | None = None, on_update: UpdateFn | None = None,
                          on_delete: DeleteFn | None = None) -> None:
        """Register handlers; added after sync, they get on_add for everything cached."""
        self._handlers.append((on_add, on_update, on_delete))
        if self._synced and on_add is not None:
            for obj in list(self.cache.values()):
                self._call(on_add, obj)

    @property
    def has_synced(self) -> bool:
        return self._synced

    def get(self, namespace: str | None, name: str) -> JSON | None:
        return self.cache.get(f"{namespace}/{name}" if namespace else name)

    def list(self) -> list[JSON]:
        return list(self.cache.values())

    # ---- lifecycle --------------------------------------------------------------------

    def start(self) -> "asyncio.Task[None]":
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run())
        return self._task

    def stop(self) -> None:
        self._stopped = True
        if self._task is not None:
            self._task.cancel()

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        if self._synced:
            return True
        f: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sync_waiters.append(f)
        try:
            await asyncio.wait_for(asyncio.shield(f), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    # ---- the reflector ----------------------------------------------------------------

    async def run(self) -> None:
        backoff = self.backoff_initial
        need_list = True
        while not self._stopped:
            try:
                if need_list:
                    await self._list()
                    need_list = False
                    backoff = self.backoff_initial
                expired = await self._watch()
                if expired:
                    self.stats["expired"] += 1
                    need_list = True
                    continue
                # the server ended the stream (restart, slow watcher): resume from the RV
                await self._sleep(self._jitter(self.backoff_initial))
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if self._stopped:
                    return
                if _is_expired(e):
                    self.stats["expired"] += 1
                    need_list = True
                    continue
                self.stats["errors"] += 1
                log.info("informer %s: %s; retrying in %.2f s", self.resource, e, backoff)
                await self._sleep(self._jitter(backoff))
                backoff = min(backoff * 2, self.backoff_max)

    def _jitter(self, d: float) -> float:
        return d * (1 + 0.1 * self._rng.random())

    async def _list(self) -> None:
        items: list[JSON] = []
        cont = ""
        while True:
            try:
                page = await self.client.list(self.resource, namespace=self.namespace,
                                              label_selector=self.label_selector,
                                              field_selector=self.field_selector,
                                              limit=self.page_size, continue_=cont)
            except Exception as e:
                if cont and _is_expired(e):  # the continue token expired: start over
                    items, cont = [], ""
                    continue
                raise
            items.extend(page.get("items") or [])
            cont = (page.get("metadata") or {}).get("continue") or ""
            if not cont:
                break
        self.stats["lists"] += 1
        self._replace(items, str((page.get("metadata") or {}).get("resourceVersion") or ""))

    def _replace(self, items: "builtins.list[JSON]", rv: str) -> None:
        keep = self.keep
        new = {object_key(o): o for o in items if keep is None or keep(o)}
        old_cache = self.cache
        self.cache = dict(new)
        self.resource_version = rv
        for k, obj in new.items():
            old = old_cache.get(k)
            if old is None:
                self._fire_add(obj)
            elif _rv(old) != _rv(obj):
                self._fire_update(old, obj)
        for k, old in old_cache.items():
            if k not in new:
                self._fire_delete(old)
        if not self._synced:
            self._synced = True
            for f in self._sync_waiters:
                if not f.done():
                    f.set_result(None)
            self._sync_waiters.clear()

    async def _watch(self) -> bool:
        """Follow the watch; True when it ended because the RV is too old."""
        self.stats["watches"] += 1
        async for typ, obj in self.client.watch(self.resource, namespace=self.namespace,
                                                resource_version=self.resource_version,
                                                label_selector=self.label_selector,
                                                field_selector=self.field_selector,
                                                allow_bookmarks=True):
            if self._stopped:
                return False
            if typ == "ERROR":
                if int(obj.get("code") or 0) == 410 or obj.get("reason") in ("Expired", "Gone"):
                    return True
                from actors.api.errors import APIError

                raise APIError.from_status(obj)
            rv = _rv(obj)
            if typ == "BOOKMARK":
                if rv:
                    self.resource_version = rv
                continue
            self.stats["events"] += 1
            key = object_key(obj)
            if self.keep is not None and typ != "DELETED" and not self.keep(obj):
                gone = self.cache.pop(key, None)  # left the filter: as if deleted
                if gone is not None:
                    self._fire_delete(obj)
            elif typ in ("ADDED", "MODIFIED"):
                old = self.cache.get(key)
                self.cache[key] = obj
                if old is None:
                    self._fire_add(obj)
                else:
                    self._fire_update(old, obj)
            elif typ == "DELETED":
                if self.cache.pop(key, None) is not None or self.keep is None:
                    self._fire_delete(obj)
            if rv:
                self.resource_version = rv
        return False

    # ---- handler calls ----------------------------------------------------------------

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("informer %s: handler failed", self.resource)

    def _fire_add(self, obj: JSON) -> None:
        for add, _, _ in list(self._handlers):
            if add is not None:
                self._call(add, obj)

    def _fire_update(self, old: JSON, new: JSON) -> None:
        for _, upd, _ in list(self._handlers):
            if upd is not None:
                self._call(upd, old, new)

    def _fire_delete(self, obj: JSON) -> None:
        for _, _, dele in list(self._handlers):
            if dele is not None:
                self._call(dele, obj)
