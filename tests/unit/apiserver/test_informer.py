"""The informer against a scripted fake client: list, watch, relist on 410, resume."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Callable

import pytest

from actors.api import errors
from actors.common.informer import Informer, object_key

from .helpers import pod, run


def obj(name: str, rv: int, ns: str = "default", **labels: str) -> dict[str, Any]:
    p = pod(name, ns, labels=labels or None)
    p["metadata"]["resourceVersion"] = str(rv)
    return p


class FakeClient:
    """`list` pages over `objects`; each `watch` call plays the next script: events,
    gates (asyncio.Event, waited for), then an exception or the end of the stream; with
    no script left it blocks."""

    def __init__(self, objects: list[dict[str, Any]], rv: int) -> None:
        self.objects = {object_key(o): o for o in objects}
        self.rv = rv
        self.scripts: list[list[Any]] = []
        self.list_calls: list[dict[str, Any]] = []
        self.watch_calls: list[dict[str, Any]] = []
        self.block = asyncio.Event()

    async def list(self, resource: str, **kw: Any) -> dict[str, Any]:
        self.list_calls.append(kw)
        items = [self.objects[k] for k in sorted(self.objects)]
        start = int(kw.get("continue_") or 0)
        limit = kw.get("limit") or len(items)
        page = items[start:start + limit]
        md: dict[str, Any] = {"resourceVersion": str(self.rv)}
        if start + limit < len(items):
            md["continue"] = str(start + limit)
        return {"kind": "PodList", "metadata": md, "items": page}

    async def watch(self, resource: str, **kw: Any) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        self.watch_calls.append(kw)
        if not self.scripts:
            await self.block.wait()
            return
        for step in self.scripts.pop(0):
            if isinstance(step, asyncio.Event):  # a gate the test opens
                await step.wait()
            elif isinstance(step, BaseException):
                raise step
            else:
                yield step


class Recorder:
    def __init__(self) -> None:
        self.log: list[tuple[str, str, str]] = []

    def add(self, o: dict[str, Any]) -> None:
        self.log.append(("add", o["metadata"]["name"], o["metadata"]["resourceVersion"]))

    def update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.log.append(("update", new["metadata"]["name"],
                         f'{old["metadata"]["resourceVersion"]}->{new["metadata"]["resourceVersion"]}'))

    def delete(self, o: dict[str, Any]) -> None:
        self.log.append(("delete", o["metadata"]["name"], o["metadata"]["resourceVersion"]))


async def until(pred: Callable[[], bool], steps: int = 200) -> None:
    for _ in range(steps):
        if pred():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


def make(client: FakeClient, **kw: Any) -> tuple[Informer, Recorder, list[float]]:
    rec = Recorder()
    sleeps: list[float] = []

    async def fake_sleep(d: float) -> None:
        sleeps.append(d)
        await asyncio.sleep(0)

    inf = Informer(client, "pods", on_add=rec.add, on_update=rec.update, on_delete=rec.delete,
                   sleep=fake_sleep, **kw)
    return inf, rec, sleeps


def test_list_then_watch_from_the_list_rv() -> None:
    async def body() -> None:
        c = FakeClient([obj("a", 3), obj("b", 4)], rv=10)
        c.scripts = [[("ADDED", obj("c", 11)), ("MODIFIED", obj("a", 12)),
                      ("DELETED", obj("b", 13)), ("BOOKMARK", {"metadata": {"resourceVersion": "20"}})]]
        inf, rec, _ = make(c)
        inf.start()
        assert await inf.wait_for_sync(1)
        await until(lambda: inf.resource_version == "20")
        assert c.watch_calls[0]["resource_version"] == "10"
        assert c.watch_calls[0]["allow_bookmarks"] is True
        assert rec.log == [("add", "a", "3"), ("add", "b", "4"), ("add", "c", "11"),
                           ("update", "a", "3->12"), ("delete", "b", "13")]
        assert sorted(inf.cache) == ["default/a", "default/c"]
        assert inf.get("default", "a")["metadata"]["resourceVersion"] == "12"  # type: ignore[index]
        inf.stop()
    run(body())


def test_paginated_initial_list() -> None:
    async def body() -> None:
        c = FakeClient([obj(f"p{i}", i + 1) for i in range(5)], rv=9)
        inf, rec, _ = make(c, page_size=2)
        inf.start()
        assert await inf.wait_for_sync(1)
        assert [k.get("continue_") for k in c.list_calls] == ["", "2", "4"]
        assert len(inf.list()) == 5 and len(rec.log) == 5 and inf.resource_version == "9"
        inf.stop()
    run(body())


@pytest.mark.parametrize("expiry", [
    pytest.param([("ERROR", {"kind": "Status", "code": 410, "reason": "Expired",
                             "message": "too old resource version: 10 (15)"})],
                 id="error-event"),
    pytest.param([errors.expired("too old resource version: 10 (15)")], id="raised"),
])
def test_relist_on_410_reports_the_differences(expiry: list[Any]) -> None:
    async def body() -> None:
        c = FakeClient([obj("a", 3), obj("b", 4), obj("c", 5)], rv=10)
        gate = asyncio.Event()
        c.scripts = [[gate, *expiry]]
        inf, rec, _ = make(c)
        inf.start()
        await inf.wait_for_sync(1)
        # meanwhile: a changed, b deleted, d created; c unchanged
        c.objects["default/a"] = obj("a", 16)
        del c.objects["default/b"]
        c.objects["default/d"] = obj("d", 17)
        c.rv = 20
        gate.set()
        await until(lambda: len(c.list_calls) == 2 and len(c.watch_calls) == 2)
        assert rec.log[3:] == [("update", "a", "3->16"), ("add", "d", "17"), ("delete", "b", "4")]
        assert c.watch_calls[1]["resource_version"] == "20"
        assert inf.stats["expired"] == 1
        inf.stop()
    run(body())


def test_broken_stream_resumes_from_last_rv_with_backoff() -> None:
    async def body() -> None:
        c = FakeClient([obj("a", 3)], rv=10)
        down = errors.service_unavailable("the apiserver is unavailable")
        c.scripts = [[("MODIFIED", obj("a", 11)), down], [down], [down],
                     [("BOOKMARK", {"metadata": {"resourceVersion": "30"}})]]
        inf, rec, sleeps = make(c, backoff_initial=0.1, backoff_max=0.3)
        inf.start()
        await until(lambda: len(c.watch_calls) == 5)
        assert [w["resource_version"] for w in c.watch_calls] == ["10", "11", "11", "11", "30"]
        assert len(c.list_calls) == 1  # no relist for a broken stream
        assert [round(s, 1) for s in sleeps] == [0.1, 0.2, 0.3, 0.1]
        inf.stop()
    run(body())


def test_handler_errors_do_not_stop_the_informer() -> None:
    async def body() -> None:
        c = FakeClient([obj("a", 3)], rv=10)
        c.scripts = [[("ADDED", obj("b", 11))]]
        inf = Informer(c, "pods", sleep=lambda d: asyncio.sleep(0))
        seen: list[str] = []

        def bad(o: dict[str, Any]) -> None:
            raise RuntimeError("boom")

        inf.add_event_handler(on_add=bad)
        inf.add_event_handler(on_add=lambda o: seen.append(o["metadata"]["name"]))
        inf.start()
        await until(lambda: seen == ["a", "b"])
        inf.stop()
    run(body())


def test_late_handler_gets_the_cache_as_adds_and_stop_ends_the_task() -> None:
    async def body() -> None:
        c = FakeClient([obj("a", 3), obj("b", 4)], rv=10)
        inf = Informer(c, "pods")
        task = inf.start()
        await inf.wait_for_sync(1)
        got: list[str] = []
        inf.add_event_handler(on_add=lambda o: got.append(o["metadata"]["name"]))
        assert sorted(got) == ["a", "b"]
        inf.stop()
        with pytest.raises(asyncio.CancelledError):
            await task
    run(body())


def test_wait_for_sync_times_out_while_the_apiserver_is_down() -> None:
    async def body() -> None:
        class Down(FakeClient):
            async def list(self, resource: str, **kw: Any) -> dict[str, Any]:
                raise errors.service_unavailable("down")

        inf, _, sleeps = make(Down([], 0))
        inf.start()
        assert not await inf.wait_for_sync(0.05)
        assert not inf.has_synced and inf.stats["errors"] >= 1
        inf.stop()
    run(body())
